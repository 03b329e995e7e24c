"""Page 1 (the executive summary, stopping rules first) and the last section (what
the report was made from)."""

from __future__ import annotations

from typing import Any

import polars as pl

from trial_outcomes import labels
from trial_outcomes.analysis.deaths import treatment_related_deaths
from trial_outcomes.analysis.rates import EFFICACY_POPULATION, ITT_POPULATION
from trial_outcomes.analysis.syndromes import OUTSIDE_CHECK, OUTSIDE_QUERIED_FROM_GRADE, outside_counts
from trial_outcomes.formatting import (
    ENDED_NOTE,
    FEW_AT_RISK,
    FEW_AT_RISK_MARK,
    count_pct,
    few_at_median,
    landmark_rate,
    median_months_days,
    months,
    pct_ci,
)
from trial_outcomes.io.validation import NEW_THERAPY_QUERIED_BEFORE_DAY
from trial_outcomes.reporting.content import Facts, Figure, Paragraph, Section, Table
from trial_outcomes.reporting.inputs import ReportInputs
from trial_outcomes.reporting.safety import (
    before_infusion_headline,
    lookalike_headline,
    revised_headline,
)

#: an endpoint whose population is empty at the cut (before the first infusion or remission)
NO_SUBJECTS = "no subjects in its population at the cut"


def _row(frame: pl.DataFrame, **where: str) -> dict[str, Any] | None:
    found = frame
    for column, value in where.items():
        found = found.filter(pl.col(column) == value)
    return found.row(0, named=True) if found.height else None


def _rate(r: dict[str, Any] | None, x: str = "responders", n: str = "n") -> str:
    if r is None:
        return "not evaluated"
    return f"{r[x]}/{r[n]}, {pct_ci(r['rate'], r['rate_lcl'], r['rate_ucl'])}"


def _itt_rate(r: dict[str, Any]) -> str:
    """The intention-to-treat rate, its pending subjects named with the enrolled they are
    of: a DSMB reader read "all enrolled (ITT) 25/30" beside 34 enrolled (4 pending)."""
    pending = r.get("n_pending") or 0
    return _rate(r) + (f" ({pending} of {r['n'] + pending} pending)" if pending else "")


HEADLINE = "Headline results"


#: the data queries that may move a stopping rule, said beside the rules (and listed below with
#: the others), in this order
BESIDE_THE_RULES = {
    "adverse_events_current": "The AE export may be older than the others (a data query below): the safety rule "
    "counts only the events it holds, and may be crossed by events not yet exported.",
    "early_deaths_have_fatal_ae": "Deaths within the safety rule's window have no treatment-emergent grade-5 "
    "adverse event (a data query below): the safety rule counts an early death only as a related grade-5 AE or a "
    "death from CRS or ICANS, and may be crossed once their fatal AEs are recorded.",
    "new_therapy_plausible": "A new therapy may be supportive care or a transplant, or comes before day "
    f"{NEW_THERAPY_QUERIED_BEFORE_DAY} (a data query below): it ends its subject's treatment-emergent window and "
    "response attribution, so both rules may count that subject otherwise once the query is answered.",
    "hsct_plausible": f"An HSCT comes before day {NEW_THERAPY_QUERIED_BEFORE_DAY} (a data query below): it ends its "
    "subject's response attribution before the day-28 window opens, so the efficacy rule counts a non-responder, "
    "and may count a responder once the query is answered.",
    "rule_toxicity_before_other_therapy": "A grade-4 or grade-5 CRS or ICANS, a related fatal adverse event or a "
    "death from CRS or ICANS falls on or after its subject's first HSCT or new therapy (a data query below): the "
    "therapy ends the treatment-emergent window, so the safety rule counts none of them, and keeps each subject in "
    "its denominator without an event.",
}


def _without_conclusion(rule: dict[str, Any]) -> str:
    """A rule's data without the conclusion page 1 says above it (page 1 is one page)."""
    conclusion = rule.get("conclusion")
    return rule["data"].replace(f"; {conclusion}", "") if conclusion else rule["data"]


def stopping_blocks(inp: ReportInputs) -> list[Any]:
    """The stopping rules on page 1, always: a crossed boundary in red first, then
    every rule with the data it saw and its boundary (endpoints.md, Interim analyses)."""
    rules = inp.table("stopping_rules")
    crossed = rules.filter(pl.col("crossed"))
    blocks: list[Any] = []
    for r in crossed.iter_rows(named=True):
        blocks.append(
            Paragraph(f"STOPPING BOUNDARY CROSSED - {r['rule']}: {r['data']}. Rule: {r['boundary']}.", "alert")
        )
    if crossed.is_empty():
        blocks.append(Paragraph("No stopping boundary crossed at this cut.", "ok"))
    # a design whose last stage is complete says its result first: a DSMB reader found "35 of the
    # first 43 responded" inside the rule's data, under "No stopping boundary crossed" (2026-12-07)
    concluded = rules.filter(pl.col("conclusion").is_not_null()) if "conclusion" in rules.columns else rules.head(0)
    for r in concluded.iter_rows(named=True):
        said = f"{r['rule']}: {r['conclusion']}."
        blocks.append(Paragraph(said, "alert" if "not rejected" in r["conclusion"] else "ok"))
    checks = {q.check for q in inp.queries}
    blocks += [Paragraph(said, "alert") for check, said in BESIDE_THE_RULES.items() if check in checks]
    blocks.append(
        Facts(
            "Stopping rules at this cut",
            [
                (
                    f"{r['rule']}: {'BOUNDARY CROSSED' if r['crossed'] else 'not crossed'}",
                    # a crossed rule's data and boundary are the red box's above: not said twice
                    "As stated above." if r["crossed"] else f"{_without_conclusion(r)}. Rule: {r['boundary']}.",
                    "alert" if r["crossed"] else "normal",
                )
                for r in rules.iter_rows(named=True)
            ],
        )
    )
    if "stopping_history.svg" in inp.figures:
        cuts = inp.table("stopping_history")["cut"].n_unique()
        blocks.append(
            Figure(
                "plots/stopping_history.svg",
                "Stopping rules across the published cuts",
                f"Each rule's statistic at the {cuts} cut(s) published here up to this one, against its boundary "
                "(dashed; under another plan, its own); red: crossed; hollow: past the line, not yet judged "
                "(too few evaluable for the safety rule, or Simon's stage 1 not complete).",
                # page 1 holds the headline results beside it, and at an interim cut the data cut's note
                # (80 % ran page 1 onto a second page there, a re-verifier's: 2026-12-07)
                width=64,
            )
        )
    return blocks


def data_cut_text(inp: ReportInputs) -> str:
    """The cut, and for a planned cut later than the drop's latest record the gap in
    days (endpoints.md, Time and populations), with the extraction date when known. A
    cut before the latest record (a later export cut again at an earlier date) says
    what of the export can still reach it: an AE's attributes are as exported."""
    text = inp.cut
    gap = inp.days_after_latest_record
    if gap and inp.extracted_on:
        # the extraction date makes the export complete to the cut (TrialDrop.seen_to): a red
        # team's page 1 said the windows closed by the latest record, where they closed by the cut
        text += (
            f" (planned cut: {gap} day{'s' if gap != 1 else ''} after the drop's latest record, "
            f"{inp.latest_record}; the drop's extraction date makes the export complete to the cut: subjects "
            "without later news are censored at their last contact, and counted free of events in the stopping "
            "rules' and safety rates' windows to the cut)"
        )
    elif gap:
        text += (
            f" (planned cut: {gap} day{'s' if gap != 1 else ''} after the drop's latest record, "
            f"{inp.latest_record}; subjects without later news are censored at their last contact, and the "
            "stopping rules' and safety rates' windows close by that record)"
        )
    elif inp.latest_record and inp.latest_record > inp.cut:
        text += (
            f" (the export runs to {inp.latest_record}: records after the cut are left out; an AE begun by the "
            "cut keeps the export's grade, seriousness and treatment, but a grade 5 by a later death reads 4)"
        )
    if inp.extracted_on:
        text += f"; drop extracted on {inp.extracted_on}"
    return text


def dsmb_package_items(inp: ReportInputs) -> list[tuple[str, str, str]]:
    """Page 1's lines from the optional files: severe early haematotoxicity, and the
    long-term signals a board must see first (a T-cell malignancy, a positive RCL assay)."""
    items = []
    if inp.labs is not None and inp.labs.has_labs:
        early = inp.labs.subjects["early_icaht"].drop_nulls()
        if early.len():  # nobody evaluable (no ANC after infusion, or day 30 after the cut): no line
            severe = int((early >= 3).sum())
            text = f"{severe} of {early.len()} evaluable ({100 * severe / early.len():.1f}%)"
            items.append(("Early ICAHT grade >= 3 (days 0-30)", text, "normal"))
    if inp.long_term is not None and not inp.lacks("long_term_followup"):
        by_event = {r["event"]: r for r in inp.long_term.iter_rows(named=True)}
        t_cell = by_event["T_CELL_MALIGNANCY"]["n_subjects"]
        positive = by_event["RCL_POSITIVE"]["n_subjects"]
        tested = by_event["RCL_POSITIVE"]["n_population"]
        # subjects with an assay, a pending one included: said so (a DSMB reviewer's "of 102
        # tested" held a subject with one pending assay and no result: 2026-12-07)
        pending = by_event["RCL_PENDING"]["n_subjects"]
        # a secondary malignancy whose text names a T-cell one is said here, where the board reads the count
        queried = any(q.check == "malignancy_category_plausible" for q in inp.queries)
        items.append(
            (
                "Long-term safety: secondary malignancies; RCL",
                f"{by_event['SECONDARY_MALIGNANCY']['n_subjects']} subject(s) with a secondary malignancy, {t_cell} "
                f"with a T-cell malignancy; RCL positive in {positive} of {tested} subject(s) with an assay"
                + (f" ({pending} with a result pending)" if pending else "")
                + (
                    ". A long-term event's text names a malignancy of another category (a T-cell malignancy, "
                    "the trial's own leukaemia, a malignancy coded as a new disorder): "
                    "counted as coded until the data query is answered"
                    if queried
                    else ""
                ),
                "alert" if t_cell or positive or queried else "normal",
            )
        )
    return items


#: the long-term events page 1 names one by one in the closed report
SIGNALS = {"SECONDARY_MALIGNANCY": "secondary malignancy", "T_CELL_MALIGNANCY": "T-cell malignancy"}


def long_term_signals(events: pl.DataFrame | None) -> list[Paragraph]:
    """The closed report's page-1 line naming each malignancy and positive RCL assay of the
    long-term listing: subject, day from infusion, what it was as the site wrote it (a DSMB
    reader's myelodysplastic syndrome after a lentiviral product was "1 subject(s) with a
    secondary malignancy" on page 1, its subject and type 60 pages on). Subject-level: the
    open report keeps the counts of the headline line only."""
    if events is None:
        return []
    shown = events.filter(
        pl.col("event").is_in(list(SIGNALS)) | ((pl.col("event") == "RCL_TEST") & (pl.col("result") == "POSITIVE"))
    )
    if not shown.height:
        return []
    named = [
        f"{r['USUBJID']}, day {r['ADY']}: {SIGNALS.get(r['event'], 'positive RCL assay')}"
        + (f" ({r['detail']})" if r["detail"] else "")
        for r in shown.head(10).iter_rows(named=True)
    ]
    more = f"; {shown.height - 10} more in the long-term listing" if shown.height > 10 else ""
    signal = bool(shown.filter(pl.col("event") != "SECONDARY_MALIGNANCY").height)  # as the headline line's red
    said = f"Long-term events named (closed report): {'; '.join(named)}{more}."
    return [Paragraph(said, "alert" if signal else "normal", subject_level=True)]


def summary_note(items: list[tuple[str, str, str]]) -> str:
    """The note under page 1's headline results; what "0 at risk" means only where one of
    them shows it (page 1 is one page, and an interim cut's ran over by the note's last lines)."""
    ended = f"; {ENDED_NOTE}" if any("; 0 at risk" in value for _, value, _ in items) else ""
    return (
        "Rates over evaluable subjects, exact Clopper-Pearson 95% CIs; a subject whose response window is "
        "open at the cut is pending, responder so far or not, in neither numerator nor denominator (the "
        "futility rule's set). Medians and rates: Kaplan-Meier (CIR: Aalen-Johansen, death in remission "
        "competing), log-log 95% CIs (NR: not reached; NE: not estimable); each rate, and a median with "
        f"fewer than {FEW_AT_RISK} followed at it, with its number at risk ({FEW_AT_RISK_MARK}: fewer than "
        f"{FEW_AT_RISK}{ended}). Grades: ASTCT 2019, the higher of the reported and the derived."
    )


def executive_summary(inp: ReportInputs) -> Section:
    adsl = inp.adsl
    all_response = inp.table("response_summary")
    response = all_response.filter(pl.col("population") == EFFICACY_POPULATION)
    itt = all_response.filter(pl.col("population") == ITT_POPULATION)
    survival = inp.table("survival_summary")
    details = inp.table("survival_details")
    safety = inp.table("safety_summary")
    followup = inp.table("followup_summary").row(0, named=True)
    items: list[tuple[str, str, str]] = [
        ("Data cut", data_cut_text(inp), "alert" if inp.days_after_latest_record else "normal"),
        ("Data drop", f"SHA-256 {inp.drop_sha256[:16]}... ({len(inp.drop_files)} files)", "normal"),
        *data_queries_headline(inp),
    ]
    if inp.qc_finding:
        style = {"agree": "ok", "disagree": "alert", "failed": "alert"}.get(inp.qc_status or "", "normal")
        items.append(
            ("Independent QC (double programming in R)", inp.qc_finding[:1].upper() + inp.qc_finding[1:], style)
        )
    if inp.supersedes:
        items.append(
            (
                "Supersedes",
                f"version {inp.supersedes['version']} of this cut (drop "
                f"{inp.supersedes['drop_sha256'][:16]}...): {inp.supersedes['reason']}",
                "alert",
            )
        )
    items += revised_headline(inp)
    enrolled, infused = adsl.height, int((adsl["SAFFL"] == "Y").sum())
    efficacy = int((adsl["EFFFL"] == "Y").sum())
    pending = int(((adsl["EFFFL"] == "Y") & (adsl["D28PNDFL"] == "Y")).sum())
    # the day-28 denominator named beside the efficacy set: a reviewer read "56 evaluable"
    # above a rate over 47 (9 pending)
    items.append(
        (
            "Enrolled / infused / efficacy set",
            f"{enrolled} / {infused} / {efficacy}"
            + (f" ({efficacy - pending} evaluable for day 28, {pending} pending)" if pending else ""),
            "normal",
        )
    )
    cr = _row(response, parameter="CR/CRi by day 28", group_var="all")
    orr = _row(response, parameter="ORR3M: CR/CRi within 3 months, maintained 28 days", group_var="all")
    cr_itt = _row(itt, parameter="CR/CRi by day 28", group_var="all")
    orr_itt = _row(itt, parameter="ORR3M: CR/CRi within 3 months, maintained 28 days", group_var="all")
    items.append(
        ("CR/CRi by day 28", _rate(cr) + (f"; all enrolled (ITT) {_itt_rate(cr_itt)}" if cr_itt else ""), "normal")
    )
    items.append(
        (
            "ORR3M (CR/CRi within 3 months, maintained 28 days)",
            _rate(orr) + (f"; all enrolled (ITT) {_itt_rate(orr_itt)}" if orr_itt else ""),
            "normal",
        )
    )
    shown = list(inp.plan.landmark_months[:2])  # endpoints.md v3: the plan's first two landmarks, whatever they are
    for endpoint in ("OS", "EFS", "DFS"):
        r = _row(survival, endpoint=endpoint, analysis="primary", group_var="all")
        if r is None:
            continue
        d = _row(details, endpoint=endpoint, analysis="primary", group_var="all") or {}
        rates = "; ".join(f"{m} mo {landmark_rate(r, d, m)}" for m in shown)
        items.append(
            (
                f"{labels.endpoint(endpoint)} ({endpoint}): median; rates",
                NO_SUBJECTS
                if not r["n"]
                else few_at_median(
                    median_months_days(r["median_days"], r["median_lcl_days"], r["median_ucl_days"]),
                    d.get("median_nrisk"),
                )
                + (f"; {rates}" if rates else ""),
                "normal",
            )
        )
    cir = _row(survival, endpoint="CIR", analysis="primary", group_var="all")
    if cir is not None and shown:
        # the same landmarks as the survival endpoints' (until 2026-12-07 the first alone: a
        # statistician's re-derivation found CIR at 6 months beside OS, EFS and DFS at 6 and 12)
        d = _row(details, endpoint="CIR", analysis="primary", group_var="all") or {}
        items.append(
            (
                f"{labels.endpoint('CIR')} (CIR): rates",
                NO_SUBJECTS if not cir["n"] else "; ".join(f"{m} mo {landmark_rate(cir, d, m)}" for m in shown),
                "normal",
            )
        )
    for measure in ("Grade >= 3 CRS (adjudicated)", "Grade >= 3 ICANS (adjudicated)"):
        r = _row(safety, measure=measure)
        if r is not None:
            # the evaluable denominator (followed through the window, or with the event) beside
            # the safety set's, which the CRS and ICANS table uses: a reviewer saw 13/52 here and
            # 13/56 there for the same events
            whole = f"; {r['n_events']}/{infused} of all infused" if r["n"] < infused else ""
            items.append((measure, _rate(r, "n_events") + whole, "normal"))
    queried = lookalike_headline(inp.adae)
    if queried is not None:
        items.append(queried)
    early = before_infusion_headline(inp.adae)
    if early is not None:
        items.append(early)
    support = inp.unfevered_support
    if support is not None and support.height:
        # the monitoring cannot show a fever antipyretics mask: said beside the safety rule's rates
        items.append(
            (
                "CRS monitoring: organ support without fever, graded 0",
                f"{support.height} day(s) in {support['subject_id'].n_unique()} subject(s) on a vasopressor or "
                "high-flow oxygen or more, without fever outside a treated CRS: a CRS grade 3 or 4 if antipyretics "
                "masked the fever, counted by neither the rates above nor the safety stopping rule until the query "
                "is answered (check crs_grading:organ_support_has_fever)",
                "alert",
            )
        )
    items += outside_window_items(inp)
    items += dsmb_package_items(inp)
    deaths = adsl.filter(pl.col("DTHDT").is_not_null())
    d30 = int((adsl["DTH30FL"] == "Y").sum())
    d100 = int((adsl["DTH100FL"] == "Y").sum())
    group = {g: int((adsl["DTHCGR1"] == g).sum()) for g in labels.DEATH_GROUPS}
    # an unknown cause in remission counts as NRM (endpoints.md v3, as registries count it): say how many
    unknown = int(((adsl["DTHCGR1"] == "NRM") & (adsl["DTHCAT"] == "UNKNOWN")).sum())
    related = treatment_related_deaths(adsl, inp.adae)
    items.append(
        (
            "Deaths",
            f"{deaths.height} of {enrolled} enrolled ({d30} within 30 days of infusion, {d100} within 100): "
            f"{group['LEUKEMIA']} from leukaemia, {group['NRM']} non-relapse mortality (in remission"
            + (f"; {unknown} of unknown cause, queried" if unknown else "")
            + f"), {group['NOT_IN_REMISSION']} of another cause out of remission; {len(related)} attributed to the "
            "treatment (a related grade-5 AE, or CRS or ICANS the cause)",
            "normal",
        )
    )
    items.append(
        (
            "Median follow-up (reverse Kaplan-Meier of OS)",
            f"{months(followup['median_followup_days'])} months (range {months(followup['min_days'])}-"
            f"{months(followup['max_days'])})",
            "normal",
        )
    )
    blocks: list[Any] = [*stopping_blocks(inp), Facts(HEADLINE, items), *long_term_signals(inp.long_term_events)]
    blocks.append(Paragraph(summary_note(items), "note"))
    return Section("Executive summary", "summary", blocks)


#: each warning on the whole drop as page 1 names it (``DropQuery.check``)
QUERY_TITLES = {
    "known_files": "files in the drop folder never read",
    "known_columns": "columns outside the data contract dropped unread",
    "no_assessment_after_withdrawal": "disease assessments after a withdrawal or a loss to follow-up, or contacts "
    "after a loss",
    "latest_date_plausible": "a latest date far from every other, or an extraction date long after it",
    "one_spelling_per_value": "AE terms, SOCs or sites written more than one way, each counted under one spelling",
    "adverse_events_current": "an AE export that may be older than the others",
    "early_deaths_have_fatal_ae": "early deaths with no treatment-emergent grade-5 adverse event, counted by no "
    "stopping rule",
    "crs_resolved": "CRS adverse events lasting, or left open, for weeks (a treated one masks fever in the CRS "
    "grading)",
    "new_therapy_plausible": "new therapies that may be supportive care or a transplant, or come before the day-28 "
    "response window or a remission assessed in it (each ends the treatment-emergent window and response "
    "attribution)",
    "hsct_plausible": "HSCTs before the day-28 response window or a remission assessed in it (the remission not the "
    "CAR-T's)",
    "relapse_recorded": "relapses named only in a follow-up record's or a long-term event's text, counted by no "
    "relapse endpoint",
    "rule_toxicity_before_other_therapy": "grade-4 or grade-5 CRS or ICANS, related fatal adverse events or deaths "
    "from CRS or ICANS after a first HSCT or new therapy, counted by no stopping rule",
    "awaiting_infusion_plausible": "subjects awaiting infusion for months with nothing recorded to say why, out of "
    "the intention-to-treat denominator",
    "malignancy_category_plausible": "long-term events whose text names a malignancy of another category (a T-cell "
    "malignancy, the trial's own leukaemia coming back, a malignancy coded as a new disorder)",
    "lab_units_plausible": "laboratory values that may be in another unit or measure than the contract's",
    "transgene_after_infusion": "CAR transgene quantified in a subject never infused or before the first infusion",
    "not_infused_death_recorded": "deaths given by the apheresis file as the reason not infused, with no death in "
    "follow-up (missing from the deaths table)",
    "death_recorded": "deaths named only in the text of a follow-up record or a long-term event, with no death in "
    "follow-up (the subject counted alive)",
    "enrolment_plausible": "subjects that may be one child registered twice, or marrow blasts that may be written "
    "as fractions",
    "ae_entered_once": "adverse events entered twice under two ids, or two events to confirm (both counted)",
    "assessments_plausible": "disease assessments whose date or values contradict the visit or the response (a "
    "day-28 visit outside its window, a relapse written on a remission, MRD that may be fractions)",
}


#: how the numbers read a drop with the query ``one_spelling_per_value``
SPELLINGS_NOTE = ", except that an AE term, SOC or site written several ways is counted once, under one spelling"


def _first_capital(title: str) -> str:
    """A title with its first letter a capital and the rest as written ("AE terms", not
    ``str.capitalize``'s "Ae terms")."""
    return title[:1].upper() + title[1:]


def outside_window_items(inp: ReportInputs) -> list[tuple[str, str, str]]:
    """Page 1's line for each syndrome's monitoring days outside the grading window that
    would grade 3 or more, or need organ support without fever (``outside_window``): until
    2026-12-06 a run warning and a Dagster check said them, and no page a board reads, though
    no rate and no stopping rule counts them (a red team's grade-4 CRS days of a subject with
    no infusion row)."""
    items = []
    for syndrome, days in inp.outside_window.items():
        if not days.height:
            continue
        support = ", or on organ support without fever" if syndrome == "CRS" else ""
        items.append(
            (
                f"{syndrome} monitoring outside the grading window",
                f"{days.height} day(s) in {days['subject_id'].n_unique()} subject(s) at grade "
                f"{OUTSIDE_QUERIED_FROM_GRADE} or more{support} ({outside_counts(days)}): counted by no rate and "
                "no stopping rule, as the grading window says, but more often a date or a record wrong than a "
                f'{syndrome} of another cause: queried (the closed report lists them under "Listings"; check '
                f"{syndrome.lower()}_grading:{OUTSIDE_CHECK})",
                "alert",
            )
        )
    return items


def data_queries_headline(inp: ReportInputs) -> list[tuple[str, str, str]]:
    """Page 1's line for the data queries, if any: the warnings on the whole drop (the
    run's checks and the CLI say them too), and the Deaths section's queries on a cause
    of death (until 2026-12-04 page 1 did not count those). A board reads the numbers
    knowing the drop had them. The count is of the kinds of query named, each once (a
    query on the columns of several files is one), the deaths' each with its deaths."""
    named = list(dict.fromkeys(QUERY_TITLES.get(q.check, q.check) for q in inp.queries))
    deaths = inp.death_query_titles
    if not named and not deaths:
        return []
    where = (['"About this report"'] if named else []) + (['"Deaths" (the causes of death)'] if deaths else [])
    return [
        (
            "Data queries on this drop",
            f"{len(named) + len(deaths)} open, none blocking: {'; '.join(named + deaths)}. The numbers use "
            "the drop as exported"
            + (SPELLINGS_NOTE if any(q.check == "one_spelling_per_value" for q in inp.queries) else "")
            + f"; each query is stated under {' and '.join(where)}.",
            "alert",
        )
    ]


def data_queries_table(inp: ReportInputs) -> Table:
    titles = [_first_capital(QUERY_TITLES.get(q.check, q.check)) for q in inp.queries]
    return Table(
        "Data queries raised on this drop",
        ["Query", "What the validation found"],
        [[title, q.finding] for title, q in zip(titles, inp.queries, strict=True)],
        open_rows=[[title, q.open_finding] for title, q in zip(titles, inp.queries, strict=True)],
        align=["left", "left"],
        method="Warnings of the drop's validation (the run's checks trial_drop and raw/*:known_columns), "
        "not refusals: the analysis uses the drop as exported"
        + (SPELLINGS_NOTE if any(q.check == "one_spelling_per_value" for q in inp.queries) else "")
        + ", and the data manager answers each query before the next cut.",
    )


def absent_notes(inp: ReportInputs) -> list[str]:
    """What the drop lacks of the optional files and columns, each with what the report
    does without it (data-contract.md: "the report says what is absent")."""
    absent = []
    if inp.lacks("adverse_events", "soc"):
        absent.append(
            'adverse_events has no soc column: SOC tables show every term under "Not coded", and grade '
            ">= 3 infections are recognised by their terms."
        )
    if inp.lacks("followup", "cause_category"):
        absent.append(
            "followup has no cause_category column: causes of death are categorised by the keyword rule "
            "on the cause text (leukaemia, relapse, refractory, progression mean LEUKEMIA)."
        )
    if inp.lacks("infusion", "bridging"):
        absent.append("infusion has no bridging column: bridging therapy is not reported.")
    if inp.lacks("labs", "below_lloq") and not inp.lacks("labs"):
        absent.append(
            "labs has no below_lloq column, or leaves it blank: every CAR transgene value is taken as quantified "
            "(none below the limit "
            "of quantification), so Tlast and AUC0-28d use them as measured."
        )
    for record, name in (("crs_monitoring", "CRS"), ("icans_monitoring", "ICANS")):
        if inp.lacks(record):
            absent.append(
                f"The drop has no {record} file: the {name} grade is the reported one only (no derived "
                "grade, no discrepancy listing)."
            )
    return absent


def about(inp: ReportInputs) -> Section:
    """What the report was made from: drop and files, code, plan, and what the drop lacks."""
    rows = [
        ["Data cut", inp.cut],
        ["Drop SHA-256", inp.drop_sha256],
        *[[f"File {name}", sha] for name, sha in inp.drop_files.items()],
        ["Code version", inp.code_version],
        ["Analysis plan SHA-256", inp.plan.sha256],
        ["Subgroups", ", ".join(labels.variable(s) for s in inp.plan.subgroups)],
        ["Landmarks", ", ".join(f"{m} months" for m in inp.plan.landmark_months)],
        ["HSCT landmark day", str(inp.plan.hsct_landmark_day)],
    ]
    if inp.supersedes:
        rows += [
            ["Supersedes version", inp.supersedes["version"]],
            ["Superseded drop SHA-256", inp.supersedes["drop_sha256"]],
            ["Reason", inp.supersedes["reason"]],
        ]
    absent = absent_notes(inp)
    blocks: list[Any] = [
        Table(
            "Provenance of this report",
            ["Item", "Value"],
            rows,
            align=["left", "left"],
            method="manifest.json in the cut's folder records the same, with every output's hash.",
        )
    ]
    if inp.queries:
        blocks.append(data_queries_table(inp))
    if absent:
        blocks.append(Paragraph("What the drop does not have: " + " ".join(absent), "note"))
    return Section("About this report", "about", blocks, new_page=True)


def disposition_table(inp: ReportInputs) -> Table:
    adsl = inp.adsl
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    n = safety.height
    evaluable, protocol = adsl["EFFFL"] == "Y", adsl["PPROTFL"] == "Y"
    pending = adsl["D28PNDFL"] == "Y"
    # the two analysis sets are each a part of the safety set, and the status rows add up to
    # it: all three indented under it (a DSMB reviewer read the status rows, indented under
    # the per-protocol set, as a part of it: 2026-12-07)
    rows = [
        ["Enrolled", str(adsl.height)],
        ["Infused (safety set)", str(n)],
        ["   Efficacy set (response analyses)", count_pct(int(evaluable.sum()), n)],
        # the day-28 rates' evaluable are the efficacy set less these: a statistician read 57
        # "evaluable for response" here beside 51 evaluable in the response table (2026-12-07)
        ["      Day-28 response pending at the cut", count_pct(int((evaluable & pending).sum()), n)],
        ["   Per-protocol set (infused and eligible)", count_pct(int(protocol.sum()), n)],
        ["   In both the efficacy and per-protocol sets", count_pct(int((evaluable & protocol).sum()), n)],
        ["Status of the infused at the data cut", ""],
    ]
    for status, text in (
        ("ONGOING", "Ongoing at the cut"),
        ("DIED", "Died"),
        ("WITHDRAWN", "Withdrawn"),
        ("LOST", "Lost to follow-up"),
    ):
        rows.append([f"   {text}", count_pct(int((safety["DISPSTAT"] == status).sum()), n)])
    rows.append(["   Consolidative HSCT after CAR-T", count_pct(int(safety["HSCTDT"].is_not_null().sum()), n)])
    rows.append(["   New anti-leukemia therapy after CAR-T", count_pct(int(safety["NTHERDT"].is_not_null().sum()), n)])
    return Table(
        "Disposition at the data cut",
        ["Subjects", "n (% of infused)"],
        rows,
        population="All enrolled subjects; percentages of the safety set.",
        notes=[
            "The efficacy set leaves out the infused withdrawn before any assessment; the day-28 response rates "
            "count it less those pending (their day-42 window open at the cut). The per-protocol set leaves out "
            "the infused not shown eligible. Ongoing, died, withdrawn and lost add up to the safety set."
        ],
    )
