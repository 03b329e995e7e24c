"""Run the whole asset job in process, and say in words what failed."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from trial_outcomes.assets.monitoring import CHECKS as BOUNDARY_CHECKS
from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.dates import parse_cut
from trial_outcomes.errors import DataDropError, Problem
from trial_outcomes.io.publishing import CutBusy, cut_lock
from trial_outcomes.io.readers import latest_date_in_drop
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions


@dataclass
class RunOutcome:
    success: bool
    cut: str | None = None
    published: str | None = None
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    boundaries: list[str] = field(default_factory=list)
    run_id: str = ""
    interrupted: bool = False  # stopped by an interrupt (Ctrl-C, SIGINT/SIGTERM), not by the data
    #: seconds spent finding the default cut, then in each step that succeeded (Dagster's own count)
    timings: dict[str, float] = field(default_factory=dict)


def _instance() -> dg.DagsterInstance:
    """The instance of ``DAGSTER_HOME`` when set (runs then show in the UI), else a throwaway one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def default_cut(data_dir: Path) -> str:
    """The latest date in the drop (data-contract.md section 2)."""
    latest = latest_date_in_drop(data_dir)
    if latest is None:
        raise DataDropError(
            Problem(str(data_dir), None, None, None, "no valid date in the drop to take as the data cut")
        )
    return latest.isoformat()


def run_pipeline(data_dir: Path, out_dir: Path, cut: str = "") -> RunOutcome:
    """Materialize every asset for one drop and one cut (the partition ``cut``,
    added if new); ``cut`` empty: the latest date in the drop."""
    timings = {}
    if not cut:
        started = time.perf_counter()
        try:
            cut = default_cut(data_dir)
        except DataDropError as exc:
            return RunOutcome(success=False, failures=[str(exc)])
        timings["(default cut: latest date in the drop)"] = time.perf_counter() - started
    try:
        parse_cut(cut)
    except ValueError as exc:
        return RunOutcome(success=False, failures=[f"data cut: {exc}"])
    try:
        with cut_lock(out_dir, cut):
            return _execute(data_dir, out_dir, cut, timings)
    except CutBusy as exc:
        return RunOutcome(success=False, failures=[str(exc)])


def _execute(data_dir: Path, out_dir: Path, cut: str, timings: dict[str, float]) -> RunOutcome:
    defs = build_definitions(DropSettings(data_dir=str(data_dir), out_dir=str(out_dir)))
    job = defs.resolve_job_def(ALL_JOB)
    with _instance() as instance:
        instance.add_dynamic_partitions(DATA_CUTS.name, [cut])
        result = job.execute_in_process(
            instance=instance,
            partition_key=cut,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
        outcome = RunOutcome(success=result.success, run_id=result.run_id, timings=timings)
        for event in result.all_events:
            if event.event_type_value == "STEP_SUCCESS":
                outcome.timings[event.step_key] = event.step_success_data.duration_ms / 1000
            elif event.event_type_value == "ASSET_CHECK_EVALUATION":
                check = event.event_specific_data
                if not check.passed:
                    blocking = check.severity == dg.AssetCheckSeverity.ERROR
                    text = f"check {check.asset_key.to_user_string()}:{check.check_name} failed: {check.description}"
                    (outcome.failures if blocking else outcome.warnings).append(text)
                    if check.check_name in BOUNDARY_CHECKS:
                        outcome.boundaries.append(text)
            elif event.event_type_value == "STEP_FAILURE":
                data = event.step_failure_data
                if data.error is not None and data.error.cls_name == "DagsterExecutionInterruptedError":
                    outcome.interrupted = True
                    outcome.failures.append(f"step {event.step_key} was interrupted")
                elif data.user_failure_data is not None:
                    outcome.failures.append(f"step {event.step_key} failed: {data.user_failure_data.description}")
                elif (
                    "DagsterAssetCheckFailedError" not in (data.error.cls_name or "")
                    and "blocking asset check" not in data.error.message
                ):
                    outcome.failures.append(f"step {event.step_key} failed: {data.error.to_string()}")
        if result.success:
            outcome.cut = cut  # the partition key is the cut (trial_drop has checked it)
            outcome.published = str(out_dir / cut)
    return outcome
