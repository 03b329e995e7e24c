"""The one door to lifelines (the design card's survival library): polars and numpy
columns in, plain numpy arrays out, lifelines' warnings turned into notes.

``product_limit`` fits the Kaplan-Meier estimate with lifelines'
``KaplanMeierFitter`` on the distinct (time, event) pairs weighted by their
counts (a polars aggregation: one row per pair, however many subjects). ``km.py``
applies R's conventions to its output (Greenwood variance on log S, log-log
limits with 1-1 at S = 1, quantiles with R's midpoint rule, probabilities
within 1e-12 of a bound set to it): lifelines' own median takes no midpoint and
its limits at S = 1 are not R's, so only the product-limit estimate and its
event table come from it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl


@dataclass(frozen=True)
class ProductLimit:
    """lifelines' event table at the observed times, and its estimate there."""

    time: np.ndarray  # distinct observed times (events and censorings), increasing
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    notes: list[str] = field(default_factory=list)  # lifelines' warnings, as text


def product_limit(time: np.ndarray, event: np.ndarray) -> ProductLimit:
    """Kaplan-Meier of ``time`` (>= 0) with ``event`` (1 event, 0 censored), by
    lifelines' ``KaplanMeierFitter``, one row per distinct observed time."""
    from lifelines import KaplanMeierFitter

    pairs = (
        pl.DataFrame({"t": np.asarray(time, dtype=float), "e": np.asarray(event, dtype=np.int64)})
        .group_by("t", "e")
        .agg(pl.len().alias("w"))
        .sort("t", "e")
    )
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitter = KaplanMeierFitter().fit(
            pairs["t"].to_numpy(), pairs["e"].to_numpy(), weights=pairs["w"].to_numpy().astype(float)
        )
    notes += [f"lifelines: {w.message}" for w in caught]
    table = fitter.event_table
    observed_at = table["removed"].to_numpy() > 0  # lifelines adds a row at time 0 even without one
    at = table.index.to_numpy(dtype=float)[observed_at]
    surv = fitter.survival_function_.iloc[:, 0].reindex(table.index).to_numpy(dtype=float)[observed_at]
    return ProductLimit(
        at,
        np.rint(table["at_risk"].to_numpy()[observed_at]).astype(int),
        np.rint(table["observed"].to_numpy()[observed_at]).astype(int),
        np.rint(table["censored"].to_numpy()[observed_at]).astype(int),
        surv,
        notes,
    )


#: |log hazard ratio| beyond this (a ratio past 1e100 or under 1e-100) is a diverging fit, not an estimate
MAX_LOG_HR = 230.0


@dataclass(frozen=True)
class CoxEstimate:
    hr: float | None
    lcl: float | None
    ucl: float | None
    p: float | None
    reason: str | None = None  # why it is empty, lifelines' convergence warnings included


def time_varying_cox(rows: pl.DataFrame) -> CoxEstimate:
    """R's ``coxph(Surv(start, stop, event) ~ hsct)`` (Efron ties) on counting-process
    ``rows`` (``USUBJID, start, stop, event, hsct``): the hazard ratio, its Wald 95 % CI
    and p. Empty, with the reason, when Newton-Raphson does not converge or the
    estimate diverges (an event on one side of the transplant only).

    Fitted here, not by lifelines' ``CoxTimeVaryingFitter``: that fitter finds each
    event time's risk set by a pass over every row (64 s for 100,000 subjects, the
    slowest step of a run); with one covariate the risk-set sums are differences of
    cumulative sums over the rows sorted by start and by stop, so a fit is
    O(n log n). ``tests/analysis/test_time_dependent.py`` holds it to R's coxph and to
    lifelines on random data with ties."""
    import math

    start = rows["start"].cast(pl.Float64).to_numpy()
    stop = rows["stop"].cast(pl.Float64).to_numpy()
    event = rows["event"].cast(pl.Int64).to_numpy() == 1
    x = rows["hsct"].cast(pl.Float64).to_numpy()
    fit = _counting_process_newton(start, stop, event, x)
    if isinstance(fit, str):
        return CoxEstimate(None, None, None, None, fit)
    coef, se = fit
    if not (math.isfinite(coef) and math.isfinite(se)) or se == 0:
        return CoxEstimate(None, None, None, None, "not estimable (an infinite or zero standard error)")
    p = math.erfc(abs(coef / se) / math.sqrt(2))
    return wald_estimate(coef, se, p)


def _counting_process_newton(
    start: np.ndarray, stop: np.ndarray, event: np.ndarray, x: np.ndarray, max_iter: int = 50, tol: float = 1e-9
) -> tuple[float, float] | str:
    """(coef, se) maximising the one-covariate Efron partial likelihood with delayed
    entry (``_efron_sums``) by Newton-Raphson, as R's coxph does, or the reason it has
    none."""
    if not event.any():
        return "not estimable (no event)"
    parts = _efron_sums(start, stop, event, x)
    beta = 0.0
    loglik, grad, hess = parts(beta)
    for _ in range(max_iter):
        if hess >= 0:
            return "not estimable (the information is not positive)"
        step = -grad / hess
        new = beta + step
        new_loglik, new_grad, new_hess = parts(new)
        halvings = 0
        while new_loglik < loglik - 1e-12 and halvings < 30:  # R's coxph halves a step that lowers the likelihood
            step /= 2
            new = beta + step
            new_loglik, new_grad, new_hess = parts(new)
            halvings += 1
        converged = abs(new_loglik - loglik) <= tol * (abs(loglik) + tol)
        beta, loglik, grad, hess = new, new_loglik, new_grad, new_hess
        if abs(beta) > MAX_LOG_HR:
            return "not estimable (the estimate diverges: a hazard ratio of 0 or infinity)"
        if converged:
            if hess >= 0:
                return "not estimable (the information is not positive)"
            return beta, float(1.0 / np.sqrt(-hess))
    return f"not estimable (Newton-Raphson did not converge in {max_iter} iterations)"


def _efron_sums(
    start: np.ndarray, stop: np.ndarray, event: np.ndarray, x: np.ndarray, cells: int = 1 << 20
) -> Callable[[float], tuple[float, float, float]]:
    """The one-covariate Efron partial likelihood with delayed entry, its score and
    its information, as a function of the coefficient. At each distinct event time t
    the risk set is the rows with start < t <= stop: the weights summed over
    stop >= t less those over start >= t."""
    times = np.unique(stop[event])
    by_stop, by_start = np.argsort(stop, kind="stable"), np.argsort(start, kind="stable")
    stop_sorted, start_sorted = stop[by_stop], start[by_start]
    at_stop = np.searchsorted(stop_sorted, times, side="left")  # rows with stop >= t: from here on
    at_start = np.searchsorted(start_sorted, times, side="left")  # rows with start >= t: from here on
    tie = np.searchsorted(times, stop[event])  # each event's time index
    d = np.bincount(tie, minlength=times.size).astype(float)
    x_events = np.bincount(tie, weights=x[event], minlength=times.size)
    blocks = _efron_level_blocks(d, cells)

    def tail_sums(values: np.ndarray, order: np.ndarray, cut: np.ndarray) -> np.ndarray:
        total: np.ndarray = np.concatenate([np.cumsum(values[order][::-1])[::-1], [0.0]])
        picked: np.ndarray = total[cut]
        return picked

    def parts(beta: float) -> tuple[float, float, float]:
        w = np.exp(beta * x)
        sums = []
        for power in (0, 1, 2):
            v = w * x**power
            risk = tail_sums(v, by_stop, at_stop) - tail_sums(v, by_start, at_start)
            tied = np.bincount(tie, weights=v[event], minlength=times.size)
            sums.append((risk, tied))
        (s0, a0), (s1, a1), (s2, a2) = sums
        loglik = float(beta * x_events.sum())
        grad = float(x_events.sum())
        hess = 0.0
        for active, level in blocks:
            f = level[:, None] / d[active][None, :]
            denom = s0[active] - f * a0[active]
            mean = (s1[active] - f * a1[active]) / denom
            for lo, mu, h in zip(
                np.log(denom).sum(axis=1).tolist(),
                mean.sum(axis=1).tolist(),
                ((s2[active] - f * a2[active]) / denom - mean**2).sum(axis=1).tolist(),
                strict=True,
            ):
                loglik -= lo
                grad -= mu
                hess -= h
        return loglik, grad, hess

    return parts


def _efron_level_blocks(d: np.ndarray, cells: int = 1 << 20) -> list[tuple[np.ndarray, np.ndarray]]:
    """Efron's terms level by level, l = 0 .. max(d) - 1, where level l sums over the
    event times with more than l tied events (``active``, in time order), grouped into
    blocks of consecutive levels that share one active set: (active, levels). A block's
    terms are one (levels x active) array whose rows are summed as the loop summed each
    level, so the sums are the loop's to the bit, in its order; at 100,000 subjects an
    event time with 21,658 tied events (day 28) made 21,658 passes of a dozen numpy
    calls each, 4 s of the survival step. A block is split to hold at most ``cells``
    terms."""
    blocks: list[tuple[np.ndarray, np.ndarray]] = []
    edges = np.unique(np.concatenate([[0], d]).astype(np.int64))  # the active set changes where a level reaches a d
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        active = np.flatnonzero(d > lo)
        step = max(1, cells // max(1, active.size))
        for first in range(lo, hi, step):
            blocks.append((active, np.arange(first, min(hi, first + step), dtype=float)))
    return blocks


def wald_estimate(coef: float, se: float, p: float) -> CoxEstimate:
    """The hazard ratio exp(coef) with its Wald 95 % limits exp(coef -/+ 1.96 se); empty
    when |coef| or a limit passes ``MAX_LOG_HR`` (a generated drop's limit overflowed
    math.exp and the run failed)."""
    import math

    z = 1.959963984540054
    limits = (coef, coef - z * se, coef + z * se)
    if max(abs(v) for v in limits) > MAX_LOG_HR:
        return CoxEstimate(
            None, None, None, None, "not estimable (the estimate diverges: a hazard ratio of 0 or infinity)"
        )
    hr, lcl, ucl = (math.exp(v) for v in limits)
    return CoxEstimate(hr, lcl, ucl, p)
