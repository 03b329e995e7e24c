"""Sensors: a run for each new EDC export once it stops changing, and an alert to
the people the plan names when a run crosses a stopping boundary."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from trial_outcomes.assets.shared import (
    ANNOUNCED_TAG,
    DATA_CUTS,
    DROP_FINGERPRINT_TAG,
    STOPPING_TAG,
    TRIGGER_TAG,
    DropSettings,
)
from trial_outcomes.errors import DataDropError
from trial_outcomes.io.readers import EXTENSIONS, latest_date_in_drop
from trial_outcomes.io.records import drop_files, drop_fingerprint
from trial_outcomes.pipelines.notify import Alert, announce
from trial_outcomes.plan import Notify

SENSOR_INTERVAL_SECONDS = 60


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
                    tags={"trial/drop": folder.name, TRIGGER_TAG: "sensor", DROP_FINGERPRINT_TAG: fingerprint},
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


def crossed_rules(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The failed stopping-boundary checks of a run, each with the data it saw."""
    from trial_outcomes.analysis.stopping import RULES
    from trial_outcomes.assets.monitoring import CHECKS

    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    out = []
    for record in records:
        evaluation = (
            record.event_log_entry.dagster_event.event_specific_data if record.event_log_entry.dagster_event else None
        )
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            continue
        if evaluation.check_name in CHECKS and not evaluation.passed:
            out.append(f"{RULES[CHECKS[evaluation.check_name]]}: {evaluation.description or 'crossed'}")
    return out


def announce_run(instance: dg.DagsterInstance, run: dg.DagsterRun, notify: Notify, out_dir: Path) -> list[str]:
    """Tell the people the plan names that ``run`` crossed a stopping boundary, once:
    the run is tagged before anything is sent, so the CLI (right after its run) and the
    boundary sensor (for every launcher) never both announce it. Returns what was done."""
    if ANNOUNCED_TAG in run.tags:
        return []
    cut = run.tags.get("dagster/partition", "?")
    rules = crossed_rules(instance, run.run_id) or [run.tags.get(STOPPING_TAG, "crossed")]
    report = out_dir.resolve() / cut / "report.pdf"
    alert = Alert(cut, run.run_id, rules, str(report) if report.is_file() else "")
    if not notify.enabled:
        return [f"{alert.subject}: no one to tell ([notify] in the analysis plan is empty)"]
    instance.add_run_tags(run.run_id, {ANNOUNCED_TAG: "sending"})
    results = announce(notify, alert)  # e.g. ["webhook: sent", "e-mail: FAILED (...)"]
    instance.add_run_tags(run.run_id, {ANNOUNCED_TAG: "; ".join(results)})
    lines = [f"{alert.subject}: {result}" for result in results]
    return lines


def _run_out_dir(run: dg.DagsterRun, settings: DropSettings) -> Path:
    resources = run.run_config.get("resources", {}) if isinstance(run.run_config, dict) else {}
    config = resources.get("settings", {}).get("config", {}) if isinstance(resources, dict) else {}
    return Path(config.get("out_dir") or settings.out_dir)


def build_boundary_sensor(job_name: str) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="stopping_boundary_alert",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Announces a crossed stopping boundary (webhook and e-mail, as the analysis "
        "plan's [notify] says) for every successful run of the data-cut job, "
        "whoever launched it, once per run.",
    )
    def stopping_boundary_alert(context: dg.RunStatusSensorContext, settings: DropSettings) -> dg.SkipReason | None:
        run = context.dagster_run
        if run.job_name != job_name or STOPPING_TAG not in run.tags:
            return dg.SkipReason(f"run {run.run_id[:8]}: no boundary crossed")
        if ANNOUNCED_TAG in run.tags:
            return dg.SkipReason(f"run {run.run_id[:8]}: announced already ({run.tags[ANNOUNCED_TAG]})")
        lines = announce_run(context.instance, run, settings.analysis_plan().notify, _run_out_dir(run, settings))
        for line in lines:
            (context.log.info if line.endswith(": sent") else context.log.warning)(line)
        return None

    return stopping_boundary_alert
