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
        RuntimeError(),  # no message of its own: the cause's is shown
    ],
)
def test_a_full_disk_is_one_clear_line_and_exit_1(error, tmp_path, monkeypatch, capsys):
    if isinstance(error, RuntimeError):
        error.__cause__ = sqlite3.OperationalError("database or disk is full")
        error.__cause__.__cause__ = error  # a cycle in the chain ends the walk, not the run
    monkeypatch.setattr(runner, "run_pipeline", _raise(error))
    status = cli.main(["run", "--data", str(ROOT / "data" / "sample"), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1
    assert "FAILED: the disk is full (" in err and "Traceback" not in err
    assert "No space left on device" in err or "database or disk is full" in err
    assert "never part of one" in err


def test_another_error_is_not_taken_for_a_full_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_pipeline", _raise(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["run", "--data", str(ROOT / "data" / "sample"), "--out", str(tmp_path / "out"), "--quiet"])


def test_a_step_that_fills_the_disk_fails_in_one_line():
    """A step writing Parquet when the disk fills fails as a step (errors do not escape
    the run): its failure is one line naming the full disk, not the traceback."""
    from dagster._utils.error import serializable_error_info_from_exc_info

    from trial_outcomes.pipelines.runner import _disk_full_text

    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("writing adae.parquet") from exc
    except RuntimeError:
        import sys

        error = serializable_error_info_from_exc_info(sys.exc_info())
    assert _disk_full_text(error) == "OSError: [Errno 28] No space left on device"
