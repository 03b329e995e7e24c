"""The CLI's in-process run keeps no asset value past its last reader (``runner.execute_uncaptured``)."""

import gc
import weakref

import dagster as dg
import polars as pl

from trial_outcomes.pipelines.runner import execute_uncaptured
from trial_outcomes.pipelines.storage import FrameStore


def _job(tmp_path, seen: dict[str, object]) -> dg.JobDefinition:
    partitions = dg.StaticPartitionsDefinition(["2024-03-31"])

    @dg.io_manager
    def store(_context) -> FrameStore:
        return FrameStore(str(tmp_path / "store"), memory_budget_mb=0)

    @dg.asset(partitions_def=partitions)
    def a() -> pl.DataFrame:
        frame = pl.DataFrame({"x": list(range(1000))})
        seen["a"] = weakref.ref(frame)
        return frame

    @dg.asset(partitions_def=partitions)
    def b(a: pl.DataFrame) -> int:
        return a.height

    @dg.asset(partitions_def=partitions, deps=[b])
    def c() -> int:
        gc.collect()
        seen["a alive when c ran"] = seen["a"]() is not None  # type: ignore[operator]
        return 0

    defs = dg.Definitions(assets=[a, b, c], resources={"io_manager": store})
    return defs.resolve_implicit_global_asset_job_def()


def test_a_value_is_gone_once_its_last_reader_ran(tmp_path):
    """``a`` is read by ``b`` alone; by the time ``c`` (after ``b``) runs, no one holds it.
    Dagster's own ``execute_in_process`` would: it keeps every output for its result."""
    seen: dict[str, object] = {}
    with dg.DagsterInstance.ephemeral() as instance:
        result = execute_uncaptured(
            _job(tmp_path, seen), instance=instance, partition_key="2024-03-31", run_config={}, tags={"t": "1"}
        )
        assert result.success
        assert instance.get_run_by_id(result.run_id).tags["t"] == "1"
        assert instance.get_run_by_id(result.run_id).tags["dagster/partition"] == "2024-03-31"
    assert seen["a alive when c ran"] is False


def test_dagsters_execute_in_process_holds_it(tmp_path):
    """What the helper avoids, shown with the same job: the captured output keeps ``a`` alive."""
    seen: dict[str, object] = {}
    with dg.DagsterInstance.ephemeral() as instance:
        assert _job(tmp_path, seen).execute_in_process(instance=instance, partition_key="2024-03-31").success
    assert seen["a alive when c ran"] is True
