"""Simon's (1989) optimal two-stage design, found by search: pure arithmetic the plan
checks when it is loaded (a plan whose design does not exist is refused there, not by a
run that stops at its stopping rules with nothing published) and the efficacy rule uses
(``analysis.stopping``)."""

from __future__ import annotations

from dataclasses import dataclass
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
        r = np.arange(n + 1)
        for n1 in range(1, n):
            n2 = n - n1
            x1 = np.arange(n1 + 1)
            k = r[None, :] - x1[:, None]
            rej = {}
            for p in (p0, p1):
                pmf, sf = tables[p]
                stage2 = np.where(k < 0, 1.0, sf[n2][np.clip(k, 0, n_max)])
                m = pmf[n1][: n1 + 1, None] * stage2
                # rejection probability for (r1, r): sum over x1 >= r1 + 1
                tail = np.cumsum(m[::-1], axis=0)[::-1]
                rej[p] = np.vstack([tail[1:], np.zeros((1, n + 1))])
            ok = (rej[p0] <= alpha) & (rej[p1] >= 1 - beta) & (r[None, :] >= x1[:, None])
            if not ok.any():
                continue
            pet = np.cumsum(tables[p0][0][n1][: n1 + 1])
            en = n1 + (1 - pet) * n2
            for r1 in np.flatnonzero(ok.any(axis=1)):
                rr = int(np.flatnonzero(ok[r1])[0])
                cand = SimonDesign(
                    int(r1), n1, rr, n, float(en[r1]), float(pet[r1]), float(rej[p0][r1, rr]), float(rej[p1][r1, rr])
                )
                if best is None or cand.expected_n0 < best.expected_n0 - 1e-12:
                    best = cand
        if best is not None and n > best.expected_n0 * 3:
            break
    if best is None:
        raise ValueError(
            f"no Simon optimal design with n <= {n_max} for p0 {p0:g}, p1 {p1:g}, alpha {alpha:g}, beta {beta:g}"
        )
    return best
