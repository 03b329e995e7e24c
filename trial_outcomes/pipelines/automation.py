"""Interim analyses on a schedule and whenever a new EDC export lands."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg

from trial_outcomes.assets.shared import DATA_CUTS, DROP_FINGERPRINT_TAG, DropSettings
from trial_outcomes.errors import DataDropError
from trial_outcomes.io.readers import EXTENSIONS, latest_date_in_drop
from trial_outcomes.io.records import drop_files, drop_fingerprint

SENSOR_INTERVAL_SECONDS = 60
#: run tag: the SHA-256 of the drop's files (``analysis.drop.drop_fingerprint``) when the sensor requested the run


def drop_folders(landing: Path) -> list[Path]:
    """Each folder under ``landing`` holding an enrolment file is one drop (the
    landing folder itself too, when files are dropped straight into it)."""
    if not landing.is_dir():
        return []
    candidates = [landing, *sorted(p for p in landing.iterdir() if p.is_dir() and not p.name.startswith("."))]
    return [p for p in candidates if any((p / f"enrolment.{ext}").is_file() for ext in EXTENSIONS)]


def build_drop_sensor(job_name: str) -> dg.SensorDefinition:
    @dg.sensor(
        job_name=job_name,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def new_drop_sensor(context: dg.SensorEvaluationContext, settings: DropSettings):
        """A drop folder under the landing folder that is new or changed, and then
        unchanged at the next evaluation (at least a minute later, so that an export
        still being copied is not analysed), requests a run for the drop's data cut
        (its latest date), adding the partition. The run is tagged with the drop's
        SHA-256, and fails without publishing if the files differ when it reads them."""
        seen = _read_cursor(context.cursor)
        requests, cuts = [], set()
        for folder in drop_folders(settings.landing_path):
            key = folder.resolve().as_posix()
            fingerprint = drop_fingerprint(drop_files(folder))
            state = seen.get(key, {})
            if state.get("sha256") != fingerprint:
                seen[key] = {"sha256": fingerprint, "requested": False}
                context.log.info(f"drop {folder.name} is new or changed; it runs if unchanged at the next evaluation")
                continue
            if state["requested"]:
                continue
            state["requested"] = True
            try:
                latest = latest_date_in_drop(folder)
            except DataDropError as exc:
                context.log.error(f"drop {folder.name} cannot be read: {exc}")
                continue
            if latest is None:
                context.log.error(f"drop {folder.name} holds no valid date to take as the data cut")
                continue
            cut = latest.isoformat()
            cuts.add(cut)
            requests.append(
                dg.RunRequest(
                    run_key=f"{folder.name}:{fingerprint[:16]}",
                    partition_key=cut,
                    run_config=settings.run_config(data_dir=str(folder)),
                    tags={"trial/drop": folder.name, "trial/trigger": "new drop", DROP_FINGERPRINT_TAG: fingerprint},
                )
            )
        cursor = json.dumps(seen, sort_keys=True)
        if not requests:
            return dg.SensorResult(skip_reason="no new drop unchanged since the last evaluation", cursor=cursor)
        return dg.SensorResult(
            run_requests=requests,
            cursor=cursor,
            dynamic_partitions_requests=[DATA_CUTS.build_add_request(sorted(cuts))],
        )

    return new_drop_sensor


def _read_cursor(cursor: str | None) -> dict[str, dict]:
    """Per drop folder: its SHA-256 when last seen, and whether a run was requested for it.
    (Cursors written before the settling rule hold the SHA-256 alone: those drops had runs.)"""
    seen = json.loads(cursor) if cursor else {}
    return {
        key: value if isinstance(value, dict) else {"sha256": value, "requested": True} for key, value in seen.items()
    }


def scheduled_cut(execution_time: dt.datetime) -> str:
    """The data cut of a scheduled interim analysis: the day before the tick."""
    return (execution_time.date() - dt.timedelta(days=1)).isoformat()


def build_interim_schedule(job_name: str, cron: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        job_name=job_name, cron_schedule=cron, execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED
    )
    def interim_schedule(context: dg.ScheduleEvaluationContext):
        """Periodic interim analysis of the configured drop (cadence from the analysis plan)."""
        cut = scheduled_cut(context.scheduled_execution_time)
        # a schedule cannot return partition requests: add the cut's partition here
        context.instance.add_dynamic_partitions(DATA_CUTS.name, [cut])
        return dg.RunRequest(run_key=f"interim-{cut}", partition_key=cut, tags={"trial/trigger": "schedule"})

    return interim_schedule
