"""The IO manager between steps: frames as Arrow IPC beside a pickle, reused in process."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from upath import UPath

from tests.helpers import materialize_cut
from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, DropSettings
from trial_outcomes.io.records import TrialDrop
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions
from trial_outcomes.pipelines.storage import FrameStore


def _value() -> dict:
    enrolment = pl.DataFrame({"subject_id": ["S1", "S2"], "enrol_date": [dt.date(2024, 1, 2), None]})
    curve = pl.DataFrame({"time": [1.0, 2.5], "estimate": [0.9, None]})
    drop = TrialDrop(records={"enrolment": enrolment}, cut=dt.date(2024, 3, 1), files={"enrolment.csv": "ab"})
    return {"drop": drop, "tables": {"curve": curve, "again": curve}, "titles": ["OS", "EFS"], "n": 2}


def _assert_same(loaded: dict, original: dict) -> None:
    assert loaded["drop"].cut == original["drop"].cut and loaded["drop"].files == original["drop"].files
    assert_frame_equal(loaded["drop"]["enrolment"], original["drop"]["enrolment"])
    assert_frame_equal(loaded["tables"]["curve"], original["tables"]["curve"])
    assert_frame_equal(loaded["tables"]["again"], original["tables"]["curve"])
    assert (loaded["titles"], loaded["n"]) == (original["titles"], original["n"])


def test_round_trip_from_memory_and_from_disk(tmp_path):
    """Frames at any depth come back equal, from the writer's memory and from a
    new store (another process) reading the files; a frame held twice is stored once."""
    path = UPath(tmp_path / "value" / "2024-03-01.pickle")
    path.parent.mkdir()
    value = _value()
    writer = FrameStore(str(tmp_path))
    writer.dump_to_path(None, value, path)
    _assert_same(writer.load_from_path(None, path), value)
    _assert_same(FrameStore(str(tmp_path)).load_from_path(None, path), value)
    (folder,) = [p for p in path.parent.iterdir() if p.name.endswith(".frames")]
    assert sorted(p.name for p in folder.iterdir()) == ["0.arrow", "1.arrow"]


def test_values_held_in_memory_stay_within_the_budget(tmp_path):
    """A frame of 1,000 Int64 values is 8,000 bytes (``estimated_size``). With a budget of
    39,000 bytes four such values fit (32,000), and a value of up to a quarter of the
    budget (9,750 bytes) is held: after five, the first has left to make room for the fifth
    (its readers read its file instead). A value of 3,000 Int64 values (24,000 bytes,
    within the budget but over a quarter of it) is never held. Every value loads equal
    to what was written, from memory or from its file."""
    budget_mb = 39_000 / 2**20
    store = FrameStore(str(tmp_path), memory_budget_mb=budget_mb)
    values = {name: {"t": pl.DataFrame({"x": list(range(k, k + 1000))})} for k, name in enumerate("abcde")}
    for name, value in values.items():
        store.dump_to_path(None, value, UPath(tmp_path / f"{name}.pickle"))
    assert [Path(p).stem for p in store._written] == ["b", "c", "d", "e"]
    big = {"t": pl.DataFrame({"x": list(range(3000))})}  # 24,000 bytes
    store.dump_to_path(None, big, UPath(tmp_path / "big.pickle"))
    assert [Path(p).stem for p in store._written] == ["b", "c", "d", "e"]
    for name, value in {**values, "big": big}.items():
        assert store.load_from_path(None, UPath(tmp_path / f"{name}.pickle"))["t"].equals(value["t"])


def test_with_no_budget_nothing_is_held_and_frames_are_read_from_disk(tmp_path):
    path = UPath(tmp_path / "2024-03-01.pickle")
    store = FrameStore(str(tmp_path), memory_budget_mb=0)
    store.dump_to_path(None, _value(), path)
    assert store._written == {}
    _assert_same(store.load_from_path(None, path), _value())


def test_each_load_has_its_own_containers(tmp_path):
    """A step that changes what it loaded cannot change what the next step loads."""
    path = UPath(tmp_path / "2024-03-01.pickle")
    store = FrameStore(str(tmp_path))
    store.dump_to_path(None, _value(), path)
    first = store.load_from_path(None, path)
    first["titles"].append("changed")
    first["tables"].pop("curve")
    with pytest.raises(TypeError):
        first["drop"].records["enrolment"] = pl.DataFrame()  # the records are read-only
    _assert_same(store.load_from_path(None, path), _value())


def test_records_load_record_type_by_record_type(tmp_path, monkeypatch):
    """A step reading one record type of the stored records reads that frame's file
    alone (at a million subjects the records are 3.5 GB, read by a dozen steps)."""
    path = UPath(tmp_path / "2024-03-01.pickle")
    ae = pl.DataFrame({"subject_id": ["S1"], "term": ["Pyrexia"]})
    enrolment = pl.DataFrame({"subject_id": ["S1"]})
    FrameStore(str(tmp_path), memory_budget_mb=0).dump_to_path(
        None, TrialDrop(records={"enrolment": enrolment, "adverse_events": ae}, cut=dt.date(2024, 3, 1)), path
    )
    from trial_outcomes.pipelines import storage

    read: list[str] = []
    real = storage._Opened.__call__

    def spied(self):
        read.append(Path(self.handle.name).name)
        return real(self)

    monkeypatch.setattr(storage._Opened, "__call__", spied)
    loaded = FrameStore(str(tmp_path)).load_from_path(None, path)
    assert read == []
    assert_frame_equal(loaded.records["adverse_events"], ae)
    assert read == ["1.arrow"]
    assert list(loaded.records) == ["enrolment", "adverse_events"]
    assert_frame_equal(pickle.loads(pickle.dumps(loaded)).records["enrolment"], enrolment)


def test_a_value_rewritten_elsewhere_is_read_from_disk(tmp_path):
    """The in-memory copy is used only while the file is the one this store wrote."""
    path = UPath(tmp_path / "2024-03-01.pickle")
    mine, other = FrameStore(str(tmp_path)), FrameStore(str(tmp_path))
    mine.dump_to_path(None, {"t": pl.DataFrame({"x": [1]})}, path)
    other.dump_to_path(None, {"t": pl.DataFrame({"x": [2]})}, path)
    assert mine.load_from_path(None, path)["t"]["x"].to_list() == [2]


def test_rewrite_clears_old_frames_and_a_killed_write_leaves_the_value(tmp_path):
    """Each write has its own frame folder and swaps the pickle atomically: the
    folder of the previous write is removed; a write killed before the swap
    (its folder and temporary pickle left behind) does not disturb the value."""
    path = UPath(tmp_path / "2024-03-01.pickle")
    store = FrameStore(str(tmp_path))
    store.dump_to_path(None, {"t": pl.DataFrame({"x": [1]})}, path)
    store.dump_to_path(None, {"t": pl.DataFrame({"x": [2]})}, path)
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".frames")]) == 1
    (tmp_path / "2024-03-01.deadbeef0000.frames").mkdir()
    (tmp_path / ".2024-03-01.pickle.deadbeef0000.tmp").write_bytes(b"half a pick")
    assert FrameStore(str(tmp_path)).load_from_path(None, path)["t"]["x"].to_list() == [2]
    with open(path, "rb") as handle:
        folder, _ = pickle.load(handle)
    assert (tmp_path / folder).is_dir()


@pytest.mark.parametrize("key", ["../escape", "/abs", "a/../b", "a//b", "2024-03-31/.hidden", ".hidden", ""])
def test_a_partition_key_that_could_leave_the_store_is_refused(tmp_path, key):
    with pytest.raises(dg.Failure, match="not a plain name"):
        FrameStore(str(tmp_path)).make_safe_partition_path(UPath(tmp_path), key)


@pytest.mark.parametrize("key", ["2024-03-31/trial-1", "2024-03-31|trial-1"])
def test_a_portfolio_partition_is_a_folder_per_dimension(tmp_path, key):
    """A trial x cut key (Dagster writes it ``cut/trial``; ``cut|trial`` in an older layout) is two folders."""
    path = FrameStore(str(tmp_path)).make_safe_partition_path(UPath(tmp_path), key)
    assert path == UPath(tmp_path) / "2024-03-31" / "trial-1"


@pytest.mark.slow  # two whole runs; the fast tier tests the store itself
def test_one_asset_rematerialized_alone_reads_its_inputs_from_disk(drop, tmp_path):
    """As when a statistician re-runs one asset from the UI: a new instance and store
    (nothing in memory) load the upstream values written by the full run, and the run
    writes into its own, empty work folder."""
    out = tmp_path / "out"
    result, cut = materialize_cut(drop, out)
    assert result.success
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [cut])
    defs = build_definitions(DropSettings(data_dir=str(drop), out_dir=str(out)))
    again = defs.resolve_job_def(ALL_JOB).execute_in_process(
        instance=instance, partition_key=cut, asset_selection=[dg.AssetKey("adrs")]
    )
    assert again.success
    assert [e.step_key for e in again.get_step_success_events()] == ["adrs"]
    work = out / ".work" / cut / again.run_id
    assert sorted(p.name for p in work.iterdir()) == ["adrs.parquet", "adrs.xpt"]
    assert (work / "adrs.parquet").read_bytes() == (out / cut / "adrs.parquet").read_bytes()


@pytest.mark.slow  # a partial run of the job
def test_publishing_needs_every_output_of_the_run(drop, tmp_path):
    """Re-running only the report and published_cut cannot publish a partial set: the
    step refuses, naming how many of the cut's assets the run left out, and the
    earlier version stays."""
    out = tmp_path / "out"
    result, cut = materialize_cut(drop, out)
    assert result.success
    before = (out / cut / "manifest.json").read_bytes()
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [cut])
    defs = build_definitions(DropSettings(data_dir=str(drop), out_dir=str(out)))
    partial = defs.resolve_job_def(ALL_JOB).execute_in_process(
        instance=instance,
        partition_key=cut,
        raise_on_error=False,
        asset_selection=[dg.AssetKey("report"), dg.AssetKey("published_cut")],
    )
    assert not partial.success
    (failure,) = partial.get_step_failure_events()
    said = failure.step_failure_data.user_failure_data.description
    assert f"publishing data cut {cut} needs every one of its assets materialized in one run" in said
    assert "materialize the whole cut" in said
    assert (out / cut / "manifest.json").read_bytes() == before


def test_a_value_leaves_memory_once_its_last_reader_has_it(tmp_path):
    """``a`` is read by ``b`` and ``c``, ``c`` by ``d``, ``d`` by no one, and ``e`` only
    comes after ``a`` and ``c`` (``deps``, which loads nothing): after the run no
    frame is held in memory, and every step got its input (from memory while a reader
    was still to come)."""
    stores: list[FrameStore] = []
    held: dict[str, int] = {}

    @dg.io_manager
    def spied(_context) -> FrameStore:
        store = FrameStore(str(tmp_path / "store"))
        stores.append(store)
        return store

    frame = pl.DataFrame({"x": [1, 2, 3]})

    @dg.asset
    def a() -> pl.DataFrame:
        return frame

    @dg.asset
    def b(a: pl.DataFrame) -> int:
        held["after b"] = len(stores[0]._written)
        return a.height

    @dg.asset
    def c(a: pl.DataFrame) -> pl.DataFrame:
        held["after c"] = len(stores[0]._written)
        return a.with_columns(y=pl.col("x") * 2)

    @dg.asset
    def d(c: pl.DataFrame) -> int:
        return int(c["y"].sum())

    @dg.asset(deps=[a, c])
    def e() -> int:  # runs after a and c but loads neither (as published_cut after every output)
        return 0

    result = dg.materialize([a, b, c, d, e], resources={"io_manager": spied}, selection=["a", "b", "c", "d", "e"])
    assert result.success and result.output_for_node("d") == 12
    # the topological order runs a, then b and c in name order, then d
    assert held == {"after b": 1, "after c": 0}
    assert stores[0]._written == {} and stores[0]._readers == {}


def test_records_read_late_are_the_ones_loaded_even_after_a_rewrite(tmp_path):
    """A step that loaded the records and reads a record type after the same value was
    written again (another run of the cut) reads what it loaded, not a missing file nor
    the new value; asking whether a record type is there reads no file."""
    path = UPath(tmp_path / "2024-03-01.pickle")
    writer = FrameStore(str(tmp_path), memory_budget_mb=0)
    old = pl.DataFrame({"subject_id": ["S1"]})
    writer.dump_to_path(None, TrialDrop(records={"enrolment": old}, cut=dt.date(2024, 3, 1)), path)
    loaded = FrameStore(str(tmp_path)).load_from_path(None, path)
    writer.dump_to_path(
        None, TrialDrop(records={"enrolment": pl.DataFrame({"subject_id": ["S2"]})}, cut=dt.date(2024, 3, 1)), path
    )
    assert "enrolment" in loaded.records and "labs" not in loaded.records
    assert_frame_equal(loaded.records["enrolment"], old)


def test_a_scan_of_stored_records_reads_the_file_not_the_record_type_whole(tmp_path, monkeypatch):
    """``Frames.scan`` queries a record type's stored file (the columns a query selects),
    without loading the record type whole, and still reads what the step loaded after
    the value was written again; a record type already read whole is queried in memory."""
    path = UPath(tmp_path / "2024-03-01.pickle")
    writer = FrameStore(str(tmp_path), memory_budget_mb=0)
    ae = pl.DataFrame({"subject_id": ["S1", "S2"], "term": ["Pyrexia", "Nausea"], "grade": [1, 2]})
    writer.dump_to_path(None, TrialDrop(records={"adverse_events": ae}, cut=dt.date(2024, 3, 1)), path)
    from trial_outcomes.pipelines import storage

    whole: list[str] = []
    real = storage._Opened.__call__
    monkeypatch.setattr(storage._Opened, "__call__", lambda self: whole.append("read") or real(self))
    loaded = FrameStore(str(tmp_path)).load_from_path(None, path)
    writer.dump_to_path(None, TrialDrop(records={"adverse_events": ae.head(0)}, cut=dt.date(2024, 3, 1)), path)
    query = loaded.records.scan("adverse_events").filter(pl.col("grade") > 1).select("subject_id")
    assert_frame_equal(query.collect(engine="streaming"), pl.DataFrame({"subject_id": ["S2"]}))
    assert whole == []
    assert_frame_equal(loaded.records["adverse_events"], ae)
    assert whole == ["read"]
    assert_frame_equal(loaded.records.scan("adverse_events").collect(), ae)
    assert whole == ["read"]


def test_a_survival_value_stored_before_it_was_typed_loads_as_the_typed_value():
    """The earlier ``SurvivalResults(tables={...})`` pickled under ``assets.survival``."""
    from trial_outcomes.analysis.survival_results import FILES
    from trial_outcomes.analysis.survival_results import SurvivalResults as Typed
    from trial_outcomes.assets.survival import SurvivalResults as Stored

    tables = {name: pl.DataFrame({"n": [i]}) for i, name in enumerate(FILES)}
    legacy = Stored.__new__(Stored)
    legacy.__dict__["tables"] = tables  # what the earlier class held
    loaded = pickle.loads(pickle.dumps(legacy))
    assert isinstance(loaded, Typed)
    assert loaded.cox_summary["n"].to_list() == [list(FILES).index("cox_summary")]
    assert list(loaded.tables()) == list(FILES)


def test_an_input_that_names_its_columns_reads_those_alone(tmp_path, monkeypatch):
    """``reading(adae=[...])`` puts ``columns`` in the input's metadata: a stored frame then
    loads with those columns only (a column the frame lacks is skipped, for the step's own
    check to name), from memory and from the file's columns alone; a value that is not
    one frame loads whole."""
    from trial_outcomes.assets.shared import reading
    from trial_outcomes.pipelines import storage

    frame = pl.DataFrame({"USUBJID": ["S1", "S2"], "AETOXGR": [3, 1], "AETERM": ["Fever", "Rash"]})
    wanted = reading(adae=["AETOXGR", "USUBJID", "NOT_IN_ADAE", "AETOXGR"])["adae"].metadata
    assert wanted == {"columns": ["AETOXGR", "USUBJID", "NOT_IN_ADAE"]}
    context = dg.build_input_context(definition_metadata=wanted)
    held, on_disk = UPath(tmp_path / "held.pickle"), UPath(tmp_path / "disk.pickle")
    FrameStore(str(tmp_path)).dump_to_path(None, frame, on_disk)
    memory = FrameStore(str(tmp_path))
    memory.dump_to_path(None, frame, held)
    assert_frame_equal(memory.load_from_path(context, held), frame.select("AETOXGR", "USUBJID"))
    read: list[object] = []
    real_read = pl.read_ipc
    monkeypatch.setattr(storage.pl, "read_ipc", lambda *a, **k: read.append(k.get("columns")) or real_read(*a, **k))
    assert_frame_equal(FrameStore(str(tmp_path)).load_from_path(context, on_disk), frame.select("AETOXGR", "USUBJID"))
    assert read == [["AETOXGR", "USUBJID"]]
    boxed = UPath(tmp_path / "boxed.pickle")
    FrameStore(str(tmp_path), memory_budget_mb=0).dump_to_path(None, {"adae": frame}, boxed)
    assert_frame_equal(FrameStore(str(tmp_path)).load_from_path(context, boxed)["adae"], frame)
    assert_frame_equal(FrameStore(str(tmp_path)).load_from_path(None, on_disk), frame)


def test_a_text_column_counts_its_views_in_the_budget():
    """Polars stores each text value as a 16-byte view beside its characters, which
    ``estimated_size`` leaves out: 1,000 one-character codes are 1,000 bytes of
    characters by that estimate and 17,000 bytes held; 1,000 Int64 values are 8,000."""
    from trial_outcomes.pipelines.storage import _size

    codes = pl.DataFrame({"met": ["Y"] * 1000})
    assert codes.estimated_size() == 1000
    assert _size([codes]) == 1000 + 16 * 1000
    assert _size([pl.DataFrame({"x": list(range(1000))})]) == 8000


_HELD_SLICE = """
import gc, sys
import polars as pl
from upath import UPath
from trial_outcomes.pipelines.storage import FrameStore

def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) // 1024

text = pl.DataFrame({"text": [f"narrative {i} " + "x" * 300 for i in range(800_000)]})
store = FrameStore(sys.argv[1])
store.dump_to_path(None, text.head(500), UPath(sys.argv[1]) / "2024-03-01.pickle")
before = rss()
del text
gc.collect()
print(before - rss())
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident memory from /proc")
def test_a_held_slice_of_a_large_frame_does_not_hold_the_large_frame(tmp_path):
    """The first 500 of 800,000 texts (250 MB of characters) are held for later steps as
    read back from their file: when the producer drops the large frame, its memory goes
    (a slice or filter of a polars text column shares the whole column's buffers)."""
    env = {**os.environ, "_RJEM_MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}  # freed pages leave at once
    done = subprocess.run(
        [sys.executable, "-c", _HELD_SLICE, str(tmp_path)], env=env, capture_output=True, text=True, check=True
    )
    assert int(done.stdout.strip()) > 200, done.stdout  # MB given back


def test_records_passed_on_are_stored_as_links_to_the_files_they_were_read_from(tmp_path):
    """A value whose records were loaded from stored files (read whole, scanned, or not
    read at all) is stored as hard links to those files, not written again: the records
    of a million subjects are 3.9 GB, read and rewritten by the validation and the cut.
    A frame given whole is written. Both load equal to what was stored, also after the
    first value is written again and its files removed."""
    first, second = UPath(tmp_path / "drop" / "c.pickle"), UPath(tmp_path / "cut" / "c.pickle")
    first.parent.mkdir(), second.parent.mkdir()
    enrolment = pl.DataFrame({"subject_id": ["S1", "S2"]})
    ae = pl.DataFrame({"subject_id": ["S1"], "term": ["Pyrexia"]})
    labs = pl.DataFrame({"subject_id": ["S2"], "value": [1.5]})
    store = FrameStore(str(tmp_path), memory_budget_mb=0)
    drop = TrialDrop(records={"enrolment": enrolment, "adverse_events": ae, "labs": labs}, cut=dt.date(2024, 3, 1))
    store.dump_to_path(None, drop, first)
    loaded = FrameStore(str(tmp_path)).load_from_path(None, first)
    loaded.records["enrolment"]  # read whole
    loaded.records.scan("labs").collect()  # scanned; adverse_events not read at all
    new_ae = pl.DataFrame({"subject_id": ["S1"], "term": ["Nausea"]})
    records = {name: loaded.frames.entry(name) for name in ("enrolment", "labs")} | {"adverse_events": new_ae}
    store.dump_to_path(None, TrialDrop(records=records, cut=dt.date(2024, 3, 1)), second)

    def files(path: UPath) -> dict[str, int]:
        (folder,) = [p for p in Path(path.parent).iterdir() if p.name.endswith(".frames")]
        return {p.name: p.stat().st_ino for p in folder.iterdir()}

    before, after = files(first), files(second)
    shared = set(before.values()) & set(after.values())
    assert len(shared) == 2  # enrolment and labs: the same files under a second name
    store.dump_to_path(None, TrialDrop(records={"enrolment": enrolment.head(0)}, cut=dt.date(2024, 3, 1)), first)
    again = FrameStore(str(tmp_path)).load_from_path(None, second)
    assert list(again.records) == ["enrolment", "labs", "adverse_events"]
    assert_frame_equal(again["enrolment"], enrolment)
    assert_frame_equal(again["labs"], labs)
    assert_frame_equal(again["adverse_events"], new_ae)


def test_records_held_within_a_budget_are_read_again_when_let_go():
    """``Frames(held_bytes=...)``: 100 Int64 values are 800 bytes. With 1,700 bytes two
    such frames are held; reading a third lets go of the one read least recently, which
    is read from its source again when next asked for; a frame larger than the budget
    is never held. What is read is always the source's frame."""
    from trial_outcomes.io.records import Frames

    reads: list[str] = []

    def source(name: str, n: int = 100):
        return lambda: reads.append(name) or pl.DataFrame({"x": list(range(n))})

    frames = Frames({"a": source("a"), "b": source("b"), "c": source("c"), "big": source("big", 300)}, held_bytes=1700)
    for name in ("a", "b", "a", "c", "a", "b", "big", "big"):
        assert frames[name]["x"].len() in (100, 300)
    # a, b read; a held; c lets b go; a held; b read again (lets c go); big twice, never held
    assert reads == ["a", "b", "c", "b", "big", "big"]
    assert frames.height("big") == 300 and reads[-1] == "big"
    assert frames.source("a") is not None and Frames({"x": pl.DataFrame({"x": [1]})}).source("x") is None


def test_an_input_that_asks_for_a_scan_gets_a_query_over_the_stored_frame(tmp_path, monkeypatch):
    """``scanning(adae=[...])``: the step gets a lazy query of those columns, whether the
    value is held in memory or read from its file, and the file is not read whole
    when the query is built (only what the query needs is read when it runs)."""
    from trial_outcomes.assets.shared import scanning
    from trial_outcomes.pipelines import storage

    frame = pl.DataFrame({"USUBJID": ["S1", "S2"], "TRTEMFL": ["Y", "N"], "AETERM": ["Fever", "Rash"]})
    wanted = scanning(adae=["USUBJID", "TRTEMFL", "NOT_IN_ADAE"])["adae"].metadata
    assert wanted == {"columns": ["USUBJID", "TRTEMFL", "NOT_IN_ADAE"], "scan": True}
    context = dg.build_input_context(definition_metadata=wanted)
    held, on_disk = UPath(tmp_path / "held.pickle"), UPath(tmp_path / "disk.pickle")
    memory = FrameStore(str(tmp_path))
    memory.dump_to_path(None, frame, held)
    FrameStore(str(tmp_path), memory_budget_mb=0).dump_to_path(None, frame, on_disk)
    read: list[object] = []
    real_read = pl.read_ipc
    monkeypatch.setattr(storage.pl, "read_ipc", lambda *a, **k: read.append(a) or real_read(*a, **k))
    for store, path in ((memory, held), (FrameStore(str(tmp_path)), on_disk)):
        query = store.load_from_path(context, path)
        assert isinstance(query, pl.LazyFrame)
        late = query.filter(pl.col("TRTEMFL") == "N").collect()
        assert_frame_equal(late, pl.DataFrame({"USUBJID": ["S2"], "TRTEMFL": ["N"]}))
    assert read == []


def test_an_input_that_names_coded_columns_gets_them_as_categories(tmp_path):
    """``reading(adtte=[...], categories={"adtte": [...]})``: the named columns that are text
    load as categories, from memory and from the file (cast batch by batch); a named
    column that is not text (a number) or not read is left as it is, and the values and
    their order do not change."""
    from trial_outcomes.assets.shared import reading

    frame = pl.DataFrame(
        {"USUBJID": ["S1", "S2", "S3"], "PARAMCD": ["OS", "EFS", "OS"], "CNSR": [0, 1, 1], "SEX": ["F", None, "M"]}
    )
    wanted = reading(adtte=["USUBJID", "PARAMCD", "CNSR", "SEX"], categories={"adtte": ["PARAMCD", "CNSR", "AGEGR1"]})
    metadata = wanted["adtte"].metadata
    assert metadata == {"columns": ["USUBJID", "PARAMCD", "CNSR", "SEX"], "categories": ["PARAMCD", "CNSR", "AGEGR1"]}
    context = dg.build_input_context(definition_metadata=metadata)
    held, on_disk = UPath(tmp_path / "held.pickle"), UPath(tmp_path / "disk.pickle")
    memory = FrameStore(str(tmp_path))
    memory.dump_to_path(None, frame, held)
    FrameStore(str(tmp_path), memory_budget_mb=0).dump_to_path(None, frame, on_disk)
    for store, path in ((memory, held), (FrameStore(str(tmp_path)), on_disk)):
        loaded = store.load_from_path(context, path)
        assert dict(loaded.schema) == {
            "USUBJID": pl.String,
            "PARAMCD": pl.Categorical,
            "CNSR": pl.Int64,
            "SEX": pl.String,
        }
        assert_frame_equal(loaded.with_columns(pl.col("PARAMCD").cast(pl.String)), frame)
    assert "categories" not in reading(adsl=["USUBJID"], categories={"adtte": ["PARAMCD"]})["adsl"].metadata


@pytest.mark.slow  # a whole run (20 s)
def test_a_launchpad_run_naming_another_folder_keeps_its_values_there(drop, tmp_path):
    """The UI was started on ``ui-out``; a launchpad run names ``other`` as its out_dir.
    Its values between steps are stored under ``other/.storage`` with its lock and its
    published cut, and nothing under the UI's folder, where a CLI run of the same cut,
    holding ``ui-out``'s lock and not ``other``'s, would have shared them."""
    ui_out, other = tmp_path / "ui-out", tmp_path / "other"
    settings = DropSettings(data_dir=str(drop), out_dir=str(ui_out))
    defs = build_definitions(settings)
    cut = "2023-12-31"
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [cut])
        result = defs.resolve_job_def(ALL_JOB).execute_in_process(
            instance=instance, partition_key=cut, run_config=settings.run_config(out_dir=str(other))
        )
    assert result.success
    assert (other / cut / "manifest.json").is_file()
    assert (other / ".storage" / "adsl" / f"{cut}.pickle").is_file()
    assert not (ui_out / ".storage").exists()
