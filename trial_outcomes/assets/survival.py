"""Survival analysis: summaries, curves, Cox models, follow-up and the HSCT landmark."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl

from trial_outcomes.assets.files import contract_check_spec, published
from trial_outcomes.assets.metadata import records_table
from trial_outcomes.assets.shared import Run, code_version, cut_asset
from trial_outcomes.dates import DAYS_PER_MONTH
from trial_outcomes.formatting import median_ci_months, pct_ci_short
from trial_outcomes.labels import endpoint as endpoint_label

FILES = {
    "survival_summary": "survival_summary.csv",
    "survival_details": "survival_details.csv",
    "km_curves": "km_curves.parquet",
    "cox_summary": "cox_summary.csv",
    "followup_summary": "followup_summary.csv",
    "hsct_landmark": "hsct_landmark.csv",
    "hsct_time_dependent": "hsct_time_dependent.csv",
    "multivariable_models": "multivariable_models.csv",
    "ph_tests": "ph_tests.csv",
    "ph_residuals": "ph_residuals.parquet",
    "fine_gray_subgroups": "fine_gray_subgroups.csv",
    "stratified_logrank": "stratified_logrank.csv",
}


@dataclass(frozen=True)
class SurvivalResults:
    """The tables of the survival analysis of one cut, by name (``FILES``)."""

    tables: dict[str, pl.DataFrame]

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.tables[name]


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
    # numpy, scipy and the statistics load when the asset runs, not when the UI loads the definitions
    from trial_outcomes.analysis.landmark import hsct_landmark
    from trial_outcomes.analysis.models import fine_gray_subgroups, multivariable_cox, stratified_logrank
    from trial_outcomes.analysis.survival_summary import followup_summary, subgroup_hazard_ratios, summarise_survival
    from trial_outcomes.analysis.time_dependent import hsct_time_dependent

    plan = settings.plan
    survival = summarise_survival(adtte, plan.subgroups, plan.landmark_months)
    models = multivariable_cox(adtte, adsl, plan.models.covariates, plan.forest_reference, plan.models.ph_alpha)
    tables = {
        "survival_summary": survival.summary,
        "survival_details": survival.details,
        "km_curves": survival.curves,
        "cox_summary": subgroup_hazard_ratios(adtte, plan.subgroups, plan.forest_reference),
        "followup_summary": followup_summary(adtte),
        "hsct_landmark": hsct_landmark(adtte, adsl, plan.hsct_landmark_day),
        "hsct_time_dependent": hsct_time_dependent(adtte, adsl),
        "multivariable_models": models.models,
        "ph_tests": models.ph_tests,
        "ph_residuals": models.ph_residuals,
        "fine_gray_subgroups": fine_gray_subgroups(adtte, adsl, plan.subgroups, plan.forest_reference),
        "stratified_logrank": stratified_logrank(adtte, adsl, plan.subgroups, plan.models.logrank_strata),
    }
    rows = headline_rows(survival.summary, plan.landmark_months)
    numbers: dict[str, Any] = {}
    for r in survival.summary.filter((pl.col("group_var") == "all") & (pl.col("analysis") == "primary")).iter_rows(
        named=True
    ):
        if r["median_days"] is not None:
            numbers[f"{r['endpoint']} median (months)"] = dg.MetadataValue.float(
                round(r["median_days"] / DAYS_PER_MONTH, 2)
            )
        if r.get("rate_12m") is not None:
            numbers[f"{r['endpoint']} 12-month rate (%)"] = dg.MetadataValue.float(round(100 * r["rate_12m"], 1))
    followup = tables["followup_summary"].row(0, named=True)
    if followup["median_followup_days"] is not None:
        numbers["median follow-up (months)"] = dg.MetadataValue.float(
            round(followup["median_followup_days"] / DAYS_PER_MONTH, 1)
        )
    yield from published(
        "survival_analysis",
        SurvivalResults(tables),
        settings,
        {FILES[name]: table for name, table in tables.items()},
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
