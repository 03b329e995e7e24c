"""Run the whole asset job in process for one drop and cut, and say in words what
happened: which checks failed (file, row, column, value, subject), which
stopping boundaries were crossed, how long each step took."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from trial_outcomes.analysis.stopping import check_name
from trial_outcomes.assets.qc import CHECK as QC_CHECK
from trial_outcomes.assets.shared import (
    DATA_CUT_PARTITIONS,
    DROP_FINGERPRINT_TAG,
    TRIGGER_TAG,
    DropSettings,
)
from trial_outcomes.errors import DISK_FULL, NOT_PERMITTED, DataDropError, Problem, line_saying
from trial_outcomes.io.publishing import PublishRefused, current
from trial_outcomes.io.qc import FAILED as QC_FAILED
from trial_outcomes.io.qc import QC_REPORT
from trial_outcomes.io.readers import latest_date_in_drop
from trial_outcomes.io.records import drop_files, drop_fingerprint
from trial_outcomes.pipelines.coordinator import OUT_FOLDER_TAG
from trial_outcomes.pipelines.definitions import (
    ALL_JOB,
    CODE_LOCATION,
    DEFINITIONS_MODULE,
    REPOSITORY,
    build_definitions,
)
from trial_outcomes.pipelines.instance import (
    FAILURE_PREFIX,
    open_instance,
    output_to_terminal,
    partitions_remembered,
)
from trial_outcomes.pipelines.sensors import announce_run, published_itself, stopping_result
from trial_outcomes.plan import AnalysisPlan, PlanError
from trial_outcomes.runspec import RunSpec

PROGRESS_LOGGER = "trial_progress"
STOPPING_ASSET = dg.AssetKey("stopping_rules")


@dataclass
class RunOutcome:
    success: bool
    cut: str | None = None
    published: str | None = None
    failures: list[str] = field(default_factory=list)
    publication: str = ""  # "published v002 (...)" or "no new version: ..."
    warnings: list[str] = field(default_factory=list)
    boundaries: list[str] = field(default_factory=list)
    announcements: list[str] = field(default_factory=list)  # who was told of a crossed boundary, and how
    qc_disagreements: list[str] = field(default_factory=list)  # the independent R QC found numbers that differ
    qc_failures: list[str] = field(default_factory=list)  # the independent R QC ran and could not finish
    run_id: str = ""
    interrupted: bool = False  # stopped by an interrupt (Ctrl-C, SIGINT/SIGTERM), not by the data
    #: seconds spent finding the default cut, then in each step that succeeded (Dagster's own count)
    timings: dict[str, float] = field(default_factory=dict)


def default_cut(data_dir: Path) -> dt.date:
    """The latest date in the drop (data-contract.md section 2; a date after today never
    moves it; an isolated one does, and the check ``latest_date_plausible`` warns)."""
    latest = latest_date_in_drop(data_dir)
    if latest is None:
        raise DataDropError(
            Problem(str(data_dir), None, None, None, "no valid date in the drop to take as the data cut")
        )
    return latest


class _Progress(logging.Handler):
    """One line per finished step, with its time (plain text: no spinner, fine in a log)."""

    def __init__(self, write: Callable[[str], None]):
        super().__init__()
        self.write = write

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None:
            return
        kind = event.event_type_value
        if kind == "STEP_SUCCESS":
            self.write(f"  done    {event.step_success_data.duration_ms / 1000:6.2f} s  {event.step_key}")
        elif kind == "STEP_FAILURE":
            self.write(f"  FAILED            {event.step_key}")


def progress_logger(write: Callable[[str], None]) -> dg.LoggerDefinition:
    @dg.logger(config_schema={}, description="One line per finished step")
    def trial_progress(_context: dg.InitLoggerContext) -> logging.Logger:
        log = logging.Logger("trial_progress", level=logging.DEBUG)
        log.addHandler(_Progress(write))
        return log

    return trial_progress


def run_pipeline(
    data_dir: Path,
    out_dir: Path,
    cut: str | dt.date = "",
    plan: str | AnalysisPlan = "",
    supersede: str = "",
    previous_cut: str = "",
    progress: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Materialize every asset for one drop and one cut (the partition ``cut``,
    added if new); ``cut`` empty: the latest date in the drop. The run's
    specification is made here, once: a cut given as text is parsed and a plan given
    as a path is read here (``trial-outcomes run`` passes both already checked), and
    every step receives that one value. The cut's lock is the run's (its
    ``output_store`` resource): a busy cut fails the run before any step."""
    timings = {}
    if not cut:
        started = time.perf_counter()
        try:
            cut = default_cut(data_dir)
        except DataDropError as exc:
            return RunOutcome(success=False, failures=[str(exc)])
        timings["(default cut: latest date in the drop)"] = time.perf_counter() - started
    settings = DropSettings(
        data_dir=str(data_dir),
        out_dir=str(out_dir),
        plan=plan.path if isinstance(plan, AnalysisPlan) else plan,
        supersede_reason=supersede,
        previous_cut=previous_cut,
    )
    try:
        spec = settings.spec(cut, plan if isinstance(plan, AnalysisPlan) else None)
    except (ValueError, PlanError) as exc:
        return RunOutcome(success=False, failures=[str(exc)])
    return _execute(settings, spec, timings, progress)


def _describe_failure(event: dg.DagsterEvent) -> str | None:
    data = event.step_failure_data
    if data.error is not None and data.error.cls_name == "DagsterExecutionInterruptedError":
        return None
    if data.user_failure_data is not None and data.user_failure_data.description:
        return f"step {event.step_key} failed: {data.user_failure_data.description}"
    if data.error is not None and data.error.cls_name == "DagsterAssetCheckFailedError":
        return None  # a blocking check failed: it is reported as the check itself
    error = data.error
    full = _disk_full_text(error)
    if full is not None:  # the machine, not the drop: one line, not a traceback
        return f"step {event.step_key} failed: the disk is full ({full}); free space and run again"
    refused = _error_line(error, NOT_PERMITTED)
    if refused is not None:  # a red team's read-only .versions folder ended in 58 lines of traceback
        return (
            f"step {event.step_key} failed: a file or folder may not be written or read ({refused}); check its "
            "permissions, and that its file system is not mounted read-only, and run again"
        )
    return f"step {event.step_key} failed: {error.to_string() if error else 'unknown error'}"


def _error_line(error: Any, markers: tuple[str, ...]) -> str | None:
    """The line of a step's error (or of what caused it) holding one of ``markers``."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        line = line_saying(error.message or "", markers)
        if line is not None:
            return line
        error = error.cause or error.context
    return None


def _disk_full_text(error: Any) -> str | None:
    """The line of a step's error (or of what caused it) that says the disk is full."""
    return _error_line(error, DISK_FULL)


def execute_uncaptured(
    job: dg.JobDefinition,
    *,
    instance: dg.DagsterInstance,
    partition_key: str,
    run_config: dict[str, Any],
    tags: dict[str, str],
) -> dg.ExecuteInProcessResult:
    """``job.execute_in_process`` (in this process, errors as failed steps, not raised)
    without keeping every step's output in memory for the result.

    Dagster's ``execute_in_process`` captures each output value so that
    ``output_for_node`` can return it: a run held every asset value of the cut to its
    end, whatever the IO manager released (at a million subjects, past 14 GB by the
    tenth step). The runner reads only events from the result, so the same execution
    is started with capturing off (``core_execute_in_process``, which
    ``execute_in_process`` calls with it on; ``tests/assets/test_runner_memory.py``
    holds it to that)."""
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.definitions.partitions.context import partition_loading_context
    from dagster._core.execution.execute_in_process import core_execute_in_process, merge_run_tags

    ephemeral = job.as_ephemeral_job(resource_defs={}, input_values={})
    if ephemeral.partitions_def:
        with partition_loading_context(dynamic_partitions_store=instance) as context:
            ephemeral.validate_partition_key(partition_key=partition_key, selected_asset_keys=set(), context=context)
    # the key was validated above: a found partition is remembered for 2 s; the steps'
    # output goes to the terminal uncaptured (Ctrl-C reaches no watcher of a capture)
    with partitions_remembered(), output_to_terminal():
        return core_execute_in_process(
            job=InMemoryJob(job_def=ephemeral),
            run_config=run_config,
            instance=instance,
            output_capturing_enabled=False,
            raise_on_error=False,
            run_tags=merge_run_tags(
                job_def=job,
                partition_key=partition_key,
                tags=tags,
                asset_selection=[],
                instance=instance,
                run_config=run_config,
            ),
            asset_selection=frozenset(),
        )


def _execute(
    settings: DropSettings, spec: RunSpec, timings: dict[str, float], progress: Callable[[str], None] | None
) -> RunOutcome:
    cut = spec.cut_key
    defs = build_definitions(settings, spec)
    job = defs.resolve_job_def(ALL_JOB)
    fingerprint = drop_fingerprint(drop_files(settings.data_path))
    try:
        published = current(settings.out_path, cut)
    except PublishRefused:
        published = None  # the run itself refuses it, in its own words
    same_drop_published = published.version if published and published.drop_sha256 == fingerprint else None
    run_config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    if progress is not None:
        job = job.with_logger_defs({"console": dg.colored_console_logger, PROGRESS_LOGGER: progress_logger(progress)})
        run_config["loggers"][PROGRESS_LOGGER] = {}
    with open_instance() as instance, runs_of_the_ui_job(instance):
        add_partition(instance, cut)
        result = execute_uncaptured(
            job,
            instance=instance,
            partition_key=cut,
            run_config=run_config,
            # the folder too: the retry sensor, in the UI's process, finds the cut and the plan it
            # published there (a red team's failed alert was retried to the UI's plan's people,
            # linking another drop's report)
            tags={
                DROP_FINGERPRINT_TAG: fingerprint,
                TRIGGER_TAG: "cli",
                OUT_FOLDER_TAG: str(settings.out_path.resolve()),
            },
        )
        outcome = RunOutcome(success=result.success, run_id=result.run_id, timings=timings)
        if settings.supersede_reason.strip() and same_drop_published is not None:
            outcome.warnings.append(
                f"--supersede: data cut {cut} was already published from this same drop (version "
                f"{same_drop_published}); there is nothing to supersede and the reason is not recorded"
            )
        for event in result.get_step_success_events():
            outcome.timings[event.step_key or "?"] = event.step_success_data.duration_ms / 1000
        run = instance.get_run_by_id(result.run_id)
        stopping = stopping_result(dict(run.tags)) if run is not None else None
        crossed_checks = {check_name(s.rule_id) for s in stopping.crossed} if stopping is not None else set()
        # the words of each crossed rule's check, from the typed result
        outcome.boundaries = stopping.failed_checks(STOPPING_ASSET.to_user_string()) if stopping is not None else []
        for check in result.get_asset_check_evaluations():
            if check.passed:
                continue
            text = f"check {check.asset_key.to_user_string()}:{check.check_name} failed: {check.description}"
            if check.check_name == QC_CHECK:  # red in the UI, said apart, never a failed publication
                status = check.metadata.get("status")
                failed = status is not None and status.value == QC_FAILED  # R ran and broke: not "R not installed"
                (
                    outcome.qc_disagreements
                    if check.severity == dg.AssetCheckSeverity.ERROR
                    else outcome.qc_failures
                    if failed
                    else outcome.warnings
                ).append(check.description or text)
                continue
            # a crossed stopping boundary is red (ERROR) in the UI but never stops the cut's publication
            boundary = check.asset_key == STOPPING_ASSET and check.check_name in crossed_checks
            blocking = check.severity == dg.AssetCheckSeverity.ERROR and not boundary
            # a boundary is said as a warning too, so a run that fails later still says it
            (outcome.failures if blocking else outcome.warnings).append(text)
        for event in result.get_step_failure_events():
            data = event.step_failure_data
            if data.error is not None and data.error.cls_name == "DagsterExecutionInterruptedError":
                outcome.interrupted = True
            described = _describe_failure(event)
            if described:
                outcome.failures.append(described)
        if not result.success and not outcome.failures and not outcome.interrupted:
            failure = result.get_run_failure_event()
            message = failure.message if failure is not None else "the run failed"
            outcome.failures.append(_resource_failure(instance, result.run_id) or message or "the run failed")
        # an interrupt after the cut's link moved (Dagster's own events, after the step held it):
        # the cut is published, and is said to be, with its alert
        moved = outcome.interrupted and _new_version(settings.out_path, cut, published)
        if moved:
            outcome.warnings.append(
                f"interrupted after data cut {cut} was published: it shows the new version; "
                "the interrupt stopped only what came after"
            )
            outcome.interrupted, outcome.success, outcome.failures = False, True, []
        # a step that failed after this run published the cut (its folder is on the run's tags):
        # the run failed, and the cut is published, with its alert (until 2026-12-07 it said
        # "nothing was published" and told no one; only the retry sensor, with a daemon, did)
        # (an interrupt's run that tagged a folder whose link did not move published nothing new:
        # it is said as interrupted, and announces nothing)
        failed_after = (
            not result.success
            and not moved
            and not outcome.interrupted
            and run is not None
            and published_itself(instance, run)
        )
        if result.success or moved or failed_after:
            outcome.cut = cut
            outcome.published = str(settings.out_path / cut)
            outcome.publication = _publication_line(settings.out_path, cut, published)
        if (result.success or moved or failed_after) and outcome.boundaries and run is not None:
            try:  # the cut is published: no failure of an alert may turn that into exit 1
                outcome.announcements = announce_run(instance, run, spec.plan.notify, spec.out_dir)
            except Exception as exc:  # announce_run reports delivery itself; this guards the instance calls
                outcome.announcements = [f"alert FAILED ({type(exc).__name__}: {exc}); the retry sensor will try again"]
    return outcome


def ui_job_origin() -> RemoteJobOrigin:
    """``all_outcomes`` as the UI's code location names it (location ``trial_outcomes``,
    module ``trial_outcomes.pipelines.definitions``, repository ``__repository__``)."""
    target = LoadableTargetOrigin(
        executable_path=sys.executable, module_name=DEFINITIONS_MODULE, working_directory=str(Path.cwd())
    )
    location = ManagedGrpcPythonEnvCodeLocationOrigin(target, CODE_LOCATION)
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, REPOSITORY), ALL_JOB)


@contextmanager
def runs_of_the_ui_job(instance: dg.DagsterInstance) -> Iterator[None]:
    """While open, a run ``instance`` creates is the UI's ``all_outcomes`` run (its remote
    job origin set): a CLI run is then on the Overview timeline and in the job's Runs tab,
    not only in the runs list (issue 22; Dagster's ``execute_in_process`` creates runs
    without an origin, dagster#17707). Only this instance object, only for this run."""
    create = instance.create_run_for_job
    instance.create_run_for_job = functools.partial(create, remote_job_origin=ui_job_origin())  # type: ignore[method-assign]
    try:
        yield
    finally:
        del instance.create_run_for_job


def _new_version(out_dir: Path, cut: str, before: Any) -> bool:
    """Whether ``<out>/<cut>`` shows another version than ``before`` (the one it showed
    when the run started)."""
    try:
        after = current(out_dir, cut)
    except PublishRefused:
        return False
    return after is not None and (before is None or after.version != before.version)


def _publication_line(out_dir: Path, cut: str, before: Any) -> str:
    """What the run did to ``<out>/<cut>``: a new version (which, and what it replaced)
    or nothing (the current version holds the same outputs), and the cut it compared with."""
    try:
        after = current(out_dir, cut)
    except PublishRefused:
        return ""
    if after is None:
        return ""
    if before is not None and before.version == after.version:
        line = f"no new version: {after.version} already holds these outputs"
        if QC_REPORT in (after.manifest.get("outputs") or {}):
            line += ", with its independent QC in R"
    elif before is None:
        line = f"published {after.version}"
    else:
        line = f"published {after.version} (the previous, {before.version}, is kept)"
        revised = after.manifest.get("revises")
        if revised:  # the same drop, re-analysed: say what differs
            line += f"; it revises {revised['version']} of the same drop: " + "; ".join(revised["changed"])
    compared = after.manifest.get("compared_with", "none")  # publish.compared_with: cut_comparison.csv's
    if compared != "none":
        line += f"; compared with the published cut {compared}"
    return line


def add_partition(instance: dg.DagsterInstance, cut: str) -> None:
    """Add the cut's partition unless it is there (another process may add it at the same moment)."""
    if instance.has_dynamic_partition(DATA_CUT_PARTITIONS, cut):
        return
    try:
        instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [cut])
    except Exception:
        if not instance.has_dynamic_partition(DATA_CUT_PARTITIONS, cut):
            raise


def _resource_failure(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The words of a failure before any step ran (the settings resource refuses a busy
    cut or a bad partition key there)."""
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.event_type_value not in ("RESOURCE_INIT_FAILURE", "ENGINE_EVENT", "RUN_FAILURE"):
            continue
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            if "Failure" in (error.cls_name or "") and error.message:
                return error.message.split("\n")[0].removeprefix(FAILURE_PREFIX)
            error = error.cause
    return None


def stdout_progress(line: str) -> None:
    print(line, file=sys.stdout, flush=True)
