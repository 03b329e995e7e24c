"""The cut's lease (io/publishing.py take_lease): how a run whose steps run in separate
processes holds its cut, how a re-execution continues it, and how a run that ended
gives it up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from trial_outcomes.io.publishing import (
    CutBusy,
    cut_lock,
    lease_holder,
    leased_publication,
    release_lease,
    take_lease,
)
from trial_outcomes.io.store import OutputStore
from trial_outcomes.runspec import RunSpec

CUT = "2024-03-31"


def test_the_first_step_takes_it_the_next_steps_keep_it(tmp_path: Path) -> None:
    going = {"run-a"}
    assert take_lease(tmp_path, CUT, "run-a", "run-a", going.__contains__) is True
    assert take_lease(tmp_path, CUT, "run-a", "run-a", going.__contains__) is False  # another step of the run
    assert lease_holder(tmp_path, CUT) == "run-a"
    with pytest.raises(CutBusy, match="by run run-a"):
        take_lease(tmp_path, CUT, "run-b", "run-b", going.__contains__)
    with pytest.raises(CutBusy, match="by run run-a"):  # a second re-execution while the first goes on
        take_lease(tmp_path, CUT, "run-a", "run-a2", going.__contains__)


def test_a_run_that_ended_leaves_the_cut_free_and_its_folder_goes(tmp_path: Path) -> None:
    take_lease(tmp_path, CUT, "run-a", "run-a", lambda _: True)
    work = tmp_path / ".work" / CUT / "run-a"
    work.mkdir(parents=True)
    (work / "adsl.parquet").write_bytes(b"x")
    assert take_lease(tmp_path, CUT, "run-b", "run-b", lambda _: False) is True  # run-a failed or was killed
    assert lease_holder(tmp_path, CUT) == "run-b"
    assert not work.exists()  # emptied under the flock, before any step of run-b writes


def test_a_re_execution_of_a_failed_run_keeps_its_folder(tmp_path: Path) -> None:
    take_lease(tmp_path, CUT, "run-a", "run-a", lambda _: True)
    work = tmp_path / ".work" / CUT / "run-a"
    work.mkdir(parents=True)
    (work / "adsl.parquet").write_bytes(b"x")
    assert take_lease(tmp_path, CUT, "run-a", "retry-1", lambda _: False) is False
    assert lease_holder(tmp_path, CUT) == "retry-1" and (work / "adsl.parquet").is_file()


def test_only_the_holder_publishes_and_publishing_gives_it_back(tmp_path: Path) -> None:
    take_lease(tmp_path, CUT, "run-a", "run-a", lambda _: False)
    take_lease(tmp_path, CUT, "run-b", "run-b", lambda _: False)  # run-a was taken over
    with pytest.raises(CutBusy, match="no longer holds its lease"), leased_publication(tmp_path, CUT, "run-a"):
        pass
    with leased_publication(tmp_path, CUT, "run-b"):
        pass
    assert lease_holder(tmp_path, CUT) is None
    take_lease(tmp_path, CUT, "run-c", "run-c", lambda _: True)
    assert release_lease(tmp_path, CUT, "run-b") is False and lease_holder(tmp_path, CUT) == "run-c"
    assert release_lease(tmp_path, CUT, "run-c") is True and lease_holder(tmp_path, CUT) is None


def test_trial_outcomes_run_and_a_lease_exclude_each_other(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("trial_outcomes.io.publishing.LEASE_WAIT_SECONDS", 0.2)
    with cut_lock(tmp_path, CUT, "run 12345678 (process 1)"), pytest.raises(CutBusy, match="run 12345678"):
        take_lease(tmp_path, CUT, "run-a", "run-a", lambda _: False)
    take_lease(tmp_path, CUT, "run-a", "run-a", lambda _: False)
    with pytest.raises(CutBusy, match="by run run-a"), cut_lock(tmp_path, CUT, "cli", running=lambda _: True):
        pass
    with cut_lock(tmp_path, CUT, "cli", running=lambda _: False):  # the lease's run ended: dropped
        assert lease_holder(tmp_path, CUT) is None


def test_a_leased_store_writes_into_the_root_runs_folder(tmp_path: Path) -> None:
    spec = RunSpec.make(dt.date(2024, 3, 31), None, tmp_path / "drop", tmp_path / "out")
    store = OutputStore.leased(spec, "run-a", "run-a", lambda _: True)
    (store.work_dir / "adsl.parquet").write_bytes(b"x")
    again = OutputStore.leased(spec, "retry-1", "run-a", lambda holder: False)  # run-a failed: its re-execution
    assert again.work_dir == store.work_dir and (again.work_dir / "adsl.parquet").is_file()
    OutputStore.leased(spec, "run-b", "run-b", lambda holder: False)
    assert not (store.work_dir / "adsl.parquet").exists()
