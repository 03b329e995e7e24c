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


def test_a_step_that_may_not_write_its_folder_fails_in_one_line(tmp_path):
    """A red team's read-only ``.versions`` folder ended the run in a 58-line traceback: a
    step whose error says a file may not be written (read-only file system, permission
    denied) fails in one line naming the path and what to check."""
    import dagster as dg
    from dagster._core.events import DagsterEventType, StepFailureData
    from dagster._utils.error import serializable_error_info_from_exc_info

    from trial_outcomes.pipelines.runner import _describe_failure

    target = tmp_path / ".versions" / "2024-03-31"
    try:
        try:
            raise OSError(errno.EROFS, "Read-only file system", str(target))
        except OSError as exc:
            raise RuntimeError("publishing the cut") from exc
    except RuntimeError:
        import sys

        error = serializable_error_info_from_exc_info(sys.exc_info())
    event = dg.DagsterEvent(
        DagsterEventType.STEP_FAILURE.value,
        "all_outcomes",
        step_key="published_cut",
        event_specific_data=StepFailureData(error=error, user_failure_data=None),
    )
    line = _describe_failure(event)
    assert line == (
        f"step published_cut failed: a file or folder may not be written or read (OSError: [Errno 30] Read-only "
        f"file system: '{target}'); check its permissions, and that its file system is not mounted read-only, "
        "and run again"
    )
    assert "\n" not in line
