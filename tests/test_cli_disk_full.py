"""A full disk stops a run anywhere (found at a million subjects: SQLite's event log
could not be written and the CLI ended in a traceback). The run says so in one line,
exits 1, and says what a reader of the output folder will find."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from tests.helpers import ROOT
from trial_outcomes import cli
from trial_outcomes.pipelines import runner


def _raise(exc: BaseException):
    def run_pipeline(*args, **kwargs):
        raise exc

    return run_pipeline


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("event log write failed"),  # the cause is SQLite's, as Dagster wraps it
    ],
)
def test_a_full_disk_is_one_clear_line_and_exit_1(error, tmp_path, monkeypatch, capsys):
    if isinstance(error, RuntimeError):
        error.__cause__ = sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(runner, "run_pipeline", _raise(error))
    status = cli.main(["run", "--data", str(ROOT / "data" / "sample"), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1
    assert "FAILED: the disk is full" in err and "Traceback" not in err
    assert "never part of one" in err


def test_another_error_is_not_taken_for_a_full_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_pipeline", _raise(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["run", "--data", str(ROOT / "data" / "sample"), "--out", str(tmp_path / "out"), "--quiet"])
