"""Simon's (1989) optimal two-stage design, found by search: pure arithmetic the plan
checks when it is loaded (a plan whose design does not exist is refused there, not by a
run that stops at its stopping rules with nothing published) and the efficacy rule uses
(``analysis.stopping``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

#: the largest n searched whatever the target enrolment: a phase II design past it is not
#: a Simon design this trial would use, and a full search to it takes about half a minute
SEARCHED_UP_TO = 300


def search_limit(target_enrolment: int) -> int:
    """The largest n a design may have: the plan's target enrolment, at most ``SEARCHED_UP_TO``."""
    return min(target_enrolment, SEARCHED_UP_TO)


@dataclass(frozen=True)
class SimonDesign:
    r1: int
    n1: int
    r: int
    n: int
    expected_n0: float
    pet0: float
    alpha: float  # attained
    power: float  # attained
    #: the search ended before its ``n_max``, past three times the best expected size: a
    #: larger limit finds the same design (``unrestricted_design`` needs no second search)
    ended_early: bool = False


@lru_cache(maxsize=32)
def simon_design(p0: float, p1: float, alpha: float, beta: float, n_max: int = SEARCHED_UP_TO) -> SimonDesign:
    """Simon's optimal design: among (r1/n1, r/n) with type I error <= alpha and
    power >= 1 - beta, the one with the smallest expected size under p0.
    Simon (1989) Table 1: p0 0.05, p1 0.25 -> 0/9, 2/17; p0 0.10, p1 0.30 -> 1/10, 5/29.
    The search stops once n exceeds three times the best expected size found, or at
    ``n_max``: the plan's target enrolment (a design the trial cannot complete is no
    design), at most ``SEARCHED_UP_TO``."""
    from scipy.stats import binom

    counts = np.arange(n_max + 1)
    # pmf[m, x] = P(X = x) for X ~ Bin(m, p); sf[m, k] = P(X > k), with P(X > k) = 1 for k < 0
    tables = {}
    for p in (p0, p1):
        pmf = binom.pmf(counts[None, :], counts[:, None], p)
        sf = 1.0 - np.cumsum(pmf, axis=1)
        tables[p] = (pmf, np.clip(sf, 0.0, 1.0))
    best: SimonDesign | None = None
    for n in range(2, n_max + 1):
        # every first stage n1 of this n at once, in blocks of rows (bounded memory at n 300):
        # the loop over n1 one at a time took 0.8-1.2 s of every run's plan check, 0.15 s so (issue 23)
        step = max(1, _CELLS // (n + 1) ** 2)
        for first in range(1, n, step):
            best = _better(n, np.arange(first, min(first + step, n)), tables, (p0, p1, alpha, beta), best)
        if best is not None and n > best.expected_n0 * 3:
            return replace(best, ended_early=True)
    if best is None:
        raise ValueError(
            f"no Simon optimal design with n <= {n_max} for p0 {p0:g}, p1 {p1:g}, alpha {alpha:g}, beta {beta:g}"
        )
    return best


#: cells of the (n1, r1, r) arrays built at a time (a few megabytes each)
_CELLS = 400_000


def _better(
    n: int,
    n1s: np.ndarray,
    tables: dict[float, tuple[np.ndarray, np.ndarray]],
    rule: tuple[float, float, float, float],
    best: SimonDesign | None,
) -> SimonDesign | None:
    """``best``, or a design of total size ``n`` and first stage in ``n1s`` that meets
    alpha and power with a smaller expected size under p0, taken in the order n1, r1 (the
    first of equals stays): for each (n1, r1), the least r that meets both. The rejection
    probability of (r1/n1, r/n) is P(X1 > r1 and X1 + X2 > r), the sum over x1 > r1 of
    P(X1 = x1) P(X2 > r - x1), X1 ~ Bin(n1, p), X2 ~ Bin(n - n1, p)."""
    p0, p1, alpha, beta = rule
    r = np.arange(n + 1)
    x1 = np.arange(int(n1s[-1]) + 1)  # first-stage responses, to the block's largest n1
    inside = x1[None, :] <= n1s[:, None]  # (n1, x1): P(X1 = x1) is 0 past n1
    k = r[None, :] - x1[:, None]  # (x1, r): second-stage responses needed beyond x1
    rejection = {}
    for p in (p0, p1):
        pmf, sf = tables[p]
        first = np.where(inside, pmf[n1s][:, : len(x1)], 0.0)  # (n1, x1)
        stage2 = np.where(k[None, :, :] < 0, 1.0, sf[n - n1s][:, np.clip(k, 0, n)])  # (n1, x1, r)
        tail = np.cumsum((first[:, :, None] * stage2)[:, ::-1, :], axis=1)[:, ::-1, :]  # sum over x1 >= row
        # rejection[n1, r1, r]: the sum over x1 >= r1 + 1 (none past the last row)
        rejection[p] = np.concatenate([tail[:, 1:, :], np.zeros((len(n1s), 1, n + 1))], axis=1)
    ok = (rejection[p0] <= alpha) & (rejection[p1] >= 1 - beta) & (r[None, None, :] >= x1[None, :, None])
    ok &= inside[:, :, None]  # r1 at most n1
    meets = ok.any(axis=2)
    if not meets.any():
        return best
    pet = np.cumsum(np.where(inside, tables[p0][0][n1s][:, : len(x1)], 0.0), axis=1)  # P(X1 <= r1) under p0
    expected = n1s[:, None] + (1 - pet) * (n - n1s)[:, None]
    rows, r1s = np.nonzero(meets)  # row-major: n1, then r1
    chosen = None
    least = best.expected_n0 if best is not None else np.inf
    for j, value in enumerate(expected[rows, r1s].tolist()):
        if value < least - 1e-12:  # the first when there is no best yet (inf - 1e-12 is inf)
            chosen, least = j, value
    if chosen is None:
        return best
    i, r1 = int(rows[chosen]), int(r1s[chosen])
    rr = int(np.flatnonzero(ok[i, r1])[0])
    return SimonDesign(
        r1,
        int(n1s[i]),
        rr,
        n,
        float(expected[i, r1]),
        float(pet[i, r1]),
        float(rejection[p0][i, r1, rr]),
        float(rejection[p1][i, r1, rr]),
    )


def unrestricted_design(design: SimonDesign, p0: float, p1: float, alpha: float, beta: float) -> SimonDesign:
    """The optimal design searched to ``SEARCHED_UP_TO``, for a ``design`` found with these
    parameters under a smaller limit (the plan's target enrolment): that design itself when
    its search ended early, without searching again (a second search, 0.1 s of every run with the
    packaged plan, until 2026-12-06)."""
    return design if design.ended_early else simon_design(p0, p1, alpha, beta, SEARCHED_UP_TO)
