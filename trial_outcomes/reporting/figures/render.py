"""Draw every figure of a cut, in worker processes when there are many.

Drawing is CPU-bound matplotlib work on plain data, so it parallelises across
processes. A run of the data-cut job starts its workers when it starts
(``figure_workers``, entered by the settings resource): forked, they load
matplotlib and draw one small figure of each kind on the other core while the
first steps read the drop, so the figures step finds them warm (a curve in
about 30 ms). Outside a run a pool is forked for the call. Workers receive only
plain data (never a polars frame: a forked child must not touch polars' thread
pool) and return SVG bytes; the same specs give the same bytes in any worker.
``TRIAL_FIGURE_WORKERS`` sets the number of workers (1: draw in this process);
by default, two where fork is the platform's way (Linux), otherwise one.

Measured on the 120-subject sample (39 figures, this 2-core machine): figures
step 3.7 s (PNG at 130 dpi, UI thumbnails, cold workers) -> 0.8 s (SVG, one axes
per curve, warm workers); see docs/performance.md.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from trial_outcomes.reporting.figures import flow, forest, kinetics, models, monitoring, style, survival

PARALLEL_FROM = 6  # fewer figures than this are drawn in this process
_started: dict[int, ProcessPoolExecutor] = {}  # the warm workers of this process (by pid: a fork has none)


def draw(spec: Any) -> bytes:
    if isinstance(spec, Stamped):
        style.STAMP[0] = spec.stamp  # this process draws this figure: its stamp, then the figure
        try:
            return draw(spec.spec)
        finally:
            style.STAMP[0] = ""
    if isinstance(spec, survival.SurvivalSpec):
        return survival.draw(spec)
    if isinstance(spec, forest.ForestSpec):
        return forest.draw(spec)
    if isinstance(spec, flow.ConsortSpec):
        return flow.draw_consort(spec)
    if isinstance(spec, flow.SwimmerSpec):
        return flow.draw_swimmer(spec)
    if isinstance(spec, monitoring.StoppingHistorySpec):
        return monitoring.draw(spec)
    if isinstance(spec, models.SchoenfeldSpec):
        return models.draw(spec)
    if isinstance(spec, kinetics.SpaghettiSpec):
        return kinetics.draw(spec)
    raise TypeError(f"no figure for {type(spec).__name__}")


def workers() -> int:
    """Figure worker processes: ``TRIAL_FIGURE_WORKERS``, else up to two on Linux; none
    (draw in this process) inside a daemonic process, such as a celery worker's pool
    process, which may not have children."""
    if multiprocessing.current_process().daemon:
        return 1
    configured = os.environ.get("TRIAL_FIGURE_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return min(2, os.cpu_count() or 1) if sys.platform.startswith("linux") else 1


@contextmanager
def figure_workers() -> Iterator[None]:
    """Warm workers for the figures drawn while the block runs (a run): forked now,
    each loads matplotlib and draws a small figure at once, in the background."""
    n = workers()
    if n <= 1 or os.getpid() in _started:
        yield
        return
    pool = _pool(n)
    _started[os.getpid()] = pool
    for _ in range(n):
        pool.submit(_warm_up)
    try:
        yield
    finally:
        del _started[os.getpid()]
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class Stamped:
    """A figure spec and the words stamped in its corner (the cut and the drop)."""

    spec: Any
    stamp: str


def figure_stamp(cut: str, drop_sha256: str) -> str:
    """The words in each figure's corner: its data cut and drop."""
    return f"Data cut {cut} · drop {drop_sha256[:12]}"


def render_all(specs: dict[str, Any], stamp: str = "") -> dict[str, bytes]:
    """SVG bytes of every spec, by name (in name order); with ``stamp``, each figure
    carries it in its lower right corner (issue 22: every figure states its cut)."""
    if stamp:
        specs = {name: Stamped(spec, stamp) for name, spec in specs.items()}
    names = sorted(specs)
    n = workers()
    if n <= 1 or len(names) < PARALLEL_FROM:
        return {name: draw(specs[name]) for name in names}
    ordered = sorted(names, key=lambda name: -_cost(specs[name]))  # costly figures first, spread over the workers
    pool = _started.get(os.getpid())
    try:
        if pool is not None:
            images = _drawn_by(pool, ordered, specs)
        else:
            _warm_up()  # fonts and text layout loaded once here, inherited by the forked workers
            with _pool(n) as new_pool:
                images = _drawn_by(new_pool, ordered, specs)
    except BrokenProcessPool:  # a worker died (the OOM killer, a kill): drawn here, the same bytes
        logging.getLogger(__name__).warning("a figure worker stopped abruptly; the figures are drawn in-process")
        images = {name: draw(specs[name]) for name in names}
    return {name: images[name] for name in names}


def _drawn_by(pool: ProcessPoolExecutor, names: list[str], specs: dict[str, Any]) -> dict[str, bytes]:
    return dict(zip(names, pool.map(draw, [specs[name] for name in names], chunksize=1), strict=True))


def _pool(n: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )


def _die_with_parent(parent: int) -> None:
    """A worker ends when the run's process ends, even by SIGKILL: otherwise it would
    wait forever for figures, holding the terminal's pipes. Linux's parent-death
    signal, SIGKILL: the worker inherited the run's handlers for SIGTERM and SIGINT
    (Dagster's, which only note an interrupt), so only an uncatchable signal is sure
    to end it. Ctrl-C is the parent's to handle: it stops the pool. The workers are
    forked only on Linux."""
    import ctypes
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def _warm_up() -> None:
    """Draw a small figure of each kind: the first figure of a process pays for
    loading the font and building matplotlib's caches (about 0.2 s), and a forked
    worker for touching what it inherited; a warm worker draws a curve in 30 ms."""
    curve = survival.Curve("A (n=2)", [1.0, 2.0], [0.9, 0.5], [0.8, 0.3], [1.0, 0.7], [1.5], [0.9], [2, 1], 2.0)
    draw(survival.SurvivalSpec("Warm-up", "", False, "infusion", [0.0, 3.0], [curve, curve], ["6 mo: 50%"]))
    draw(survival.SurvivalSpec("Warm-up", "", False, "infusion", [0.0, 3.0], [curve], ["6 mo: 50%"]))
    draw(
        forest.ForestSpec(
            "Warm-up",
            "HR",
            [forest.ForestRow("Sex", None, None, None, "", True), forest.ForestRow("F vs M", 1.2, 0.8, 1.9, "1.2")],
            True,
            1.0,
            "1",
            "HR",
        )
    )
    draw(
        flow.SwimmerSpec(
            ["A", "B"],
            [3.0, 4.0],
            [1.0, None],
            [2.0, None],
            [None, 1.0],
            [2.5, None],
            [3.0, None],
            [False, True],
            "Warm-up",
        )
    )


def _cost(spec: Any) -> int:
    if isinstance(spec, Stamped):
        return _cost(spec.spec)
    if isinstance(spec, flow.SwimmerSpec):
        return 3
    if isinstance(spec, survival.SurvivalSpec):
        return 1 + len(spec.curves) // 3
    return 1
