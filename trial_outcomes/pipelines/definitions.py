"""The Dagster definitions: the one asset graph that the UI and the CLI run."""

from __future__ import annotations

from typing import Any

import dagster as dg

from trial_outcomes.assets import (
    adverse_events,
    laboratory,
    monitoring,
    qc,
    report,
    safety,
    subject_level,
    survival,
    time_to_event,
)
from trial_outcomes.assets.ingest import RAW_ASSETS
from trial_outcomes.assets.publish import build_published_cut
from trial_outcomes.assets.shared import (
    FIGURE_WORKERS,
    OUTPUT_STORE,
    OUTPUT_TAG,
    SETTINGS,
    DropSettings,
    figure_workers,
    output_store,
)
from trial_outcomes.assets.validation import cut_records, drop_identity, trial_drop
from trial_outcomes.pipelines.schedules import build_interim_schedule
from trial_outcomes.pipelines.sensors import (
    build_alert_retry_sensor,
    build_boundary_sensor,
    build_cut_keys_sensor,
    build_drop_sensor,
    drop_alert_target,
)
from trial_outcomes.pipelines.storage import frame_io_manager
from trial_outcomes.runspec import RunSpec

ALL_JOB = "all_outcomes"
#: the code location the UI loads (``trial-outcomes ui`` writes it into workspace.yaml; pyproject.toml's
#: [tool.dagster] names the same module), and the repository Definitions make
CODE_LOCATION = "trial_outcomes"
DEFINITIONS_MODULE = __name__
REPOSITORY = "__repository__"
JOB_DESCRIPTION = (
    "Every outcome asset of one drop and data cut, published as one set. To analyse a new cut: "
    "Materialize all, then Add a partition named by the cut's date as YYYY-MM-DD (for example 2024-06-30), "
    "on or before the drop's latest date; any other name fails the run at once, before anything is read."
)


def output_asset_keys(assets: list[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    """The assets that write a published file: those tagged ``trial/output``."""
    return sorted(key for a in assets for key in a.keys if OUTPUT_TAG in a.tags_by_key.get(key, {}))


def trial_assets() -> list[dg.AssetsDefinition]:
    """Every asset of one trial's run, ``published_cut`` last (the single trial's graph,
    and the portfolio's, partitioned by trial too)."""
    derived = dg.load_assets_from_modules(
        [subject_level, adverse_events, laboratory, time_to_event, safety, survival, monitoring, qc, report]
    )
    assets: list[dg.AssetsDefinition] = [
        *RAW_ASSETS,
        trial_drop,
        cut_records,
        drop_identity,
        *(a for a in derived if isinstance(a, dg.AssetsDefinition)),
    ]
    steps = [a.node_def.name for a in assets]  # a run of a selection is refused at publishing
    return [*assets, build_published_cut(output_asset_keys(assets), steps)]


def build_definitions(settings: DropSettings | None = None, spec: RunSpec | None = None) -> dg.Definitions:
    """Definitions for one drop and output folder (from the environment by default).
    Every job runs in one process (its steps share values in memory; the cut's lock
    is held by the run), whoever launches it: the data-cut job, and a selection
    materialized from the asset graph too (the default executor).

    ``spec``: the run specification ``trial-outcomes run`` already made (its cut
    parsed and its plan read once); the run then uses it as it is. Without it, each
    run makes its own from ``settings`` and its partition key."""
    settings = settings or DropSettings.from_env()
    plan = spec.plan if spec is not None else settings.analysis_plan()
    run_spec: Any = dg.ResourceDefinition.hardcoded_resource(spec) if spec is not None else settings
    return dg.Definitions(
        assets=trial_assets(),
        jobs=[
            dg.define_asset_job(
                ALL_JOB,
                selection=dg.AssetSelection.all(),  # every asset is partitioned by data cut: so is the job
                executor_def=dg.in_process_executor,
                description=JOB_DESCRIPTION,
                # a run launched from the UI, a sensor or the schedule prints warnings and errors only on
                # the `ui` console (issue 22: ~2,100 DEBUG lines a run); the UI's run page keeps every event
                config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
        ],
        sensors=[
            build_drop_sensor(ALL_JOB, settings),
            build_boundary_sensor(ALL_JOB, drop_alert_target(settings)),
            build_alert_retry_sensor(ALL_JOB, drop_alert_target(settings)),
            build_cut_keys_sensor(),
        ],
        schedules=[build_interim_schedule(ALL_JOB, plan.schedule_cron, settings)],
        resources={
            SETTINGS: run_spec,
            OUTPUT_STORE: output_store,
            FIGURE_WORKERS: figure_workers,
            "io_manager": frame_io_manager.configured(
                {"base_dir": str(settings.out_path / ".storage"), "in_run_output_folder": True}
            ),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions()
