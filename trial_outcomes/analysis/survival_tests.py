"""Group comparisons: log-rank (R ``survdiff``) and Cox hazard ratios (R ``coxph``)."""

from __future__ import annotations

import numpy as np
import polars as pl


def logrank_test(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> tuple[float, int, float]:
    """Unweighted log-rank chi-square on k - 1 df, by lifelines'
    ``multivariate_logrank_test`` (identical to ``survdiff``; see the reference tests)."""
    group = np.asarray(group)
    k = len(np.unique(group))
    if k < 2:
        return np.nan, 0, np.nan
    from lifelines.statistics import multivariate_logrank_test

    result = multivariate_logrank_test(np.asarray(time, dtype=float), group, np.asarray(event, dtype=int))
    return float(result.test_statistic), k - 1, float(result.p_value)


def cox_hazard_ratios(frame: pl.DataFrame, duration: str, event: str, covariates: list[str]) -> list[dict]:
    """Cox proportional hazards, Efron ties, Wald 95 % CIs (``analysis.cox``): one dict
    per covariate with ``term, hr, hr_lcl, hr_ucl, p``. A coefficient that runs off
    to infinity (no event in one level: monotone likelihood) raises ValueError."""
    from trial_outcomes.analysis.cox import fit_cox

    x = np.column_stack([frame[c].cast(pl.Float64).to_numpy() for c in covariates])
    fit = fit_cox(frame[duration].to_numpy(), frame[event].to_numpy(), x)
    if not np.all(np.isfinite(fit.se)) or np.abs(fit.beta).max() > 15:
        raise ValueError("Cox model not estimable (monotone likelihood)")
    return [{"term": term, "hr": hr, "hr_lcl": lcl, "hr_ucl": ucl, "p": p}
            for term, (hr, lcl, ucl, p) in zip(covariates, fit.hazard_ratios())]
