"""Runs of a portfolio: every (trial, cut) asked for, then the pooled analysis.

With the in-process executor the runs go one after another in this process. With
celery, each run's coordinating loop is its own process (started here, all at once),
and the runs' steps are executed by the celery workers, so steps of different trials
and cuts run in parallel on as many workers as listen on the broker. Every run is
recorded in the Dagster instance (``DAGSTER_HOME``: PostgreSQL for celery).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from trial_outcomes.assets.shared import (
    CUT_DIMENSION,
    PLAN_TAG,
    PORTFOLIO_CUT_PARTITIONS,
    PUBLISHED_FOLDER_TAG,
    STOPPING_TAG,
    TRIAL_DIMENSION,
    TRIGGER_TAG,
    boundary_crossed,
)
from trial_outcomes.dates import parse_cut
from trial_outcomes.errors import UsageError
from trial_outcomes.pipelines.instance import error_text, open_instance
from trial_outcomes.pipelines.sensors import (
    OWN_RUN_TAGS,
    UNFINISHED,
    announce_run,
    published_itself,
    stopping_result,
)
from trial_outcomes.plan import PlanError
from trial_outcomes.portfolio import Portfolio, PortfolioError, load_portfolio

#: the runs' console (in the run's process and in each worker) says warnings and errors only; the
#: instance keeps every event
QUIET: dict[str, object] = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class PortfolioRun:
    trial: str  # "" for the pooled analysis
    cut: str
    run_id: str
    success: bool
    error: str = ""
    boundaries: tuple[str, ...] = ()  # the stopping rules the cut crossed, a line each
    announcements: tuple[str, ...] = ()  # who was told of them, and how
    published: bool = False  # the cut published (by a run that may have failed after)


def partition_tags(trial: str, cut: str) -> dict[str, str]:
    """The tags of a run of one cell of the trial x cut grid (as the UI's launchpad sets them)."""
    key = dg.MultiPartitionKey({TRIAL_DIMENSION: trial, CUT_DIMENSION: cut})
    return {
        "dagster/partition": str(key),
        f"dagster/partition/{TRIAL_DIMENSION}": trial,
        f"dagster/partition/{CUT_DIMENSION}": cut,
    }


def _first_error(instance: dg.DagsterInstance, run_id: str) -> str:
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is not None and event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE"):
            data = event.event_specific_data
            error = getattr(data, "error", None)
            return f"{event.step_key or 'run'}: {error_text(error) if error else event.message or ''}"
    return ""


def _plan_pinned(portfolio_path: str, trial: str, cut: str) -> dict[str, str]:
    """The tag of the plan a (trial, cut) run starts with, read as it is submitted (every
    step's plan must be it: ``PortfolioSettings``); none when it cannot be read (the run's
    first step then says why)."""
    if not trial:
        return {}
    try:
        return {PLAN_TAG: load_portfolio(portfolio_path).run_spec(trial, cut).plan_sha256}
    except (ValueError, PlanError, PortfolioError):
        return {}


def _execute(portfolio_path: str, trial: str, cut: str) -> PortfolioRun:
    """One run, in this process: a (trial, cut), or the pooled analysis when ``trial`` is empty."""
    from trial_outcomes.pipelines.portfolio import reconstructable_job

    job = reconstructable_job(portfolio_path, pooled=not trial)
    tags = {**partition_tags(trial, cut), TRIGGER_TAG: "portfolio", **_plan_pinned(portfolio_path, trial, cut)}
    with open_instance() as instance:
        result = dg.execute_job(
            job,
            instance=instance,
            tags=tags if trial else {TRIGGER_TAG: "portfolio"},
            run_config=QUIET,
            raise_on_error=False,
        )
        error = "" if result.success else _first_error(instance, result.run_id)
        published = bool(trial) and (result.success or _published_by(instance, result.run_id))
        boundaries, told = _announced(instance, portfolio_path, result.run_id) if published else ((), ())
    return PortfolioRun(trial, cut, result.run_id, result.success, error, boundaries, told, published)


def _published_by(instance: dg.DagsterInstance, run_id: str) -> bool:
    run = instance.get_run_by_id(run_id)
    return run is not None and published_itself(instance, run)


def _announced(
    instance: dg.DagsterInstance, portfolio: Portfolio | str, run_id: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The stopping rules a published (trial, cut) crossed, and who was told: announced
    here, as ``trial-outcomes run`` does, and by the portfolio's sensors if this process
    dies first (a red team's portfolio run crossed the safety boundary, exited 0 and told
    no one)."""
    from trial_outcomes.pipelines.portfolio import portfolio_alert_target

    run = instance.get_run_by_id(run_id)
    if run is None or not boundary_crossed(run.tags):
        return (), ()
    stopping = stopping_result(dict(run.tags))
    boundaries = tuple(stopping.alert_lines() if stopping else [run.tags[STOPPING_TAG]])
    try:
        chosen = portfolio if isinstance(portfolio, Portfolio) else load_portfolio(portfolio)
        told = tuple(announce_run(instance, run, *portfolio_alert_target(chosen)(run)))
    except Exception as exc:  # announce_run reports delivery itself; this guards the rest
        told = (f"alert FAILED ({type(exc).__name__}: {exc}); the retry sensor will try again",)
    return boundaries, told


def _execute_trial(args: tuple[str, str, list[str]]) -> list[PortfolioRun]:
    """One trial's runs, its cuts one after another. After a failed cut its later cuts
    are not run: each compares itself with the trial's previous published cut, which
    would then be the wrong one. An error here is that run's failure, never the other
    trials'."""
    path, trial, cuts = args
    runs: list[PortfolioRun] = []
    for cut in cuts:
        if runs and not runs[-1].success:
            runs.append(PortfolioRun(trial, cut, "", False, f"not run: its earlier cut {runs[-1].cut} failed"))
            continue
        try:
            runs.append(_execute(path, trial, cut))
        except Exception as exc:  # the run's own failure, reported with the others
            runs.append(PortfolioRun(trial, cut, "", False, f"{type(exc).__name__}: {exc}"))
    return runs


def _collect(future: Future[list[PortfolioRun]], item: tuple[str, str, list[str]]) -> list[PortfolioRun]:
    try:
        return future.result()
    except Exception as exc:  # the coordinating process died (killed, out of memory)
        _, trial, cuts = item
        return [PortfolioRun(trial, cut, "", False, f"its coordinating process died ({exc!r})") for cut in cuts]


def run_portfolio(
    portfolio: Portfolio | str,
    cuts: list[str],
    trials: list[str] | None = None,
    pooled: bool = True,
) -> list[PortfolioRun]:
    """Run each trial of ``trials`` (all by default) at each cut of ``cuts``, then the
    pooled analysis (when ``pooled``) if every trial run published."""
    if not isinstance(portfolio, Portfolio):
        portfolio = load_portfolio(portfolio)
    chosen = trials or portfolio.trial_ids
    for trial in chosen:
        portfolio.trial(trial)  # an unknown trial is a usage error, before any run
    for cut in cuts:
        parse_cut(cut)
    if portfolio.execution.executor == "celery" and not os.environ.get("DAGSTER_HOME"):
        raise UsageError("the celery executor needs a shared Dagster instance: set DAGSTER_HOME (deploy/README.md)")
    with open_instance() as instance:
        known = set(instance.get_dynamic_partitions(PORTFOLIO_CUT_PARTITIONS))
        new = sorted(set(cuts) - known)
        if new:
            instance.add_dynamic_partitions(PORTFOLIO_CUT_PARTITIONS, new)
    # each trial's cuts in date order: a cut compares itself with the trial's previous published
    # cut (the plan's [comparison]), so a trial's later cut starts once its earlier one ended,
    # whatever the executor. Under celery the trials go at once, each in its own process
    # coordinating its runs, and the workers execute the steps of every trial and cut.
    ordered = sorted(set(cuts))
    work = [(str(portfolio.path), trial, ordered) for trial in chosen]
    if portfolio.execution.executor == "celery" and len(work) > 1:
        # a process per trial (a child that dies is that trial's failure, not a hang: BrokenProcessPool)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=len(work), mp_context=context) as pool:
            futures = [pool.submit(_execute_trial, item) for item in work]
            by_trial = [_collect(future, item) for future, item in zip(futures, work, strict=True)]
    else:
        by_trial = [_execute_trial(item) for item in work]
    runs = sorted((r for trial_runs in by_trial for r in trial_runs), key=lambda r: (r.cut, chosen.index(r.trial)))
    if pooled and all(r.success for r in runs):  # the pool of published cuts only: never after a failed run
        runs.append(_execute(str(portfolio.path), "", ""))
    return runs


def retry_run(portfolio: Portfolio | str, run_id: str) -> PortfolioRun:
    """Re-execute a failed portfolio run from its failure: the steps that succeeded are
    not run again (their values are in the portfolio's storage, and the files they
    wrote in the working folder of the run's lease, which the re-execution keeps); the
    failed and skipped steps run, and the cut is published."""
    if not isinstance(portfolio, Portfolio):
        portfolio = load_portfolio(portfolio)
    from trial_outcomes.pipelines.portfolio import reconstructable_job

    with open_instance() as instance:
        failed = instance.get_run_by_id(run_id)
        if failed is None:
            raise UsageError(f"no run {run_id} in the Dagster instance {instance.root_directory}")
        if failed.status not in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            raise UsageError(f"run {run_id} is {failed.status.value.lower()}: only a failed or canceled run is retried")
        if published_itself(instance, failed):
            # its publishing step moved the link, then failed: a retry re-runs that step, whose working
            # files are in the published version now, and failed listing 60 files "missing" (a reviewer's)
            folder = Path(failed.tags[PUBLISHED_FOLDER_TAG])
            raise UsageError(
                f"run {run_id} published data cut {folder.parent.name} ({folder.name}) before it failed: the cut is "
                "published, and what failed came after it; there is nothing to retry (portfolio run publishes the "
                "cut anew, when its outputs differ)"
            )
        root = failed.root_run_id or failed.run_id
        # what the failed run published (and its failed checks) is not the retry's: a failed retry of
        # a run that failed after publishing said it had published (a reviewer's); the alert's state
        # comes along but is the failed run's (trial/boundary_announced_by): the retry owes the alert
        # of what it publishes, once a version (sensors.alert_state, announced_elsewhere)
        kept = {
            k: v
            for k, v in failed.tags.items()
            if (k.startswith("dagster/partition") or k.startswith("trial/")) and k not in OWN_RUN_TAGS
        }
        tags = {**kept, "dagster/parent_run_id": failed.run_id, "dagster/root_run_id": root}
        trial = failed.tags.get(f"dagster/partition/{TRIAL_DIMENSION}", "")
        result = dg.execute_job(
            reconstructable_job(portfolio.path, pooled=not trial),
            instance=instance,
            tags=tags,
            reexecution_options=dg.ReexecutionOptions.from_failure(failed.run_id, instance),
            run_config=failed.run_config,
            raise_on_error=False,
        )
        error = "" if result.success else _first_error(instance, result.run_id)
        published = bool(trial) and (result.success or _published_by(instance, result.run_id))
        boundaries, told = _announced(instance, portfolio, result.run_id) if published else ((), ())
    cut = failed.tags.get(f"dagster/partition/{CUT_DIMENSION}", "")
    return PortfolioRun(trial, cut, result.run_id, result.success, error, boundaries, told, published)


def release_cut(portfolio: Portfolio | str, trial: str, cut: str) -> str:
    """Free a trial's cut held by a run that died without ending (its process killed
    where no daemon's run monitoring marks it failed): the run is marked failed in the
    instance and its lease removed. Whether the process died is the caller's to say:
    nothing here can tell a live run on another machine from a dead one (until 2026-12-07
    this docstring said a live run was refused, which the code never did, a red team
    found); a run released while it still works publishes nothing (its lease is gone:
    ``io.publishing.leased_publication`` fences it). With no lease held, the runs of the
    cut left unfinished are marked failed (a process killed after publishing, or before
    taking the lease: a red team's run stayed STARTED for good). Returns what was done."""
    from trial_outcomes.io.publishing import lease_holder, release_lease

    if not isinstance(portfolio, Portfolio):
        portfolio = load_portfolio(portfolio)
    out = portfolio.trial(trial).out
    parse_cut(cut)
    holder = lease_holder(out, cut)
    if holder is None:
        cell = partition_tags(trial, cut)
        with open_instance() as instance:
            left = instance.get_runs(filters=dg.RunsFilter(tags=cell, statuses=UNFINISHED), limit=100)
            for stuck in left:
                instance.report_run_failed(
                    stuck, message="released by trial-outcomes portfolio release: its process died"
                )
        if not left:
            return f"trial {trial} at {cut}: no run holds it"
        shown = ", ".join(f"{stuck.run_id} (was {stuck.status.value.lower()})" for stuck in left)
        return f"trial {trial} at {cut}: no run holds it; marked failed, as unfinished: {shown}"
    with open_instance() as instance:
        run = instance.get_run_by_id(holder)
        state = "not in this Dagster instance" if run is None else f"was {run.status.value.lower()}"
        if run is not None and not run.is_finished:
            instance.report_run_failed(run, message="released by trial-outcomes portfolio release: its process died")
            state += ", marked failed"
    release_lease(out, cut, holder)
    # the next run of the cut starts from an empty working folder: a retry of the released run
    # has nothing of its first attempt to continue from (a red team's retry failed, "missing: ...")
    return (
        f"trial {trial} at {cut}: released from run {holder} ({state}); its working files are cleared "
        f"when the cut next runs, so run the cut again (portfolio run --trial {trial} --cut {cut}), "
        "not portfolio retry"
    )
