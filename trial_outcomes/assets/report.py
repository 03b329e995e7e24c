"""The DSMB report of one cut (HTML and PDF) and its metadata in the UI."""

from __future__ import annotations

import base64

import dagster as dg
import polars as pl

from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.io.publishing import work_dir
from trial_outcomes.io.records import TrialDrop
from trial_outcomes.io.writers import atomic_write_bytes
from trial_outcomes.provenance import short_version


@dg.asset(partitions_def=DATA_CUTS, group_name="report", code_version="1")
def report(
    settings: DropSettings,
    cut_records: TrialDrop,
    adsl: pl.DataFrame,
    response_summary: pl.DataFrame,
    ae_summary: pl.DataFrame,
    eligibility_deviations: pl.DataFrame,
    crs_grading: dict,
    survival_analysis: dict,
    survival_plots: list,
    stopping_rules: pl.DataFrame,
    cut_comparison: pl.DataFrame,
) -> dg.Output:
    """`report.html` (self-contained) and `report.pdf` from one template: disposition,
    baseline, eligibility deviations, response, each endpoint's curves and tables,
    subgroup forest plots, HSCT landmark, AEs with CRS/ICANS, deaths, swimmer plot,
    stopping rules."""
    from trial_outcomes.reporting.render import render_html, render_pdf
    from trial_outcomes.reporting.report import ReportInputs, build_context

    plan = settings.analysis_plan()
    cut = str(cut_records.cut)
    folder = work_dir(settings.out_path, cut)
    figures = {name.removesuffix(".png"): (folder / "plots" / name).read_bytes() for name in survival_plots}
    inputs = ReportInputs(
        cut=cut,
        drop_name=settings.data_path.resolve().name,
        drop_files=cut_records.files,
        code_version=short_version(),
        plan={
            "sha256": plan.sha256,
            "subgroups": list(plan.subgroups),
            "landmark_months": list(plan.landmark_months),
            "hsct_landmark_day": plan.hsct_landmark_day,
        },
        adsl=adsl,
        response_summary=response_summary,
        ae_summary=ae_summary,
        eligibility_deviations=eligibility_deviations,
        crs_discrepancies=crs_grading["discrepancies"],
        survival=survival_analysis,
        survival_figures=figures,
        stopping_rules=stopping_rules.to_dicts(),
        comparison=cut_comparison if cut_comparison.height else None,
    )
    context = build_context(inputs)
    html = render_html(context).encode("utf-8")
    atomic_write_bytes(folder / "report.html", html)
    pdf = render_pdf(context)
    atomic_write_bytes(folder / "report.pdf", pdf)
    consort = next(b for b in context["sections"][0].blocks if b.kind == "figure")
    thumbnail = base64.b64encode(consort.png).decode("ascii")
    return dg.Output(
        [s.title for s in context["sections"]],
        metadata={
            "html": dg.MetadataValue.path(str(folder / "report.html")),
            "pdf": dg.MetadataValue.path(str(folder / "report.pdf")),
            "sections": dg.MetadataValue.md("\n".join(f"1. {s.title}" for s in context["sections"])),
            "preview": dg.MetadataValue.md(f"![disposition](data:image/png;base64,{thumbnail})"),
            "html bytes": len(html),
            "pdf bytes": len(pdf),
        },
    )
