"""Competing risks: Aalen-Johansen cumulative incidence and Gray's test.

Written here rather than taken from lifelines, whose ``AalenJohansenFitter``
jitters tied times at random (shared/spec/ecosystem-notes.md). Both follow
Gray's ``cmprsk`` (``cuminc``), and tests/analysis/test_competing_reference.py
holds them to R's numbers.

* Cumulative incidence of cause 1: F(t) = sum over event times s <= t of
  S(s-) d1(s) / n(s), with S the Kaplan-Meier of any event.
* Its variance: the delta-method estimator of ``cmprsk`` (Gray's ``cinc``),
  with the correction 1 - (d - 1)/(n - 1) for tied events.
* CI: log(-log) transform, F^exp(z se / (F log F)) to F^exp(-z se / (F log F))
  (as ``tidycmprsk``); empty where F is 0 or 1.
* Gray's test (Gray 1988, Ann Stat 16:1141): score and variance of the
  subdistribution-hazard comparison with weight (1 - F(t-))^rho, rho = 0,
  chi-square on k - 1 degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trial_outcomes.analysis.comparisons import TestResult, group_codes
from trial_outcomes.analysis.km import Z95, as_probability, finite_or_none, step_value


@dataclass(frozen=True)
class CIFFit:
    time: np.ndarray  # distinct observed times
    n_risk: np.ndarray
    n_event: np.ndarray  # cause 1
    n_competing: np.ndarray
    n_censor: np.ndarray
    cif: np.ndarray
    var: np.ndarray
    lcl: np.ndarray
    ucl: np.ndarray

    @property
    def n(self) -> int:
        return int(self.n_risk[0]) if len(self.n_risk) else 0

    @property
    def ended_in_events(self) -> bool:
        """Everyone still at risk at the last time had an event (of either type)
        there: the incidence is final and known past it."""
        if not len(self.time):
            return False
        return int(self.n_event[-1] + self.n_competing[-1]) == int(self.n_risk[-1])

    def at(self, t: float, extend: bool = False) -> tuple[float | None, float | None, float | None]:
        """F(t) with its CI; empty past the last observation unless ``extend`` or the
        incidence is final there (``ended_in_events``)."""
        return step_value(self.time, (self.cif, self.lcl, self.ucl), t, extend or self.ended_in_events, start=0.0)

    def variance_at(self, t: float) -> float | None:
        i = int(np.searchsorted(self.time, t, side="right")) - 1
        return None if i < 0 else finite_or_none(self.var[i])


def _counts(time: np.ndarray, status: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t, inverse = np.unique(time, return_inverse=True)
    d1 = np.bincount(inverse, weights=(status == 1), minlength=len(t)).astype(int)
    d2 = np.bincount(inverse, weights=(status == 2), minlength=len(t)).astype(int)
    c = np.bincount(inverse, weights=(status == 0), minlength=len(t)).astype(int)
    removed = d1 + d2 + c
    n = len(time) - np.concatenate([[0], np.cumsum(removed)[:-1]])[: len(t)]
    return t, n, d1, d2, c


def fit_cif(time: np.ndarray, status: np.ndarray, z: float = Z95) -> CIFFit:
    """Aalen-Johansen incidence of cause 1; ``status`` 1 event, 2 competing, 0 censored."""
    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=int)
    t, n, d1, d2, c = _counts(time, status)
    cif = np.zeros(len(t))
    var = np.zeros(len(t))
    s_minus, f = 1.0, 0.0
    v1 = v2 = v3 = 0.0
    current_var = 0.0
    for i in range(len(t)):
        rs, e1, e2 = n[i], d1[i], d2[i]
        nd = e1 + e2
        if nd:
            s_next = s_minus * (rs - nd) / rs
            if e1:
                f += s_minus * e1 / rs
            if e2 and s_next > 0:
                tie = 1 - (e2 - 1) / (rs - 1) if e2 > 1 else 1.0
                w = s_minus * s_minus * tie * e2 / (rs * rs)
                a, b = 1 / s_next, f / s_next
                v1 += b * b * w
                v2 += a * b * w
                v3 += a * a * w
            if e1:
                tie = 1 - (e1 - 1) / (rs - 1) if e1 > 1 else 1.0
                w = s_minus * s_minus * tie * e1 / (rs * rs)
                a = 1 / s_next if s_next > 0 else 0.0
                b = 1 + a * f
                v1 += b * b * w
                v2 += a * b * w
                v3 += a * a * w
                current_var = v1 + f * f * v3 - 2 * f * v2
            s_minus = s_next
        cif[i], var[i] = f, current_var
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ff = np.where((cif == 0) | (cif == 1), np.nan, cif)
        se_g = np.sqrt(var) / (ff * np.abs(np.log(ff)))
        lower = np.exp(-np.exp(np.log(-np.log(ff)) + z * se_g))
        upper = np.exp(-np.exp(np.log(-np.log(ff)) - z * se_g))
    # a sum of S(s-) d1 / n can end at 1.0000000000000002 when the last subject at risk has the event
    cif, lower, upper = (as_probability(a) for a in (cif, lower, upper))
    return CIFFit(t, n, d1, d2, c, cif, var, lower, upper)


def gray_test(time: np.ndarray, status: np.ndarray, group: np.ndarray, rho: float = 0.0) -> TestResult:
    """Gray's k-sample test for the cause-1 cumulative incidence. Empty, with the
    reason, when it is undefined: one group, no event of interest, or a singular
    variance (R's ``cuminc`` stops with an error there; a run must not)."""
    from scipy.stats import chi2

    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=int)
    levels, g = group_codes(group)
    k = len(levels)
    if k < 2:
        return TestResult("Gray", None, 0, None, "one group only")
    if not (status == 1).any():
        return TestResult("Gray", None, k - 1, None, "no event of interest")
    order = np.argsort(time, kind="stable")
    time, status, g = time[order], status[order], g[order]
    _, start = np.unique(time, return_index=True)
    # the subjects of each distinct time by status and group, counted at once (whole numbers,
    # exact in floating point); the loop visits the times with an event, each with its risk
    # sets, the subjects of the group not yet removed at earlier times
    at_time = np.repeat(np.arange(len(start)), np.diff(np.append(start, len(time))))
    counts = np.zeros((len(start), 3, k))
    np.add.at(counts, (at_time, status, g), 1)
    removed = counts.sum(axis=1)
    risk_sets = np.bincount(g, minlength=k).astype(float) - np.vstack(
        [np.zeros((1, k)), np.cumsum(removed, axis=0)[:-1]]
    )
    with_event = np.flatnonzero(counts[:, 1:, :].sum(axis=(1, 2)) > 0)

    f1m = np.zeros(k)  # group CIF, left-continuous
    skmm = np.ones(k)  # group KM of any event, left-continuous
    f1 = np.zeros(k)
    skm = np.ones(k)
    fm = 0.0
    score = np.zeros(k - 1)
    c = np.zeros((k, k))
    v = np.zeros((k - 1, k - 1))
    v2 = np.zeros((k - 1, k))
    v3 = np.zeros(k)
    with np.errstate(divide="ignore", invalid="ignore"):  # masked branches of np.where divide by 0
        for i in with_event:
            d, rs = counts[i], risk_sets[i]
            nd1, nd2 = d[1].sum(), d[2].sum()
            at_risk = rs > 0
            td = d[1] + d[2]
            skm = np.where(at_risk, skmm * (rs - td) / np.where(at_risk, rs, 1), skm)
            f1 = np.where(at_risk, f1m + skmm * d[1] / np.where(at_risk, rs, 1), f1)
            tr = np.sum(np.where(at_risk, rs / skmm, 0.0))
            tq = np.sum(np.where(at_risk, rs * (1 - f1m) / skmm, 0.0))
            f = fm + nd1 / tr
            fb = (1 - fm) ** rho
            # a: this time's contribution to the score's derivative; c accumulates it
            ratio = np.where(at_risk, rs / skmm, 0.0)
            a = -fb * np.outer(ratio, ratio) / tr
            np.fill_diagonal(a, fb * ratio * (1 - ratio / tr))
            a[~at_risk, :] = 0.0
            a[:, ~at_risk] = 0.0
            c += a * nd1 / (tr * (1 - fm))
            risk = at_risk[: k - 1]
            score += np.where(
                risk, fb * (d[1, : k - 1] - nd1 * rs[: k - 1] * (1 - f1m[: k - 1]) / (skmm[: k - 1] * tq)), 0.0
            )
            if nd1 > 0:
                for j in np.flatnonzero(at_risk):
                    t4 = 1 - (1 - f) / skm[j] if skm[j] > 0 else 1.0
                    t5 = 1 - (nd1 - 1) / (tr * skmm[j] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * skmm[j] * nd1 / (tr * rs[j])
                    v3[j] += t4 * t4 * t3
                    t1 = a[: k - 1, j] - t4 * c[: k - 1, j]
                    v2[:, j] += t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
            if nd2 > 0:
                for j in np.flatnonzero((skm > 0) & (d[2] > 0)):
                    t4 = (1 - f) / skm[j]
                    t5 = 1 - (d[2, j] - 1) / (rs[j] - 1) if d[2, j] > 1 else 1.0
                    t3 = t5 * skmm[j] ** 2 * d[2, j] / rs[j] ** 2
                    v3[j] += t4 * t4 * t3
                    t1 = t4 * c[: k - 1, j]
                    v2[:, j] -= t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
            fm = f
            f1m, skmm = f1.copy(), skm.copy()
    cc = c[: k - 1, :]
    v = v + cc @ np.diag(v3) @ cc.T + cc @ v2.T + v2 @ cc.T
    try:
        chisq = float(score @ np.linalg.solve(v, score))
    except np.linalg.LinAlgError:
        return TestResult("Gray", None, k - 1, None, "variance matrix is singular (a group without events or at risk)")
    if not np.isfinite(chisq):
        return TestResult("Gray", None, k - 1, None, "statistic not finite")
    return TestResult("Gray", chisq, k - 1, float(chi2.sf(chisq, k - 1)))
