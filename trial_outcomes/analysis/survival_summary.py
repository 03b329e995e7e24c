"""Survival summaries from ADTTE: ``survival_summary.csv`` and ``km_curves.parquet``
(data-contract.md section 3), subgroup Cox models and median follow-up."""

from __future__ import annotations

import numpy as np
import polars as pl

from trial_outcomes.analysis.comparisons import group_hazard_ratio, logrank_test
from trial_outcomes.analysis.competing import fit_cif, gray_test
from trial_outcomes.analysis.km import fit_km, median_followup

DAYS_PER_MONTH = 30.4375  # endpoints.md: months are 30.4375 days
POPULATION = {"OS": "SAFFL", "EFS": "SAFFL", "DFS": "SAFFL & CR/CRi", "CIR": "SAFFL & CR/CRi"}
SUMMARY_COLUMNS = [
    "endpoint",
    "analysis",
    "population",
    "group_var",
    "group",
    "n",
    "n_events",
    "n_censored",
    "median_days",
    "median_lcl_days",
    "median_ucl_days",
    "rate_6m",
    "rate_6m_lcl",
    "rate_6m_ucl",
    "rate_12m",
    "rate_12m_lcl",
    "rate_12m_ucl",
    "rate_24m",
    "rate_24m_lcl",
    "rate_24m_ucl",
    "logrank_chisq",
    "logrank_p",
]
CURVE_SCHEMA = {
    "endpoint": pl.String,
    "analysis": pl.String,
    "group_var": pl.String,
    "group": pl.String,
    "time_days": pl.Float64,
    "n_risk": pl.Int64,
    "n_event": pl.Int64,
    "n_censor": pl.Int64,
    "estimate": pl.Float64,
    "lcl": pl.Float64,
    "ucl": pl.Float64,
}


def _event_and_status(rows: pl.DataFrame, endpoint: str) -> tuple[np.ndarray, np.ndarray]:
    """Time in days and status: 1/0 for KM, the CIR event type (1, 2, 0) for CIR."""
    time = rows["AVAL"].to_numpy().astype(float)
    status = rows["EVNTTYPE"].to_numpy() if endpoint == "CIR" else (1 - rows["CNSR"].to_numpy())
    return time, np.asarray(status, dtype=int)


def _fit(rows: pl.DataFrame, endpoint: str):
    time, status = _event_and_status(rows, endpoint)
    return fit_cif(time, status) if endpoint == "CIR" else fit_km(time, status)


def _curve_frame(fit, endpoint: str, analysis: str, group_var: str, group: str) -> pl.DataFrame:
    is_cif = endpoint == "CIR"
    return pl.DataFrame(
        {
            "endpoint": endpoint,
            "analysis": analysis,
            "group_var": group_var,
            "group": group,
            "time_days": fit.time.astype(float),
            "n_risk": fit.n_risk.astype(np.int64),
            "n_event": fit.n_event.astype(np.int64),
            "n_censor": fit.n_censor.astype(np.int64),
            "estimate": fit.cif if is_cif else fit.surv,
            "lcl": fit.lcl,
            "ucl": fit.ucl,
        },
        schema=CURVE_SCHEMA,
    ).with_columns(pl.col("estimate", "lcl", "ucl").fill_nan(None))


def _summary_row(
    fit, rows: pl.DataFrame, endpoint: str, analysis: str, group_var: str, group: str, landmark_months: tuple[int, ...]
) -> dict:
    time, status = _event_and_status(rows, endpoint)
    row = {
        "endpoint": endpoint,
        "analysis": analysis,
        "population": POPULATION[endpoint],
        "group_var": group_var,
        "group": group,
        "n": len(time),
        "n_events": int((status == 1).sum()),
        "n_censored": int((status == 0).sum()),
    }
    median = (None, None, None) if endpoint == "CIR" or not len(time) else fit.median()
    row.update(median_days=median[0], median_lcl_days=median[1], median_ucl_days=median[2])
    for months in landmark_months:
        est, lcl, ucl = fit.at(months * DAYS_PER_MONTH) if len(time) else (None, None, None)
        row.update({f"rate_{months}m": est, f"rate_{months}m_lcl": lcl, f"rate_{months}m_ucl": ucl})
    return row


def compare_groups(rows: pl.DataFrame, endpoint: str, group_var: str) -> tuple[float | None, float | None]:
    """Log-rank (Gray's test for CIR) across the levels of ``group_var``; empty if < 2 levels."""
    data = rows.filter(pl.col(group_var).is_not_null())
    if data[group_var].n_unique() < 2:
        return None, None
    time, status = _event_and_status(data, endpoint)
    groups = data[group_var].cast(pl.String).rank("dense").to_numpy()  # level codes: np.unique on text is slow
    chisq, _, p = gray_test(time, status, groups) if endpoint == "CIR" else logrank_test(time, status, groups)
    return (float(chisq), float(p)) if np.isfinite(chisq) else (None, None)


def summarise_survival(
    adtte: pl.DataFrame, subgroups: tuple[str, ...], landmark_months: tuple[int, ...] = (6, 12, 24)
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(survival_summary, km_curves): one summary row per endpoint x analysis x
    subgroup level ('all'/'all' first), and the curve of each."""
    summary, curves = [], []
    for (endpoint, analysis), rows in sorted(adtte.group_by("PARAMCD", "ANALYSIS"), key=lambda kv: kv[0]):
        fit = _fit(rows, endpoint)
        summary.append(
            {
                **_summary_row(fit, rows, endpoint, analysis, "all", "all", landmark_months),
                "logrank_chisq": None,
                "logrank_p": None,
            }
        )
        curves.append(_curve_frame(fit, endpoint, analysis, "all", "all"))
        for var in subgroups:
            chisq, p = compare_groups(rows, endpoint, var)
            for level in sorted(rows[var].drop_nulls().cast(pl.String).unique().to_list()):
                part = rows.filter(pl.col(var).cast(pl.String) == level)
                fit = _fit(part, endpoint)
                summary.append(
                    {
                        **_summary_row(fit, part, endpoint, analysis, var, level, landmark_months),
                        "logrank_chisq": chisq,
                        "logrank_p": p,
                    }
                )
                curves.append(_curve_frame(fit, endpoint, analysis, var, level))
    table = (
        pl.DataFrame(
            summary,
            schema={
                c: (
                    pl.String
                    if c in ("endpoint", "analysis", "population", "group_var", "group")
                    else pl.Int64
                    if c.startswith("n")
                    else pl.Float64
                )
                for c in SUMMARY_COLUMNS
            },
            orient="row",
        )
        if summary
        else pl.DataFrame(schema=SUMMARY_COLUMNS)
    )
    curve_table = pl.concat(curves) if curves else pl.DataFrame(schema=CURVE_SCHEMA)
    return table.select(SUMMARY_COLUMNS), curve_table


def subgroup_hazard_ratios(adtte: pl.DataFrame, subgroups: tuple[str, ...]) -> pl.DataFrame:
    """Univariate Cox model per endpoint (not CIR), analysis and subgroup variable:
    the hazard ratio of each level against the first level in sort order."""
    out = []
    for (endpoint, analysis), rows in sorted(
        adtte.filter(pl.col("PARAMCD") != "CIR").group_by("PARAMCD", "ANALYSIS"), key=lambda kv: kv[0]
    ):
        data = rows.with_columns((1 - pl.col("CNSR")).alias("_event"), pl.col("AVAL").cast(pl.Float64).alias("_time"))
        for var in subgroups:
            levels = sorted(data[var].drop_nulls().cast(pl.String).unique().to_list())
            for level in levels[1:]:
                sub = data.filter(pl.col(var).is_not_null()).with_columns(
                    (pl.col(var).cast(pl.String) == level).cast(pl.Int8).alias("_x")
                )
                row = {
                    "endpoint": endpoint,
                    "analysis": analysis,
                    "group_var": var,
                    "group": level,
                    "reference": levels[0],
                    "n": sub.height,
                    "n_events": int(sub["_event"].sum()),
                    "hr": None,
                    "hr_lcl": None,
                    "hr_ucl": None,
                    "p": None,
                }
                fit = group_hazard_ratio(sub, "_time", "_event", "_x")
                if fit is not None:  # else left empty
                    row.update(hr=fit["hr"], hr_lcl=fit["hr_lcl"], hr_ucl=fit["hr_ucl"], p=fit["p"])
                out.append(row)
    schema = {
        "endpoint": pl.String,
        "analysis": pl.String,
        "group_var": pl.String,
        "group": pl.String,
        "reference": pl.String,
        "n": pl.Int64,
        "n_events": pl.Int64,
        "hr": pl.Float64,
        "hr_lcl": pl.Float64,
        "hr_ucl": pl.Float64,
        "p": pl.Float64,
    }
    return pl.DataFrame(out, schema=schema, orient="row")


def followup_summary(adtte: pl.DataFrame) -> pl.DataFrame:
    """Median follow-up by reverse Kaplan-Meier of OS (primary analysis)."""
    os_rows = adtte.filter((pl.col("PARAMCD") == "OS") & (pl.col("ANALYSIS") == "primary"))
    value = median_followup(os_rows["AVAL"].to_numpy(), 1 - os_rows["CNSR"].to_numpy()) if os_rows.height else None
    return pl.DataFrame(
        {"endpoint": ["OS"], "analysis": ["primary"], "n": [os_rows.height], "median_followup_days": [value]},
        schema={"endpoint": pl.String, "analysis": pl.String, "n": pl.Int64, "median_followup_days": pl.Float64},
    )
