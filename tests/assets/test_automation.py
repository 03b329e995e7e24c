"""Data cuts as partitions, the new-drop sensor and the interim schedule."""

from __future__ import annotations

import datetime as dt
import shutil

import dagster as dg
import polars as pl
import pytest

from trial_outcomes.pipelines.automation import scheduled_cut
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions
from trial_outcomes.pipelines.partitions import DATA_CUTS
from trial_outcomes.pipelines.resources import DropSettings


def _sensor(defs: dg.Definitions):
    return defs.resolve_sensor_def("new_drop_sensor")


def test_new_drop_in_the_landing_folder_triggers_a_run(small_drop_master, tmp_path):
    landing, out = tmp_path / "landing", tmp_path / "out"
    landing.mkdir()
    settings = DropSettings(out_dir=str(out), landing_dir=str(landing))
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"settings": settings}, definitions=defs)
        assert not _sensor(defs)(context).run_requests  # empty landing folder

        shutil.copytree(small_drop_master, landing / "export_2024_01")
        result = _sensor(defs)(context)
        (request,) = result.run_requests
        assert request.tags["trial/drop"] == "export_2024_01"
        assert result.dynamic_partitions_requests[0].partition_keys == [request.partition_key]

        # the same drop again: nothing; a changed file: a new run
        again = dg.build_sensor_context(instance=instance, resources={"settings": settings}, definitions=defs,
                                        cursor=result.cursor)
        assert not _sensor(defs)(again).run_requests
        (landing / "export_2024_01" / "followup.csv").open("a").write("BR-001,2021-01-01,CONTACT,\n")
        (changed,) = _sensor(defs)(again).run_requests
        assert changed.run_key != request.run_key

        # the requested run goes through
        instance.add_dynamic_partitions(DATA_CUTS.name, [request.partition_key])
        run = defs.resolve_job_def(ALL_JOB).execute_in_process(
            instance=instance, partition_key=request.partition_key, run_config=request.run_config, tags=request.tags)
        assert run.success
        assert (out / request.partition_key / "report.html").is_file()


def test_schedule_requests_the_cut_of_the_day_before_and_adds_its_partition(tmp_path):
    defs = build_definitions(DropSettings(out_dir=str(tmp_path)))
    schedule = defs.resolve_schedule_def("interim_schedule")
    assert schedule.cron_schedule == "0 6 1 * *"
    with dg.instance_for_test() as instance:
        when = dt.datetime(2024, 7, 1, 6, 0, tzinfo=dt.timezone.utc)
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                            repository_def=defs.get_repository_def())
        (request,) = schedule.evaluate_tick(context).run_requests
        assert request.partition_key == "2024-06-30" == scheduled_cut(when)
        assert instance.get_dynamic_partitions(DATA_CUTS.name) == ["2024-06-30"]


@pytest.mark.slow
def test_three_cuts_are_three_partitions_whose_outputs_differ_as_the_data_do(small_drop_master, tmp_path):
    """Cuts at 2021-06-30, 2022-06-30 and 2023-06-30 of one drop: enrolment and
    deaths only grow, and each partition has its own published outputs."""
    cuts = ["2021-06-30", "2022-06-30", "2023-06-30"]
    defs = build_definitions(DropSettings(data_dir=str(small_drop_master), out_dir=str(tmp_path)))
    job = defs.resolve_job_def(ALL_JOB)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(DATA_CUTS.name, cuts)
        for cut in cuts:
            assert job.execute_in_process(instance=instance, partition_key=cut).success
        materialized = instance.get_materialized_partitions(dg.AssetKey("adsl"))
        assert materialized == set(cuts)
    adsl = {cut: pl.read_parquet(tmp_path / cut / "adsl.parquet") for cut in cuts}
    enrolled = [adsl[c].height for c in cuts]
    deaths = [adsl[c]["DTHDT"].is_not_null().sum() for c in cuts]
    assert enrolled == sorted(enrolled) and enrolled[0] < enrolled[-1]
    assert deaths == sorted(deaths)
    assert all(adsl[c]["DTHDT"].drop_nulls().max() is None or adsl[c]["DTHDT"].drop_nulls().max() <= dt.date.fromisoformat(c)
               for c in cuts)
    comparison = pl.read_csv(tmp_path / cuts[2] / "cut_comparison.csv")
    assert comparison["previous_cut"][0] == cuts[1]
    row = comparison.filter(pl.col("item") == "Enrolled").row(0, named=True)
    assert (int(row["previous"]), int(row["current"])) == (enrolled[1], enrolled[2])
