"""The portfolio's definitions (pipelines/portfolio.py): the single trial's graph,
the same assets and checks, partitioned by trial x cut; the pooled asset beside it;
the executor from the portfolio file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from trial_outcomes.assets.shared import CUT_DIMENSION, TRIAL_DIMENSION
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions
from trial_outcomes.pipelines.portfolio import POOLED_JOB, TRIALS_JOB, build_portfolio_definitions
from trial_outcomes.pipelines.portfolio_runner import partition_tags

PORTFOLIO = """
[[trials]]
id = "a"
data = "drops/a"
out = "published/a"

[[trials]]
id = "b"
data = "drops/b"
out = "published/b"

[pooled]
out = "published/pooled"

[execution]
executor = "{executor}"
"""


def _defs(tmp_path: Path, executor: str = "in_process") -> dg.Definitions:
    path = tmp_path / "portfolio.toml"
    path.write_text(PORTFOLIO.format(executor=executor))
    return build_portfolio_definitions(path)


def test_the_same_graph_partitioned_by_trial_and_cut(tmp_path: Path) -> None:
    single = build_definitions().resolve_job_def(ALL_JOB)
    job = _defs(tmp_path).resolve_job_def(TRIALS_JOB)
    single_graph = single.asset_layer.asset_graph
    graph = job.asset_layer.asset_graph
    assert set(graph.get_all_asset_keys()) == set(single_graph.get_all_asset_keys())
    assert set(graph.asset_check_keys) == set(single_graph.asset_check_keys)
    for key in single_graph.get_all_asset_keys():
        assert graph.get(key).parent_keys == single_graph.get(key).parent_keys, key
        partitions = graph.get(key).partitions_def
        assert isinstance(partitions, dg.MultiPartitionsDefinition), key
        assert {d.name for d in partitions.partitions_defs} == {TRIAL_DIMENSION, CUT_DIMENSION}
    trials = partitions.get_partitions_def_for_dimension(TRIAL_DIMENSION)
    assert trials.get_partition_keys() == ["a", "b"]


def test_the_pooled_job_and_the_executors(tmp_path: Path) -> None:
    defs = _defs(tmp_path)
    pooled = defs.resolve_job_def(POOLED_JOB)
    assert [k.to_user_string() for k in pooled.asset_layer.executable_asset_keys] == ["pooled_analysis"]
    assert defs.resolve_job_def(TRIALS_JOB).executor_def.name == "in_process"
    celery = _defs(tmp_path, "celery").resolve_job_def(TRIALS_JOB)
    assert celery.executor_def.name == "celery"


def test_a_run_of_one_cell_carries_both_keys() -> None:
    tags = partition_tags("a", "2024-03-31")
    assert tags == {
        "dagster/partition": "2024-03-31|a",
        "dagster/partition/trial": "a",
        "dagster/partition/cut": "2024-03-31",
    }


def _publish(out: Path, cut: str, manifest: dict) -> str:
    """A publication of ``cut`` in ``out`` holding ``manifest`` alone (its version's name)."""
    import json

    from trial_outcomes.io.publishing import publish

    work = out / ".work" / cut / f"w{len(list((out / '.versions' / cut).glob('v*')))}"
    work.mkdir(parents=True)
    (work / "manifest.json").write_text(json.dumps(manifest))
    link, new = publish(out, cut, [work / "manifest.json"], {"manifest": json.dumps(manifest)})
    assert new
    return link.resolve().name


def test_the_pooled_analysis_runs_again_when_a_pooled_cut_is_superseded(tmp_path: Path, monkeypatch) -> None:
    """A red team's trial cut superseded by ``trial-outcomes run --supersede`` left the
    published pooled report of its earlier version, with nothing to say so. The sensor
    skips before a first pooled analysis and while a run of the portfolio is under way;
    then, when a pooled cut is superseded or a later one published, it requests the
    pooled job once for that state, naming what changed; an unchanged state asks nothing."""
    from trial_outcomes.pipelines.portfolio import POOLED_STALE_TAG
    from trial_outcomes.portfolio import load_portfolio

    defs = _defs(tmp_path)
    portfolio = load_portfolio(tmp_path / "portfolio.toml")
    sensor = defs.resolve_sensor_def("pooled_inputs_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    a, b = (t.out for t in portfolio.trials)
    v_a = _publish(a, "2024-03-31", {"data_drop": {"sha256": "a1"}})
    v_b = _publish(b, "2024-03-31", {"data_drop": {"sha256": "b1"}})

    def evaluate(instance: dg.DagsterInstance) -> list:
        result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
        return result.run_requests or [result.skip_message]

    with dg.instance_for_test() as instance:
        assert evaluate(instance) == [
            "no pooled analysis is published yet (trial-outcomes portfolio run makes the first)"
        ]
        from trial_outcomes.io.pooled import pooled_input

        inputs = [pooled_input(t.id, t.out, None) for t in portfolio.trials]
        assert [(i["data_cut"], i["version"]) for i in inputs] == [("2024-03-31", v_a), ("2024-03-31", v_b)]
        pooled_manifest = {
            "pooled": {"factor": portfolio.pooled.factor, "trials": inputs},
            "data_drop": {"sha256": "p"},
        }
        _publish(portfolio.pooled.out, "pooled", pooled_manifest)
        assert evaluate(instance) == ["the published pooled analysis is of the trials' current publications"]

        superseding = _publish(b, "2024-03-31", {"data_drop": {"sha256": "b2"}, "supersedes": v_b})
        [request] = evaluate(instance)
        assert request.tags[POOLED_STALE_TAG] == f"trial b: cut 2024-03-31 is now version {superseding} (pooled: {v_b})"
        assert request.tags["trial/trigger"] == "sensor"
        assert evaluate(instance)[0].run_key == request.run_key  # one request per state
        # the same inputs found stale again, after a pooled analysis under another factor (a
        # --pooled-only run of another portfolio file): requested again, not under the first
        # request's key, which the daemon never runs twice (a red team's factor changed and back)
        now = [pooled_input(t.id, t.out, None) for t in portfolio.trials]
        _publish(portfolio.pooled.out, "pooled", {"pooled": {"factor": "SEX", "trials": now}, "data_drop": {}})
        [back] = evaluate(instance)
        assert back.run_key != request.run_key
        assert back.tags[POOLED_STALE_TAG] == f"the comparison factor is now {portfolio.pooled.factor} (pooled: SEX)"

        _publish(a, "2024-06-30", {"data_drop": {"sha256": "a2"}})
        [later] = evaluate(instance)
        assert later.run_key not in (request.run_key, back.run_key)
        assert later.tags[POOLED_STALE_TAG] == (
            f"the comparison factor is now {portfolio.pooled.factor} (pooled: SEX); "
            "trial a: cut 2024-06-30 is to be pooled (pooled: 2024-03-31)"
        )

        run = instance.create_run_for_job(defs.resolve_job_def(POOLED_JOB), status=dg.DagsterRunStatus.STARTED)
        assert evaluate(instance) == [f"run {run.run_id[:8]} of the portfolio is under way: checked when none is"]
        # a run whose process died, left STARTED, holds it back no longer once it has recorded
        # nothing for QUIET_RUN (a red team's killed run held it back for good)
        from trial_outcomes.pipelines import portfolio as module

        monkeypatch.setattr(module, "QUIET_RUN", dt.timedelta(0))
        [after] = evaluate(instance)
        assert after.run_key == later.run_key
