"""The interim schedule: a periodic interim analysis on the plan's cron."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, TRIGGER_TAG


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
        context.instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [cut])
        return dg.RunRequest(run_key=f"interim-{cut}", partition_key=cut, tags={TRIGGER_TAG: "schedule"})

    return interim_schedule
