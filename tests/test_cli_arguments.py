"""The run's arguments refused before anything runs (exit 2, a usage error), read
without a subprocess: what needs no drop read is said at once."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from tests.helpers import ROOT
from trial_outcomes import cli, dates
from trial_outcomes.errors import UsageError


def _args(tmp_path, **given: str) -> argparse.Namespace:
    values = {"data": str(ROOT / "data" / "sample"), "cut": "", "out": str(tmp_path / "o"), "plan": "", "compare": ""}
    return argparse.Namespace(**{**values, **given})


def test_a_data_file_is_said_to_be_a_file_not_a_missing_folder(tmp_path):
    """A user who gives the enrolment file, not its folder, is told so (it once said "no
    such folder" of a file that is there)."""
    given = tmp_path / "enrolment.csv"
    given.write_text("subject_id\n")
    with pytest.raises(UsageError, match="is a file, not a folder: give the folder that holds the drop's files"):
        cli._check_run_arguments(_args(tmp_path, data=str(given)))
    with pytest.raises(UsageError, match="no such folder"):
        cli._check_run_arguments(_args(tmp_path, data=str(tmp_path / "nowhere")))


def test_a_cut_after_today_is_a_usage_error_and_today_is_not(tmp_path, monkeypatch):
    """Today fixed at 2026-12-07: a cut of 2026-12-08 is in the future (refused before the
    drop is read, where it once exited 1 after reading it); 2026-12-07 itself is taken
    (the sample's drop is read later, by the run)."""
    monkeypatch.setattr(dates, "today", lambda: dt.date(2026, 12, 7))
    with pytest.raises(UsageError, match=r"--cut: data cut 2026-12-08 is after today \(2026-12-07\)"):
        cli._check_run_arguments(_args(tmp_path, cut="2026-12-08"))
    cut, _plan = cli._check_run_arguments(_args(tmp_path, cut="2026-12-07"))
    assert cut == dt.date(2026, 12, 7)
