"""The Dagster definitions: the one asset graph that the UI and the CLI run."""

from __future__ import annotations

import dagster as dg

from trial_outcomes.assets import adverse_events, monitoring, report, subject_level, survival, time_to_event
from trial_outcomes.assets.ingest import RAW_ASSETS
from trial_outcomes.assets.publish import published_cut
from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.assets.validation import eligibility_deviations, trial_drop
from trial_outcomes.pipelines.automation import build_drop_sensor, build_interim_schedule
from trial_outcomes.pipelines.storage import FrameIOManager

ALL_JOB = "all_outcomes"


def build_definitions(settings: DropSettings | None = None) -> dg.Definitions:
    """Definitions for one drop and output folder (from the environment by default)."""
    settings = settings or DropSettings.from_env()
    storage = FrameIOManager(base_dir=str(settings.out_path / ".storage"))
    plan = settings.analysis_plan()
    return dg.Definitions(
        assets=[
            *RAW_ASSETS,
            trial_drop,
            eligibility_deviations,
            *dg.load_assets_from_modules([subject_level, adverse_events, time_to_event, survival, monitoring, report]),
            published_cut,
        ],
        jobs=[
            dg.define_asset_job(
                ALL_JOB,
                selection=dg.AssetSelection.all(),
                partitions_def=DATA_CUTS,
                description="Every outcome asset for one drop and data cut",
            )
        ],
        sensors=[build_drop_sensor(ALL_JOB)],
        schedules=[build_interim_schedule(ALL_JOB, plan.schedule_cron)],
        resources={"settings": settings, "io_manager": storage},
    )


defs = build_definitions()
