"""Ctrl-C around a run's steps (the steps' own are in ``tests/e2e/test_robustness.py``): one
line and 130 before the run catches its own, and nothing cut short once the run is over."""

from __future__ import annotations

import os
import signal

from tests.helpers import ROOT
from trial_outcomes import cli
from trial_outcomes.pipelines import runner
from trial_outcomes.pipelines.runner import RunOutcome


def _args(tmp_path) -> list[str]:
    return ["run", "--data", str(ROOT / "data" / "sample"), "--out", str(tmp_path / "out"), "--quiet"]


def test_an_interrupt_while_the_run_loads_its_plan_is_one_line(tmp_path, monkeypatch, capsys):
    """A re-verifier's Ctrl-C 0.3-2 s into a run (numpy's import, the plan's loading)
    printed 30-50 lines of traceback: it is one line and exit 130."""

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_check_run_arguments", interrupted)
    assert cli.main(_args(tmp_path)) == cli.INTERRUPTED
    err = capsys.readouterr().err
    assert err == "trial-outcomes run INTERRUPTED; nothing was published, earlier outputs are untouched.\n"


def test_an_interrupt_after_the_run_is_over_does_not_cut_short_what_it_says(tmp_path, monkeypatch, capsys):
    """A re-verifier's Ctrl-C after "done" ended a published run by the signal, without a
    word: once the run is over, an interrupt is ignored while it says what it did (here the
    interrupt arrives as it begins to), and the handler is as it was afterwards."""
    published = tmp_path / "out" / "2024-03-31"

    def finished(*args, **kwargs):
        return RunOutcome(
            success=True, cut="2024-03-31", published=str(published), publication="published v001", warnings=["w"]
        )

    def say(line: str) -> str:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the outcome is said
        return line

    before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(runner, "run_pipeline", finished)
    monkeypatch.setattr(cli, "printable", say)
    assert cli.main(_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "data cut 2024-03-31: outputs in" in out and "done in" in out
    assert signal.getsignal(signal.SIGINT) is before
