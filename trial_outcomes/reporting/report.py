"""Assemble the DSMB report of one data cut from its analysis tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from trial_outcomes.analysis.adtte import ENDPOINT_ORDER, PARAMS
from trial_outcomes.reporting import content as c
from trial_outcomes.reporting.figures.other import SWIMMER_LIMIT, consort_figure, forest_figure, swimmer_figure

TITLE = "NCT04325841: anti-CD19 CAR-T in children with r/r B-ALL"


@dataclass
class ReportInputs:
    cut: str
    drop_name: str
    drop_files: dict[str, str]  # file -> SHA-256
    code_version: str
    plan: dict  # analysis-plan parameters and hash
    adsl: pl.DataFrame
    response_summary: pl.DataFrame
    ae_summary: pl.DataFrame
    eligibility_deviations: pl.DataFrame
    crs_discrepancies: pl.DataFrame
    survival: dict[str, pl.DataFrame]  # survival_summary, cox_summary, followup_summary, hsct_landmark
    survival_figures: dict[str, bytes]  # "<endpoint>_<analysis>_<group_var>" -> PNG
    stopping_rules: list[dict] = field(default_factory=list)
    comparison: pl.DataFrame | None = None


def build_context(inp: ReportInputs) -> dict:
    """The template's context: title facts and the list of sections."""
    adsl = inp.adsl
    counts = c.disposition_counts(adsl)
    followup = inp.survival["followup_summary"]["median_followup_days"][0]
    sections = [
        c.Section(
            "Disposition",
            "disposition",
            [
                c.Figure(
                    consort_figure(counts, c.not_infused_reasons(adsl)),
                    "CONSORT-style flow of subjects at the data cut.",
                    90,
                ),
                c.Paragraph(f"Median follow-up (reverse Kaplan-Meier of OS): {c.fmt(followup, 0)} days."),
            ],
        ),
        c.Section("Baseline characteristics", "baseline", [c.baseline_table(adsl)]),
        c.Section(
            "Eligibility deviations",
            "eligibility",
            [
                c.listing(
                    inp.eligibility_deviations,
                    "Computable criteria against the investigator's checklist",
                    "Subjects infused despite a failed criterion stay in the safety set and are excluded from the per-protocol set.",
                    {
                        "subject_id": "Subject",
                        "criterion": "Criterion",
                        "computed_met": "Computed",
                        "checklist_met": "Checklist",
                        "finding": "Finding",
                    },
                    source="eligibility_deviations.csv",
                )
            ],
        ),
        c.Section("Day-28 response", "response", [c.response_table(inp.response_summary)]),
    ]
    for endpoint in ENDPOINT_ORDER:
        blocks = []
        overall = inp.survival_figures.get(f"{endpoint}_primary_all")
        if overall:
            blocks.append(
                c.Figure(overall, f"{PARAMS[endpoint]}, primary analysis, with 95% CI band and number at risk.", 90)
            )
        blocks.append(c.endpoint_table(inp.survival["survival_summary"], endpoint, "primary"))
        blocks.append(
            c.endpoint_table(
                inp.survival["survival_summary"].filter(pl.col("group_var") == "all"),
                endpoint,
                "censor_at_hsct",
                "Sensitivity analysis censor_at_hsct: censored at consolidative HSCT or new anti-leukemia therapy",
            )
        )
        for key in sorted(
            k for k in inp.survival_figures if k.startswith(f"{endpoint}_primary_") and not k.endswith("_all")
        ):
            blocks.append(
                c.Figure(inp.survival_figures[key], f"{PARAMS[endpoint]} by {key.split('_primary_')[1]}.", 80)
            )
        sections.append(c.Section(f"{PARAMS[endpoint]} ({endpoint})", endpoint.lower(), blocks))
    cox = inp.survival["cox_summary"]
    sections.append(
        c.Section(
            "Subgroup hazard ratios",
            "forest",
            [
                c.Figure(
                    forest_figure(cox, endpoint),
                    f"{PARAMS[endpoint]}: Cox hazard ratios by subgroup, primary analysis.",
                    85,
                )
                for endpoint in ("OS", "EFS", "DFS")
            ]
            + [c.hsct_table(inp.survival["hsct_landmark"])],
        )
    )
    sections.append(
        c.Section(
            "Adverse events",
            "safety",
            [
                c.syndrome_table(adsl),
                c.ae_table(inp.ae_summary),
                c.listing(
                    inp.crs_discrepancies,
                    "CRS: reported worst grade against the ASTCT grade derived from daily monitoring",
                    columns={"USUBJID": "Subject", "CRSGR_REPORTED": "Reported", "CRSGR_DERIVED": "Derived"},
                    source="crs_grade_discrepancies.csv",
                ),
            ],
        )
    )
    sections.append(c.Section("Deaths", "deaths", [c.deaths_listing(adsl)]))
    sections.append(
        c.Section(
            "Course of each subject",
            "swimmer",
            [
                c.Figure(
                    swimmer_figure(adsl),
                    "Swimmer plot of infused subjects: remission, HSCT, relapse, death; arrows mark "
                    f"subjects ongoing at the cut. Past {SWIMMER_LIMIT} subjects, the {SWIMMER_LIMIT} most recently infused.",
                    100,
                )
            ],
        )
    )
    sections.append(c.Section("Stopping rules", "stopping", _stopping_blocks(inp.stopping_rules)))
    if inp.comparison is not None:
        previous = inp.comparison["previous_cut"][0]
        sections.append(
            c.Section(
                "Changes since the previous interim analysis",
                "changes",
                [
                    c.listing(
                        inp.comparison,
                        f"Data cut {previous} (previous) against {inp.cut} (this report)",
                        columns={
                            "item": "Item",
                            "previous": previous,
                            "current": inp.cut,
                            "change": "Change / subjects",
                        },
                    )
                ],
            )
        )
    facts = [
        ("Data cut", inp.cut),
        ("Data drop", f"{inp.drop_name} ({len(inp.drop_files)} files)"),
        *[(f"  {name}", f"SHA-256 {sha}") for name, sha in inp.drop_files.items()],
        ("Code version", inp.code_version),
        ("Analysis plan", f"SHA-256 {inp.plan.get('sha256', '')}"),
        ("Subgroups", ", ".join(inp.plan.get("subgroups", []))),
        ("Landmarks", ", ".join(f"{m} months" for m in inp.plan.get("landmark_months", []))),
        ("HSCT landmark day", str(inp.plan.get("hsct_landmark_day", ""))),
        ("Enrolled / infused", f"{counts['enrolled']} / {counts['infused']}"),
    ]
    return {
        "title": TITLE,
        "subtitle": f"Interim analysis report, data cut {inp.cut}",
        "cut": inp.cut,
        "code_version": inp.code_version,
        "title_facts": facts,
        "sections": sections,
    }


def _stopping_blocks(rules: list[dict]) -> list:
    if not rules:
        return [c.Paragraph("No stopping rule was evaluated for this cut.")]
    rows = [[r["rule"], r["data"], r["boundary"], "CROSSED" if r["crossed"] else "not crossed"] for r in rules]
    return [
        c.Table(
            ["Rule", "Data at the cut", "Boundary", "Status"],
            rows,
            "Stopping rules evaluated at this cut",
            "Rules and parameters from the analysis plan.",
        )
    ]
