"""The run queue of the UI, the sensors and the schedule, with the data cut checked
before a run starts (issue 22): the UI's add-partition dialog takes any text, and a
run launched on ``2024-4-1`` used to start, fail in its first step and show the
reason under a stack trace. Here the run is marked failed at submission, with one
line saying why; nothing starts, nothing is written. Every other run is queued as
by Dagster's ``QueuedRunCoordinator`` (the one-run-per-cut limit of dagster.yaml
included). Configured in dagster.yaml's ``run_coordinator``."""

from __future__ import annotations

import os
from pathlib import Path

from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext
from dagster._core.storage.dagster_run import DagsterRun

from trial_outcomes.dates import parse_cut

PARTITION_TAG = "dagster/partition"


def cut_key_problem(run: DagsterRun) -> str | None:
    """Why the run's data cut is not a cut, or None (a run without a partition is not ours to judge)."""
    # a portfolio run (trial x cut) is judged on its cut
    key = run.tags.get(f"{PARTITION_TAG}/cut", run.tags.get(PARTITION_TAG))
    if key is None:
        return None
    try:
        parse_cut(key)
    except ValueError as exc:
        return f"not started: {exc}"  # data cut '2024-4-1' is not written YYYY-MM-DD (for example 2024-03-31)
    return None


#: the output folder a run of one trial's cut publishes in: dagster.yaml lets one run per folder
#: go at a time, so the cuts of a backfill run in date order, each compared with the one before
OUT_FOLDER_TAG = "trial/output_folder"


def output_folder(run: DagsterRun) -> str | None:
    """The resolved output folder of a run of one trial's data cut (its run config's
    ``out_dir``, else ``TRIAL_OUT_DIR``, else ``outputs``); for a portfolio's cell, its
    trial (whose cuts share the trial's folder: a UI backfill of a trial's cuts ran them
    at once); None for a run without a cut."""
    if PARTITION_TAG not in run.tags:
        return None
    trial = run.tags.get(f"{PARTITION_TAG}/trial")
    if trial is not None:
        return f"portfolio trial {trial}"
    config = run.run_config if isinstance(run.run_config, dict) else {}
    settings = ((config.get("resources") or {}).get("settings") or {}).get("config") or {}
    out = (settings.get("out_dir") if isinstance(settings, dict) else None) or os.environ.get(
        "TRIAL_OUT_DIR", "outputs"
    )
    return str(Path(out).resolve())


class CutCheckingRunCoordinator(QueuedRunCoordinator):
    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        problem = cut_key_problem(context.dagster_run)
        if problem is None:
            folder = output_folder(context.dagster_run)
            if folder is not None and OUT_FOLDER_TAG not in context.dagster_run.tags:
                # two cuts of a backfill ran at once, and the later compared itself with no cut
                self._instance.add_run_tags(context.dagster_run.run_id, {OUT_FOLDER_TAG: folder})
                run = self._instance.get_run_by_id(context.dagster_run.run_id)
                assert run is not None
                return super().submit_run(SubmitRunContext(run, context.workspace))
            return super().submit_run(context)
        self._instance.report_run_failed(context.dagster_run, message=problem)
        run = self._instance.get_run_by_id(context.dagster_run.run_id)
        assert run is not None
        return run
