"""The interim schedule: a periodic interim analysis on the plan's cron."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, DROP_FINGERPRINT_TAG, TRIGGER_TAG, DropSettings
from trial_outcomes.io.publishing import PublishRefused, current, published_cuts
from trial_outcomes.io.records import drop_files, drop_fingerprint


def scheduled_cut(execution_time: dt.datetime) -> str:
    """The data cut of a scheduled interim analysis: the day before the tick."""
    return (execution_time.date() - dt.timedelta(days=1)).isoformat()


def unchanged_since(settings: DropSettings, cut: str, fingerprint: str) -> str | None:
    """The latest cut before ``cut`` published in the settings' output folder from the
    drop whose fingerprint is ``fingerprint`` (the drop as it is now) and holding every
    record of it (the drop's latest record on or before that cut), or None. A drop
    published at an earlier cut than its records reach has news for a later one (a red
    team's cleaned December cut of a drop running to March skipped every later tick)."""
    for earlier in reversed([c for c in published_cuts(settings.out_path) if c < cut]):
        try:
            published = current(settings.out_path, earlier)
        except PublishRefused:
            continue
        if published is None or published.drop_sha256 != fingerprint:
            continue
        latest = (published.manifest.get("data_drop") or {}).get("latest_record")
        if isinstance(latest, str) and latest <= earlier:
            return earlier
    return None


def build_interim_schedule(job_name: str, cron: str, settings: DropSettings | None = None) -> dg.ScheduleDefinition:
    @dg.schedule(
        job_name=job_name, cron_schedule=cron, execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED
    )
    def interim_schedule(context: dg.ScheduleEvaluationContext):
        """Periodic interim analysis of the configured drop (cadence from the analysis plan).
        A drop unchanged since the last cut published from it is skipped, saying so: a red
        team's schedule published the same drop as a new cut each month (every change 0, a
        crossed boundary announced again each month on the same data)."""
        cut = scheduled_cut(context.scheduled_execution_time)
        tags = {TRIGGER_TAG: "schedule"}
        if settings is not None and settings.data_path.is_dir():
            fingerprint = drop_fingerprint(drop_files(settings.data_path))
            same = unchanged_since(settings, cut, fingerprint)
            if same is not None:
                return dg.SkipReason(
                    f"no interim analysis at cut {cut}: the drop in {settings.data_path} is the one cut {same} was "
                    f"published from (SHA-256 {fingerprint[:16]}...), and holds no record after it; a new export "
                    "there is analysed at the next tick (or run the cut by hand)"
                )
            tags[DROP_FINGERPRINT_TAG] = fingerprint  # the run refuses a drop that changes before it reads it
        # a schedule cannot return partition requests: add the cut's partition here
        context.instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [cut])
        return dg.RunRequest(run_key=f"interim-{cut}", partition_key=cut, tags=tags)

    return interim_schedule
