"""Draw every figure of a cut, in worker processes when there are many.

Drawing is CPU-bound matplotlib work on plain data, so it parallelises across
processes. Workers are forked from a process that has already loaded
matplotlib (no second import), receive only plain data (never a polars frame:
a forked child must not touch polars' thread pool) and return PNG bytes; the
same specs give the same bytes in any worker. ``TRIAL_FIGURE_WORKERS`` sets the
number of workers (1: draw in this process); by default, two where fork is
the platform's way (Linux), otherwise one.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Any

from trial_outcomes.reporting.figures import flow, forest, survival

PARALLEL_FROM = 6  # fewer figures than this are drawn in this process


def draw(spec: Any) -> bytes:
    if isinstance(spec, survival.SurvivalSpec):
        return survival.draw(spec)
    if isinstance(spec, forest.ForestSpec):
        return forest.draw(spec)
    if isinstance(spec, flow.ConsortSpec):
        return flow.draw_consort(spec)
    if isinstance(spec, flow.SwimmerSpec):
        return flow.draw_swimmer(spec)
    raise TypeError(f"no figure for {type(spec).__name__}")


def workers() -> int:
    configured = os.environ.get("TRIAL_FIGURE_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return min(2, os.cpu_count() or 1) if sys.platform.startswith("linux") else 1


def render_all(specs: dict[str, Any]) -> dict[str, bytes]:
    """PNG bytes of every spec, by name (in name order)."""
    names = sorted(specs)
    n = workers()
    if n <= 1 or len(names) < PARALLEL_FROM:
        return {name: draw(specs[name]) for name in names}
    from concurrent.futures import ProcessPoolExecutor

    import matplotlib.figure  # noqa: F401 - loaded once here, inherited by the forked workers

    # costly figures first, spread over the workers
    ordered = sorted(names, key=lambda name: -_cost(specs[name]))
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork")) as pool:
        images = dict(zip(ordered, pool.map(draw, [specs[name] for name in ordered], chunksize=1), strict=True))
    return {name: images[name] for name in names}


def _cost(spec: Any) -> int:
    if isinstance(spec, flow.SwimmerSpec):
        return 3
    if isinstance(spec, survival.SurvivalSpec):
        return 1 + len(spec.curves) // 3
    return 1
