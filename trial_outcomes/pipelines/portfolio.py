"""The portfolio's Dagster definitions: every trial's outcome assets, partitioned by
trial x data cut (the UI shows the grid), and the pooled analysis over the trials'
published cuts; executed in one process or by celery workers (the portfolio file's
``[execution]``).

The trial assets are the single trial's, the same code (``assets/shared.py``
``repartitioned``): a portfolio run of one (trial, cut) publishes what
``trial-outcomes run`` publishes for that drop and cut, byte for byte. What differs:

- the run specification comes from the portfolio file and the run's two partition
  keys (``PortfolioSettings``);
- the cut is held by a lease naming the run (``shared_output_store``), because under
  celery every step is its own process and no process lives as long as the run;
- values between steps are stored under the portfolio's storage folder, which every
  worker must see (one machine here; a shared volume on a cluster: deploy/README.md).

The code location is ``trial_outcomes.pipelines.portfolio_location`` (``defs`` from
``TRIAL_PORTFOLIO``): ``trial-outcomes ui --portfolio FILE`` loads it, as does the Helm
chart's user deployment; celery workers reconstruct the jobs from this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg

from trial_outcomes.assets.pooled import POOLED_IO, POOLED_KEY, POOLED_STORE, PORTFOLIO, pooled_analysis_asset
from trial_outcomes.assets.shared import (
    CUT_DIMENSION,
    FIGURE_WORKERS,
    OUTPUT_STORE,
    SETTINGS,
    TRIAL_DIMENSION,
    TRIGGER_TAG,
    PortfolioSettings,
    figure_workers,
    portfolio_partitions,
    repartitioned,
    shared_output_store,
)
from trial_outcomes.io.pooled import PooledInputError, pooled_input, pooled_inputs_changed, published_pooled
from trial_outcomes.io.store import PooledStore
from trial_outcomes.pipelines.definitions import trial_assets
from trial_outcomes.pipelines.sensors import (
    SENSOR_INTERVAL_SECONDS,
    UNFINISHED,
    AlertTarget,
    build_alert_retry_sensor,
    build_boundary_sensor,
    published_version,
)
from trial_outcomes.pipelines.storage import frame_io_manager
from trial_outcomes.plan import Notify, PlanError, load_plan
from trial_outcomes.portfolio import Portfolio, load_portfolio

PORTFOLIO_ENV = "TRIAL_PORTFOLIO"
#: the tag of a pooled run requested because the published one was stale: what changed
POOLED_STALE_TAG = "trial/pooled_inputs_changed"
TRIALS_JOB = "portfolio_trials"
POOLED_JOB = "pooled_analysis_job"
#: celery settings of the tested setup (deploy/ keeps the cluster's in step): one task at a time per
#: worker process, a task acknowledged when it starts (a worker killed mid-step fails the step, and
#: the run, instead of running it twice), and a started task's worker known
CELERY_CONFIG_SOURCE: dict[str, Any] = {
    "worker_prefetch_multiplier": 1,
    "task_acks_late": False,
    # a started task names its worker: the executor pings it, and a worker that died is a failed step
    "task_track_started": True,
}


def executor_for(portfolio: Portfolio) -> dg.ExecutorDefinition:
    """The in-process executor, or Dagster's celery executor on the portfolio's broker."""
    if portfolio.execution.executor == "celery":
        from trial_outcomes.pipelines.celery import trial_celery_executor

        executor: dg.ExecutorDefinition = trial_celery_executor.configured(
            {
                "broker": portfolio.execution.broker,
                "backend": portfolio.execution.backend,
                "config_source": {**CELERY_CONFIG_SOURCE, "task_default_queue": portfolio.execution.queue},
            }
        )
        return executor
    return dg.in_process_executor


def portfolio_alert_target(portfolio: Portfolio) -> AlertTarget:
    """Where the alert of a run of one (trial, cut) goes: the ``[notify]`` of the plan
    published with that cut (else the trial's plan), and the trial's output folder."""

    def target(run: dg.DagsterRun) -> tuple[Notify, Path]:
        trial = portfolio.trial(run.tags.get(f"dagster/partition/{TRIAL_DIMENSION}", ""))
        cut = run.tags.get(f"dagster/partition/{CUT_DIMENSION}", "")
        version = published_version(run, trial.out)  # the version the run published, whatever the cut shows
        published = (version if version is not None else trial.out / cut) / "analysis_plan.toml"
        try:
            return load_plan(published).notify, trial.out
        except PlanError:
            return portfolio.run_spec(trial.id, cut).plan.notify, trial.out

    return target


#: a run in progress that has recorded no event for this long is taken as one whose process
#: died (killed with no daemon's run monitoring to mark it failed): it no longer holds the
#: pooled sensor back (a red team's killed run left it skipping, "under way", for good)
QUIET_RUN = dt.timedelta(hours=1)


def last_recorded(instance: dg.DagsterInstance, run_id: str) -> dt.datetime:
    """When the run last recorded an event (its creation, before any; the epoch when the
    instance has no such run)."""
    records = instance.get_records_for_run(run_id, ascending=False, limit=1).records
    if records:
        return dt.datetime.fromtimestamp(records[0].event_log_entry.timestamp, dt.UTC)
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        return dt.datetime.fromtimestamp(0, dt.UTC)
    made = record.create_timestamp
    return made if made.tzinfo else made.replace(tzinfo=dt.UTC)


def build_pooled_inputs_sensor(portfolio: Portfolio) -> dg.SensorDefinition:
    """The sensor that keeps the published pooled analysis of the trials' current
    publications (``pooled_inputs_changed``)."""

    @dg.sensor(
        name="pooled_inputs_sensor",
        job_name=POOLED_JOB,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Runs the pooled analysis again when a trial's cut it pooled has been superseded (trial-outcomes "
        "run --supersede, outside the portfolio's runs), a later cut of a trial is published, a trial is added "
        "or the factor changed; never while a run of the portfolio is under way (one that has recorded nothing "
        "for an hour is taken as one whose process died), never before a first pooled "
        "analysis is published, once for each state of the trials' publications and published pooled version.",
    )
    def pooled_inputs_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        ours = [
            run
            for run in context.instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED), limit=200)
            if run.job_name == POOLED_JOB
            or f"dagster/partition/{TRIAL_DIMENSION}" in run.tags
            or POOLED_KEY in (run.asset_selection or ())
        ]
        clock = dt.datetime.now(dt.UTC)
        last = {run.run_id: last_recorded(context.instance, run.run_id) for run in ours}
        busy = [run for run in ours if clock - last[run.run_id] <= QUIET_RUN]
        if busy:
            return dg.SkipReason(f"run {busy[0].run_id[:8]} of the portfolio is under way: checked when none is")
        for run in ours:
            context.log.warning(
                f"run {run.run_id[:8]} is {run.status.value} but has recorded nothing since "
                f"{last[run.run_id]:%Y-%m-%d %H:%M} UTC: taken as a run whose process died (end it with trial-outcomes "
                "portfolio release TRIAL CUT, or a pooled run with Terminate, forced, on its page)"
            )
        store = PooledStore(portfolio.pooled.out)
        published = published_pooled(store.out_dir, store.name)
        if published is None:
            return dg.SkipReason("no pooled analysis is published yet (trial-outcomes portfolio run makes the first)")
        try:
            now = [pooled_input(t.id, t.out, portfolio.pooled.cuts.get(t.id)) for t in portfolio.trials]
        except PooledInputError as exc:
            return dg.SkipReason(f"the pooled analysis cannot be made now: {exc}")
        changes = pooled_inputs_changed(published, portfolio.pooled.factor, now)
        if not changes:
            return dg.SkipReason("the published pooled analysis is of the trials' current publications")
        context.log.info("the published pooled analysis is stale: " + "; ".join(changes))
        # with the pooled version it finds stale: a state that comes back (a factor changed and
        # changed back) is requested again (a red team's: Dagster runs a run key once, ever)
        stale = (store.out_dir / store.name).resolve().name
        state = json.dumps({"factor": portfolio.pooled.factor, "trials": now, "stale": stale}, sort_keys=True)
        return dg.RunRequest(
            run_key=hashlib.sha256(state.encode()).hexdigest(),
            tags={POOLED_STALE_TAG: "; ".join(changes)[:4000], TRIGGER_TAG: "sensor"},
        )

    return pooled_inputs_sensor


def build_portfolio_definitions(portfolio: Portfolio | str | Path) -> dg.Definitions:
    """The portfolio's assets, jobs and resources."""
    if not isinstance(portfolio, Portfolio):
        portfolio = load_portfolio(portfolio)
    partitions = portfolio_partitions(portfolio.trial_ids)
    trial = [repartitioned(a, partitions) for a in trial_assets()]
    executor = executor_for(portfolio)
    return dg.Definitions(
        assets=[*trial, pooled_analysis_asset],
        jobs=[
            dg.define_asset_job(
                TRIALS_JOB,
                selection=dg.AssetSelection.assets(*trial),
                executor_def=executor,
                description="Every outcome asset of one trial at one data cut (a cell of the trial x cut grid), "
                "published as one set in that trial's output folder.",
                config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            ),
            dg.define_asset_job(
                POOLED_JOB,
                selection=dg.AssetSelection.assets(pooled_analysis_asset),
                executor_def=executor,
                description="The pooled analysis of the trials' published cuts (the portfolio file names them).",
            ),
        ],
        # a crossed boundary of a (trial, cut), whoever launched it, is announced as a single
        # trial's is (a red team's portfolio run crossed the safety boundary and told no one)
        sensors=[
            build_boundary_sensor(TRIALS_JOB, portfolio_alert_target(portfolio), portfolio=True),
            build_alert_retry_sensor(TRIALS_JOB, portfolio_alert_target(portfolio), portfolio=True),
            build_pooled_inputs_sensor(portfolio),
        ],
        resources={
            SETTINGS: PortfolioSettings(portfolio=str(portfolio.path)),
            OUTPUT_STORE: shared_output_store,
            FIGURE_WORKERS: figure_workers,
            PORTFOLIO: dg.ResourceDefinition.hardcoded_resource(portfolio),
            POOLED_STORE: dg.ResourceDefinition.hardcoded_resource(PooledStore(portfolio.pooled.out)),
            "io_manager": frame_io_manager.configured({"base_dir": str(portfolio.storage_dir)}),
            POOLED_IO: dg.FilesystemIOManager(base_dir=str(portfolio.storage_dir / "pooled")),
        },
        executor=executor,
    )


@cache
def definitions_for(path: str) -> dg.Definitions:
    """The definitions of the portfolio file ``path``, made once per process."""
    return build_portfolio_definitions(path)


def definitions_from_environment() -> dg.Definitions:
    """The definitions of the portfolio ``TRIAL_PORTFOLIO`` names (the code location's)."""
    path = os.environ.get(PORTFOLIO_ENV)
    if not path:
        raise dg.DagsterInvariantViolationError(
            f"the portfolio definitions need {PORTFOLIO_ENV}: the path of the portfolio file (portfolio.toml)"
        )
    return definitions_for(str(Path(path).resolve()))


def trials_job(path: str) -> dg.JobDefinition:
    """The trials' job of the portfolio file ``path``."""
    return definitions_for(path).resolve_job_def(TRIALS_JOB)


def pooled_job(path: str) -> dg.JobDefinition:
    """The pooled analysis's job of the portfolio file ``path``."""
    return definitions_for(path).resolve_job_def(POOLED_JOB)


def reconstructable_job(path: str | Path, pooled: bool = False) -> Any:
    """The job as a process on another machine rebuilds it: the module, the function and
    the portfolio file's path travel with every step sent to a celery worker, so a
    worker serves any portfolio on the shared volume whatever its environment says."""
    return dg.build_reconstructable_job(
        __name__, "pooled_job" if pooled else "trials_job", reconstructable_args=(str(Path(path).resolve()),)
    )
