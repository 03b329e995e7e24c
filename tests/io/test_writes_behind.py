"""The output store writes a run's files on a thread of its own (``io/store.py``,
``WritesBehind``) while the next steps run: what refuses the data still fails the
step that made it, a write that fails fails the run before anything is published,
the thread holds no more than its budget, and no write outlives the run's lock."""

from __future__ import annotations

import datetime as dt
import errno
import threading
from pathlib import Path

import polars as pl
import pytest

from trial_outcomes.contracts import ADLB
from trial_outcomes.io.outputs import Table, ToPublish, write_published
from trial_outcomes.io.publishing import CutBusy, lock_is_free
from trial_outcomes.io.store import OutputStore, WriteFailed, WritesBehind
from trial_outcomes.runspec import RunSpec

CUT = dt.date(2024, 3, 31)


def _adlb(value: float) -> pl.DataFrame:
    row = dict.fromkeys(ADLB.column_names()) | {"USUBJID": "BR-007", "LBSEQ": 1, "AVAL": value}
    return pl.DataFrame([row], schema=ADLB.create_empty().schema)


def _spec(tmp_path: Path) -> RunSpec:
    return RunSpec.make(CUT, None, tmp_path / "drop", tmp_path / "out")


def _waiting(gate: threading.Event, path: Path, log: list[str]):
    def write() -> Path:
        assert gate.wait(10), "the test never opened the gate"
        path.write_bytes(b"x")
        log.append(path.name)
        return path

    return write


def test_the_files_are_those_written_in_the_step_byte_for_byte(tmp_path: Path) -> None:
    """ADLB's Parquet and XPT and a figure through the thread are the bytes the same
    bundle gives written directly (``write_published``, the step's own thread)."""
    bundle = ToPublish(None, {"adlb.parquet": Table(_adlb(12.5), ADLB)}, {"plots/os.svg": b"<svg/>"})
    direct = write_published(tmp_path / "direct", bundle, CUT)
    with OutputStore.locked(_spec(tmp_path), "run-1") as store:
        handed = store.write(bundle)
        assert [p.name for p in handed] == [p.name for p in direct] == ["adlb.parquet", "adlb.xpt", "os.svg"]
        work = store.written()
    for path in direct:
        assert (work / path.relative_to(tmp_path / "direct")).read_bytes() == path.read_bytes(), path.name


def test_a_number_xpt_cannot_hold_fails_the_step_that_made_it_and_writes_nothing(tmp_path: Path) -> None:
    """An infinite lab value reaches the writer (the drop's checks refuse it first; this is
    the last guard): ``write`` raises in the step's own thread, naming dataset, variable,
    value and subject, and neither ADLB's Parquet nor its XPT is written."""
    with OutputStore.locked(_spec(tmp_path), "run-1") as store:
        with pytest.raises(ValueError, match=r"ADLB\.AVAL: 1 value\(s\) XPT cannot hold.*inf \(subject BR-007\)"):
            store.write(ToPublish(None, {"adlb.parquet": Table(_adlb(float("inf")), ADLB)}))
        assert not any(store.written().iterdir())


def test_a_write_that_fails_fails_the_next_hand_over_and_the_publishing_step(tmp_path: Path) -> None:
    """A full disk on the thread: the next step that hands files over fails, before its
    own are handed over, with the files and the system's error; and so does ``written``
    (where the QC and publishing wait), so the run publishes nothing."""

    def full() -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "adlb.xpt"))

    behind = WritesBehind()
    behind.submit({tmp_path / "adlb.parquet": full, tmp_path / "adlb.xpt": full}, 10, by="adlb")
    with pytest.raises(
        WriteFailed, match=r"writing adlb\.parquet, adlb\.xpt \(step adlb\) into the run's working folder"
    ):
        behind.submit({tmp_path / "adpc.parquet": lambda: (tmp_path / "adpc.parquet").write_bytes(b"x")}, 10)
    behind.settle()  # the failure was told once
    assert not (tmp_path / "adpc.parquet").exists()  # the step failed: its files were not handed over

    behind.submit({tmp_path / "adlb.xpt": full}, 10)
    with pytest.raises(WriteFailed, match=r"adlb\.xpt .*No space left on device"):
        behind.settle()
    behind.close()


def test_the_thread_holds_no_more_than_its_budget(tmp_path: Path) -> None:
    """Budget 100 bytes: a second hand-over of 60 while one of 60 is being written waits
    for it (one step's tables at a time); two of 40 go together."""
    behind = WritesBehind(budget=100)
    gate, log = threading.Event(), []
    behind.submit({tmp_path / "a": _waiting(gate, tmp_path / "a", log)}, 40)
    behind.submit({tmp_path / "b": _waiting(gate, tmp_path / "b", log)}, 40)  # 80: within the budget
    returned = threading.Event()

    def hand_over() -> None:
        behind.submit({tmp_path / "c": _waiting(gate, tmp_path / "c", log)}, 60)
        returned.set()

    step = threading.Thread(target=hand_over)
    step.start()
    assert not returned.wait(0.5)  # 140 would pass the budget: the step waits
    gate.set()
    step.join(10)
    assert returned.is_set() and log[0] == "a"  # c was handed over once a was written
    behind.close()
    assert log == ["a", "b", "c"]


def test_one_table_larger_than_the_budget_goes_alone(tmp_path: Path) -> None:
    behind = WritesBehind(budget=10)
    gate, log = threading.Event(), []
    gate.set()
    behind.submit({tmp_path / "a": _waiting(gate, tmp_path / "a", log)}, 1_000)
    behind.submit({tmp_path / "b": _waiting(gate, tmp_path / "b", log)}, 1_000)  # waits for a, then goes
    behind.close()
    assert log == ["a", "b"]


def test_no_write_outlives_the_runs_lock(tmp_path: Path) -> None:
    """The run ends (its steps done, or failed) while a write is still going: the store
    waits for it before letting the cut's lock go, so the next run never finds this
    run's files half written in a folder it is emptying."""
    spec = _spec(tmp_path)
    gate, log = threading.Event(), []
    ended = threading.Event()

    def run() -> None:
        with OutputStore.locked(spec, "run-1") as store:
            assert store.behind is not None
            store.behind.submit({store.work_dir / "adsl.xpt": _waiting(gate, store.work_dir / "adsl.xpt", log)}, 1)
        ended.set()

    runner = threading.Thread(target=run)
    runner.start()
    assert not ended.wait(0.5)
    with pytest.raises(CutBusy):  # still held while the write goes on
        lock_is_free(spec.out_dir, spec.cut_key)
    gate.set()
    runner.join(10)
    assert ended.is_set() and log == ["adsl.xpt"]
    lock_is_free(spec.out_dir, spec.cut_key)


def test_a_failed_run_is_told_its_own_failure_not_the_writes(tmp_path: Path) -> None:
    """A step fails while a write that will fail is pending: the run's failure is the
    one raised (the write's is moot, nothing is published), and the lock is let go."""
    spec = _spec(tmp_path)

    def full() -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(RuntimeError, match="the step's own failure"), OutputStore.locked(spec, "run-1") as store:
        assert store.behind is not None
        store.behind.submit({store.work_dir / "adsl.xpt": full}, 1)
        raise RuntimeError("the step's own failure")
    lock_is_free(spec.out_dir, spec.cut_key)


def test_a_leased_store_writes_in_the_step(tmp_path: Path) -> None:
    """A run whose steps run in other processes (celery) writes in the step: its process
    may end with the step."""
    store = OutputStore.leased(_spec(tmp_path), "run-a", "run-a", lambda _: True)
    assert store.behind is None
    written = store.write(ToPublish(None, {}, {"plots/os.svg": b"<svg/>"}))
    assert written[0].read_bytes() == b"<svg/>"
