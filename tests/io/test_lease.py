"""The cut's lease (io/publishing.py take_lease): how a run whose steps run in separate
processes holds its cut, and how a run that ended gives it up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from trial_outcomes.io.publishing import CutBusy, cut_lock, lease_holder, release_lease, take_lease
from trial_outcomes.io.store import OutputStore
from trial_outcomes.runspec import RunSpec

CUT = "2024-03-31"


def test_the_first_step_takes_it_the_next_steps_keep_it(tmp_path: Path) -> None:
    going = {"run-a"}
    assert take_lease(tmp_path, CUT, "run-a", going.__contains__) is True
    assert take_lease(tmp_path, CUT, "run-a", going.__contains__) is False  # another step of the same run
    assert lease_holder(tmp_path, CUT) == "run-a"
    with pytest.raises(CutBusy, match="by run run-a"):
        take_lease(tmp_path, CUT, "run-b", going.__contains__)


def test_a_run_that_ended_leaves_the_cut_free(tmp_path: Path) -> None:
    take_lease(tmp_path, CUT, "run-a", lambda _: True)
    assert take_lease(tmp_path, CUT, "run-b", lambda _: False) is True  # run-a failed or was killed
    assert lease_holder(tmp_path, CUT) == "run-b"


def test_only_the_holder_releases_it(tmp_path: Path) -> None:
    take_lease(tmp_path, CUT, "run-a", lambda _: True)
    release_lease(tmp_path, CUT, "run-b")
    assert lease_holder(tmp_path, CUT) == "run-a"
    release_lease(tmp_path, CUT, "run-a")
    assert lease_holder(tmp_path, CUT) is None


def test_a_run_of_trial_outcomes_run_and_a_lease_exclude_each_other(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("trial_outcomes.io.publishing.LEASE_WAIT_SECONDS", 0.2)
    with cut_lock(tmp_path, CUT, "run 12345678 (process 1)"), pytest.raises(CutBusy, match="run 12345678"):
        take_lease(tmp_path, CUT, "run-a", lambda _: False)


def test_a_new_lease_empties_the_working_folder_a_kept_one_does_not(tmp_path: Path) -> None:
    spec = RunSpec.make(dt.date(2024, 3, 31), None, tmp_path / "drop", tmp_path / "out")
    store = OutputStore.leased(spec, "run-a", "run-a", lambda _: True)
    (store.work_dir / "adsl.parquet").write_bytes(b"x")
    again = OutputStore.leased(spec, "run-a-retry", "run-a", lambda _: True)  # a re-execution: same root run
    assert again.work_dir == store.work_dir and (again.work_dir / "adsl.parquet").is_file()
    OutputStore.leased(spec, "run-b", "run-b", lambda holder: False)
    assert not (store.work_dir / "adsl.parquet").exists()
