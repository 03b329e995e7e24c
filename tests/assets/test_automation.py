"""Data cuts as partitions, the new-drop sensor, the interim schedule, and the alert
when a stopping boundary is crossed."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import dagster as dg
import polars as pl
import pytest

from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, DROP_FINGERPRINT_TAG, DropSettings
from trial_outcomes.io.records import drop_files, drop_fingerprint
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions
from trial_outcomes.pipelines.schedules import scheduled_cut


def _sensor(defs: dg.Definitions):
    return defs.resolve_sensor_def("new_drop_sensor")


def _settled_request(defs, instance) -> dg.RunRequest:
    """The one run the sensor requests for a drop unchanged over two evaluations."""
    (request,) = _evaluate(defs, instance, _evaluate(defs, instance).cursor).run_requests
    return request


def _evaluate(defs, instance, cursor=None) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, definitions=defs, cursor=cursor) as context:
        return _sensor(defs)(context)


def test_new_drop_runs_once_it_has_stopped_changing(small_drop_master, tmp_path):
    """A drop is analysed only when the next evaluation (a minute later) finds the
    same files: an export still being copied is not. Unchanged afterwards: no
    new run; changed: one more run, again after it settles."""
    landing, out = tmp_path / "landing", tmp_path / "out"
    landing.mkdir()
    settings = DropSettings(out_dir=str(out), landing_dir=str(landing))
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        assert not _evaluate(defs, instance).run_requests  # empty landing folder

        shutil.copytree(small_drop_master, landing / "export_2024_01")
        first = _evaluate(defs, instance)
        assert not first.run_requests  # new: wait for the next evaluation
        settled = _evaluate(defs, instance, first.cursor)
        (request,) = settled.run_requests
        assert request.tags["trial/drop"] == "export_2024_01"
        assert request.tags[DROP_FINGERPRINT_TAG] == drop_fingerprint(drop_files(landing / "export_2024_01"))
        assert settled.dynamic_partitions_requests[0].partition_keys == [request.partition_key]

        assert not _evaluate(defs, instance, settled.cursor).run_requests  # the same drop again
        with (landing / "export_2024_01" / "followup.csv").open("a") as handle:
            handle.write("BR-001,2021-01-01,CONTACT,,\n")
        changed = _evaluate(defs, instance, settled.cursor)
        assert not changed.run_requests
        (again,) = _evaluate(defs, instance, changed.cursor).run_requests
        assert again.run_key != request.run_key


@pytest.mark.slow  # a whole run
def test_the_run_a_sensor_requests_publishes(small_drop_master, tmp_path):
    """The run config and tags of the sensor's request make a run that publishes."""
    landing, out = tmp_path / "landing", tmp_path / "out"
    shutil.copytree(small_drop_master, landing / "export_2024_01")
    settings = DropSettings(out_dir=str(out), landing_dir=str(landing))
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        request = _settled_request(defs, instance)
        instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [request.partition_key])
        run = defs.resolve_job_def(ALL_JOB).execute_in_process(
            instance=instance, partition_key=request.partition_key, run_config=request.run_config, tags=request.tags
        )
        assert run.success
        assert (out / request.partition_key / "report.html").is_file()


def test_a_drop_still_being_copied_waits(small_drop_master, tmp_path):
    """Files arriving one by one: each evaluation sees a different drop, so none runs."""
    landing = tmp_path / "landing"
    drop = landing / "export"
    drop.mkdir(parents=True)
    settings = DropSettings(out_dir=str(tmp_path / "out"), landing_dir=str(landing))
    defs = build_definitions(settings)
    cursor = None
    with dg.DagsterInstance.ephemeral() as instance:
        for path in sorted(small_drop_master.iterdir(), key=lambda p: p.name != "enrolment.csv"):
            shutil.copy(path, drop / path.name)
            result = _evaluate(defs, instance, cursor)
            assert not result.run_requests, path.name
            cursor = result.cursor
        assert len(_evaluate(defs, instance, cursor).run_requests) == 1


def test_a_run_whose_drop_changed_after_the_sensor_saw_it_fails_and_publishes_nothing(small_drop_master, tmp_path):
    landing, out = tmp_path / "landing", tmp_path / "out"
    shutil.copytree(small_drop_master, landing / "export")
    settings = DropSettings(out_dir=str(out), landing_dir=str(landing))
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        request = _settled_request(defs, instance)
        with (landing / "export" / "followup.csv").open("a") as handle:
            handle.write("BR-001,2021-01-01,CONTACT,,\n")
        instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [request.partition_key])
        run = defs.resolve_job_def(ALL_JOB).execute_in_process(
            instance=instance,
            partition_key=request.partition_key,
            run_config=request.run_config,
            tags=request.tags,
            raise_on_error=False,
        )
    assert not run.success
    (failure,) = [e for e in run.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "trial_drop"
    assert "changed after the run was requested" in failure.step_failure_data.user_failure_data.description
    assert not (out / request.partition_key).exists()


def test_a_cursor_from_before_the_settling_rule_still_counts_its_drops_as_run(small_drop_master, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(small_drop_master, landing / "export")
    settings = DropSettings(out_dir=str(tmp_path / "out"), landing_dir=str(landing))
    defs = build_definitions(settings)
    old_cursor = json.dumps(
        {(landing / "export").resolve().as_posix(): drop_fingerprint(drop_files(landing / "export"))}
    )
    with dg.DagsterInstance.ephemeral() as instance:
        assert not _evaluate(defs, instance, old_cursor).run_requests


def test_schedule_requests_the_cut_of_the_day_before_and_adds_its_partition(tmp_path):
    defs = build_definitions(DropSettings(out_dir=str(tmp_path)))
    schedule = defs.resolve_schedule_def("interim_schedule")
    assert schedule.cron_schedule == "0 6 1 * *"
    with dg.instance_for_test() as instance:
        when = dt.datetime(2024, 7, 1, 6, 0, tzinfo=dt.UTC)
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
        )
        (request,) = schedule.evaluate_tick(context).run_requests
        assert request.partition_key == "2024-06-30" == scheduled_cut(when)
        assert instance.get_dynamic_partitions(DATA_CUT_PARTITIONS) == ["2024-06-30"]


def test_the_schedule_skips_a_drop_unchanged_since_its_last_cut(drop, tmp_path):
    """The drop's records run to 2024-05-20 (its latest record, as the manifest says).
    Published at 2024-03-31 only, it holds news for the tick of 2024-07-01 (cut
    2024-06-30: a red team's cleaned earlier cut made every later tick skip). Published at
    2024-05-31 too, the tick is skipped, naming that cut (a red team's schedule published
    one unchanged drop as a new cut each month). After one
    file of the drop changes, the tick asks for the cut, with the drop's fingerprint as
    its tag."""
    from trial_outcomes.io.publishing import publish

    out = tmp_path / "out"
    fingerprint = drop_fingerprint(drop_files(drop))

    def published(cut: str) -> None:
        work = tmp_path / f"work-{cut}"
        work.mkdir()
        manifest = {"data_drop": {"sha256": fingerprint, "latest_record": "2024-05-20"}, "outputs": {}}
        (work / "manifest.json").write_text(json.dumps(manifest))
        publish(out, cut, [work / "manifest.json"], {})

    published("2024-03-31")
    defs = build_definitions(DropSettings(data_dir=str(drop), out_dir=str(out)))
    schedule = defs.resolve_schedule_def("interim_schedule")
    when = dt.datetime(2024, 7, 1, 6, 0, tzinfo=dt.UTC)
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
        ) as context,
    ):
        (request,) = schedule.evaluate_tick(context).run_requests
        assert request.partition_key == "2024-06-30"
        published("2024-05-31")
        result = schedule.evaluate_tick(context)
        assert not result.run_requests
        assert "is the one cut 2024-05-31 was published from" in (result.skip_message or "")
        assert "holds no record after it" in (result.skip_message or "")
        with open(drop / "followup.csv", "a") as handle:
            handle.write("")  # same bytes: still the same drop
        assert not schedule.evaluate_tick(context).run_requests
        (drop / "followup.csv").write_bytes((drop / "followup.csv").read_bytes() + b"\n")
        (request,) = schedule.evaluate_tick(context).run_requests
        assert request.partition_key == "2024-06-30"
        assert request.tags[DROP_FINGERPRINT_TAG] == drop_fingerprint(drop_files(drop))


@pytest.mark.slow
def test_three_cuts_are_three_partitions_whose_outputs_differ_as_the_data_do(small_drop_master, tmp_path):
    """Cuts at 2021-06-30, 2022-06-30 and 2023-06-30 of one drop: enrolment and
    deaths only grow, and each partition has its own published outputs."""
    cuts = ["2021-06-30", "2022-06-30", "2023-06-30"]
    defs = build_definitions(DropSettings(data_dir=str(small_drop_master), out_dir=str(tmp_path)))
    job = defs.resolve_job_def(ALL_JOB)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, cuts)
        for cut in cuts:
            assert job.execute_in_process(instance=instance, partition_key=cut).success
        materialized = instance.get_materialized_partitions(dg.AssetKey("adsl"))
        assert materialized == set(cuts)
    adsl = {cut: pl.read_parquet(tmp_path / cut / "adsl.parquet") for cut in cuts}
    enrolled = [adsl[c].height for c in cuts]
    deaths = [adsl[c]["DTHDT"].is_not_null().sum() for c in cuts]
    assert enrolled == sorted(enrolled) and enrolled[0] < enrolled[-1]
    assert deaths == sorted(deaths)
    assert all(
        adsl[c]["DTHDT"].drop_nulls().max() is None or adsl[c]["DTHDT"].drop_nulls().max() <= dt.date.fromisoformat(c)
        for c in cuts
    )
    comparison = pl.read_csv(tmp_path / cuts[2] / "cut_comparison.csv")
    assert comparison["previous_cut"][0] == cuts[1]
    row = comparison.filter(pl.col("item") == "Enrolled").row(0, named=True)
    assert (int(row["previous"]), int(row["current"])) == (enrolled[1], enrolled[2])


def test_a_junk_cut_partition_is_removed_with_the_reason_and_real_cuts_stay():
    """The UI's add-partition dialog accepts any text: 2024-4-1 (not YYYY-MM-DD) and
    2024-02-30 (no such day) are removed by the data_cut_keys sensor; 2024-03-31 stays."""
    from trial_outcomes.pipelines.sensors import build_cut_keys_sensor

    sensor = build_cut_keys_sensor()
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, ["2024-03-31", "2024-4-1", "2024-02-30"])
        with dg.build_sensor_context(instance=instance) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        (request,) = result.dynamic_partitions_requests
        assert sorted(request.partition_keys) == ["2024-02-30", "2024-4-1"]
        # what the daemon does with the request, then the next tick has nothing to do
        instance.delete_dynamic_partition(DATA_CUT_PARTITIONS, "2024-4-1")
        instance.delete_dynamic_partition(DATA_CUT_PARTITIONS, "2024-02-30")
        with dg.build_sensor_context(instance=instance) as context:
            again = sensor(context)
        assert isinstance(again, dg.SkipReason)
        assert instance.get_dynamic_partitions(DATA_CUT_PARTITIONS) == ["2024-03-31"]


def test_cuts_added_out_of_date_order_are_put_back_in_order():
    """Dagster lists partitions as added: 2023-12-31 added after 2024-03-31 and
    2024-06-30 came last. The sensor deletes 2023-12-31 and the cuts after its place and
    adds them back in date order, on the instance itself; a junk key on the way goes by
    the tick's request. The tick passes Dagster's own check of its requests
    (``evaluate_tick``: one that deletes and adds the same key is refused, which the UI's
    daemon logged at every tick), the list is in date order, and the next tick has
    nothing to do."""
    from trial_outcomes.pipelines.sensors import build_cut_keys_sensor

    sensor = build_cut_keys_sensor()
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, ["2024-03-31", "2024-06-30", "2023-12-31", "2024-4-1"])
        with dg.build_sensor_context(instance=instance) as context:
            tick = sensor.evaluate_tick(context)
        (delete,) = tick.dynamic_partitions_requests or []
        assert isinstance(delete, dg.DeleteDynamicPartitionsRequest)
        assert list(delete.partition_keys) == ["2024-4-1"]
        instance.delete_dynamic_partition(DATA_CUT_PARTITIONS, "2024-4-1")  # what the daemon does with it
        assert instance.get_dynamic_partitions(DATA_CUT_PARTITIONS) == ["2023-12-31", "2024-03-31", "2024-06-30"]
        with dg.build_sensor_context(instance=instance) as context:
            assert isinstance(sensor(context), dg.SkipReason)


def test_a_run_on_a_cut_that_is_not_a_date_fails_at_submission_with_one_line():
    """The UI's queue (dagster.yaml's run_coordinator): a run of partition 2024-4-1 is
    failed before it starts, with the reason; a run of 2024-03-31 goes to the queue."""
    import yaml
    from dagster._core.run_coordinator import SubmitRunContext
    from dagster._core.test_utils import create_run_for_test

    from trial_outcomes.pipelines.coordinator import cut_key_problem
    from trial_outcomes.pipelines.instance import DEFAULT_YAML

    with dg.instance_for_test(overrides=yaml.safe_load(DEFAULT_YAML)) as instance:
        bad = create_run_for_test(instance, job_name=ALL_JOB, tags={"dagster/partition": "2024-4-1"})
        good = create_run_for_test(instance, job_name=ALL_JOB, tags={"dagster/partition": "2024-03-31"})

        def submit(run: dg.DagsterRun) -> dg.DagsterRunStatus:  # as the UI's launch does, through the queue
            return instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None)).status  # type: ignore[arg-type]

        assert submit(bad) == dg.DagsterRunStatus.FAILURE
        # a real cut goes to Dagster's queue unchanged (queuing it needs a code location: the browser test)
        assert cut_key_problem(good) is None
        (failure,) = [
            e
            for e in instance.all_logs(bad.run_id)
            if e.dagster_event is not None and e.dagster_event.event_type_value == "PIPELINE_FAILURE"
        ]
        assert failure.message.startswith("not started: data cut '2024-4-1' is not written YYYY-MM-DD")
        assert "\n" not in failure.message.strip() and "Traceback" not in failure.message


def test_runs_of_one_output_folder_are_queued_one_at_a_time(tmp_path, monkeypatch):
    """A red team's UI backfill of two cuts ran them at once: the later cut compared
    itself with no cut and its listings marked every event NEW. The queue now tags a run
    of a trial's cut with its resolved output folder (its run config's, else
    TRIAL_OUT_DIR), which dagster.yaml lets run one at a time; a portfolio's cell by its
    trial; a run without a cut is not tagged."""
    from dagster._core.test_utils import create_run_for_test

    from trial_outcomes.pipelines.coordinator import output_folder
    from trial_outcomes.pipelines.instance import DEFAULT_YAML

    assert '"trial/output_folder"' in DEFAULT_YAML
    monkeypatch.setenv("TRIAL_OUT_DIR", str(tmp_path / "env-out"))
    with dg.DagsterInstance.ephemeral() as instance:
        cut = {"dagster/partition": "2024-03-31"}
        configured = {"resources": {"settings": {"config": {"out_dir": str(tmp_path / "mine")}}}}
        assert output_folder(create_run_for_test(instance, job_name=ALL_JOB, tags=cut, run_config=configured)) == str(
            (tmp_path / "mine").resolve()
        )
        assert output_folder(create_run_for_test(instance, job_name=ALL_JOB, tags=cut)) == str(tmp_path / "env-out")
        portfolio = {**cut, "dagster/partition/trial": "a"}  # a UI backfill of trial a's cuts: one at a time
        assert output_folder(create_run_for_test(instance, job_name="portfolio_trials", tags=portfolio)) == (
            "portfolio trial a"
        )
        assert output_folder(create_run_for_test(instance, job_name=ALL_JOB)) is None


def test_the_alert_sensors_answer_for_the_asset_graphs_runs_too():
    """A red team's boundary crossed in a run launched with "Materialize" on the asset
    graph (Dagster's ``__ASSET_JOB``) was never announced: the sensors looked at the job
    name alone. Each location answers for its data-cut job's and its asset job's runs, a
    single trial's (no trial partition) or a portfolio's (a trial partition)."""
    from trial_outcomes.pipelines.sensors import ASSET_JOB, alerted_runs

    cut = {"dagster/partition": "2024-03-31"}
    cell = {**cut, "dagster/partition/trial": "a", "dagster/partition/cut": "2024-03-31"}
    single, portfolio = alerted_runs(ALL_JOB), alerted_runs("portfolio_trials", portfolio=True)
    for job, tags, one, many in (
        (ALL_JOB, cut, True, False),
        (ASSET_JOB, cut, True, False),
        ("portfolio_trials", cell, False, True),
        (ASSET_JOB, cell, False, True),
        ("pooled_analysis_job", {}, False, False),
    ):
        run = dg.DagsterRun(job_name=job, run_id="r", tags=tags)
        assert (single(run), portfolio(run)) == (one, many), job
