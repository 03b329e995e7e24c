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
    """Cox proportional hazards, Efron ties (lifelines' method), Wald 95 % CIs:
    one dict per covariate with ``term, hr, hr_lcl, hr_ucl, p``. Convergence is
    tightened to 1e-14 so estimates agree with R's ``coxph`` to 1e-8."""
    import warnings

    import pandas as pd
    from lifelines import CoxPHFitter

    # column by column: polars' to_pandas() would need pyarrow
    data = pd.DataFrame({c: frame[c].to_numpy() for c in (duration, event, *covariates)})
    with warnings.catch_warnings():
        # lifelines warns on near-separation (a level with few events); the wide CI says it
        warnings.simplefilter("ignore")
        fitter = CoxPHFitter().fit(data, duration_col=duration, event_col=event,
                                   fit_options={"precision": 1e-14, "r_precision": 1e-14, "max_steps": 500})
    summary = fitter.summary
    return [
        {"term": term, "hr": float(summary.loc[term, "exp(coef)"]),
         "hr_lcl": float(summary.loc[term, "exp(coef) lower 95%"]),
         "hr_ucl": float(summary.loc[term, "exp(coef) upper 95%"]),
         "p": float(summary.loc[term, "p"])}
        for term in covariates
    ]
