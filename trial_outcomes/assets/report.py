"""The figures and the DSMB report of one cut (HTML and PDF from one content model)."""

import base64
from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from trial_outcomes.analysis.conduct import ConductTables
from trial_outcomes.analysis.kinetics import KineticsTables
from trial_outcomes.analysis.labs import LabTables
from trial_outcomes.analysis.listings import ListingTables
from trial_outcomes.analysis.long_term import LongTermTables
from trial_outcomes.analysis.relapse import RelapseTables
from trial_outcomes.analysis.response import remission_lost_without_relapse
from trial_outcomes.analysis.stopping import StoppingResult
from trial_outcomes.analysis.survival_results import SurvivalResults
from trial_outcomes.analysis.syndromes import SyndromeGrading, outside_queried
from trial_outcomes.assets.shared import Run, code_version, cut_asset, reading, scanning
from trial_outcomes.io.outputs import ToPublish
from trial_outcomes.io.publishing import plan_publication
from trial_outcomes.io.qc import QcResult
from trial_outcomes.io.records import TrialDrop
from trial_outcomes.labels import endpoint as endpoint_label
from trial_outcomes.provenance import short_version
from trial_outcomes.reporting.content import Facts, readable_text, searchable, subjects_named
from trial_outcomes.reporting.figures import ADSL_COLUMNS as FIGURE_ADSL_COLUMNS
from trial_outcomes.reporting.inputs import ADSL_COLUMNS as REPORT_ADSL_COLUMNS
from trial_outcomes.reporting.safety import ADAE_COLUMNS as REPORT_ADAE_COLUMNS
from trial_outcomes.reporting.summary import HEADLINE
from trial_outcomes.text import first_of

VERSION = code_version("assets/report.py", "reporting")
#: the report's blocking check: the open report names no subject
OPEN_REPORT_CHECK = "open_report_names_no_subject"
UI_ENDPOINTS = ("OS", "EFS", "DFS", "CIR", "NRM", "DOR")
#: the figures' metadata entries besides the curves: title -> file-name prefix (every figure is in one)
UI_GALLERIES = {
    "disposition (CONSORT)": "consort",
    "forest plots": "forest_",
    "proportional-hazards residuals": "ph_",
    "relapse: CD19-negative": "relapse_",
    "swimmer plots": "swimmer_",
    "stopping rules across cuts": "stopping_history",
    "B-cell aplasia": "bcell_",
    "CAR transgene kinetics": "kinetics",
}


def galleries(images: dict[str, bytes]) -> dict[str, str]:
    """Every figure of the cut as markdown for the asset page: the curves by endpoint,
    then ``UI_GALLERIES``; a group without a figure at this cut is left out."""
    out = {f"curves: {endpoint_label(e)}": _gallery(images, f"{e}_") for e in UI_ENDPOINTS}
    out.update({title: _gallery(images, prefix) for title, prefix in UI_GALLERIES.items()})
    return {title: md for title, md in out.items() if md}


def _gallery(images: dict[str, bytes], prefix: str) -> str:
    """The figures whose names start with ``prefix`` (all subjects first), as the
    report has them: vector images, readable at any size in the UI."""
    parts = []
    names = [n for n in images if n.startswith(prefix)]
    for name in sorted(names, key=lambda n: (not n.endswith("_all.svg"), n)):
        data = base64.b64encode(images[name]).decode("ascii")
        parts.append(f"**{name.removesuffix('.svg')}**\n\n![{name}](data:image/svg+xml;base64,{data})")
    return "\n\n".join(parts)


@cut_asset(
    group="report",
    version=VERSION,
    kinds={"matplotlib", "svg"},
    domain="report",
    ins=reading(adsl=FIGURE_ADSL_COLUMNS),
)
def figures(
    figure_workers: dg.ResourceParam[None],  # started with the run, so warm when this step comes
    settings: Run,
    adsl: pl.DataFrame,
    survival_analysis: SurvivalResults,
    response_summary: pl.DataFrame,
    relapse_summary: RelapseTables,
    stopping_history: pl.DataFrame,
    drop_identity: TrialDrop,
    lab_toxicity: LabTables,
    kinetics: KineticsTables,
) -> dg.Output[ToPublish]:
    """Every figure of the report (`plots/*.svg`): Kaplan-Meier and cumulative-incidence
    curves per endpoint and subgroup (number at risk under the axis, censoring ticks,
    median lines, CI band for single curves, months on the axis), forest plots of
    hazard ratios and response rates, the CONSORT flow, the CD19-negative relapse
    incidence and the swimmer plots. Drawn in worker processes. Each endpoint's
    curves show here, one metadata entry per endpoint."""
    from trial_outcomes.reporting.figures.render import figure_stamp, render_all
    from trial_outcomes.reporting.figures.specs import all_specs

    plan = settings.plan
    specs = all_specs(
        adsl,
        survival_analysis,
        response_summary,
        relapse_summary.curve,
        plan.landmark_months,
        stopping_history,
        lab_toxicity,
        kinetics,
    )
    images = render_all(specs, stamp=figure_stamp(settings.cut_key, drop_identity.fingerprint))
    gallery = {title: dg.MetadataValue.md(md) for title, md in galleries(images).items()}
    return dg.Output(
        ToPublish(images, files={f"plots/{name}": svg for name, svg in images.items()}),
        metadata={
            "figures": dg.MetadataValue.int(len(images)),
            **gallery,
        },
    )


@cut_asset(
    group="report",
    version=VERSION,
    kinds={"pdf", "html"},
    domain="report",
    ins={
        **reading(adsl=REPORT_ADSL_COLUMNS),
        **scanning(adae=REPORT_ADAE_COLUMNS, adrs=("USUBJID", "PARAMCD", "ADT", "AVALC")),
    },
    check_specs=[
        dg.AssetCheckSpec(
            OPEN_REPORT_CHECK,
            asset="report",
            blocking=True,
            description="The open report (HTML and PDF from one content) names no subject of the cut: a leak "
            "stops the run before anything is published",
        )
    ],
)
def report(
    settings: Run,
    drop_identity: TrialDrop,
    adsl: pl.DataFrame,
    adae: pl.LazyFrame,
    adrs: pl.LazyFrame,
    eligibility_deviations: pl.DataFrame,
    response_summary: pl.DataFrame,
    survival_analysis: SurvivalResults,
    crs_grading: SyndromeGrading,
    icans_grading: SyndromeGrading,
    ae_summary: pl.DataFrame,
    ae_soc_summary: pl.DataFrame,
    aesi_summary: pl.DataFrame,
    syndrome_summary: pl.DataFrame,
    safety_summary: pl.DataFrame,
    deaths_summary: pl.DataFrame,
    exposure_summary: pl.DataFrame,
    relapse_summary: RelapseTables,
    stopping_rules: StoppingResult,
    stopping_history: pl.DataFrame,
    cut_comparison: pl.DataFrame,
    figures: dict[str, bytes],
    independent_qc: QcResult,
    listings: ListingTables,
    conduct: ConductTables,
    lab_toxicity: LabTables,
    kinetics: KineticsTables,
    long_term_safety: LongTermTables,
) -> Iterator[Any]:
    """`report.html` (self-contained) and `report.pdf` (Typst) from one content model:
    page 1 the executive summary with any crossed stopping boundary first, then
    disposition, baseline and exposure, eligibility, response, each endpoint,
    subgroups and HSCT, relapse, safety (headline rates, CRS/ICANS, AESI, SOC/PT,
    deaths, listings), the course of each subject, the stopping rules, the changes
    since the previous cut and the provenance. Tables and figures are numbered."""
    from trial_outcomes.reporting.inputs import ReportInputs
    from trial_outcomes.reporting.render import render_html, render_pdf
    from trial_outcomes.reporting.report import ReportMade, build_document

    plan = settings.plan
    publication = plan_publication(
        settings.out_dir, settings.cut_key, drop_identity.fingerprint, settings.supersede_reason
    )
    tables = {
        **survival_analysis.tables(),
        "response_summary": response_summary,
        "eligibility_deviations": eligibility_deviations,
        "crs_grade_discrepancies": crs_grading.discrepancies,
        "icans_grade_discrepancies": icans_grading.discrepancies,
        "ae_summary": ae_summary,
        "ae_soc_summary": ae_soc_summary,
        "aesi_summary": aesi_summary,
        "crs_icans_summary": syndrome_summary,
        "safety_summary": safety_summary,
        "deaths_summary": deaths_summary,
        "exposure_summary": exposure_summary,
        "relapse_summary": relapse_summary.summary,
        "stopping_rules": stopping_rules.table(),
        "stopping_history": stopping_history,
    }
    supersedes = publication.manifest_entry().get("supersedes", {})
    inputs = ReportInputs(
        cut=settings.cut_key,
        drop_name=settings.data_dir.resolve().name,
        drop_sha256=drop_identity.fingerprint,
        drop_files=drop_identity.files,
        code_version=short_version(),
        plan=plan,
        adsl=adsl,
        adae=adae,
        tables=tables,
        figures=set(figures),
        absent=drop_identity.absent,
        supersedes={k: str(v) for k, v in supersedes.items()},
        comparison=cut_comparison if cut_comparison.height else None,
        latest_record=str(drop_identity.latest_record) if drop_identity.latest_record else None,
        days_after_latest_record=drop_identity.days_after_latest_record,
        extracted_on=str(drop_identity.extracted_on) if drop_identity.extracted_on else None,
        qc_status=independent_qc.status,
        qc_finding=independent_qc.finding,
        listings=listings,
        conduct=conduct,
        labs=lab_toxicity,
        kinetics=kinetics,
        long_term=long_term_safety.incidence,
        long_term_events=long_term_safety.events,
        lost_remission=remission_lost_without_relapse(adrs).height,
        unfevered_support=crs_grading.queried,
        queries=drop_identity.queries,
        outside_window={
            grading.syndrome: outside_queried(grading, plan.safety.window_days)
            for grading in (crs_grading, icans_grading)
        },
    )
    doc = build_document(inputs)
    # the closed report (every section, subject listings and narratives) and the open one
    # (aggregate tables only, no subject identifier), from the same content
    files = {}
    for stem, shown in (("report", doc), ("report_open", doc.open_report())):
        files[f"{stem}.html"] = render_html(shown, figures).encode("utf-8")
        files[f"{stem}.pdf"] = render_pdf(shown, figures)
    subjects = adsl["USUBJID"].to_list()
    leaked = subjects_named(readable_text(files["report_open.html"].decode("utf-8")), subjects)
    unsearchable = sum(1 for s in subjects if not searchable(s))
    summary = doc.sections[0]
    facts = next(b for b in summary.blocks if isinstance(b, Facts) and b.title == HEADLINE)
    rows = [{"item": label, "value": value} for label, value, _ in facts.rows]
    from trial_outcomes.assets.metadata import records_table

    yield dg.Output(
        ToPublish(ReportMade([s.title for s in doc.sections], inputs.death_query_titles), files=files),
        metadata={
            "executive summary": records_table(rows, ["item", "value"]),
            "sections": dg.MetadataValue.md("\n".join(f"1. {s.title}" for s in doc.sections)),
            "tables / figures": f"{sum(1 for s in doc.sections for b in s.blocks if getattr(b, 'kind', '') == 'table')}"
            f" / {len(doc.figures)}",
            "pdf bytes (closed report)": len(files["report.pdf"]),
        },
    )
    named = first_of(leaked, 10)
    yield dg.AssetCheckResult(
        check_name=OPEN_REPORT_CHECK,
        passed=not leaked,
        description=(
            f"the open report names {len(leaked)} subject(s) ({named}): a defect of the report, not of the drop; "
            "nothing is published"
            if leaked
            else "the open report names no subject"
            + (
                f" ({unsearchable} identifier(s) without both a letter and a digit could not be searched for: "
                "a number or a word of the report; its subject-level tables are left out all the same)"
                if unsearchable
                else ""
            )
        ),
        metadata={"subjects named": len(leaked), "identifiers not searchable": unsearchable},
    )
