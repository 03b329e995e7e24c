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
    """R's ``coxph(Surv(start, stop, event) ~ hsct)`` (Efron ties) by lifelines'
    ``CoxTimeVaryingFitter`` on counting-process ``rows`` (``USUBJID, start, stop,
    event, hsct``): the hazard ratio, its Wald 95 % CI and p. A convergence warning
    or a non-finite estimate empties it, with lifelines' words as the reason."""
    import math

    import pandas as pd
    from lifelines import CoxTimeVaryingFitter

    # column by column through numpy (polars' to_pandas needs pyarrow, which the pipeline does not install)
    frame = pd.DataFrame({c: rows[c].to_numpy() for c in ("USUBJID", "start", "stop", "event", "hsct")})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitter = CoxTimeVaryingFitter().fit(
                frame, id_col="USUBJID", event_col="event", start_col="start", stop_col="stop"
            )
        except Exception as exc:  # lifelines raises ConvergenceError and numpy's errors alike
            return CoxEstimate(None, None, None, None, f"not estimable ({type(exc).__name__}: {str(exc)[:120]})")
    problems = [str(w.message) for w in caught if "converge" in str(w.message).lower()]
    summary = fitter.summary.loc["hsct"]
    coef, se, p = float(summary["coef"]), float(summary["se(coef)"]), float(summary["p"])
    if problems or not all(math.isfinite(v) for v in (coef, se, p)) or se == 0:
        reason = "lifelines: " + problems[0][:160] if problems else "not estimable (an infinite or zero standard error)"
        return CoxEstimate(None, None, None, None, reason)
    return wald_estimate(coef, se, p)


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
