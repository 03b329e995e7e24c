"""The figure workers (reporting/figures/render.py): a worker that dies mid-run (the
OOM killer, a kill) does not fail the run; the figures are drawn in this process,
the same bytes as the workers draw."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from trial_outcomes.reporting.figures import render
from trial_outcomes.reporting.figures.monitoring import RulePanel, StoppingHistorySpec


def _specs() -> dict[str, StoppingHistorySpec]:
    cuts = ["2024-01-31", "2024-02-29", "2024-03-31"]
    return {
        f"history_{i}": StoppingHistorySpec(
            [
                RulePanel(
                    f"Rule {i}", "P(rate > 0.2)", cuts, [0.1, 0.05 * i, 0.6], [False, False, True], 0.5, "0.5", True
                )
            ]
        )
        for i in range(render.PARALLEL_FROM + 2)
    }


def test_a_killed_worker_leaves_the_figures_drawn_here_with_the_same_bytes(monkeypatch):
    specs = _specs()
    monkeypatch.setenv("TRIAL_FIGURE_WORKERS", "1")
    expected = render.render_all(specs, stamp="Data cut 2024-03-31")
    monkeypatch.setenv("TRIAL_FIGURE_WORKERS", "2")
    with render.figure_workers():
        pool = render._started[os.getpid()]
        assert list(pool.map(abs, [-1, -2])) == [1, 2]  # both workers are up
        # The pool's own worker, not any child of this process: another test in the same
        # process may have left a child, and the pool may start its workers on demand.
        victim = next(iter(pool._processes.values()))
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        victim.join()
        deadline = time.monotonic() + 60  # the pool's manager thread sees the death on its own
        while not pool._broken and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(BrokenProcessPool):  # the victim was the pool's: the pool is broken
            pool.submit(abs, -1).result()
        assert render.render_all(specs, stamp="Data cut 2024-03-31") == expected
