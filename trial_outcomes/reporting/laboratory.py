"""The report's laboratory and long-term sections (issue 26): laboratory toxicity and
haematotoxicity, B-cell aplasia and immunoglobulins, cellular kinetics, and long-term
gene-therapy safety. Each says what it would need when the drop lacks its file."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

import polars as pl

from trial_outcomes.analysis.labs import EARLY_LEFT, EARLY_NO_ANC, EARLY_PENDING, bcell_recovery_fit
from trial_outcomes.analysis.listings import REPORT_EVENTS
from trial_outcomes.dates import DAYS_PER_MONTH
from trial_outcomes.formatting import count_pct, median_ci_months, median_range, number, pct_ci
from trial_outcomes.reporting.content import Figure, Paragraph, Section, Table
from trial_outcomes.reporting.inputs import ReportInputs

GRADES = ["0", "1", "2", "3", "4", "Missing"]
TEST_NAMES = {"ANC": "Neutrophil count decreased", "PLT": "Platelet count decreased", "HGB": "Anaemia"}
NEEDS_LABS = (
    "this section needs the optional labs file (data-contract.md: subject, sample date, test, value, "
    "below_lloq); the drop has none."
)
LONG_TERM_NAMES = {
    "SECONDARY_MALIGNANCY": "Secondary malignancy (other than T-cell)",
    "T_CELL_MALIGNANCY": "T-cell malignancy",
    "NEW_AUTOIMMUNE": "New autoimmune disorder",
    "NEW_NEUROLOGIC": "New neurologic disorder",
    "NEW_HEMATOLOGIC": "New haematologic disorder",
}


def _figure(inp: ReportInputs, name: str, title: str, footnote: str, subject_level: bool = False) -> list[Figure]:
    if name not in inp.figures:
        return []
    return [Figure(f"plots/{name}", title, footnote, subject_level=subject_level)]


def _lacks_labs(inp: ReportInputs) -> bool:
    return inp.labs is None or not inp.labs.has_labs


def laboratory_sections(inp: ReportInputs) -> list[Section]:
    return [toxicity_section(inp), bcell_section(inp), kinetics_section(inp), long_term_section(inp)]


def shift_table(inp: ReportInputs) -> Table:
    assert inp.labs is not None
    shifts = inp.labs.shifts
    rows: list[list[str]] = []
    bold: list[int] = []
    for test, name in TEST_NAMES.items():
        part = shifts.filter(pl.col("PARAMCD") == test)
        if not part.height:
            continue
        n = int(part["n_subjects"][0])
        bold.append(len(rows))
        rows.append([f"{name} (N = {n})", *[""] * len(GRADES)])
        counts = {(r["baseline_grade"], r["worst_grade"]): r["n"] for r in part.iter_rows(named=True)}
        for base in GRADES:
            if not any(counts.get((base, w)) for w in GRADES):
                continue
            rows.append([f"   Baseline grade {base}", *[number(counts.get((base, w), 0)) for w in GRADES]])
    return Table(
        "CTCAE v5 grade shift from baseline to the worst grade after infusion",
        ["Baseline", *[f"Worst {g}" for g in GRADES]],
        rows or [["(no graded values)", *[""] * len(GRADES)]],
        bold_rows=bold,
        population="Infused subjects; Missing: no value at baseline, or none from day 1 to an HSCT or new therapy "
        "(Missing to Missing: neither, a value on day 0 or after an HSCT alone included).",
        method=f"Baseline: the last value on or before the start of lymphodepletion; after infusion: day 1 to the "
        f"first HSCT or new therapy. CTCAE v5, with the plan's lower limits of normal (ANC "
        f"{inp.plan.labs.anc_lln:g} and platelets {inp.plan.labs.plt_lln:g} x 10^9/L, haemoglobin "
        f"{inp.plan.labs.hgb_lln:g} g/dL); anaemia has no laboratory grade 4.",
    )


def icaht_table(subjects: pl.DataFrame) -> Table:
    early = subjects["early_icaht"].drop_nulls()
    late = subjects["late_icaht"].drop_nulls()
    rows = [
        [f"Grade {g}", count_pct(int((early == g).sum()), early.len()), count_pct(int((late == g).sum()), late.len())]
        for g in range(5)
    ]
    rows.append(
        ["Grade >= 3", count_pct(int((early >= 3).sum()), early.len()), count_pct(int((late >= 3).sum()), late.len())]
    )
    return Table(
        "Immune effector cell-associated haematotoxicity (ICAHT)",
        ["Grade", f"Early, days 0-30 (N = {early.len()})", f"Late, after day 30 (N = {late.len()})"],
        rows,
        bold_rows=[5],
        population="Early: infused subjects with an ANC in days 0-30 whose window closed (day 30 reached, or "
        f"death, HSCT or new therapy first); not graded: {_early_not_graded(subjects)}. Late: infused subjects "
        "with two ANCs after day 30.",
        method="EHA/EBMT 2023 (Rejeski et al.). Early: the days 0-30 with ANC <= 0.5 x 10^9/L (1-6 grade 1, 7-13 "
        "grade 2, 14 or more grade 3) or <= 0.1 x 10^9/L (1-6 grade 3, 7 or more grade 4), the higher grade; a "
        "count holds until the next sample; days stop at death, HSCT or new therapy; a withdrawal or loss to "
        "follow-up before day 30 leaves the window unseen, never graded. Late: ANC <= 1.5, 1.0, 0.5, 0.1 x "
        "10^9/L (grades 1-4) in at least two samples after day 30.",
    )


def _early_not_graded(subjects: pl.DataFrame) -> str:
    """The infused subjects with labs but no early ICAHT grade, by why (``lab_subjects``)."""
    status = subjects["early_icaht_status"]
    counts = [
        (int((status == EARLY_PENDING).sum()), "pending (day 30 after the cut)"),
        (int((status == EARLY_LEFT).sum()), "withdrawn or lost to follow-up before day 30"),
        (int((status == EARLY_NO_ANC).sum()), "with no ANC in days 0-30"),
    ]
    return ", ".join(f"{n} {why}" for n, why in counts if n) or "none"


def recovery_table(subjects: pl.DataFrame) -> Table:
    rows = []
    for name, low, day in (
        ("Neutrophils (ANC >= 0.5 x 10^9/L)", "anc_below_05", "anc_recovery_day"),
        ("Platelets (>= 50 x 10^9/L)", "plt_below_50", "plt_recovery_day"),
    ):
        below = subjects.filter(pl.col(low).fill_null(False))
        days = below[day].drop_nulls().cast(pl.Float64).to_list()
        rows.append(
            [
                name,
                str(below.height),
                str(len(days)),
                str(below.height - len(days)),
                median_range(statistics.median(days), min(days), max(days)) if days else "-",
            ]
        )
    return Table(
        "Count recovery after infusion",
        ["Count", "Below the level", "Recovered", "Not recovered at the cut", "Day of recovery, median (range)"],
        rows,
        population="Infused subjects with the count below the level from day 0 (the infusion day) to an HSCT or "
        "new therapy.",
        method="Recovery: the first sample at or above the level after the first below it, with the next sample "
        "(if any) also at or above it. Transfusions are not in the drop: platelet recovery may be supported.",
    )


def toxicity_section(inp: ReportInputs) -> Section:
    title = "Laboratory toxicity and haematotoxicity"
    if _lacks_labs(inp):
        return Section(title, "labs", [Paragraph(f"Laboratory toxicity: {NEEDS_LABS}", "note")], new_page=True)
    assert inp.labs is not None
    subjects = inp.labs.subjects
    return Section(title, "labs", [shift_table(inp), icaht_table(subjects), recovery_table(subjects)], new_page=True)


def bcell_section(inp: ReportInputs) -> Section:
    title = "B-cell aplasia and immunoglobulins"
    if _lacks_labs(inp):
        return Section(title, "bcell", [Paragraph(f"B-cell aplasia and IgG: {NEEDS_LABS}", "note")])
    assert inp.labs is not None
    subjects = inp.labs.subjects
    fit = bcell_recovery_fit(subjects)
    median, lcl, ucl = fit.median()
    aplasia = subjects.filter(pl.col("bcell_aplasia").fill_null(False))
    with_counts = subjects.filter(pl.col("bcell_aplasia").is_not_null())
    rows = [
        ["Infused subjects with a B-cell count after infusion", str(with_counts.height)],
        ["B-cell aplasia", count_pct(aplasia.height, with_counts.height)],
        ["   of them in remission (CR/CRi)", count_pct(int(aplasia["responder"].sum()), aplasia.height)],
        ["   B-cell recovery", count_pct(int(aplasia["bcell_recovered"].fill_null(False).sum()), aplasia.height)],
        [
            "Duration of B-cell aplasia, median (95% CI), months",
            # nobody in the analysis: not estimable, never "not reached" (endpoints.md)
            median_ci_months(median, lcl, ucl) if aplasia.height else "NE (no subject with B-cell aplasia)",
        ],
    ]
    for m in (6, 12):
        estimate, low, high = fit.at(m * DAYS_PER_MONTH)
        rows.append([f"Continuing aplasia at {m} months (95% CI)", pct_ci(estimate, low, high)])
    blocks: list[Any] = [
        Table(
            "B-cell aplasia",
            ["", "Value"],
            rows,
            population="Infused subjects with a CD19+ B-cell count after infusion.",
            method=f"Aplasia: CD19+ B cells below {inp.plan.labs.bcell_aplasia_below:g}/uL (analysis plan [labs]). "
            "Kaplan-Meier of days from infusion to the first count at or above it after aplasia, censored at the last "
            "count before HSCT or new therapy; log-log 95% CIs.",
        ),
        *_figure(inp, "bcell_aplasia.svg", "Duration of B-cell aplasia", "Kaplan-Meier; event: B-cell recovery."),
    ]
    relapsed = subjects.filter(pl.col("bcell_at_relapse").is_not_null())
    if relapsed.height:
        statuses = ["B cells recovered before relapse", "B-cell aplasia at relapse", "No B-cell count before relapse"]
        cd19 = sorted(set(relapsed["relapse_cd19"].fill_null("UNKNOWN").to_list()))
        blocks.append(
            Table(
                "Relapses by CD19 status and B cells before the relapse",
                ["CD19 at relapse", "Relapses", *statuses],
                [
                    [
                        c,
                        str(part.height),
                        *[str(int((part["bcell_at_relapse"] == s).sum())) for s in statuses],
                    ]
                    for c in cd19
                    for part in [relapsed.filter(pl.col("relapse_cd19").fill_null("UNKNOWN") == c)]
                ],
                population="Infused subjects with a relapse after remission.",
                method="The last B-cell count on or before the relapse: loss of B-cell aplasia before a CD19-positive "
                "relapse suggests lost CAR-T pressure; CD19-negative relapses arise under continuing aplasia.",
            )
        )
    igg = inp.labs.igg
    measured = subjects.filter(pl.col("igg_low").is_not_null())
    blocks.append(
        Table(
            "Immunoglobulin G over time",
            ["Window", "Subjects", "Median IgG, g/L (IQR)", f"IgG < {inp.plan.labs.igg_low:g} g/L"],
            [
                [
                    r["window"],
                    str(r["n"]),
                    f"{r['median']:.1f} ({r['q1']:.1f}-{r['q3']:.1f})",
                    count_pct(r["n_low"], r["n"]),
                ]
                for r in igg.iter_rows(named=True)
            ]
            or [["(no IgG values)", "", "", ""]],
            population="Subjects with an IgG value in the window; after infusion, each subject's lowest value in it.",
            # "with an IgG value" read as the baseline row's subjects, more than those measured after
            # infusion, and beside the AE tables' smaller count (a DSMB reviewer: 2026-12-07)
            method="Immunoglobulin replacement is not in the drop: values after replacement are shown as measured.",
            notes=[
                f"Hypogammaglobulinaemia (IgG < {inp.plan.labs.igg_low:g} g/L on a value from day 1 to an HSCT or "
                "new therapy): "
                f"{count_pct(int(measured['igg_low'].sum()), measured.height)} of the infused subjects with an "
                "IgG value in that time, by the laboratory value; the AE tables count hypogammaglobulinaemia "
                "reported as an adverse event, which can differ."
            ],
        )
    )
    return Section(title, "bcell", blocks)


def _set_aside(params: pl.DataFrame) -> list[Paragraph]:
    """The note naming how many subjects' later samples the kinetics do not use."""
    later = params.filter(pl.col("n_set_aside") > 0)
    if not later.height:
        return []
    none = int((later["n_samples"] == 0).sum())
    return [
        Paragraph(
            f"{later.height} of {params.height} subjects have {int(later['n_set_aside'].sum())} transgene samples "
            "from an HSCT, a new therapy or a re-infusion (more than 7 days after the first) on; they are not "
            "used, so Tlast is the last quantifiable day before it, and where that came by day 28 Cmax, Tmax and "
            "the AUC are not evaluable (kinetics.csv n_set_aside)"
            + (f"; {none} of them have no sample before it." if none else "."),
            "note",
        )
    ]


#: each kinetic parameter with its unit (a DSMB reader found Cmax and the AUC without one)
KINETIC_UNITS = {
    "Cmax": "Cmax, copies/ug gDNA",
    "AUC0-28d": "AUC0-28d, copies/ug gDNA x days",
    "Tmax": "Tmax, days",
    "Tlast": "Tlast, days",
}


def kinetics_section(inp: ReportInputs) -> Section:
    title = "Cellular kinetics"
    if _lacks_labs(inp) or inp.kinetics is None:
        return Section(title, "kinetics", [Paragraph(f"CAR transgene kinetics: {NEEDS_LABS}", "note")])
    summary = inp.kinetics.summary
    if not inp.kinetics.parameters.height:
        return Section(
            title, "kinetics", [Paragraph("No CAR transgene samples after infusion in the drop at this cut.", "note")]
        )
    rows = []
    for r in summary.iter_rows(named=True):
        n = f"{r['n']} of {r['n_subjects']}"
        shown = KINETIC_UNITS.get(r["parameter"], r["parameter"])
        if r["parameter"] in ("Cmax", "AUC0-28d"):
            value = "-" if r["centre"] is None else f"{r['centre']:,.0f}"
            cv = "-" if r["geo_cv_pct"] is None else f"{r['geo_cv_pct']:.1f}"
            rows.append([r["response"], shown, n, f"{value} ({cv})"])
        else:
            rows.append([r["response"], shown, n, median_range(r["centre"], r["low"], r["high"])])
    return Section(
        title,
        "kinetics",
        [
            Table(
                "CAR transgene kinetic parameters by day-28 response",
                ["Response", "Parameter", "n of N", "Geometric mean (geo. CV%) or median (range)"],
                rows,
                align=["left", "left", "right", "right"],
                population="Infused subjects with a transgene sample on day 0 or later, before an HSCT, a new "
                "therapy or a second infusion; pending: the day-28 response window (days 21-42) open at the cut; "
                "not evaluable for response: withdrawn before any assessment (outside the efficacy set). "
                f"No measurable expansion (no quantifiable sample in days 0-28): {_no_expansion(summary)}.",
                method="Cmax and Tmax over days 0-28; AUC0-28d by the linear trapezoid from the first sample "
                "on or after day 0 to the last on or before day 28 (no extrapolation); Tlast: the last day with "
                "a quantifiable value. "
                "Values below the limit of quantification count as zero in Cmax and the AUC and never as Tlast; "
                "geometric means over positive values. The kinetics are the first product's: samples from the "
                "first HSCT, new anti-leukaemia therapy or second infusion on are not used.",
            ),
            *_set_aside(inp.kinetics.parameters),
            *_figure(
                inp,
                "kinetics.svg",
                "CAR transgene in peripheral blood by day-28 response",
                "One line per subject; open markers below the limit of quantification.",
                subject_level=True,
            ),
        ],
    )


def _no_expansion(summary: pl.DataFrame) -> str:
    """Subjects with no quantifiable transgene sample in days 0-28, over all and by group:
    a geometric mean over positive values leaves them out, so the table says how many."""
    cmax = summary.filter(pl.col("parameter") == "Cmax")
    total = cmax.filter(pl.col("response") == "All")
    if not total.height or not total["n_no_expansion"][0]:
        return "none"
    groups = [
        f"{r['response']} {r['n_no_expansion']} of {r['n_subjects']}"
        for r in cmax.filter(pl.col("response") != "All").iter_rows(named=True)
    ]
    return f"{total['n_no_expansion'][0]} of {total['n_subjects'][0]} ({'; '.join(groups)})"


def long_term_section(inp: ReportInputs) -> Section:
    title = "Long-term gene-therapy safety"
    if inp.lacks("long_term_followup") or inp.long_term is None:
        return Section(
            title,
            "long-term",
            [
                Paragraph(
                    "Long-term safety: this section needs the optional long_term_followup file (data-contract.md: "
                    "secondary malignancies, T-cell malignancies, RCL assays, new autoimmune, neurologic and "
                    "haematologic disorders); the drop has none.",
                    "note",
                )
            ],
        )
    table = inp.long_term
    rates = table.filter(pl.col("patient_years").is_not_null())
    blocks: list[Any] = []
    t_cell = table.filter(pl.col("event") == "T_CELL_MALIGNANCY")
    positive = table.filter(pl.col("event") == "RCL_POSITIVE")
    if t_cell.height and t_cell["n_subjects"][0]:
        blocks.append(
            Paragraph(
                f"T-cell malignancy reported in {t_cell['n_subjects'][0]} subject(s): report under the class "
                "labelling for CAR-T products (FDA, 2024) and test the tumour for the CAR transgene.",
                "alert",
            )
        )
    if positive.height and positive["n_subjects"][0]:
        blocks.append(
            Paragraph(
                f"Replication-competent lentivirus: a POSITIVE assay in {positive['n_subjects'][0]} subject(s).",
                "alert",
            )
        )
    blocks.append(
        Table(
            "Long-term events: incidence per 100 patient-years",
            ["Event", "Subjects", "Events", "Patient-years", "Per 100 patient-years (95% CI)"],
            [
                [
                    LONG_TERM_NAMES[r["event"]],
                    str(r["n_subjects"]),
                    str(r["n_events"]),
                    f"{r['patient_years']:.1f}",
                    "-"
                    if r["rate_per_100py"] is None
                    else f"{r['rate_per_100py']:.2f} ({r['lcl']:.2f}-{r['ucl']:.2f})",
                ]
                for r in rates.iter_rows(named=True)
            ],
            bold_rows=[1],
            population=f"Infused subjects (N = {rates['n_population'][0] if rates.height else 0}).",
            method="Exposure-adjusted incidence: subjects with the event over the patient-years from infusion to the "
            "first such event, else to death, the last contact or the cut; exact Poisson 95% CIs (R poisson.test). "
            "T-cell malignancies are counted apart from the other secondary malignancies.",
        )
    )
    rcl = table.filter(pl.col("event").str.starts_with("RCL_"))
    tested = int(rcl["n_population"][0]) if rcl.height else 0
    blocks.append(
        Table(
            "Replication-competent lentivirus (RCL) assays",
            ["Result", "Assays", "Subjects"],
            [
                [r["event"].removeprefix("RCL_").title(), str(r["n_events"]), str(r["n_subjects"])]
                for r in rcl.iter_rows(named=True)
            ],
            population=f"Subjects with an RCL assay (N = {tested}).",
        )
    )
    blocks += _long_term_listing(inp.long_term_events, inp.cut)
    return Section(title, "long-term", blocks, new_page=True)


def _pending_assays_note(events: pl.DataFrame, cut: str) -> list[str]:
    """The RCL assays still without a result at the cut, counted, with the oldest named
    and how long it has waited: a result the board expects and the laboratory owes (a
    DSMB reader found an assay pending since day 90, listed among the others unremarked)."""
    pending = events.filter((pl.col("event") == "RCL_TEST") & (pl.col("result") == "PENDING")).sort("ADT", "USUBJID")
    if not pending.height:
        return []
    oldest = pending.row(0, named=True)
    waited = (dt.date.fromisoformat(cut) - oldest["ADT"]).days
    return [
        f"{pending.height} RCL assay(s) in {pending['USUBJID'].n_unique()} subject(s) without a result at the cut; "
        f"the oldest, {oldest['USUBJID']}'s of {oldest['ADT']}, was sampled {waited} days before it: a result "
        "to ask the laboratory for."
    ]


def _long_term_listing(events: pl.DataFrame | None, cut: str) -> list[Table]:
    """The closed report's listing of the long-term events (``long_term_events.csv``):
    each malignancy and new disorder with the detail as recorded, and each RCL assay not
    found negative; the first ``REPORT_EVENTS`` (as the AE listings), the file holding all;
    the assays still pending at the cut counted under it, with the oldest's wait."""
    if events is None or not events.height:
        return []
    limit = REPORT_EVENTS
    notes = [] if events.height <= limit else [f"First {limit} of {events.height} events; all in long_term_events.csv."]
    notes += _pending_assays_note(events, cut)
    return [
        Table(
            "Listing: long-term events",
            ["Subject", "Event", "Date", "Day", "Result", "Detail"],
            [
                [
                    r["USUBJID"],
                    LONG_TERM_NAMES.get(r["event"], "RCL assay"),
                    str(r["ADT"]),
                    "" if r["ADY"] is None else str(r["ADY"]),
                    (r["result"] or "").title(),
                    r["detail"] or "",
                ]
                for r in events.head(limit).iter_rows(named=True)
            ],
            align=["left", "left", "left", "right", "left", "left"],
            population=f"{events.height} event(s) in {events['USUBJID'].n_unique()} subject(s); negative RCL assays "
            "are counted above, not listed.",
            method="long_term_followup as recorded: day from the first infusion (day 0); the detail as the site "
            "wrote it (a T-cell malignancy coded as another malignancy is a data query on page 1).",
            notes=notes,
        )
    ]
