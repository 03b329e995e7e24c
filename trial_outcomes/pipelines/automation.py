"""Interim analyses on a schedule and whenever a new EDC export lands."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import dagster as dg

from trial_outcomes.errors import DataDropError
from trial_outcomes.io.readers import EXTENSIONS, latest_date_in_drop
from trial_outcomes.pipelines.partitions import DATA_CUTS
from trial_outcomes.pipelines.resources import DropSettings

SENSOR_INTERVAL_SECONDS = 60


def drop_folders(landing: Path) -> list[Path]:
    """Each folder under ``landing`` holding an enrolment file is one drop (the
    landing folder itself too, when files are dropped straight into it)."""
    if not landing.is_dir():
        return []
    candidates = [landing, *sorted(p for p in landing.iterdir() if p.is_dir() and not p.name.startswith("."))]
    return [p for p in candidates if any((p / f"enrolment.{ext}").is_file() for ext in EXTENSIONS)]


def drop_fingerprint(folder: Path) -> str:
    """SHA-256 over the names and SHA-256 of the drop's data files."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lstrip(".") in EXTENSIONS):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build_drop_sensor(job_name: str) -> dg.SensorDefinition:
    @dg.sensor(job_name=job_name, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
               default_status=dg.DefaultSensorStatus.STOPPED)
    def new_drop_sensor(context: dg.SensorEvaluationContext, settings: DropSettings):
        """A new drop folder, or changed file hashes in one, under the landing folder
        requests a run for the drop's data cut (its latest date), adding the partition."""
        seen = json.loads(context.cursor) if context.cursor else {}
        requests, cuts = [], set()
        for folder in drop_folders(settings.landing_path):
            key = folder.resolve().as_posix()
            fingerprint = drop_fingerprint(folder)
            if seen.get(key) == fingerprint:
                continue
            seen[key] = fingerprint
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
            requests.append(dg.RunRequest(
                run_key=f"{folder.name}:{fingerprint[:16]}",
                partition_key=cut,
                run_config=settings.run_config(data_dir=str(folder)),
                tags={"trial/drop": folder.name, "trial/trigger": "new drop"},
            ))
        if not requests:
            return dg.SensorResult(skip_reason="no new or changed drop", cursor=json.dumps(seen, sort_keys=True))
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True),
                               dynamic_partitions_requests=[DATA_CUTS.build_add_request(sorted(cuts))])

    return new_drop_sensor


def scheduled_cut(execution_time: dt.datetime) -> str:
    """The data cut of a scheduled interim analysis: the day before the tick."""
    return (execution_time.date() - dt.timedelta(days=1)).isoformat()


def build_interim_schedule(job_name: str, cron: str) -> dg.ScheduleDefinition:
    @dg.schedule(job_name=job_name, cron_schedule=cron, execution_timezone="UTC",
                 default_status=dg.DefaultScheduleStatus.STOPPED)
    def interim_schedule(context: dg.ScheduleEvaluationContext):
        """Periodic interim analysis of the configured drop (cadence from the analysis plan)."""
        cut = scheduled_cut(context.scheduled_execution_time)
        # a schedule cannot return partition requests: add the cut's partition here
        context.instance.add_dynamic_partitions(DATA_CUTS.name, [cut])
        return dg.RunRequest(run_key=f"interim-{cut}", partition_key=cut, tags={"trial/trigger": "schedule"})

    return interim_schedule
