"""The portfolio file (trial_outcomes/portfolio.py): every path resolved against the
file's folder, and each mistake refused in one line naming the file and the key."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from trial_outcomes.pipelines.portfolio import TRIALS_JOB, build_portfolio_definitions
from trial_outcomes.pipelines.portfolio_runner import partition_tags
from trial_outcomes.portfolio import PortfolioError, load_portfolio

GOOD = """
[[trials]]
id = "ped-ball"
title = "Paediatric B-ALL"
data = "drops/ped"
out = "published/ped"

[[trials]]
id = "adult"
data = "/abs/drops/adult"
out = "published/adult"

[pooled]
out = "published/pooled"
cuts = { ped-ball = "2024-03-31" }

[execution]
executor = "celery"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "portfolio.toml"
    path.write_text(text)
    return path


def test_paths_are_resolved_against_the_file(tmp_path: Path) -> None:
    portfolio = load_portfolio(write(tmp_path, GOOD))
    assert portfolio.trial_ids == ["ped-ball", "adult"]
    assert portfolio.trial("ped-ball").data == (tmp_path / "drops/ped").resolve()
    assert portfolio.trial("adult").data == Path("/abs/drops/adult")
    assert portfolio.trial("adult").label == "adult"
    assert portfolio.pooled.out == (tmp_path / "published/pooled").resolve()
    assert portfolio.pooled.factor == "PRHSCTFL"
    assert portfolio.execution.executor == "celery"
    assert portfolio.execution.broker.startswith("pyamqp://guest:guest@127.0.0.1:5672")


def test_a_run_spec_per_trial_and_cut(tmp_path: Path) -> None:
    spec = load_portfolio(write(tmp_path, GOOD)).run_spec("ped-ball", "2024-03-31")
    assert spec.cut == dt.date(2024, 3, 31)
    assert spec.data_dir == (tmp_path / "drops/ped").resolve()
    assert spec.out_dir == (tmp_path / "published/ped").resolve()
    assert spec.plan.path.endswith("analysis_plan.toml")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (('id = "adult"', 'id = "Adult B"'), "trials.1.id: String should match pattern"),
        (('id = "adult"', 'id = "ped-ball"'), "trial id given twice: ped-ball"),
        (('out = "published/adult"', 'out = "published/ped"'), "publish to one folder"),
        (('data = "/abs/drops/adult"', 'data = "drops/ped"'), "two trials read one drop folder"),
        (('ped-ball = "2024-03-31"', 'other = "2024-03-31"'), "does not have: other"),
        (('ped-ball = "2024-03-31"', 'ped-ball = "2024-3-31"'), "pooled.cuts"),
        (('executor = "celery"', 'executor = "k8s"'), "execution.executor"),
        (('title = "Paediatric B-ALL"', 'titel = "x"'), "trials.0.titel: Extra inputs are not permitted"),
        (('[pooled]\nout = "published/pooled"', "[pooled]"), "pooled.out: Field required"),
    ],
)
def test_each_mistake_is_refused_naming_the_key(tmp_path: Path, change: tuple[str, str], words: str) -> None:
    assert change[0] in GOOD
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(PortfolioError, match=str(path).replace(".", r"\.")) as error:
        load_portfolio(path)
    assert words in str(error.value)


def test_no_file_no_trials_not_toml(tmp_path: Path) -> None:
    with pytest.raises(PortfolioError, match="no such portfolio file"):
        load_portfolio(tmp_path / "absent.toml")
    with pytest.raises(PortfolioError, match="not TOML"):
        load_portfolio(write(tmp_path, "[[trials]\n"))
    with pytest.raises(PortfolioError, match="trials: List should have at least 1 item"):
        load_portfolio(write(tmp_path, 'trials = []\n[pooled]\nout = "x"\n'))
    with pytest.raises(PortfolioError, match="no trial 'x'"):
        load_portfolio(write(tmp_path, GOOD)).trial("x")


def test_release_frees_a_cut_held_by_a_run_that_died(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lease whose run died without ending (no daemon marked it): ``portfolio release``
    marks the run failed and removes the lease; a cut nobody holds says so."""
    import dagster as dg

    from trial_outcomes.io.publishing import lease_holder, take_lease
    from trial_outcomes.pipelines.instance import open_instance
    from trial_outcomes.pipelines.portfolio_runner import release_cut

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    portfolio = load_portfolio(write(tmp_path, GOOD))
    out = portfolio.trial("ped-ball").out
    assert release_cut(portfolio, "ped-ball", "2024-03-31") == "trial ped-ball at 2024-03-31: no run holds it"
    with open_instance() as instance:
        run = instance.create_run(
            job_name="portfolio_trials",
            run_id=None,
            run_config=None,
            resolved_op_selection=None,
            step_keys_to_execute=None,
            status=dg.DagsterRunStatus.STARTED,
            tags=None,
            root_run_id=None,
            parent_run_id=None,
            job_snapshot=None,
            execution_plan_snapshot=None,
            parent_job_snapshot=None,
            asset_selection=None,
            asset_check_selection=None,
            op_selection=None,
            asset_graph=None,
            remote_job_origin=None,
            job_code_origin=None,
        )
    take_lease(out, "2024-03-31", run.run_id, run.run_id, lambda _: True)
    said = release_cut(portfolio, "ped-ball", "2024-03-31")
    assert f"released from run {run.run_id} (was started, marked failed)" in said, said
    assert "run the cut again (portfolio run --trial ped-ball --cut 2024-03-31), not portfolio retry" in said
    assert lease_holder(out, "2024-03-31") is None
    with open_instance() as instance:
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE  # type: ignore[union-attr]
        # a run killed after it published (the lease given back) stays STARTED: a red team's
        # held the pooled sensor back for good, and release said "no run holds it"
        published = instance.create_run_for_job(
            build_portfolio_definitions(portfolio).resolve_job_def(TRIALS_JOB),
            status=dg.DagsterRunStatus.STARTED,
            tags=partition_tags("ped-ball", "2024-03-31"),
        )
        other = instance.create_run_for_job(
            build_portfolio_definitions(portfolio).resolve_job_def(TRIALS_JOB),
            status=dg.DagsterRunStatus.STARTED,
            tags=partition_tags("ped-ball", "2023-12-31"),
        )
    said = release_cut(portfolio, "ped-ball", "2024-03-31")
    assert said == (
        f"trial ped-ball at 2024-03-31: no run holds it; marked failed, as unfinished: {published.run_id} (was started)"
    )
    with open_instance() as instance:
        assert instance.get_run_by_id(published.run_id).status == dg.DagsterRunStatus.FAILURE  # type: ignore[union-attr]
        assert instance.get_run_by_id(other.run_id).status == dg.DagsterRunStatus.STARTED  # type: ignore[union-attr]


def test_a_failed_step_says_its_innermost_cause(tmp_path: Path) -> None:
    """A red team's second run of a cut on celery printed "Error executing resource_fn on
    ResourceDefinition output_store": celery sends the task's last exception alone, and
    the cause (the run writing the cut) was in the worker's log and in the instance's
    RESOURCE_INIT_FAILURE event only. The step's failure now takes that event's innermost
    cause (``instance.resource_failure``: the celery executor's, the latest of the step's
    or of none), and the run's line says a chained error's cause (``error_text``)."""
    import dagster as dg
    from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
    from dagster._utils.error import serializable_error_info_from_exc_info

    from trial_outcomes.pipelines.instance import error_text, resource_failure

    class CutBusy(RuntimeError):
        pass

    busy = "data cut 2024-03-31 is being written to /out by run 604fb992; wait for that run to end"
    try:
        try:
            raise CutBusy(busy)
        except CutBusy as exc:
            raise ValueError("Error executing resource_fn on ResourceDefinition output_store") from exc
    except ValueError:
        error = serializable_error_info_from_exc_info(sys.exc_info())
    said = error_text(error)  # Dagster's message: the class, then the text
    assert said.startswith("ValueError: Error executing resource_fn on ResourceDefinition output_store (cause: ")
    assert said.endswith(f"CutBusy: {busy})")
    try:
        raise CutBusy(busy)
    except CutBusy:
        alone = serializable_error_info_from_exc_info(sys.exc_info())
    assert error_text(alone) == alone.message.strip()  # no cause: its own line

    portfolio = load_portfolio(write(tmp_path, GOOD))
    job = build_portfolio_definitions(portfolio).resolve_job_def(TRIALS_JOB)
    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
        assert resource_failure(instance, run.run_id, "raw__apheresis") == ""
        for step, why in (("raw__enrolment", "another step's"), ("raw__apheresis", None)):
            failure = error if why is None else alone._replace(message=why, cause=None)
            event = DagsterEvent(
                event_type_value=DagsterEventType.RESOURCE_INIT_FAILURE.value,
                job_name=job.name,
                step_key=step,
                message="Initialization of resources [output_store] failed.",
                event_specific_data=EngineEventData(metadata={}, error=failure),
            )
            instance.report_dagster_event(event, run.run_id)
        assert resource_failure(instance, run.run_id, "raw__apheresis").endswith(f"CutBusy: {busy}")
        assert resource_failure(instance, run.run_id, "raw__enrolment") == "another step's"


def test_two_trials_published_from_one_drop_are_not_pooled() -> None:
    """A red team's portfolio named two output folders published from one drop: the
    pooled OS counted its 114 subjects and 34 deaths twice (n 228, 68 events). The
    pooled analysis refuses, naming both trials; different drops pool."""
    import polars as pl

    from trial_outcomes.io.pooled import PooledInputError, PublishedCut, refuse_counting_twice

    def cut(drop: str) -> PublishedCut:
        return PublishedCut("2024-03-31", "v001", "m" * 64, drop, pl.DataFrame(), pl.DataFrame())

    refuse_counting_twice({"ped-ball": cut("a" * 64), "adult": cut("b" * 64)})
    with pytest.raises(PooledInputError, match="trials ped-ball and copy were published from one drop"):
        refuse_counting_twice({"ped-ball": cut("a" * 64), "adult": cut("b" * 64), "copy": cut("a" * 64)})


def test_two_trials_sharing_a_subject_are_not_pooled() -> None:
    """Two exports of one trial, one with a corrected record, have two drop hashes: a red
    team pooled them (240 rows, 120 subjects; OS n 226, 66 events). A subject whose
    identifier, consent and enrolment dates and age are the same in two trials is one
    child: refused, naming the trials and the subject. The same identifier with another
    age (another trial's numbering) pools."""
    import datetime as dt

    import polars as pl

    from trial_outcomes.io.pooled import PooledInputError, PublishedCut, refuse_counting_twice

    def cut(drop: str, ages: list[float]) -> PublishedCut:
        day = dt.date(2021, 1, 4)
        adsl = pl.DataFrame({"USUBJID": ["BR-001", "BR-002"], "RFICDT": [day] * 2, "ENRLDT": [day] * 2, "AGE": ages})
        return PublishedCut("2024-03-31", "v001", "m" * 64, drop, adsl, pl.DataFrame())

    refuse_counting_twice({"a": cut("a" * 64, [9.0, 12.0]), "b": cut("b" * 64, [7.0, 15.0])})
    with pytest.raises(PooledInputError, match=r"trials a and b share 1 subject\(s\) \(BR-002"):
        refuse_counting_twice({"a": cut("a" * 64, [9.0, 12.0]), "b": cut("b" * 64, [7.0, 12.0])})


def test_a_run_keeps_the_plan_it_started_with(tmp_path: Path) -> None:
    """Under celery each step makes the run specification again: the first pins the plan's
    SHA-256 in the run's tags, a later step reading the same plan goes on, and one reading
    the plan edited since (threshold 0.20 -> 0.05; a red team's cut then published rules
    from one plan beside the manifest of the other) fails the run, naming both hashes."""
    from types import SimpleNamespace

    import dagster as dg

    from trial_outcomes.assets.shared import PLAN_TAG, PortfolioSettings
    from trial_outcomes.plan import DEFAULT_PLAN

    plan = tmp_path / "plan.toml"
    plan.write_text(DEFAULT_PLAN.read_text())
    path = write(tmp_path, GOOD.replace('out = "published/ped"', 'out = "published/ped"\nplan = "plan.toml"'))
    tagged: dict[str, str] = {}
    run = SimpleNamespace(
        run_id="r1", tags={"dagster/partition/trial": "ped-ball", "dagster/partition/cut": "2024-03-31"}
    )
    context = SimpleNamespace(run=run, instance=SimpleNamespace(add_run_tags=lambda _id, tags: tagged.update(tags)))
    settings = PortfolioSettings(portfolio=str(path))
    first = settings.create_resource(context)  # type: ignore[arg-type]
    assert tagged == {PLAN_TAG: first.plan_sha256}
    run.tags[PLAN_TAG] = first.plan_sha256
    assert settings.create_resource(context).plan_sha256 == first.plan_sha256  # type: ignore[arg-type]
    plan.write_text(plan.read_text().replace("threshold = 0.20", "threshold = 0.05", 1))
    with pytest.raises(dg.Failure, match="changed while the run was under way") as refused:
        settings.create_resource(context)  # type: ignore[arg-type]
    assert first.plan_sha256[:16] in str(refused.value.description)


@pytest.mark.parametrize("extra", [["--no-pooled"], ["--cut", "2024-03-31"], ["--trial", "ped-ball"]])
def test_pooled_only_with_what_it_never_runs_is_a_usage_error(tmp_path: Path, extra: list[str], capsys) -> None:
    """A red team's ``--pooled-only --no-pooled`` ran nothing and said "0 of 0 runs
    published", exit 0; ``--pooled-only --cut`` ignored the cut without a word."""
    from trial_outcomes.cli import main

    path = write(tmp_path, GOOD)
    assert main(["portfolio", "run", "--portfolio", str(path), "--pooled-only", *extra]) == 2
    assert "--pooled-only runs the pooled analysis alone" in capsys.readouterr().err


def test_a_failed_trial_run_says_the_pooled_analysis_was_not_run(tmp_path: Path, monkeypatch, capsys) -> None:
    """The pooled analysis never follows a failed trial run; the output said nothing of
    it, as if the published pooled report were current (a red team's)."""
    from trial_outcomes.cli import main
    from trial_outcomes.pipelines import portfolio_runner
    from trial_outcomes.pipelines.portfolio_runner import PortfolioRun

    failed = [PortfolioRun("ped-ball", "2024-03-31", "abcdef123456", False, "report: it broke")]
    monkeypatch.setattr(portfolio_runner, "run_portfolio", lambda *args: failed)
    path = write(tmp_path, GOOD)
    assert main(["portfolio", "run", "--portfolio", str(path), "--cut", "2024-03-31"]) == 1
    out = capsys.readouterr().out
    assert "trial ped-ball at 2024-03-31: FAILED (report: it broke)" in out
    assert "pooled analysis: not run, as a trial's run failed" in out
    assert main(["portfolio", "run", "--portfolio", str(path), "--cut", "2024-03-31", "--no-pooled"]) == 1
    assert "pooled analysis" not in capsys.readouterr().out
