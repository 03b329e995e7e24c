"""Report sections on safety: headline rates, adverse events by SOC and term, AESI,
CRS and ICANS, deaths; then the course of each subject, the stopping rules and
what changed since the previous cut."""

from __future__ import annotations

from typing import Any

import polars as pl

from trial_outcomes import labels
from trial_outcomes.analysis.cut_comparison import CODE_ITEM, NAMING_ITEMS, PLAN_ITEM, REVISED_ITEMS
from trial_outcomes.analysis.deaths import (
    KEYWORD_RULE,
    REPORTED,
    cause_category_from_text,
    coded_against_text,
    in_remission_at_death,
    treatment_related_deaths,
)
from trial_outcomes.analysis.listings import AESI, GRADE3, REPORT_EVENTS, REPORT_NARRATIVES, SAE
from trial_outcomes.analysis.syndromes import OUTSIDE_CHECK, OUTSIDE_QUERIED_FROM_GRADE, before_infusion
from trial_outcomes.analysis.terms import crs_absence_query, lookalike_terms, lookalike_text, oddity
from trial_outcomes.formatting import FEW_AT_RISK_MARK, FEW_AT_RISK_NOTE, count_pct, median_range, pct_ci
from trial_outcomes.reporting.content import Figure, Paragraph, Section, Table
from trial_outcomes.reporting.efficacy import listing
from trial_outcomes.reporting.figures.specs import SWIMMER_LIMIT
from trial_outcomes.reporting.inputs import ReportInputs
from trial_outcomes.text import printable

SAFETY_POPULATION = "Safety set (infused subjects)."
TEAE = (
    "Treatment-emergent: onset from the first day of lymphodepletion until the first HSCT or new "
    "anti-leukemia therapy. Subjects counted once per row at their worst grade."
)
#: the AE tables count each AE record's grade; the board must not mistake it for the adjudicated one
AS_REPORTED = (
    " Grades as reported on the AE record (the investigator's); for CRS and ICANS the adjudicated grade "
    "(the higher of the reported and the grade derived from daily monitoring), which the headline rates "
    "and the safety stopping rule use, is in the CRS and ICANS table and can be higher."
)


def _unrecorded_relapse_note(died: pl.DataFrame) -> str:
    """The deaths from leukaemia of subjects who reached a CAR-T remission with no relapse
    recorded before them, named ("in remission" until 2026-12-07: a statistician's subject
    had lost the remission, NR at every assessment after day 14, without a relapse record):
    CIR and DOR count each as a relapse on its day (endpoints.md: the relapse was not
    assessed before death), while the listing says "After relapse: N" (a DSMB reviewer
    counted 42 CIR events beside 40 relapses, and found no word why: 2026-12-07)."""
    unrecorded = died.filter(
        (pl.col("DTHCAT") == "LEUKEMIA")
        & pl.col("DTHDY").is_not_null()  # infused
        & in_remission_at_death()
    )
    if not unrecorded.height:
        return ""
    names = ", ".join(sorted(unrecorded["USUBJID"].to_list()))
    return (
        f" {unrecorded.height} death(s) from leukaemia after a CAR-T remission with no relapse recorded ({names}): "
        "CIR and DOR count each as a relapse on the day of death (the relapse not assessed before it), so they "
        "have more relapse events than the relapses listed; please confirm whether a relapse assessment is missing "
        "(an assessment of no response after the remission is not a relapse record)."
    )


def headline_table(inp: ReportInputs) -> Table:
    rows = [
        [r["measure"], f"{r['n_events']}/{r['n']}", pct_ci(r["rate"], r["rate_lcl"], r["rate_ucl"])]
        for r in inp.table("safety_summary").iter_rows(named=True)
    ]
    return Table(
        "Headline safety rates",
        ["Measure", "n/N", "Rate (95% CI)"],
        rows,
        population="Safety set (infused subjects), each rate over those it can be known for at the cut (N).",
        method="Exact Clopper-Pearson 95% CIs. CRS and ICANS by ASTCT 2019; adjudicated grade: the higher of "
        "the investigator's and the grade derived from daily monitoring. N is the subjects each rate can be known "
        f"for at the cut: grade >= 3 CRS and ICANS, those infused {inp.plan.safety.window_days} days "
        "before it (the safety rule's window) and not withdrawn or lost to follow-up within it, or with the "
        "event; deaths within 30 and 100 days, those infused that long before it and not withdrawn or lost "
        "within it, or dead within it. NRM: the safety set. An event counts as soon as it occurs, "
        "before its subject completes the window: at an early cut a rate leans high, the cautious side for "
        "safety (the efficacy rule's symmetric set keeps a response rate from leaning high).",
    )


def soc_table(inp: ReportInputs, table_name: str) -> Table:
    part = inp.table("ae_soc_summary").filter(pl.col("table") == table_name)
    rows: list[list[str]] = []
    bold: list[int] = []
    for r in part.iter_rows(named=True):
        if r["row_type"] == "overall":
            label = "Any TEAE" if table_name == "All TEAEs" else f"Any {table_name.lower().replace('teaes', 'TEAE')}"
        elif r["row_type"] == "soc":
            label = r["soc"]
        else:
            label = f"   {r['term']}"
        if r["row_type"] != "term":
            bold.append(len(rows))
        n = r["n_safety"]
        rows.append([label, count_pct(r["n_any"], n), count_pct(r["n_grade3plus"], n), count_pct(r["n_grade5"], n)])
    notes = []
    if inp.lacks("adverse_events", "soc"):
        notes.append('The drop codes no system organ class: every term is under "Not coded".')
    return Table(
        f"{table_name} by system organ class and preferred term",
        ["SOC / preferred term", "Any grade", "Grade >= 3", "Grade 5"],
        rows,
        bold_rows=bold,
        population=SAFETY_POPULATION,
        method=TEAE + AS_REPORTED,
        notes=notes,
    )


def pt_grade_table(inp: ReportInputs) -> Table:
    rows = [
        [
            r["term"],
            count_pct(r["n_any"], r["n_safety"]),
            count_pct(r["n_grade3plus"], r["n_safety"]),
            *[str(r[f"n_grade{g}"]) for g in range(1, 6)],
        ]
        for r in inp.table("ae_summary").iter_rows(named=True)
    ]
    return Table(
        "Treatment-emergent adverse events by preferred term and worst grade",
        ["Preferred term", "Any grade", "Grade >= 3", "G1", "G2", "G3", "G4", "G5"],
        rows,
        bold_rows=[0],
        population=SAFETY_POPULATION,
        method=TEAE + " CRS and ICANS graded by ASTCT 2019, others by CTCAE v5.0." + AS_REPORTED,
    )


def aesi_table(inp: ReportInputs) -> Table:
    rows = [
        [
            r["category"],
            count_pct(r["n_any"], r["n_safety"]),
            count_pct(r["n_grade3plus"], r["n_safety"]),
            str(r["n_events"]),
        ]
        for r in inp.table("aesi_summary").iter_rows(named=True)
    ]
    notes = []
    if inp.lacks("adverse_events", "soc"):
        notes.append("Without a coded SOC, infections are recognised by their terms.")
    return Table(
        "Adverse events of special interest",
        ["Category", "Subjects", "Grade >= 3", "Events"],
        rows,
        population=SAFETY_POPULATION,
        notes=notes,
        method="Treatment-emergent. Prolonged cytopenia: grade >= 3 neutrophil or platelet count decreased "
        "not resolved by day 28 (day 90 in ADAE's CYTO90FL), a day the subject was followed to: a subject who "
        "died, withdrew or was lost before it is not counted." + AS_REPORTED,
    )


#: the ADAE columns the report reads (``syndrome_term_notes``, ``lookalike_listing``,
#: ``after_window_listing``; AESPID orders a subject's events of one day)
ADAE_COLUMNS = (
    "USUBJID",
    "AESPID",
    "AETERM",
    "AEDECOD",
    "ASTDT",
    "ASTDY",
    "AETOXGR",
    "AEREL",  # page 1's deaths attributed to the treatment (``deaths.treatment_related_deaths``)
    "TRTEMFL",
    "TRTEMRSN",
    "CRSFL",
    "ICANSFL",
)


def _uncounted(adae: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return adae.lazy().filter((pl.col("CRSFL") != "Y") & (pl.col("ICANSFL") != "Y"))


def uncounted_lookalikes(adae: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The AE terms counted as neither CRS nor ICANS that resemble one (``terms.lookalike_terms``)."""
    return lookalike_terms(_uncounted(adae), term="AETERM", subject="USUBJID")


def lookalike_headline(adae: pl.DataFrame | pl.LazyFrame) -> tuple[str, str, str] | None:
    """Page 1's line on AEs whose term resembles CRS or ICANS but is neither: how many,
    in whom, their worst grade. Counted by no rate and no stopping rule until coded, so
    the board sees them beside the safety rule (a grade-4 "CRS grade 4" was only a
    note 40 pages on). An alert from grade 3 on (the headline rates' grade). None
    without any."""
    found = uncounted_lookalikes(adae)
    if not found.height:
        return None
    rows = _uncounted(adae).filter(pl.col("AETERM").is_in(found["term"].to_list()))
    worst, events, subjects = (
        rows.select(pl.col("AETOXGR").max(), pl.len(), pl.col("USUBJID").n_unique()).collect().row(0)
    )
    terms = ", ".join(f'"{printable(t)}"' for t in found["term"].head(5).to_list())
    more = f" and {found.height - 5} more" if found.height > 5 else ""
    text = (
        f"{events} AE(s) in {subjects} subject(s), worst grade {worst if worst is not None else 'not given'}: "
        f"{terms}{more}. Counted neither in the rates above nor by the safety stopping rule, unless daily "
        "monitoring grades the same episode, until the data manager codes them (the query under the CRS and "
        "ICANS table)"
    )
    return "AE terms resembling CRS or ICANS, not counted", text, "alert" if (worst or 0) >= 3 else "normal"


def before_infusion_headline(adae: pl.DataFrame | pl.LazyFrame) -> tuple[str, str, str] | None:
    """Page 1's line on CRS and ICANS AEs reported before the first infusion (during
    lymphodepletion), which no grade counts (``syndromes.counted_syndrome``): a red
    team's grade-4 ICANS on day -3 had moved the safety rule. An alert from grade 3 on.
    None without any."""
    early = before_infusion(adae)
    if early.is_empty():
        return None
    worst, first, last = early.select(
        pl.col("AETOXGR").max(), pl.col("ASTDY").min().alias("first"), pl.col("ASTDY").max().alias("last")
    ).row(0)
    days = f"day {first}" if first == last else f"days {first} to {last}"
    text = (
        f"{early.height} AE(s) in {early['USUBJID'].n_unique()} subject(s), worst grade {worst}, with onset on "
        f"{days}, before the cells were infused: counted neither in the rates above nor by the safety stopping "
        "rule (the syndromes are the infused cells'); a data query on the onset date or the term"
    )
    return "CRS or ICANS reported before the infusion, not counted", text, "alert" if (worst or 0) >= 3 else "normal"


def _term_shown(term: str, n: int) -> str:
    """A verbatim term as a note lists it: escaped where it holds an invisible character,
    and saying which letter or character is odd ("СRS" with a Cyrillic С reads as CRS)."""
    odd = oddity(term)
    return f'"{printable(term)}" ({n}' + (f"; holds {odd}, read as the Latin term" if odd else "") + ")"


def syndrome_term_notes(adae: pl.DataFrame | pl.LazyFrame, infused: int) -> list[str]:
    """Every verbatim AE term counted as CRS or ICANS (``analysis.terms``, an odd
    character named), a warning when a CAR-T drop with ``infused`` subjects infused
    reports no CRS at all (``terms.crs_absence_query``: from 5 infused, a coding or
    export fault is likelier than a trial without CRS), and a QUERY naming every
    uncounted term that resembles one (``uncounted_lookalikes``). ``adae`` may be a scan of the stored ADAE:
    its CRS and ICANS rows are counted as it is read."""
    notes = []
    crs = 0
    for flag, name in (("CRSFL", "CRS"), ("ICANSFL", "ICANS")):
        terms = adae.lazy().filter(pl.col(flag) == "Y").group_by("AETERM").len().collect().sort("AETERM")
        if flag == "CRSFL":
            crs = int(terms["len"].sum())
        if terms.height:
            listed = ", ".join(_term_shown(t, n) for t, n in terms.iter_rows())
            # the count is every AE row of the term, the tables' the treatment-emergent ones: a
            # DSMB reviewer read 94 here beside 91 CRS events (3 after an HSCT: 2026-12-07)
            notes.append(f"AE terms counted as {name} (AE rows, treatment-emergent or not): {listed}.")
    query = crs_absence_query(crs, infused)
    if query:
        notes.append(f"WARNING: {query}.")
    lookalikes = uncounted_lookalikes(adae)
    if lookalikes.height:
        listed = "; ".join(lookalike_text(r, with_subjects=False) for r in lookalikes.iter_rows(named=True))
        notes.append(
            f"QUERY: AE terms not counted as CRS or ICANS that resemble them: {listed}. Their grades count "
            "neither in this table nor in the safety stopping rule unless daily monitoring grades the same "
            "episode: have the data manager code each one (the closed report lists their subjects)."
        )
    return notes


def lookalike_listing(inp: ReportInputs) -> Table | None:
    """The subjects of the AE terms that resemble CRS or ICANS but are counted as neither:
    the closed report's listing beside the query under the CRS and ICANS table (which,
    printed in the open report too, names no subject). None without any."""
    found = uncounted_lookalikes(inp.adae)
    if not found.height:
        return None
    rows = (
        _uncounted(inp.adae)
        .filter(pl.col("AETERM").is_in(found["term"].to_list()))
        .sort("USUBJID", "ASTDT", "AESPID")
        .with_columns(
            pl.col("AETERM").map_elements(printable, return_dtype=pl.String),
            pl.col("AETERM").replace_strict(dict(zip(found["term"], found["syndrome"], strict=True))).alias("LIKE"),
            pl.col("ASTDY").cast(pl.String),
            pl.col("AETOXGR").cast(pl.String),
        )
        .collect()
    )
    return listing(
        rows,
        "Data queries: AE terms that resemble CRS or ICANS, not counted",
        {
            "USUBJID": "Subject",
            "AETERM": "Term as reported",
            "LIKE": "Resembles",
            "ASTDY": "Onset day",
            "AETOXGR": "Grade",
        },
        population="Safety set: every AE whose term resembles CRS or ICANS and is coded as neither.",
        source="adae.parquet (AETERM, CRSFL, ICANSFL)",
        method="Counted by no rate and no stopping rule until the data manager codes the term.",
    )


def syndrome_table(inp: ReportInputs) -> Table:
    table = inp.table("crs_icans_summary")
    rows: list[list[str]] = []
    bold: list[int] = []
    for syndrome in ("CRS", "ICANS"):
        part = table.filter(pl.col("syndrome") == syndrome)
        bases = [b for b in ("reported", "derived", "adjudicated") if part.filter(pl.col("basis") == b).height]
        bold.append(len(rows))
        rows.append([syndrome, *["" for _ in range(3)]])
        for measure in ["Any grade", *[f"Grade {g}" for g in range(1, 6)], "Grade >= 3"]:
            cells = []
            for basis in ("reported", "derived", "adjudicated"):
                r = part.filter((pl.col("basis") == basis) & (pl.col("measure") == measure))
                if basis not in bases or not r.height:
                    cells.append("-")
                    continue
                row = r.row(0, named=True)
                text = f"{row['n']} ({row['pct']:.1f}%)" if row["pct"] is not None else str(row["n"])
                if row["lcl"] is not None:
                    text += f"; CI {row['lcl']:.1f}-{row['ucl']:.1f}"
                cells.append(text)
            rows.append([f"   {measure}", *cells])
        for measure in ("Onset, study day", "Duration, days (resolved)"):
            summary = part.filter(pl.col("measure") == measure).row(0, named=True)
            value = median_range(summary["median"], summary["min"], summary["max"])
            rows.append([f"   {measure}, median (range)", value, "", ""])
        for measure in ("Tocilizumab", "Corticosteroids"):
            drug = part.filter(pl.col("measure") == measure).row(0, named=True)
            rows.append(
                [
                    f"   {measure} (of subjects with {syndrome})",
                    f"{drug['n']}/{drug['denominator']}"
                    + (f" ({drug['pct']:.1f}%)" if drug["pct"] is not None else ""),
                    "",
                    "",
                ]
            )
    notes = syndrome_term_notes(inp.adae, inp.adsl.filter(pl.col("SAFFL") == "Y").height)
    for record, name in (("crs_monitoring", "CRS"), ("icans_monitoring", "ICANS")):
        if inp.lacks(record):
            notes.append(
                f"No {record} file in the drop: no derived {name} grade; adjudicated = reported, or 5 for a "
                f"death from {name} (the death is grade 5)."
            )
    return Table(
        "CRS and ICANS",
        ["", "Reported grade", "Derived from monitoring", "Adjudicated grade"],
        rows,
        bold_rows=bold,
        population=SAFETY_POPULATION,
        notes=notes,
        method="Worst ASTCT 2019 grade per subject, as % of the safety set (exact 95% CI for grade >= 3). "
        "Adjudicated: the higher of reported and derived. Onset from day 0; duration counts onset and "
        "resolution days, each day once over a subject's episodes, a subject with one ongoing excluded; "
        "drugs as a share of subjects with the event. The "
        "headline rates count grade >= 3 over the subjects followed the safety rule's window or with the "
        "event, so at an early cut their rate can differ from this one's.",
    )


def deaths_tables(inp: ReportInputs) -> list[Table]:
    """Deaths in endpoints.md version 3's three categories (never overlapping, summing
    to all deaths), by cause category, listed, and every death whose cause the
    keyword rule could not read as a data query."""
    adsl = inp.adsl
    died = adsl.filter(pl.col("DTHDT").is_not_null())
    groups = [
        [
            text,
            count_pct(int((died["DTHCGR1"] == code).sum()), died.height),
            str(int(((died["DTHCGR1"] == code) & (died["DTH30FL"] == "Y")).sum())),
            str(int(((died["DTHCGR1"] == code) & (died["DTH100FL"] == "Y")).sum())),
        ]
        for code, text in labels.DEATH_GROUPS.items()
    ]
    groups.append(
        [
            "All deaths",
            str(died.height),
            str(int((died["DTH30FL"] == "Y").sum())),
            str(int((died["DTH100FL"] == "Y").sum())),
        ]
    )
    unknown_nrm = int(((died["DTHCGR1"] == "NRM") & (died["DTHCAT"] == "UNKNOWN")).sum())
    by_group = Table(
        "Deaths in three categories",
        ["Category", "Deaths (% of deaths)", "<= 30 days", "<= 100 days"],
        groups,
        bold_rows=[len(groups) - 1],
        population="All enrolled subjects who died by the cut.",
        method="Leukaemia: cause category leukaemia. Non-relapse mortality: another cause in a subject who "
        "reached a CAR-T remission and had not relapsed (exactly the NRM endpoint's events). The third "
        "category: another cause, never in remission or after a relapse. Days from infusion.",
        notes=[
            f"{unknown_nrm} non-relapse death(s) with an unknown cause (counted as NRM, as transplant registries do)."
        ]
        if unknown_nrm
        else [],
    )
    table = inp.table("deaths_summary")
    rows = [
        [
            labels.CAUSES.get(r["cause_category"], r["cause_category"]),
            str(r["n_deaths"]),
            str(r["n_before_infusion"]),
            str(r["n_within_30d"]),
            str(r["n_within_100d"]),
            str(r["n_after_relapse"]),
            str(r["n_nrm"]),
            str(r["n_not_in_remission"]),
        ]
        for r in table.iter_rows(named=True)
        if r["n_deaths"] or r["cause_category"] == "All"
    ]
    rule = "the keyword rule on the cause text (one category named and no negation; otherwise unknown)"
    by_rule = int((died["DTHCATSR"] == KEYWORD_RULE).sum())
    if inp.lacks("followup", "cause_category") or (died.height > 0 and by_rule == died.height):
        source = rule
    elif by_rule:  # the column is there, blank on some DEATH rows
        source = f"the drop's cause_category, and for the {by_rule} death(s) without one {rule}"
    else:
        source = "the drop's cause_category"
    summary = Table(
        "Deaths by cause category",
        [
            "Cause category",
            "Deaths",
            "Before infusion",
            "<= 30 days",
            "<= 100 days",
            "After relapse from remission",
            "NRM",
            "Other, not in remission",
        ],
        rows,
        bold_rows=[0],
        population="All enrolled subjects.",
        method=f"Category from {source}. NRM and 'other, not in remission' as in the table of three categories "
        "(with leukaemia, they add up to the deaths); the other columns overlap them and each other (a death "
        "after relapse is from leukaemia or other, not in remission). After relapse from remission: a relapse "
        "after a CR/CRi reached on CAR-T (ADSL RELDT); a subject never in remission whose disease progressed is "
        "not counted there.",
    )
    deaths = died.sort("DTHDT", "USUBJID").with_columns(
        pl.col("DTHDT").cast(pl.String),
        pl.col("DTHDY").cast(pl.String),
        pl.col("DTHCAT").replace_strict(labels.CAUSES, default=pl.col("DTHCAT")),
        pl.col("RELDT").is_not_null().replace_strict({True: "Y", False: "N"}).alias("RELAPSED"),
        pl.col("USUBJID")
        .is_in(treatment_related_deaths(inp.adsl, inp.adae))
        .replace_strict({True: "Y", False: "N"})
        .alias("RELATED"),
    )
    listed = listing(
        deaths,
        "Listing of deaths",
        {
            "USUBJID": "Subject",
            "DTHDT": "Date",
            "DTHDY": "Day",
            "DTHCAUS": "Cause as reported",
            "DTHCAT": "Category",
            "DTH30FL": "<= 30 d",
            "NRMFL": "NRM",
            "RELAPSED": "After relapse from remission",
            "RELATED": "Attributed to treatment",
        },
        population="All enrolled subjects who died by the cut.",
        source="adsl.parquet (DTHDT, DTHCAUS, DTHCAT, DTHCGR1), adae.parquet (AETOXGR, AEREL, TRTEMFL)",
        method="Day from infusion (empty if never infused). Attributed to treatment: a treatment-emergent "
        "grade-5 adverse event related to the treatment, or CRS or ICANS as the cause, in any category."
        + _unrecorded_relapse_note(died),
    )
    tables = [by_group, summary, listed]
    queries, disagree = inp.death_queries
    if queries.height:
        tables.append(
            listing(
                queries.with_columns(
                    pl.col("DTHDT").cast(pl.String),
                    pl.col("DTHCAUS").fill_null("(blank)"),
                    pl.col("DTHCGR1").replace_strict(
                        {"NRM": "NRM", "NOT_IN_REMISSION": "Other, not in remission", "LEUKEMIA": "Leukaemia"},
                        default=pl.col("DTHCGR1"),
                    ),
                    unknown_cause_query().alias("QUERY"),
                ),
                "Data queries: deaths whose cause is unknown, or coded against its text",
                {
                    "USUBJID": "Subject",
                    "DTHDT": "Date",
                    "DTHCAUS": "Cause as reported",
                    "QUERY": "Query",
                    "DTHCGR1": "Counted as",
                },
                population="Deaths with cause category UNKNOWN, coded so in the drop or left so by the keyword "
                "rule, and deaths whose coded category is not the one their text names.",
                source="adsl.parquet (DTHCAUS, DTHCAT, DTHCATSR)",
                method="A cause text is classified only when it names one category and negates none "
                "(endpoints.md); a coded cause_category is taken as coded, in every table and the safety "
                "stopping rule (a death coded LEUKEMIA is not a CRS death, whatever its text). Please code, or "
                "correct, cause_category on these DEATH rows.",
            )
        )
    if disagree.height:
        tables.append(
            listing(
                disagree.with_columns(
                    pl.col("DTHDT").cast(pl.String),
                    pl.col("DTHCAUS").fill_null("(blank)"),
                    pl.col("DTHCAT").replace_strict(labels.CAUSES, default=pl.col("DTHCAT")),
                ),
                "Data queries: a death's cause and a fatal CRS or ICANS event disagree",
                {
                    "USUBJID": "Subject",
                    "DTHDT": "Date",
                    "DTHCAUS": "Cause as reported",
                    "DTHCAT": "Category",
                    "QUERY": "Query",
                },
                population="Deaths with a cause of CRS or ICANS and no grade-5 AE of it, or a grade-5 CRS or ICANS "
                "AE and another cause.",
                source="adsl.parquet (DTHCAUS, DTHCAT), adae.parquet (AETOXGR, CRSFL, ICANSFL)",
                method="Both count already where they fall in the treatment-emergent window, on the cautious "
                "side: a death from CRS or ICANS is a grade-5 event of it in the tables and the safety stopping "
                "rule, and so is a grade-5 AE of it. Please correct the cause_category or the AE.",
            )
        )
    return tables


def unknown_cause_query() -> pl.Expr:
    """What a data manager is asked of a cause of death that is UNKNOWN or coded against
    its text: a category coded UNKNOWN whose text the keyword rule would classify
    ("Refractory leukemia" coded UNKNOWN: counted outside leukaemia, and as NRM in a
    subject in remission), or coded as one category beside a text naming another, says
    what was coded and what the text reads; otherwise why the text classifies nothing."""
    text_reads = cause_category_from_text(pl.col("DTHCAUS"))
    readable = pl.format(
        "coded {}, but the text reads {}",
        pl.col("DTHCAT"),
        text_reads.replace_strict(labels.CAUSES, default=text_reads),
    )
    return (
        pl.when(coded_against_text())
        .then(readable)
        .when(pl.col("DTHCATSR") == REPORTED)
        .then(pl.lit("coded UNKNOWN"))
        .otherwise(pl.lit("not coded; the text names no single cause, or negates one"))
    )


def after_window_listing(inp: ReportInputs) -> Table:
    late = (
        inp.adae.lazy()
        .filter(pl.col("TRTEMFL") == "N")
        .sort("USUBJID", "ASTDT", "AESPID")  # AESPID: two events of a subject on one day in one order
        .with_columns(pl.col("ASTDY").cast(pl.String), pl.col("AETOXGR").cast(pl.String))
        .collect()
    )
    return listing(
        late,
        "Adverse events outside the treatment-emergent window",
        {
            "USUBJID": "Subject",
            "AEDECOD": "Preferred term",
            "ASTDY": "Onset day",
            "AETOXGR": "Grade",
            "TRTEMRSN": "Why not treatment-emergent",
        },
        population="All enrolled subjects.",
        source="adae.parquet (TRTEMFL = N)",
        method="Not counted in the tables above: before lymphodepletion, or on or after the first HSCT or new therapy "
        "(a GVHD after transplant is not a CAR-T toxicity).",
    )


def outside_window_listings(inp: ReportInputs) -> list[Table]:
    """Each syndrome's monitoring days outside the grading window that page 1 says are
    queried (``ReportInputs.outside_window``), one row a day: the closed report only (a
    subject's column)."""
    out = []
    for syndrome, days in inp.outside_window.items():
        if not days.height:
            continue
        shown = days.with_columns(
            pl.when(pl.col("ASTCT_GRADE") >= OUTSIDE_QUERIED_FROM_GRADE)
            .then(pl.col("ASTCT_GRADE").cast(pl.String))
            .otherwise(pl.format("{} (organ support without fever)", pl.col("ASTCT_GRADE")))
            .alias("ASTCT_GRADE"),
            pl.col("obs_date").cast(pl.String),
            pl.col("ADY").cast(pl.String),
            pl.col("INFDY").cast(pl.String),
        )
        out.append(
            listing(
                shown,
                f"{syndrome}: monitoring days outside the grading window, queried",
                {
                    "subject_id": "Subject",
                    "obs_date": "Date",
                    "ADY": "Day",
                    "INFDY": "Days after the latest infusion",
                    "ASTCT_GRADE": "Grade as if inside",
                    "WHERE": "Why outside the window",
                },
                population=f"Monitored subjects with a day that would grade {OUTSIDE_QUERIED_FROM_GRADE} or more"
                + (", or needs organ support without fever" if syndrome == "CRS" else "")
                + ", outside the grading window.",
                source=f"{syndrome.lower()}_monitoring (check {syndrome.lower()}_grading:{OUTSIDE_CHECK})",
                method="Graded by ASTCT as if inside the window; counted by no rate and no stopping rule (the window "
                "closes at the first HSCT or new therapy and opens at the first infusion): query the dates.",
            )
        )
    return out


def discrepancy_listings(inp: ReportInputs) -> list[Table]:
    out = []
    for syndrome, record in (("CRS", "crs_monitoring"), ("ICANS", "icans_monitoring")):
        if inp.lacks(record):
            continue
        out.append(
            listing(
                inp.table(f"{syndrome.lower()}_grade_discrepancies"),
                f"{syndrome}: reported worst grade against the grade derived from daily monitoring",
                {"USUBJID": "Subject", f"{syndrome}GR_REPORTED": "Reported", f"{syndrome}GR_DERIVED": "Derived"},
                population="Monitored subjects whose grades differ (0: none reported).",
                source=f"{syndrome.lower()}_grade_discrepancies.csv",
            )
        )
    return out


def safety_sections(inp: ReportInputs) -> list[Section]:
    lookalikes = lookalike_listing(inp)
    overview: list[Any] = [
        headline_table(inp),
        syndrome_table(inp),
        *([lookalikes] if lookalikes is not None else []),
        aesi_table(inp),
    ]
    soc: list[Any] = [soc_table(inp, name) for name in ("All TEAEs", "Serious TEAEs", "Related TEAEs", "Fatal TEAEs")]
    return [
        Section("Safety overview: CRS, ICANS and AESI", "safety", overview, new_page=True),
        Section("Adverse events by system organ class", "soc", soc, new_page=True),
        Section("Adverse events by preferred term and grade", "terms", [pt_grade_table(inp)], new_page=True),
        Section("Deaths", "deaths", [*deaths_tables(inp)], new_page=True),
        Section(
            "Listings: grade discrepancies and events outside the window",
            "listings",
            [*discrepancy_listings(inp), *outside_window_listings(inp), after_window_listing(inp)],
            new_page=True,
        ),
        listings_section(inp),
    ]


LISTING_COLUMNS = {
    "USUBJID": "Subject",
    "AEDECOD": "Preferred term",
    "ASTDY": "Onset day",
    "AETOXGR": "Grade",
    "AESER": "Serious",
    "AEREL": "Related",
    "outcome": "Outcome",
    "NEWFL": "New",
}


#: events of one listing, and narratives, that the closed report prints; the files hold all of them (a trial
#: of a hundred subjects has a few hundred; 100,000 synthetic subjects had 200,000 and no PDF could be set)
CLOSED_LISTING_LIMIT = REPORT_EVENTS
NARRATIVE_LIMIT = REPORT_NARRATIVES


def listings_section(inp: ReportInputs) -> Section:
    """The closed report's listings (serious, grade >= 3 and special-interest TEAEs, each
    event marked new since the previous published cut) and a narrative per death and per
    serious AE. Every block is subject-level: the open report leaves them out."""
    if inp.listings is None:
        return Section("Listings and narratives", "narratives", [Paragraph("No listings at this cut.", "note")])
    listed, previous = inp.listings.listings, inp.listings.previous_cut
    blocks: list[Any] = []
    marked = (
        f"New: not in this listing at the previous published cut ({previous})."
        if previous
        else "No previous published cut."
    )
    for name in (SAE, GRADE3, AESI):
        part = listed.filter(pl.col("listing") == name)
        events, subjects = inp.listings.listing_size(name)
        notes = (
            []
            if events <= CLOSED_LISTING_LIMIT
            else [f"First {CLOSED_LISTING_LIMIT} of {events} events; all of them in ae_listings.csv."]
        )
        rows = [
            [
                r["USUBJID"],
                r["AEDECOD"] if r["AEDECOD"] == r["AETERM"] else f"{r['AEDECOD']} ({r['AETERM']})",
                "" if r["ASTDY"] is None else str(r["ASTDY"]),
                str(r["AETOXGR"]),
                r["AESER"],
                r["AEREL"],
                r["outcome"],
                "NEW" if r["NEWFL"] == "Y" else "",
            ]
            for r in part.head(CLOSED_LISTING_LIMIT).iter_rows(named=True)
        ]
        blocks.append(
            Table(
                f"Listing: {name.lower()} ({subjects} subjects, {events} events)",
                list(LISTING_COLUMNS.values()),
                rows or [["(none)", *[""] * (len(LISTING_COLUMNS) - 1)]],
                align=["left", "left", "right", "right", "left", "left", "left", "left"],
                population="Safety set: treatment-emergent adverse events.",
                method="Onset day from infusion (day 0); outcome at the cut. " + marked,
                notes=notes,
                subject_level=True,
            )
        )
    told, narrated = inp.listings.narratives, inp.listings.narrative_count
    shown = (
        "" if narrated <= NARRATIVE_LIMIT else f" The first {NARRATIVE_LIMIT} are here; all of them in narratives.csv."
    )
    blocks.append(Paragraph(f"Narratives ({narrated}): each death, then each serious adverse event.{shown}", "note"))
    blocks.extend(Paragraph(text, subject_level=True) for text in told["text"].head(NARRATIVE_LIMIT))
    return Section("Listings and narratives", "narratives", blocks, new_page=True)


def course_section(inp: ReportInputs) -> Section:
    names = sorted(n for n in inp.figures if n.startswith("swimmer_"))
    infused = int((inp.adsl["SAFFL"] == "Y").sum())
    # who is drawn, said as it is: "the 180 most recently infused at most" read as a contradiction
    # of "longest first" to a DSMB reader of a trial of 59 (2026-12-07)
    drawn = (
        f"All {infused} infused subjects"
        if infused <= SWIMMER_LIMIT
        else f"The {SWIMMER_LIMIT} most recently infused of the {infused} infused subjects (all are in ADSL)"
    )
    blocks: list[Any] = [
        Figure(
            f"plots/{name}",
            "Course of each infused subject",
            "From day 0 to death or the last date known alive: first remission, HSCT, new therapy, "
            f"relapse, death; arrows: ongoing at the cut; a grey stroke: withdrawn or lost to follow-up. {drawn}, "
            "in order of follow-up, the longest first (at the top of the first page).",
            subject_level=True,
        )
        for name in names
    ]
    return Section("Course of each subject", "swimmer", blocks, new_page=True)


def stopping_section(inp: ReportInputs) -> Section:
    rules = inp.table("stopping_rules")
    rows = [
        [r["rule"], r["data"], r["boundary"], "CROSSED" if r["crossed"] else "not crossed"]
        for r in rules.iter_rows(named=True)
    ]
    table = Table(
        "Stopping rules evaluated at this cut",
        ["Rule", "Data at the cut", "Boundary", "Status"],
        rows,
        align=["left", "left", "left", "left"],
        population="Safety set (safety rule); efficacy set with the day-42 window closed (efficacy rule).",
        method="Rules and parameters from the analysis plan; a crossed boundary is also on page 1.",
    )
    return Section("Stopping rules", "stopping", [table])


def _comparisons(inp: ReportInputs) -> list[tuple[str, str, pl.DataFrame]]:
    """Each comparison of the cut comparison: what it is compared with (a table's words,
    and its column's), and its rows. An earlier cut first, then the version of this cut
    that this one supersedes."""
    if inp.comparison is None or inp.comparison.is_empty():
        return []
    found = []
    versions = inp.comparison["previous_version"] if "previous_version" in inp.comparison.columns else None
    for key, rows in inp.comparison.with_columns(
        previous_version=versions if versions is not None else pl.lit(None, pl.String)
    ).group_by("previous_cut", "previous_version", maintain_order=True):
        cut, version = str(key[0]), key[1]
        if version is None:
            found.append((f"the interim analysis of {cut}", cut, rows))
        else:
            found.append((f"version {version} of this cut, which this version replaces", f"{cut} {version}", rows))
    return found


def changes_section(inp: ReportInputs) -> Section | None:
    comparisons = _comparisons(inp)
    if not comparisons:
        return None
    blocks: list[Any] = []
    for what, column, comparison in comparisons:
        # the rows naming subjects (cut_comparison.NAMING_ITEMS) give their count here and their
        # subjects in a table of the closed report only: the open report names no subject
        rows = [
            [r["item"], r["previous"] or "", r["current"] or "", "" if r["item"] in NAMING_ITEMS else r["change"] or ""]
            for r in comparison.iter_rows(named=True)
        ]
        blocks.append(
            Table(
                f"Changes since {what}",
                ["Item", column, "This version" if column.startswith(inp.cut) else inp.cut, "Change"],
                rows,
                align=["left", "right", "right", "left"],
                population="As in each table of the two reports; lost or withdrawn among the infused (the "
                "disposition table's rows).",
                method="Withdrawn or re-dated (no longer counted): a subject, or a date, a response or an "
                "MRD-negative remission by day 28, that the earlier publication held and this one no longer "
                "holds. Dated by the earlier cut, not in its publication (newly counted): a subject enrolled, or "
                "an infusion, relapse, HSCT or death dated, on or before the earlier cut and new here, or a "
                "day-28 non-responder (or a remission not MRD-negative) it counted that is one here, which its "
                "figures missed. A later cut of the same export keeps the first and "
                "adds none of the second: each is a correction or a late entry in the export, or a rule of "
                "another code version.",
                notes=[FEW_AT_RISK_NOTE] if any(f"]{FEW_AT_RISK_MARK}" in c for r in rows for c in r[1:3]) else [],
            )
        )
        named = [[r["item"], r["change"]] for r in comparison.iter_rows(named=True) if r["item"] in NAMING_ITEMS]
        subjects = Table(
            f"Subjects new or revised since {what}",
            ["Item", "Subjects"],
            [row for row in named if row[1]],
            align=["left", "left"],
            subject_level=True,
        )
        blocks += [subjects] if subjects.rows else []
    # a version of this cut: another drop's (superseded) or this drop's by other code or plan (revised)
    versions = sum(1 for _, column, _ in comparisons if column.startswith(inp.cut))
    titles = ["the previous interim analysis"] if len(comparisons) > versions else []
    titles += [f"the {'version' if versions == 1 else 'versions'} of this cut it replaces"] if versions else []
    title = "Changes since " + " and ".join(titles)
    return Section(title, "changes", blocks)


def revised_headline(inp: ReportInputs) -> list[tuple[str, str, str]]:
    """Page 1's lines when facts an earlier publication held (the previous cut, or the
    version this one supersedes) are withdrawn or re-dated in this one (a lost subject,
    an infusion, relapse, HSCT or death date, a response by day 28), or facts dated by
    its cut are new in this one (``cut_comparison.BACKDATED_ITEMS``): the counts beside
    them hide it (a withdrawn relapse and a new one read "+0"; a relapse dated before the
    earlier cut reads as a new one); and when it read another analysis plan (a plan red
    team's safety rule moved from P 0.10 to 0.007 on the same data, unsaid)."""
    lines = []
    for what, _, comparison in _comparisons(inp):
        for r in comparison.filter((pl.col("item") == PLAN_ITEM) & (pl.col("change") == "changed")).iter_rows(
            named=True
        ):
            lines.append(
                (
                    f"Analysis plan changed since {what}",
                    f"That publication read the plan {r['previous']}, this one {r['current']} (SHA-256): the "
                    "stopping rules and analyses of each cut follow its own plan, so a change between them may be "
                    "the plan's, not the data's",
                    "alert",
                )
            )
        for r in comparison.filter(pl.col("item") == CODE_ITEM).iter_rows(named=True):
            made = f"code {r['previous']}" if r["previous"] else "code its manifest does not name"
            lines.append(
                (
                    f"Code changed since {what}",
                    f"That publication was made by {made}, this one by code {r['current']}: a rule that changed "
                    "between them moves a number with no change in the data, so a change below may be the code's, "
                    "not the export's",
                    "alert",
                )
            )
        moved = [
            f"{labels.in_sentence(r['item'])}: {r['current']}"
            for r in comparison.iter_rows(named=True)
            if r["item"] in REVISED_ITEMS and (r["current"] or "0") != "0"
        ]
        if moved:
            said = "; ".join(moved)
            lines.append(
                (
                    f"Revised since {what}",
                    said[:1].upper() + said[1:] + " (named in the section on changes)",
                    "alert",
                )
            )
    return lines


def empty_statistics_note(inp: ReportInputs) -> Paragraph | None:
    details = inp.table("survival_details").filter(pl.col("notes").is_not_null() & (pl.col("group_var") == "all"))
    if details.is_empty():
        return None
    parts = [f"{r['endpoint']} {r['analysis']}: {r['notes']}" for r in details.iter_rows(named=True)]
    return Paragraph("Statistics left empty (NE) and why: " + "; ".join(parts) + ".", "note")
