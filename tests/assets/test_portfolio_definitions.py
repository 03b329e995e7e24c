"""The portfolio's definitions (pipelines/portfolio.py): the single trial's graph,
the same assets and checks, partitioned by trial x cut; the pooled asset beside it;
the executor from the portfolio file."""

from __future__ import annotations

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
