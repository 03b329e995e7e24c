"""Report sections on subjects and efficacy: baseline, exposure, eligibility,
response, the time-to-event endpoints, subgroups, the HSCT landmark and relapse."""

from __future__ import annotations

import statistics
from typing import Any

import polars as pl

from trial_outcomes import labels
from trial_outcomes.analysis.adtte import COMPETING, ENDPOINT_ORDER, POPULATION
from trial_outcomes.analysis.conduct import after_other_treatment
from trial_outcomes.analysis.rates import EFFICACY_POPULATION, ITT_POPULATION
from trial_outcomes.analysis.survival_summary import NO_CI
from trial_outcomes.analysis.timeline import SPLIT_DOSE_DAYS
from trial_outcomes.formatting import (
    FEW_AT_RISK_NOTE,
    count_pct,
    day_count,
    few_at_median,
    fmt,
    landmark_rate,
    median_ci_months,
    median_months_days,
    median_range,
    months,
    p_value,
    pct_ci,
    ratio_ci,
)
from trial_outcomes.reporting.content import SUBJECT_COLUMN, Figure, Paragraph, Section, Table
from trial_outcomes.reporting.inputs import ReportInputs

LISTING_LIMIT = 200  # rows of a listing shown in the report; the full table is in the cut's files
#: overdue assessments listed, the longest overdue first (100,000 subjects had 200,000: 800 pages)
OVERDUE_LIMIT = 1000


def _plot(inp: ReportInputs, name: str, title: str, footnote: str = "", width: int = 100) -> list[Figure]:
    return [Figure(f"plots/{name}", title, footnote, width)] if name in inp.figures else []


def _num(value: object) -> float:
    """A polars aggregate of a float column, as a float (mypy sees a union)."""
    return float(value) if isinstance(value, int | float) else float("nan")


def baseline_table(inp: ReportInputs) -> Table:
    """Baseline characteristics by population: enrolled, safety and efficacy sets."""
    adsl = inp.adsl
    pops = [
        ("Enrolled", adsl),
        ("Infused (safety)", adsl.filter(pl.col("SAFFL") == "Y")),
        ("Efficacy", adsl.filter(pl.col("EFFFL") == "Y")),
    ]
    rows: list[list[str]] = [["N"] + [str(p.height) for _, p in pops]]
    bold = [0]

    def continuous(label: str, col: str, digits: int = 1) -> None:
        cells = []
        for _, p in pops:
            s = p[col].drop_nulls()
            values = s.cast(pl.Float64)
            low, mid, high = (_num(v) for v in (values.min(), values.median(), values.max()))
            cells.append("" if s.is_empty() else f"{mid:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})")
        rows.append([f"{label}, median (range)", *cells])

    def categorical(col: str) -> None:
        bold.append(len(rows))
        rows.append([labels.variable(col), "", "", ""])
        for value in sorted(adsl[col].drop_nulls().cast(pl.String).unique().to_list()):
            rows.append(
                [
                    f"   {labels.level(col, value)}",
                    *[count_pct(int((p[col].cast(pl.String) == value).sum()), p.height) for _, p in pops],
                ]
            )

    continuous("Age, years", "AGE")
    categorical("AGEGR1")
    categorical("SEX")
    categorical("DISSTAT")
    categorical("STRATUM")
    continuous("Prior relapses", "PRIORREL", 0)
    categorical("PRHSCTFL")
    continuous("CD19+ blasts, %", "CD19PCT")
    continuous("Marrow blasts, %", "BMBLPCT")
    categorical("EMDFL")
    categorical("FUSION")
    categorical("ECOGBL")
    return Table(
        "Baseline characteristics",
        ["Characteristic", *[name for name, _ in pops]],
        rows,
        population="Enrolled subjects; the safety set (infused) and the efficacy set.",
        method="Counts with percentages of each population's N; continuous variables as median (range).",
        bold_rows=bold,
    )


def _reinfused(inp: ReportInputs) -> pl.DataFrame:
    return inp.adsl.filter((pl.col("SAFFL") == "Y") & (pl.col("NDOSE") > 1)).sort("USUBJID")


def reinfused_listing(inp: ReportInputs) -> Table | None:
    """The subjects given more than one dose (a split dose's fractions one), with their
    doses, infusions and second dose's date: the closed report's
    listing beside the exposure table's note (printed in the open report too, it gives
    their number only). None without any."""
    again = _reinfused(inp)
    if not again.height:
        return None
    return Table(
        "Listing: subjects given more than one CAR-T dose by the cut",
        [SUBJECT_COLUMN, "Doses", "Infusions", "Second dose"],
        [[r["USUBJID"], str(r["NDOSE"]), str(r["NINFUS"]), str(r["TR02SDT"])] for r in again.iter_rows(named=True)],
        align=["left", "right", "right", "left"],
        population="Safety set.",
        method=f"ADSL NDOSE (a split dose's fractions within {SPLIT_DOSE_DAYS} days of its first one dose), NINFUS, "
        "TR02SDT.",
    )


def exposure_table(inp: ReportInputs) -> Table:
    table = inp.table("exposure_summary")
    rows: list[list[str]] = []
    bold: list[int] = []
    last = None
    for r in table.iter_rows(named=True):
        if r["category"] == "":
            value = median_range(r["median"], r["min"], r["max"], as_dose=r["measure"].startswith("Dose"))
            rows.append([f"{r['measure']}, median (range)", str(r["n"]), value])
            continue
        if r["measure"] != last:
            bold.append(len(rows))
            rows.append([f"{r['measure']} (N = {r['population_n']})", "", ""])
            last = r["measure"]
        shown = {**labels.NOT_INFUSED, **labels.LD_REGIMENS}.get(r["category"], r["category"])
        rows.append([f"   {shown}", str(r["n"]), "" if r["pct"] is None else f"{r['pct']:.1f}%"])
    notes = ["Bridging therapy is not collected in this drop."] if inp.lacks("infusion", "bridging") else []
    again = _reinfused(inp)
    if again.height:
        notes.append(
            f"Given more than one dose by the cut: {again.height} subject(s) (the closed report lists them). Day 0 "
            "is the first infusion; a later dose does not end the attribution of response or the treatment-emergent "
            "window (only HSCT or a new anti-leukemia therapy does), so a response after a re-infusion counts as a "
            "response to CAR-T."
        )
    return Table(
        "Exposure to CAR-T",
        ["Measure", "n", "Value"],
        rows,
        bold_rows=bold,
        notes=notes,
        population="Safety set (infused); the not-infused rows: enrolled subjects not infused by the cut.",
        method=f"Dose of the first infusion, against the protocol's weight-based range of "
        f"{inp.plan.labs.dose_low_per_kg / 1e6:g}-{inp.plan.labs.dose_high_per_kg / 1e6:g} x 10^6 CAR+ T cells/kg "
        "(bounds within; analysis plan [labs]); days from enrolment and from the start of lymphodepletion to the "
        "first infusion (vein-to-vein time from leukapheresis: the disposition's product table); CAR-T doses by the "
        f"cut, a split dose's fractions within {SPLIT_DOSE_DAYS} days of its first one dose (ADSL NDOSE).",
    )


def listing(
    frame: pl.DataFrame, title: str, columns: dict[str, str], population: str, source: str, method: str = ""
) -> Table:
    """A listing of ``frame``; past ``LISTING_LIMIT`` rows the report shows the first
    ones and says where the full table is."""
    shown = frame.head(LISTING_LIMIT).select(list(columns))
    rows = [["" if v is None else fmt(v) for v in row] for row in shown.iter_rows()]
    notes = [] if rows else ["No rows."]
    if frame.height > LISTING_LIMIT:
        notes.append(f"First {LISTING_LIMIT} of {frame.height} rows; all of them in {source}.")
    return Table(
        title,
        list(columns.values()),
        rows,
        population=population,
        method=method,
        notes=notes,
        align=["left"] * len(columns),
    )


def eligibility_section(inp: ReportInputs) -> Section:
    return Section(
        "Eligibility deviations",
        "eligibility",
        [
            listing(
                inp.table("eligibility_deviations"),
                "Computable eligibility criteria against the investigator's checklist",
                {
                    "subject_id": "Subject",
                    "criterion": "Criterion",
                    "computed_met": "Computed",
                    "checklist_met": "Checklist",
                    "finding": "Finding",
                },
                population="Subjects enrolled by the cut.",
                source="eligibility_deviations.csv",
                method="The protocol's criteria IN01-IN03, EX06 and EX11-EX13 computed from enrolment, the others "
                "taken from the checklist as reported; subjects infused despite a failed criterion, by the data or "
                "(where the data cannot compute it) by the checklist, or with a criterion missing from the "
                "checklist, stay in the safety set and leave the per-protocol set.",
            )
        ],
    )


BOR_ROWS = ("CR", "CRi", "PR", "NR", "RELAPSE", "NE")


def best_response_table(inp: ReportInputs) -> Table:
    """Counts of the best response by day 28, overall and by response stratum, with the
    pending subjects apart."""
    eff = inp.adsl.filter(pl.col("EFFFL") == "Y")
    strata = [
        ("All", eff),
        *[(labels.level("STRATUM", s), eff.filter(pl.col("STRATUM") == s)) for s in ("morphologic", "mrd_persistent")],
    ]
    rows = []
    morphologic_remission = pl.col("BOR28").is_in(["CR", "CRi"])
    # an MRD-persistent entrant's morphologic CR without MRD conversion is not a response: its own row
    unconverted = morphologic_remission & (pl.col("CRFL") != "Y")
    for code in BOR_ROWS:
        cells = []
        for _, part in strata:
            evaluable = part.filter(pl.col("D28PNDFL") != "Y")
            hit = (pl.col("BOR28") == code) & ~unconverted
            cells.append(count_pct(int(evaluable.select(hit.sum()).item()), evaluable.height))
        rows.append([labels.RESPONSES[code], *cells])
        if code == "CRi":
            rows.append(
                [
                    "CR/CRi without MRD conversion (MRD-persistent entrants: no response)",
                    *[
                        count_pct(
                            int(p.filter(pl.col("D28PNDFL") != "Y").select(unconverted.sum()).item()),
                            int((p["D28PNDFL"] != "Y").sum()),
                        )
                        for _, p in strata
                    ],
                ]
            )
    rows.append(
        [
            "   Remission (CR + CRi above)",
            *[
                count_pct(int(((p["D28PNDFL"] != "Y") & (p["CRFL"] == "Y")).sum()), int((p["D28PNDFL"] != "Y").sum()))
                for _, p in strata
            ],
        ]
    )
    rows.append(["Evaluable (denominator)", *[str(int((p["D28PNDFL"] != "Y").sum())) for _, p in strata]])
    rows.append([labels.RESPONSES["PENDING"], *[str(int((p["D28PNDFL"] == "Y").sum())) for _, p in strata]])
    rows.append(
        [
            "   of which already in remission on day 21-42 (information only)",
            *[str(int((p["D28ERLFL"] == "Y").sum())) for _, p in strata],
        ]
    )
    return Table(
        "Best overall response by day 28",
        ["Response", *[_evaluable_header(name, p) for name, p in strata]],
        rows,
        bold_rows=[len(rows) - 3],
        population="Efficacy set. Pending: day-42 window open at the cut, responder so far or not (in neither "
        "the numerator nor the denominator, the same evaluable set as the futility rule).",
        method="Best response among attributable assessments on day 21-42 (before any HSCT or new therapy); "
        "CR > CRi > PR > NR > relapse; no assessment in a closed window is NE. The window closes on day 42, "
        "or earlier at death, HSCT or new therapy; a withdrawal or loss does not close it (an assessment "
        "can follow one), so such a subject is pending to day 42. For MRD-persistent entrants (in "
        "morphologic remission at entry) the response is MRD conversion (MRD < 0.01% at a CR/CRi). A pending "
        "subject in remission before day 21 only is not yet a day-28 response, and not counted as already in "
        "remission here (it is in the remission endpoints: DFS, CIR, DOR).",
    )


def _evaluable_header(name: str, part: pl.DataFrame) -> str:
    """A column of the best-response table headed by its denominator: the percentages are
    over the evaluable (a reviewer divided 22 by the efficacy set's 56, not by 47), with
    the pending beside it."""
    pending = int((part["D28PNDFL"] == "Y").sum())
    return f"{name} (N = {part.height - pending} evaluable" + (f"; {pending} pending)" if pending else ")")


def response_rates_table(inp: ReportInputs) -> Table:
    everyone = inp.table("response_summary")
    table = everyone.filter(pl.col("population") == EFFICACY_POPULATION)
    itt = {
        (r["parameter"], r["group_var"], r["group"]): r
        for r in everyone.filter(pl.col("population") == ITT_POPULATION).iter_rows(named=True)
    }
    # a group with ITT subjects and none in the efficacy set (its entrants all never infused) has
    # an ITT row alone, after its kind's last efficacy row: a DSMB reviewer's early cut left
    # out "MRD-persistent 0/2", and the ITT groups no longer added up to the ITT total (2026-12-07)
    efficacy_keys = {(r["parameter"], r["group_var"], r["group"]) for r in table.iter_rows(named=True)}
    itt_only: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key, alone in itt.items():
        if key not in efficacy_keys:
            itt_only.setdefault((key[0], key[1]), []).append(alone)
    listed = list(table.iter_rows(named=True))
    ordered: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    for n, here in enumerate(listed):
        ordered.append((here, itt.get((here["parameter"], here["group_var"], here["group"]))))
        kind = (here["parameter"], here["group_var"])
        following = listed[n + 1] if n + 1 < len(listed) else None
        if following is None or (following["parameter"], following["group_var"]) != kind:
            ordered.extend((None, i) for i in itt_only.pop(kind, []))
    ordered.extend((None, i) for left in itt_only.values() for i in left)
    rows: list[list[str]] = []
    bold: list[int] = []
    last = None
    for r, i in ordered:
        named: dict[str, Any] = r if r is not None else i or {}
        if named["parameter"] != last:
            bold.append(len(rows))
            rows.append([str(named["parameter"]), "", "", "", "", ""])
            last = named["parameter"]
        efficacy = (
            ["0", "0", "no subject in the efficacy set", "0"]
            if r is None
            else [
                str(r["n"]),
                str(r["responders"]),
                pct_ci(r["rate"], r["rate_lcl"], r["rate_ucl"]),
                f"{r['n_pending']} ({r['n_pending_responders']})" if r["n_pending_responders"] else str(r["n_pending"]),
            ]
        )
        rows.append(
            [
                f"   {labels.group(str(named['group_var']), str(named['group']))}",
                *efficacy,
                "" if i is None else f"{i['responders']}/{i['n']}, {pct_ci(i['rate'], i['rate_lcl'], i['rate_ucl'])}",
            ]
        )
    return Table(
        "Response rates",
        [
            "Parameter / group",
            "Evaluable",
            "Responders",
            "Rate (95% CI)",
            "Pending (responders)",
            "All enrolled (ITT): responders/n, rate (95% CI)",
        ],
        rows,
        bold_rows=bold,
        population="Efficacy set, less subjects pending at the cut (counted apart, responder so far or not; in "
        "brackets those already responding, as information). ITT: every enrolled subject, a subject never "
        "infused a non-responder, one awaiting infusion at the cut pending.",
        method="Exact Clopper-Pearson 95% CIs. MRD-negative: any attributable CR/CRi on day 21-42 with MRD < "
        "0.01%. ORR3M (ELIANA's primary endpoint): an attributable CR/CRi on day 0-91 maintained 28 days: no "
        "relapse, no PR/NR assessment and no death within the 28 days after it.",
    )


def response_section(inp: ReportInputs) -> Section:
    blocks: list[Any] = [best_response_table(inp), response_rates_table(inp)]
    blocks += _plot(
        inp,
        "forest_response.svg",
        "CR/CRi by day 28 by subgroup",
        "Efficacy set, pending subjects excluded; exact 95% CIs; the dashed line is the overall rate.",
    )
    return Section("Response", "response", blocks, new_page=True)


#: the report's one line for survival_details' rates without limits (``NO_CI``)
NO_CI_NOTE = (
    "NE-NE: no confidence interval where the estimate is 0 or 100 % from an observed time on (R gives none "
    "either); a rate before a group's first observed time is 100.0 (100.0-100.0), as R's summary gives it."
)


def _endpoint_rows(
    summary: pl.DataFrame,
    details: pl.DataFrame,
    endpoint: str,
    landmarks: tuple[int, ...],
    analysis: str = "primary",
    overall_only: bool = False,
) -> tuple[list[list[str]], list[str]]:
    rows_df = summary.filter((pl.col("endpoint") == endpoint) & (pl.col("analysis") == analysis))
    if overall_only:
        rows_df = rows_df.filter(pl.col("group_var") == "all")
    detail = {
        (r["group_var"], r["group"]): r
        for r in details.filter((pl.col("endpoint") == endpoint) & (pl.col("analysis") == analysis)).iter_rows(
            named=True
        )
    }
    competing = endpoint in COMPETING
    rows, notes = [], []
    undefined_ci = False
    for r in rows_df.iter_rows(named=True):
        d = detail.get((r["group_var"], r["group"]), {})
        row = [labels.group(r["group_var"], r["group"]), str(r["n"]), str(r["n_events"])]
        if competing:
            row.append(str(d.get("n_competing") or 0))
        row.append(str(r["n_censored"]))
        if not competing and not r["n"]:  # nobody in the population: not estimable, never "not reached"
            row += ["NE", "NE"]
        elif not competing:
            median = median_ci_months(r["median_days"], r["median_lcl_days"], r["median_ucl_days"])
            row.append(few_at_median(median, d.get("median_nrisk"), short=True))
            row.append("NR" if r["median_days"] is None else day_count(r["median_days"]))
        row += [landmark_rate(r, d, m, short=True) for m in landmarks]
        test = "" if r["logrank_p"] is None else f"{r['logrank_chisq']:.2f} / {p_value(r['logrank_p'])}"
        row.append(test)
        rows.append(row)
        said = [n for n in (d.get("notes") or "").split("; ") if n]
        undefined_ci |= any(NO_CI in n for n in said)
        # an NR or NE in the table already says a median or its limit is empty; one
        # line below says why a rate of 0 or 100 % has no interval
        shown = [n for n in said if not n.startswith("median") and NO_CI not in n]
        if shown:
            notes.append(f"{labels.group(r['group_var'], r['group'])}: {'; '.join(shown)}.")
    if undefined_ci:
        notes.append(NO_CI_NOTE)
    notes.append(FEW_AT_RISK_NOTE)
    return rows, notes


def endpoint_table(inp: ReportInputs, endpoint: str, analysis: str = "primary", overall_only: bool = False) -> Table:
    survival = inp.table("survival_summary")
    details = inp.table("survival_details")
    landmarks = inp.plan.landmark_months
    rows, notes = _endpoint_rows(survival, details, endpoint, landmarks, analysis, overall_only)
    competing = endpoint in COMPETING
    what = "Incidence" if competing else "Rate"
    columns = ["Group", "N", "Events"] + (["Competing"] if competing else []) + ["Censored"]
    columns += [] if competing else ["Median, months (95% CI)", "Median, days"]
    columns += [f"{what} at {m} mo, % (95% CI) [at risk]" for m in landmarks]
    columns.append("Gray chi2 / p" if competing else "Log-rank chi2 / p")
    method = (
        "Aalen-Johansen with cmprsk's variance and log-log 95% CIs; Gray's test across groups."
        + EVENTS_COUNTED.get(endpoint, "")
        if competing
        else "Kaplan-Meier with Greenwood variance and log-log 95% CIs; median and its CI by "
        "Brookmeyer-Crowley (NR: not reached); log-rank test across groups."
    )
    title = f"{labels.endpoint(endpoint)} ({endpoint})" + (
        "" if analysis == "primary" else f": {labels.in_sentence(labels.ANALYSES[analysis])}"
    )
    population = {"SAFFL": "Safety set (infused)."}.get(
        POPULATION[endpoint], "Infused subjects who reached a remission, from its date."
    )
    return Table(title, columns, rows, population=population, method=method, notes=notes)


#: what a competing-risk table's event columns hold beyond its name (a reviewer found CIR's
#: events more than the relapse section's relapses, with nothing saying why)
EVENTS_COUNTED = {
    "CIR": " Events: relapses, and deaths from leukaemia without a recorded relapse (the Relapse section "
    "counts recorded relapses only); competing: other deaths in remission.",
    "NRM": " Competing: relapses and deaths from leukaemia without a recorded relapse.",
}

ENDPOINT_NOTES = {
    "OS": "Death from any cause; alive subjects censored at the last date known alive. Never censored at HSCT.",
    "EFS": "Treatment failure (no attributable CR/CRi by day 42: an event at day 1), relapse or death; censored at the "
    "last disease assessment.",
    "DFS": "From the first attributable remission to relapse or death; censored at the last assessment in remission.",
    "CIR": "Relapse (a death from leukaemia without recorded relapse counts as relapse); death in remission competing.",
    "NRM": "Death in remission not from leukaemia; relapse competing.",
    "DOR": "From the first attributable remission to relapse or death from leukaemia; other deaths censored.",
}


#: the endpoints whose event is a relapse (as a RELAPSE assessment records it)
RELAPSE_ENDPOINTS = ("EFS", "DFS", "CIR", "DOR")


def lost_remission_note(subjects: int, endpoint: str) -> str:
    """What a relapse endpoint does with the subjects who lost a CR/CRi without a relapse
    record (``response.remission_lost_without_relapse``)."""
    return (
        f"{subjects} subject(s) lost a CR/CRi without a relapse record (an NR or PR assessment after it, before any "
        f"relapse): {endpoint} counts no relapse for them at the loss, a relapse being a RELAPSE assessment, and "
        "follows them to its other event or to censoring; ORR3M counts a loss before any HSCT or new therapy. If the "
        "disease came back, the data manager codes that assessment RELAPSE."
    )


def endpoint_section(inp: ReportInputs, endpoint: str) -> Section:
    name = labels.endpoint(endpoint)
    blocks: list[Any] = _plot(
        inp,
        f"{endpoint}_primary_all.svg",
        f"{name}, primary analysis",
        ENDPOINT_NOTES[endpoint] + " Shaded: 95% CI; ticks: censored; table: number at risk.",
    )
    blocks.append(endpoint_table(inp, endpoint))
    if endpoint in RELAPSE_ENDPOINTS and inp.lost_remission:
        blocks.append(Paragraph(lost_remission_note(inp.lost_remission, endpoint), "note"))
    if endpoint not in ("OS", "NRM"):
        blocks.append(endpoint_table(inp, endpoint, "censor_at_hsct", overall_only=True))
    for var in inp.plan.subgroups:
        blocks += _plot(
            inp,
            f"{endpoint}_primary_{var}.svg",
            f"{name} by {labels.in_sentence(labels.variable(var))}",
            "Number at risk under the axis; the test compares the levels.",
        )
    return Section(f"{name} ({endpoint})", endpoint.lower(), blocks, new_page=True)


def reference_notes(cox: pl.DataFrame, planned: dict[str, str]) -> list[str]:
    """Where the plan names a reference level that the data at this cut do not have,
    say which level was used instead (version 2 fell back silently while the text
    said the plan's was used), and for which endpoints where they differ (an endpoint
    whose subjects lack the infused subjects' largest group takes its own), in the
    table's order."""
    notes = []
    for var, level in planned.items():
        # each reference used, with its endpoints, in the table's order
        used = dict(
            cox.filter(pl.col("group_var") == var)
            .group_by("reference", maintain_order=True)
            .agg(pl.col("endpoint").unique(maintain_order=True))
            .iter_rows()
        )
        if not used or level in used:
            continue
        said = f"The analysis plan's reference level for {labels.in_sentence(labels.variable(var))}, "
        said += f"{labels.level(var, level)!r}, has no subjects at this cut: "
        if len(used) == 1:
            notes.append(
                said + f"the largest group, {labels.level(var, next(iter(used)))!r}, is the reference instead."
            )
            continue
        by_reference = [f"{labels.level(var, ref)!r} for " + " and ".join(endpoints) for ref, endpoints in used.items()]
        notes.append(
            said
            + "the reference is instead the infused subjects' largest group where an endpoint's subjects have "
            + "it, else that endpoint's own largest group: "
            + "; ".join(by_reference)
            + "."
        )
    return notes


def subgroup_section(inp: ReportInputs) -> Section:
    blocks: list[Any] = []
    for endpoint in ("OS", "EFS", "DFS", "DOR"):
        blocks += _plot(
            inp,
            f"forest_hr_{endpoint}.svg",
            f"{labels.endpoint(endpoint)}: hazard ratios by subgroup",
            "Cox proportional hazards with Efron ties, the subgroup as a factor against its reference level "
            "(the analysis plan's, else the largest group of the infused subjects, the same for every endpoint); "
            "Wald 95% CIs.",
        )
    cox = inp.table("cox_summary").filter(pl.col("analysis") == "primary")
    rows = [
        [
            labels.endpoint(r["endpoint"]),
            labels.variable(r["group_var"]),
            f"{labels.level(r['group_var'], r['group'])} vs {labels.level(r['group_var'], r['reference'])}",
            str(r["n"]),
            str(r["n_events"]),
            ratio_ci(r["hr"], r["hr_lcl"], r["hr_ucl"]),
            p_value(r["p"]),
            labels.in_note(r["note"] or "", r["group_var"]),
        ]
        for r in cox.iter_rows(named=True)
    ]
    blocks.append(
        Table(
            "Hazard ratios by subgroup",
            ["Endpoint", "Subgroup", "Comparison", "N", "Events", "HR (95% CI)", "p", "Note"],
            rows,
            align=["left", "left", "left", "right", "right", "right", "right", "left"],
            population="As each endpoint; subjects without a value of the subgroup left out.",
            method="Cox model, Efron ties, Wald CI and p; empty where not estimable, with the reason. N and "
            "Events count the two groups compared; a subgroup of three or more levels is one model over all of "
            "its subjects, each level against the reference.",
            notes=reference_notes(cox, inp.plan.forest_reference),
        )
    )
    landmark = inp.table("hsct_landmark")
    day = landmark["landmark_day"][0] if landmark.height else inp.plan.hsct_landmark_day
    rows = [
        [
            r["endpoint"],
            r["group"],
            str(r["n"]),
            str(r["n_events"]),
            median_months_days(r["median_days_from_landmark"], r["median_lcl"], r["median_ucl"]),
            p_value(r["logrank_p"]),
            ratio_ci(r["hr_hsct"], r["hr_lcl"], r["hr_ucl"]),
        ]
        for r in landmark.iter_rows(named=True)
    ]
    notes = sorted({labels.in_note(r["note"]) for r in landmark.iter_rows(named=True) if r["note"]})
    blocks.append(
        Table(
            f"Consolidative HSCT: landmark analysis at day {day}",
            [
                "Endpoint",
                "Group at the landmark",
                "N",
                "Events",
                "Median from the landmark",
                "Log-rank p",
                "HR, HSCT vs none (95% CI)",
            ],
            rows,
            notes=notes,
            population="Subjects in remission by the landmark, without relapse by then and still followed for "
            "the endpoint after it (OS: alive; DFS: an assessment in remission after it, so the two can hold "
            "different subjects), grouped by HSCT on or before it; time from the landmark.",
            method="A plain comparison of 'ever transplanted' would favour HSCT by immortal-time bias.",
        )
    )
    return Section("Subgroups and HSCT", "subgroups", blocks, new_page=True)


def hsct_time_dependent_table(inp: ReportInputs) -> Table:
    table = inp.table("hsct_time_dependent")
    rows = [
        [
            r["endpoint"],
            str(r["n_subjects"]),
            str(r["n_events"]),
            str(r["n_transplanted"]),
            str(r["n_events_after_hsct"]),
            ratio_ci(r["hr"], r["hr_lcl"], r["hr_ucl"]),
            p_value(r["p"]),
            labels.in_note(r["note"] or ""),
        ]
        for r in table.iter_rows(named=True)
    ]
    return Table(
        "Consolidative HSCT as a time-dependent covariate",
        ["Endpoint", "N", "Events", "Transplanted", "Events after HSCT", "HR, HSCT (95% CI)", "p", "Note"],
        rows,
        align=["left", "right", "right", "right", "right", "right", "right", "left"],
        population="OS and EFS: safety set from day 0; relapse: subjects in remission from the first "
        "remission (a death in remission censored: the cause-specific hazard). A subject with no time at "
        "risk (censored on day 0) has no row.",
        method="Cox model with HSCT switching from 0 to 1 on the day of the transplant (counting-process "
        "rows; R coxph(Surv(start, stop, event) ~ hsct), Efron ties), fitted by lifelines' "
        "CoxTimeVaryingFitter; Wald 95% CI and p.",
    )


def relapse_section(inp: ReportInputs) -> Section:
    table = inp.table("relapse_summary")
    counts = table.filter(pl.col("section") == "site_by_cd19")
    cd19 = ("POS", "NEG", "UNKNOWN", "All")
    rows = []
    for site in ("BM", "CNS", "TESTIS", "OTHER", "UNKNOWN", "All"):
        part = {r["cd19"]: r["n"] for r in counts.filter(pl.col("site") == site).iter_rows(named=True)}
        if site == "UNKNOWN" and not part.get("All"):
            continue  # a row only when a relapse's site is not recorded
        rows.append(
            [
                {
                    "BM": "Bone marrow",
                    "CNS": "CNS",
                    "TESTIS": "Testis",
                    "OTHER": "Other",
                    "UNKNOWN": "Not recorded",
                    "All": "All sites",
                }[site],
                *[str(part.get(c, 0)) for c in cd19],
            ]
        )
    blocks: list[Any] = [
        Table(
            "Relapses by site and CD19 status",
            ["Site", "CD19+", "CD19-", "Unknown", "All"],
            rows,
            bold_rows=[len(rows) - 1],
            population="Subjects with a relapse after an attributable remission.",
        )
    ]
    incidence = table.filter(pl.col("section") == "cd19_negative_incidence")
    inc_rows = [
        [f"{r['months']} months", str(r["n"]), pct_ci(r["estimate"], r["lcl"], r["ucl"])]
        for r in incidence.iter_rows(named=True)
    ]
    blocks.append(
        Table(
            "Cumulative incidence of CD19-negative relapse",
            ["Time", "N", "Incidence (95% CI)"],
            inc_rows,
            population="Subjects in remission, from the first remission.",
            method="Aalen-Johansen; CD19-positive or unknown relapse and death in remission competing.",
        )
    )
    blocks += _plot(inp, "relapse_cd19_negative.svg", "Cumulative incidence of CD19-negative relapse")
    return Section("Relapse", "relapse", blocks, new_page=True)


def efficacy_sections(inp: ReportInputs) -> list[Section]:
    sections = [response_section(inp)]
    sections += [endpoint_section(inp, endpoint) for endpoint in ENDPOINT_ORDER]
    from trial_outcomes.reporting.models import models_section

    sections += [subgroup_section(inp), models_section(inp), relapse_section(inp)]
    followup = inp.table("followup_summary").row(0, named=True)
    sections[1].blocks.append(
        Paragraph(
            f"Median follow-up (reverse Kaplan-Meier of OS): {months(followup['median_followup_days'])} months "
            f"(95% CI {months(followup['median_followup_lcl_days'])}-{months(followup['median_followup_ucl_days'])}); "
            f"range {months(followup['min_days'])}-{months(followup['max_days'])} months, each subject's time from "
            "infusion to death or last contact (a death early in follow-up is its least).",
            "note",
        )
    )
    return sections


def subject_sections(inp: ReportInputs) -> list[Section]:
    from trial_outcomes.reporting.summary import disposition_table

    disposition = Section(
        "Disposition",
        "disposition",
        [
            *_plot(
                inp,
                "consort.svg",
                "Flow of subjects at the data cut",
                "Enrolled (consented), infused (safety set), efficacy set (infused unless withdrawn before any "
                "assessment), per-protocol set; status of the infused subjects at the cut.",
                90,
            ),
            disposition_table(inp),
            product_block(inp),
        ],
        new_page=True,
    )
    baseline = Section(
        "Baseline characteristics and exposure",
        "baseline",
        [baseline_table(inp), exposure_table(inp), *filter(None, [reinfused_listing(inp)])],
        new_page=True,
    )
    return [disposition, baseline, eligibility_section(inp), conduct_section(inp)]


def _all_overdue_note(visits: pl.DataFrame) -> list[str]:
    """A later visit every due subject missed (M30 and M42 in a drop whose sites assess yearly
    after M24) is said to be so, and why it may be: a DSMB reviewer read "M30 19 of 19
    overdue" as a conduct failure, with no word on the schedule (2026-12-07)."""
    later = [
        r["group"]
        for r in visits.iter_rows(named=True)
        if r["n"] >= 2
        and r["count"] == r["n"]
        and str(r["group"]).startswith("M")
        and str(r["group"])[1:].isdigit()
        and int(str(r["group"])[1:]) > 12
    ]
    if not later:
        return []
    return [
        f"Every subject due for {', '.join(later)} is overdue: the sites may assess less often than the schedule's "
        "every 6 months after M12 (yearly, say); a question for the sites, as the schedule is the plan's."
    ]


def _after_treatment_note(overdue: pl.DataFrame) -> list[str]:
    """How many overdue visits fell due after the subject's HSCT or new therapy
    (``conduct.after_other_treatment``), when assessments may follow that treatment."""
    after = int(overdue["after_treatment"].sum())
    if not after:
        return []
    return [
        f"{after} of the {overdue.height} overdue visits fell due after the subject's consolidative HSCT or new "
        "anti-leukaemia therapy, when assessments may follow that treatment's schedule (marked in the closed "
        "report's listing); the schedule keeps such subjects due."
    ]


def conduct_section(inp: ReportInputs) -> Section:
    """Trial conduct and data currency: accrual against the plan, sites, overdue
    assessments, missing MRD; the subjects with an overdue visit in the closed report."""
    if inp.conduct is None:
        return Section("Trial conduct and data currency", "conduct", [Paragraph("Not derived at this cut.", "note")])
    table = inp.conduct.summary
    part = {s: table.filter(pl.col("section") == s) for s in ("accrual", "site", "visit", "mrd")}
    overdue = after_other_treatment(inp.conduct.overdue, inp.adsl)
    accrual = Table(
        "Accrual by calendar quarter against the plan",
        ["Quarter", "Enrolled", "Cumulative", "Planned (cumulative)", "Ahead (+) / behind (-)"],
        [
            [r["group"], str(r["n"]), str(r["count"]), str(r["planned"]), _signed(r["count"] - r["planned"])]
            for r in part["accrual"].iter_rows(named=True)
        ],
        population="All enrolled subjects.",
        method=f"Plan: {inp.plan.conduct.target_enrolment} subjects over {inp.plan.conduct.accrual_months} months "
        "from the first enrolment, linear (analysis plan, [conduct]); the last quarter ends at the cut.",
    )
    sites = Table(
        "Enrolment and time to infusion by site",
        ["Site", "Enrolled", "Infused", "Days from enrolment to infusion, median (range)"],
        [
            [
                r["group"],
                str(r["n"]),
                str(r["count"]),
                ""
                if r["median_days"] is None
                else f"{day_count(r['median_days'])} ({r['min_days']:.0f}-{r['max_days']:.0f})",
            ]
            for r in part["site"].iter_rows(named=True)
        ],
        population="All enrolled subjects; days over the infused.",
    )
    visits = Table(
        "Disease assessments due and overdue at the cut, by visit",
        ["Visit", "Due", "Overdue", "Overdue (%)"],
        [
            [r["group"], str(r["n"]), str(r["count"]), f"{100 * r['count'] / r['n']:.1f}" if r["n"] else ""]
            for r in part["visit"].iter_rows(named=True)
        ]
        or [["(none due)", "", "", ""]],
        population="Infused subjects on the response schedule at the cut: alive, not withdrawn or lost, with no "
        "relapse assessment (after a remission on CAR-T or on a later therapy).",
        method="Schedule D14, D28, M2, M3, M6, M9, M12, then every 6 months (days from infusion). Due: the visit day "
        "plus its window (7 days for D14 and D28, 14 for M2 and M3, 30 after) passed by the cut; overdue: due, with no "
        "assessment labelled with the visit or inside the window.",
        notes=_all_overdue_note(part["visit"]) + _after_treatment_note(overdue),
    )
    mrd = part["mrd"].row(0, named=True)
    blocks: list[Any] = [
        accrual,
        sites,
        visits,
        Paragraph(
            f"MRD at remission assessments: {mrd['count']} of {mrd['n']} CR/CRi assessments have no MRD result "
            "(MRD defines the remission of MRD-persistent entrants and MRD-negative CR/CRi).",
        ),
    ]
    if overdue.height:
        blocks.append(
            Table(
                "Listing: overdue disease assessments",
                ["Subject", "Visit", "Due on", "After HSCT or new therapy"],
                [
                    [r["USUBJID"], r["visit"], str(r["due_date"]), "Yes" if r["after_treatment"] else ""]
                    for r in overdue.sort("due_date", "USUBJID", "visit").head(OVERDUE_LIMIT).iter_rows(named=True)
                ],
                align=["left", "left", "left", "left"],
                population="As above.",
                notes=[]
                if overdue.height <= OVERDUE_LIMIT
                else [
                    f"The {OVERDUE_LIMIT} longest overdue of {overdue.height} assessments; the others are not "
                    "listed (the counts by visit are in the table above and in conduct_summary.csv)."
                ],
            )
        )
    return Section("Trial conduct and data currency", "conduct", blocks, new_page=True)


def _signed(n: int) -> str:
    """+3, -1, and 0 (not +0)."""
    return f"{n:+d}" if n else "0"


PRODUCT_LABELS = {
    "RELEASED": "Released",
    "OOS_INFUSED": "Out of specification, infused under exception",
    "FAILED": "Manufacturing failure",
    "PENDING": "Pending at the cut, subject awaiting infusion",
}
#: a product still pending whose subject will not be infused: it is not awaited
PENDING_NOT_AWAITED = (
    "Not completed: subject not infused (death, withdrawal, loss or another reason) before its release"
)
NOT_INFUSED_APH = {
    "MANUFACTURING_FAILURE": "Manufacturing failure",
    "DEATH": "Death",
    "PROGRESSION": "Progression",
    "AE": "Adverse event",
    "WITHDRAWAL": "Withdrawal",
    "OTHER": "Other",
}


def product_block(inp: ReportInputs) -> Table | Paragraph:
    """Intention to treat and product (from the optional apheresis file): leukapheresis,
    the product's outcome, infusion, the reasons for not infusing, vein-to-vein time."""
    if inp.lacks("apheresis"):
        return Paragraph(
            "Product and vein-to-vein time: this section needs the optional apheresis file (data-contract.md: "
            "leukapheresis date, product status, release date, reason not infused); the drop has none.",
            "note",
        )
    adsl = inp.adsl
    enrolled = adsl.height
    apheresed = adsl.filter(pl.col("APHDT").is_not_null())
    rows = [["Enrolled", str(enrolled)], ["Leukapheresis", count_pct(apheresed.height, enrolled)]]
    # a pending product is awaited only while its subject is (alive, in the trial at the cut)
    awaited = (pl.col("PRODSTAT") != "PENDING") | (pl.col("NINFCAT") == "AWAITING").fill_null(False)
    for code, text in PRODUCT_LABELS.items():
        n = int(apheresed.select(((pl.col("PRODSTAT") == code) & awaited).sum()).item())
        rows.append([f"   Product: {text}", count_pct(n, apheresed.height)])
    abandoned = int(apheresed.select(((pl.col("PRODSTAT") == "PENDING") & ~awaited).sum()).item())
    if abandoned:
        rows.append([f"   Product: {PENDING_NOT_AWAITED}", count_pct(abandoned, apheresed.height)])
    infused = adsl.filter(pl.col("SAFFL") == "Y")
    rows.append(["Infused", count_pct(infused.height, enrolled)])
    not_infused = adsl.filter(pl.col("SAFFL") != "Y")
    rows.append(["Not infused", count_pct(not_infused.height, enrolled)])
    for code, text in NOT_INFUSED_APH.items():
        n = int((not_infused["APHNINF"] == code).sum())
        if n:
            rows.append([f"   {text}", count_pct(n, not_infused.height)])
    blank = not_infused.filter(pl.col("APHNINF").is_null())
    awaiting = int((blank["NINFCAT"] == "AWAITING").sum())
    if awaiting:
        rows.append(["   Awaiting infusion at the cut", count_pct(awaiting, not_infused.height)])
    # never apheresed, or no reason in the file: the follow-up's reason, the disposition table's (a reviewer
    # read "Withdrawal 2" here beside "Withdrawal before infusion 5" there, three withdrawals having no reason
    # in the apheresis file)
    unexplained = blank.filter((pl.col("NINFCAT") != "AWAITING").fill_null(True))
    counted = 0
    for code, text in labels.NOT_INFUSED.items():
        n = int((unexplained["NINFCAT"] == code).sum())
        counted += n
        if n:
            label = f"   No apheresis-file reason at the cut; follow-up: {text}"
            rows.append([label, count_pct(n, not_infused.height)])
    if unexplained.height - counted:  # every subject not infused is in a row
        rows.append(
            [
                "   No apheresis-file reason at the cut, none in the follow-up",
                count_pct(unexplained.height - counted, not_infused.height),
            ]
        )
    v2v = infused["V2VDY"].drop_nulls().cast(pl.Float64).to_list()
    rows.append(
        [
            "Vein-to-vein days (leukapheresis to infusion), median (range)",
            median_range(statistics.median(v2v), min(v2v), max(v2v)) if v2v else "",
        ]
    )
    return Table(
        "Intention to treat: leukapheresis, product and infusion",
        ["", "n (%)"],
        rows,
        population="All enrolled subjects. Percentages: leukapheresis, infused and not infused of the enrolled; "
        "products of those with leukapheresis; reasons not infused of the not infused.",
        method="Optional apheresis file; a product released after the cut is pending at the cut, and one "
        "still pending whose subject died, withdrew or was lost by the cut is not completed. A subject not "
        "infused without a reason in the apheresis file is counted by the follow-up's reason, as in the "
        "disposition table. The file's reasons are undated: they count at a cut on or after the drop's latest "
        "record; at an earlier cut every subject is counted by the follow-up (or a FAILED product).",
    )
