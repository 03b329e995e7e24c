"""Kaplan-Meier estimation with the conventions of R ``survival`` and SAS LIFETEST.

The product-limit estimate is lifelines' ``KaplanMeierFitter``
(``lifelines_fit.product_limit``), held to R's ``survfit`` by
tests/analysis/test_km_reference.py and the public-data corpus; on its output:

* Greenwood variance, ``se_log`` = sqrt(sum d / (n (n - d))): R's ``fit$std.err``
  (the standard error of log S); ``std_err`` = S * se_log as in R's ``summary``.
* Pointwise CI on the log(-log) scale (R ``conf.type = "log-log"``, SAS
  ``CONFTYPE=LOGLOG``): S^exp(-z se_log / log S) to S^exp(z se_log / log S);
  1 and 1 where S is 1 and empty where S is 0 (R's ``survfit_confint``).
* Estimates are probabilities (endpoints.md, Estimation conventions): every
  estimate and limit lies in [0, 1], and a floating-point result within 1e-12
  of a bound is that bound (``as_probability``: a product of factors can end at
  0.9999999999999998 or an Aalen-Johansen sum at 1.0000000000000002).
* Quantiles (the median) by R's ``quantile.survfit``: the first time the curve
  reaches 1 - p; where it sits exactly at 1 - p (within sqrt(machine eps)) over an
  interval, the midpoint of that interval, and at the end of the curve the
  midpoint with the last follow-up time. The tolerance applies before the
  curve is declared never to reach 1 - p: a curve that sits at
  0.5000000000000001 over an interval has its median at the interval's
  midpoint, as R (whose product gives 0.5 there). The CI is the same rule
  applied to the CI curves (Brookmeyer-Crowley). lifelines' own median takes no midpoint
  (tests/analysis/test_km_reference.py pins the difference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trial_outcomes.analysis.lifelines_fit import product_limit

Z95 = 1.959963984540054  # qnorm(0.975)
TOL = np.sqrt(np.finfo(float).eps)
PROBABILITY_TOL = 1e-12  # endpoints.md: within 1e-12 of 0 or 1 is 0 or 1


def as_probability(values: np.ndarray) -> np.ndarray:
    """``values`` (nan allowed) with every value within ``PROBABILITY_TOL`` of 0 or 1
    set to that bound. A value further outside [0, 1] is left as it is: it is a
    defect of the estimator, which the output contract then reports."""
    v = np.asarray(values, dtype=float).copy()
    v[np.abs(v - 1.0) <= PROBABILITY_TOL] = 1.0
    v[np.abs(v) <= PROBABILITY_TOL] = 0.0
    return v


@dataclass(frozen=True)
class KMFit:
    time: np.ndarray  # distinct observed times (events and censorings), increasing
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    se_log: np.ndarray  # standard error of log S (Greenwood); nan where S = 0
    lcl: np.ndarray
    ucl: np.ndarray

    @property
    def n(self) -> int:
        return int(self.n_risk[0]) if len(self.n_risk) else 0

    @property
    def n_events(self) -> int:
        return int(self.n_event.sum())

    @property
    def std_err(self) -> np.ndarray:
        return np.asarray(self.surv * self.se_log)

    @property
    def ended_in_events(self) -> bool:
        """Everyone still at risk at the last time had the event there: the curve
        reached 0 and is known to stay there."""
        return bool(len(self.time)) and int(self.n_event[-1]) == int(self.n_risk[-1])

    def at(self, t: float, extend: bool = False) -> tuple[float | None, float | None, float | None]:
        """S(t) and its CI; empty past the last observation unless ``extend`` (R
        ``summary(fit, times, extend = TRUE)`` carries the last value on) or the curve
        reached 0 there (known: 0, with no CI, as R). Before the first time: 1 with the
        limits 1 and 1, as R's ``summary(fit, times)``."""
        value = step_value(self.time, (self.surv, self.lcl, self.ucl), t, extend or self.ended_in_events, start=1.0)
        if len(self.time) and t < self.time[0]:
            return 1.0, 1.0, 1.0
        return value

    def quantile(self, p: float = 0.5) -> tuple[float | None, float | None, float | None]:
        """The time by which a fraction ``p`` has had the event, with its CI."""
        if not len(self.time):
            return None, None, None
        x = np.concatenate([[0.0], self.time.astype(float)])
        estimate, lower, upper = (
            finite_or_none(r_quantile(x, np.concatenate([[0.0], 1 - y]), p)) for y in (self.surv, self.lcl, self.ucl)
        )
        return estimate, lower, upper

    def median(self) -> tuple[float | None, float | None, float | None]:
        return self.quantile(0.5)


def step_value(
    time: np.ndarray, curves: tuple[np.ndarray, ...], t: float, extend: bool, start: float
) -> tuple[float | None, float | None, float | None]:
    """The step curves (estimate, lower, upper) at ``t``: their value at the last time
    <= t; ``start`` (no CI) before the first time; empty past the last time unless
    ``extend``."""
    if not len(time) or (t > time[-1] and not extend):
        return None, None, None
    i = int(np.searchsorted(time, t, side="right")) - 1
    if i < 0:
        return start, None, None
    estimate, lower, upper = (finite_or_none(c[i]) for c in curves)
    return estimate, lower, upper


def finite_or_none(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def loglog_ci(surv: np.ndarray, se_log: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """R's log-log interval, nan where S is 0 or 1 (R's ``survfit_confint`` gives NA
    at an observed time where S = 1, as where S = 0) or the variance is undefined.
    Before the first time R's ``summary(fit, times)`` reports 1 and 1: ``KMFit.at``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
        se2 = z * se_log / np.log(xx)
        lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
        upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
    return as_probability(lower), as_probability(upper)


def r_quantile(x: np.ndarray, y: np.ndarray, p: float, tol: float = TOL) -> float:
    """R ``survival:::findq``: ``x`` times (first the start time), ``y`` the curve
    1 - S or 1 - a confidence limit (first 0), possibly with nan; nan if not reached."""
    finite = y[np.isfinite(y)]
    if not len(finite) or finite.max() < p - tol:  # R: max(y) < p; the tolerance first (see the module)
        return np.nan
    xmax = x[-1]
    keep = np.ones(len(y), dtype=bool)
    seen: set[object] = set()
    for i, v in enumerate(y):  # R duplicated(): keep the first of equal values (nan included)
        key = "nan" if np.isnan(v) else v
        keep[i] = key not in seen
        seen.add(key)
    x, y = x[keep], y[keep]

    def first_at_least(shift: float) -> int | None:
        # approx(y + shift, 1:n, p, method = "constant", f = 1): approx orders the points by
        # y + shift and takes the index of the smallest that is >= p (NA outside their
        # range). For the curve itself that is the first time it reaches p; a confidence
        # limit need not be monotone (log-log's upper limit rises again at a late event
        # with two at risk), and R reads the limit the same way: the smallest value >= p,
        # wherever it falls, not the first crossing, and not "not reached" when the last
        # value is below p (a drop's EFS median: 234 (155-519) in R; 155-NE by the last value)
        valid = np.flatnonzero(np.isfinite(y))
        ys = y[valid] + shift
        if p < ys.min() or p > ys.max():
            return None
        order = np.argsort(ys, kind="stable")
        return int(valid[order[np.searchsorted(ys[order], p, side="left")]])

    i1, i2 = first_at_least(tol), first_at_least(-tol)
    quant = np.nan if i1 is None or i2 is None else (x[i1] + x[i2]) / 2
    if p == 0:
        quant = x[0]
    if np.isfinite(y[-1]) and abs(p - y[-1]) < tol and i1 is not None:
        quant = (x[i1] + xmax) / 2
    return quant


def fit_km(time: np.ndarray, event: np.ndarray, z: float = Z95) -> KMFit:
    """Kaplan-Meier of ``time`` (>= 0) with ``event`` (1 event, 0 censored): one row per
    distinct observed time with the number at risk, events and censorings."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    if not len(time):
        empty = np.array([], dtype=float)
        return KMFit(empty, empty.astype(int), empty.astype(int), empty.astype(int), empty, empty, empty, empty)
    fit = product_limit(time, event)
    t, n, d, c = fit.time, fit.n_risk, fit.n_event, fit.n_censor
    surv = as_probability(fit.surv)
    with np.errstate(divide="ignore", invalid="ignore"):
        increment = np.where(d > 0, d / (n * (n - d)), 0.0)
    se_log = np.sqrt(np.cumsum(increment))
    se_log = np.where(np.isfinite(se_log), se_log, np.nan)
    lcl, ucl = loglog_ci(surv, se_log, z)
    return KMFit(t, n.astype(int), d, c.astype(int), surv, se_log, lcl, ucl)


def median_followup(time: np.ndarray, event: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Median follow-up by reverse Kaplan-Meier (censoring is the event), with its
    Brookmeyer-Crowley CI: R ``quantile(survfit(Surv(time, 1 - event) ~ 1))``."""
    return fit_km(time, 1 - np.asarray(event, dtype=int)).median()
