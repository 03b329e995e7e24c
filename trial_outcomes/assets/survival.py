"""Survival analysis: summaries, curves, Cox models, follow-up and the HSCT landmark."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from trial_outcomes.analysis import survival_results
from trial_outcomes.analysis.survival_results import ADSL_COLUMNS, ADTTE_CODED, ADTTE_COLUMNS, FILES, analyse_survival
from trial_outcomes.assets.files import contract_check_spec, published
from trial_outcomes.assets.metadata import records_table
from trial_outcomes.assets.shared import Run, code_version, cut_asset, reading
from trial_outcomes.dates import DAYS_PER_MONTH
from trial_outcomes.formatting import median_ci_months, pct_ci_short
from trial_outcomes.labels import endpoint as endpoint_label


class SurvivalResults(survival_results.SurvivalResults):
    """A survival value stored before its tables were typed (``tables``, a dict by name),
    loaded as the typed value: a later run that reads it without recomputing it (the
    report of an earlier cut, run again alone) gets the fields it reads."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        tables = state.get("tables", state)
        for name in FILES:
            object.__setattr__(self, name, tables[name])


def headline_rows(summary: pl.DataFrame, landmarks: tuple[int, ...]) -> list[dict[str, Any]]:
    """One row per endpoint (primary analysis, all subjects), rounded for people as
    the report rounds them (the report's own formatters): median in months with its
    CI (NR not reached), and the landmark rates with their CIs; NE where not
    estimable."""
    shown: list[int] = [m for m in (12, 24) if m in landmarks] or list(landmarks[:2])
    rows = []
    for r in summary.filter((pl.col("group_var") == "all") & (pl.col("analysis") == "primary")).iter_rows(named=True):
        row: dict[str, Any] = {"endpoint": endpoint_label(r["endpoint"]), "N": r["n"], "events": r["n_events"]}
        row["median, mo"] = (
            "-"
            if r["endpoint"] in ("CIR", "NRM")
            else median_ci_months(r["median_days"], r["median_lcl_days"], r["median_ucl_days"])
        )
        for m in shown:
            row[f"{m} mo, %"] = pct_ci_short(r[f"rate_{m}m"], r[f"rate_{m}m_lcl"], r[f"rate_{m}m_ucl"])
        rows.append(row)
    return rows


@cut_asset(
    group="survival",
    version=code_version("assets/survival.py"),
    kinds={"polars", "csv", "parquet"},
    domain="efficacy",
    check_specs=[contract_check_spec("survival_analysis", list(FILES.values()))],
    ins=reading(adtte=ADTTE_COLUMNS, adsl=ADSL_COLUMNS, categories={"adtte": ADTTE_CODED}),
)
def survival_analysis(settings: Run, adtte: pl.DataFrame, adsl: pl.DataFrame) -> Iterator[Any]:
    """Kaplan-Meier (OS, EFS, DFS, DOR) and Aalen-Johansen (CIR, NRM) per endpoint,
    analysis and subgroup: medians with Brookmeyer-Crowley CIs, landmark rates,
    log-rank / Gray's tests (`survival_summary.csv`, with competing events and the
    reason for every empty statistic in `survival_details.csv`, and the curves in
    `km_curves.parquet`); Cox hazard ratios by subgroup against the plan's reference
    level (`cox_summary.csv`); median follow-up by reverse KM with its range
    (`followup_summary.csv`); the HSCT landmark analysis (`hsct_landmark.csv`) and
    HSCT as a time-dependent covariate; the multivariable Cox models with their
    proportional-hazards tests and the Fine-Gray models of relapse
    (`multivariable_models.csv`, `ph_tests.csv`, `ph_residuals.parquet`,
    `fine_gray_subgroups.csv`); the stratified log-rank tests."""
    plan = settings.plan
    results = analyse_survival(adtte, adsl, plan)
    rows = headline_rows(results.survival_summary, plan.landmark_months)
    numbers: dict[str, Any] = {}
    for r in results.survival_summary.filter(
        (pl.col("group_var") == "all") & (pl.col("analysis") == "primary")
    ).iter_rows(named=True):
        if r["median_days"] is not None:
            numbers[f"{r['endpoint']} median (months)"] = dg.MetadataValue.float(
                round(r["median_days"] / DAYS_PER_MONTH, 2)
            )
        if r.get("rate_12m") is not None:
            numbers[f"{r['endpoint']} 12-month rate (%)"] = dg.MetadataValue.float(round(100 * r["rate_12m"], 1))
    followup = results.followup_summary.row(0, named=True)
    if followup["median_followup_days"] is not None:
        numbers["median follow-up (months)"] = dg.MetadataValue.float(
            round(followup["median_followup_days"] / DAYS_PER_MONTH, 1)
        )
    yield from published(
        "survival_analysis",
        results,
        settings,
        {FILES[name]: table for name, table in results.tables().items()},
        {
            "data cut": settings.cut_key,  # every headline states its cut (issue 22)
            "headline: median and rates with 95% CIs (primary, all subjects)": records_table(
                rows, list(rows[0]) if rows else ["endpoint"]
            ),
            "analysis plan sha256": plan.sha256,
            **numbers,
        },
        shown=FILES["survival_summary"],
    )
