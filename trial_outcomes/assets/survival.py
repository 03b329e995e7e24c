"""Survival analysis: summaries, curves, Cox models, HSCT landmark, and the figures."""

from __future__ import annotations

import base64

import dagster as dg
import polars as pl

from trial_outcomes.analysis.adtte import ENDPOINT_ORDER, PARAMS
from trial_outcomes.assets.files import save_table
from trial_outcomes.assets.metadata import markdown_table
from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.io.publishing import work_dir
from trial_outcomes.io.records import TrialDrop
from trial_outcomes.io.writers import atomic_write_bytes

OVERALL = (pl.col("group_var") == "all") & (pl.col("analysis") == "primary")


@dg.asset(partitions_def=DATA_CUTS, group_name="survival", code_version="1")
def survival_analysis(
    settings: DropSettings, cut_records: TrialDrop, adtte: pl.DataFrame, adsl: pl.DataFrame
) -> dg.Output:
    """Kaplan-Meier (OS, EFS, DFS) and Aalen-Johansen (CIR) per endpoint, analysis and
    subgroup: medians with Brookmeyer-Crowley CIs, landmark rates, log-rank / Gray's
    tests (`survival_summary.csv`, `km_curves.parquet`); Cox hazard ratios by subgroup
    (`cox_summary.csv`); median follow-up by reverse KM (`followup_summary.csv`);
    the HSCT landmark analysis (`hsct_landmark.csv`)."""
    # numpy, scipy and lifelines load when the asset runs, not when the UI loads the definitions
    from trial_outcomes.analysis.landmark import hsct_landmark
    from trial_outcomes.analysis.survival_summary import followup_summary, subgroup_hazard_ratios, summarise_survival

    plan = settings.analysis_plan()
    cut = str(cut_records.cut)
    summary, curves = summarise_survival(adtte, plan.subgroups, plan.landmark_months)
    tables = {
        "survival_summary": summary,
        "km_curves": curves,
        "cox_summary": subgroup_hazard_ratios(adtte, plan.subgroups),
        "followup_summary": followup_summary(adtte),
        "hsct_landmark": hsct_landmark(adtte, adsl, plan.hsct_landmark_day),
    }
    for name, table in tables.items():
        save_table(settings, cut, f"{name}.parquet" if name == "km_curves" else f"{name}.csv", table)
    overall = summary.filter(OVERALL)
    numbers = {}
    for row in overall.iter_rows(named=True):
        for key, label in (("median_days", "median (days)"), ("rate_12m", "12-month rate")):
            if row[key] is not None:
                numbers[f"{row['endpoint']} {label}"] = dg.MetadataValue.float(float(row[key]))
    followup = tables["followup_summary"]["median_followup_days"][0]
    if followup is not None:
        numbers["median follow-up (days)"] = dg.MetadataValue.float(float(followup))
    shown = overall.select(
        "endpoint",
        "n",
        "n_events",
        "median_days",
        "median_lcl_days",
        "median_ucl_days",
        "rate_12m",
        "rate_12m_lcl",
        "rate_12m_ucl",
    )
    return dg.Output(
        tables,
        metadata={
            "summary (primary, overall)": dg.MetadataValue.md(
                markdown_table(shown.with_columns(pl.col(pl.Float64).round(3)), 10)
            ),
            "dagster/row_count": dg.MetadataValue.int(summary.height),
            "path": dg.MetadataValue.path(str(work_dir(settings.out_path, cut) / "survival_summary.csv")),
            "analysis plan sha256": plan.sha256,
            **numbers,
        },
    )


def _figure_title(endpoint: str, analysis: str, group_var: str, rows: pl.DataFrame) -> str:
    title = f"{PARAMS[endpoint]} ({endpoint}), {analysis.replace('_', ' ')}"
    if group_var != "all":
        p = rows["logrank_p"][0] if rows.height else None
        test = "Gray's test" if endpoint == "CIR" else "log-rank"
        title += f", by {group_var}" + (f"; {test} p = {p:.3f}" if p is not None else "")
    return title


@dg.asset(partitions_def=DATA_CUTS, group_name="survival", code_version="1")
def survival_plots(settings: DropSettings, cut_records: TrialDrop, survival_analysis: dict) -> dg.Output:
    """One figure per endpoint and subgroup variable, and per sensitivity analysis (`plots/*.png`):
    KM or cumulative-incidence curves with CI band, censoring ticks, median and
    landmark marks, and the number-at-risk table. The overall primary curves show
    here in the UI."""
    from trial_outcomes.reporting.figures.survival import survival_figure

    plan = settings.analysis_plan()
    summary, curves = survival_analysis["survival_summary"], survival_analysis["km_curves"]
    folder = work_dir(settings.out_path, str(cut_records.cut)) / "plots"
    written, previews = [], []
    # every subgroup figure for the primary analysis; the overall curve for the sensitivity analyses
    keys = (
        curves.filter((pl.col("analysis") == "primary") | (pl.col("group_var") == "all"))
        .select("endpoint", "analysis", "group_var")
        .unique()
        .sort("endpoint", "analysis", "group_var")
    )
    for endpoint, analysis, group_var in keys.iter_rows():
        select = (
            (pl.col("endpoint") == endpoint) & (pl.col("analysis") == analysis) & (pl.col("group_var") == group_var)
        )
        rows = summary.filter(select)
        args = dict(
            curves=curves.filter(select),
            summary=rows,
            title=_figure_title(endpoint, analysis, group_var, rows),
            cumulative=endpoint == "CIR",
            landmark_months=plan.landmark_months,
            origin="remission" if endpoint in ("DFS", "CIR") else "infusion",
        )
        name = f"{endpoint}_{analysis}_{group_var}.png"
        atomic_write_bytes(folder / name, survival_figure(**args))
        written.append(name)
        if analysis == "primary" and group_var == "all":
            small = base64.b64encode(survival_figure(**args, dpi=55)).decode("ascii")
            previews.append((endpoint, f"**{PARAMS[endpoint]}**\n\n![{endpoint}](data:image/png;base64,{small})"))
    previews.sort(key=lambda item: ENDPOINT_ORDER.index(item[0]))
    return dg.Output(
        written,
        metadata={
            "curves (primary, overall)": dg.MetadataValue.md("\n\n".join(text for _, text in previews)),
            "figures": dg.MetadataValue.int(len(written)),
            "folder": dg.MetadataValue.path(str(folder)),
        },
    )
