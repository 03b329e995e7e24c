"""Notes the report puts under a table for the board or the data manager: subjects
given more than one dose (the exposure table) and AE terms that resemble CRS or ICANS
without being counted (the CRS and ICANS table)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import polars as pl

from tests.builders import Trial, day
from trial_outcomes.analysis.exposure import exposure_summary
from trial_outcomes.reporting.efficacy import exposure_table, reinfused_listing
from trial_outcomes.reporting.safety import syndrome_term_notes


def _inputs(adsl: pl.DataFrame) -> SimpleNamespace:
    plan = SimpleNamespace(labs=SimpleNamespace(dose_low_per_kg=0.2e6, dose_high_per_kg=5.0e6))
    tables = {"exposure_summary": exposure_summary(adsl)}
    return SimpleNamespace(adsl=adsl, plan=plan, table=tables.__getitem__, lacks=lambda *_: False)


def test_the_exposure_table_names_the_subjects_given_more_than_one_dose():
    """S2 infused on days 0 and 50: named with its 2 doses (2 infusions, the second on day
    50 = 2021-03-11); S1 once: not named; S3 a split dose on days 0, 1 and 2 (3 infusions,
    one dose: a red team's 10/30/60 % split read "infused 3 or more times"): not named.
    The table's rows for doses per subject read 1 (66.7 %) and 2 (33.3 %)."""
    t = Trial().enrol("S1").enrol("S2").enrol("S3").infuse("S1").infuse("S2").infuse("S2", at=50)
    t.infuse("S3").infuse("S3", at=1).infuse("S3", at=2)
    inputs = _inputs(t.derive(cut_day=90).adsl)
    table = exposure_table(inputs)  # type: ignore[arg-type]
    (note,) = [n for n in table.notes if n.startswith("Given more than one dose")]
    # the note is printed in the open report too: a count, no subject; the closed report lists them
    assert note.startswith("Given more than one dose by the cut: 1 subject(s)") and "S2" not in note
    listed = reinfused_listing(inputs)  # type: ignore[arg-type]
    assert listed is not None and listed.subject_level and listed.rows == [["S2", "2", "2", str(day(50))]]
    rows = [r for r in table.rows if r[0].strip() in ("1", "2", "3 or more")]
    assert rows == [["   1", "2", "66.7%"], ["   2", "1", "33.3%"], ["   3 or more", "0", "0.0%"]]


def test_no_note_when_every_subject_was_infused_once():
    t = Trial().enrol("S1").infuse("S1")
    inputs = _inputs(t.derive(cut_day=90).adsl)
    table = exposure_table(inputs)  # type: ignore[arg-type]
    assert not [n for n in table.notes if n.startswith("Given more than one dose")]
    assert reinfused_listing(inputs) is None  # type: ignore[arg-type]


def test_a_term_that_resembles_crs_is_a_query_under_the_syndrome_table():
    """ADAE with "CRS" counted (CRSFL Y), "CRS grade 3" for S2 and S3 not counted, and
    "Pyrexia": the query names "CRS grade 3", its 2 AEs in 2 subjects."""
    adae = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S1"],
            "AETERM": ["CRS", "CRS grade 3", "CRS grade 3", "Pyrexia"],
            "CRSFL": ["Y", "N", "N", "N"],
            "ICANSFL": ["N", "N", "N", "N"],
        }
    )
    notes = syndrome_term_notes(adae, infused=3)
    assert notes[0] == 'AE terms counted as CRS (AE rows, treatment-emergent or not): "CRS" (1).'
    (query,) = [n for n in notes if n.startswith("QUERY")]
    assert '"CRS grade 3" (like CRS: 2 AE(s) in 2 subject(s))' in query  # printed in the open report too
    assert "S2" not in query and "closed report lists their subjects" in query
    assert "Pyrexia" not in query
    without = syndrome_term_notes(adae.filter(pl.col("AETERM") != "CRS grade 3"), infused=3)
    assert not [n for n in without if "QUERY" in n]


def test_the_data_cut_line_says_what_a_later_export_can_still_tell_the_cut():
    """A cut before the export's latest record: records after it are left out, but an AE
    begun by the cut is as exported (a reviewer found a grade 3 CRS reached two days after
    the cut counted at it). A planned cut after the latest record gives the gap instead."""
    from trial_outcomes.reporting.summary import data_cut_text

    def line(latest: str, gap: int, extracted_on: str | None = None) -> str:
        inp = SimpleNamespace(
            cut="2020-06-23", latest_record=latest, days_after_latest_record=gap, extracted_on=extracted_on
        )
        return data_cut_text(inp)  # type: ignore[arg-type]

    later = line("2024-03-31", 0)
    assert later.startswith("2020-06-23 (the export runs to 2024-03-31: records after the cut are left out")
    assert "keeps the export's grade, seriousness and treatment, but a grade 5 by a later death reads 4" in later
    assert line("2020-06-23", 0) == "2020-06-23"
    assert "planned cut: 3 days after" in line("2020-06-20", 3)
    assert "the stopping rules' and safety rates' windows close by that record" in line("2020-06-20", 3)
    # an extraction date makes the export complete to the cut (a red team's page 1 said otherwise)
    stated = line("2020-06-20", 3, "2020-06-23")
    assert "counted free of events in the stopping rules' and safety rates' windows to the cut" in stated
    assert "close by that record" not in stated and stated.endswith("; drop extracted on 2020-06-23")


def test_a_term_read_as_crs_through_a_lookalike_letter_says_so():
    """ "СRS" with a Cyrillic С (U+0421) is counted as CRS (a grade-4 CRS so written left
    the safety rule unseen); the note names the odd letter. "C\u200bRS" shows its
    zero-width space escaped."""
    adae = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2"],
            "AETERM": ["\u0421RS", "C\u200bRS"],
            "CRSFL": ["Y", "Y"],
            "ICANSFL": ["N", "N"],
        }
    )
    (note,) = syndrome_term_notes(adae, infused=2)
    assert '"\u0421RS" (1; holds U+0421 CYRILLIC CAPITAL LETTER ES, read as the Latin term)' in note
    assert '"C\\u200bRS" (1; holds U+200B ZERO WIDTH SPACE, read as the Latin term)' in note


def test_page_one_names_the_uncounted_syndrome_like_aes_beside_the_safety_rule():
    """ "CRS grade 4" (grade 4, S2) and "Cytokine relase syndrome" (grade 2, S3) resemble
    CRS and are not counted: page 1 says 2 AEs in 2 subjects, worst grade 4, as an alert
    (grade >= 3). With only the grade-2 one: the same line, not an alert. None without."""
    from trial_outcomes.reporting.safety import lookalike_headline

    adae = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3"],
            "AETERM": ["CRS", "CRS grade 4", "Cytokine relase syndrome"],
            "AETOXGR": [2, 4, 2],
            "CRSFL": ["Y", "N", "N"],
            "ICANSFL": ["N", "N", "N"],
        }
    )
    label, text, style = lookalike_headline(adae)  # type: ignore[misc]
    assert label == "AE terms resembling CRS or ICANS, not counted" and style == "alert"
    assert text.startswith('2 AE(s) in 2 subject(s), worst grade 4: "CRS grade 4", "Cytokine relase syndrome".')
    assert lookalike_headline(adae.filter(pl.col("USUBJID") != "S2"))[2] == "normal"  # type: ignore[index]
    assert lookalike_headline(adae.filter(pl.col("USUBJID") == "S1")) is None


def test_the_note_on_a_drop_without_crs_waits_for_five_infused():
    """No CRS-flagged AE: with 4 subjects infused the table has no warning (an early
    cut); with 5 it warns, naming the 5 (``terms.crs_absence_query``)."""
    adae = pl.DataFrame({"USUBJID": ["S1"], "AETERM": ["Pyrexia"], "CRSFL": ["N"], "ICANSFL": ["N"]})
    assert syndrome_term_notes(adae, infused=4) == []
    (warning,) = syndrome_term_notes(adae, infused=5)
    assert warning.startswith("WARNING: no adverse event is coded as CRS among 5 infused subjects.")


def test_a_relapse_in_the_window_is_its_own_best_response_row():
    """Three evaluable subjects: CR, a relapse on day 28 after a day-14 CR (BOR28
    RELAPSE) and one without any assessment in days 21-42 (NE): each row 1/3 (33.3%);
    a reviewer found such relapses tabulated as "Not evaluable"."""
    from trial_outcomes.reporting.efficacy import best_response_table

    adsl = pl.DataFrame(
        {
            "EFFFL": ["Y", "Y", "Y"],
            "STRATUM": ["morphologic"] * 3,
            "BOR28": ["CR", "RELAPSE", "NE"],
            "CRFL": ["Y", "N", "N"],
            "D28PNDFL": ["N", "N", "N"],
            "D28ERLFL": ["N", "N", "N"],
        }
    )
    rows = {r[0]: r[1] for r in best_response_table(SimpleNamespace(adsl=adsl)).rows}  # type: ignore[arg-type]
    assert rows["Relapse (a RELAPSE assessment in days 21-42)"].startswith("1 (33.3")
    assert rows["Not evaluable (NE: no assessment in days 21-42)"].startswith("1 (33.3")


_NO_DEATHS = pl.DataFrame(
    schema={"USUBJID": pl.String, "DTHDT": pl.Date, "DTHCAUS": pl.String, "DTHCAT": pl.String, "DTHCATSR": pl.String}
)
_NO_FATAL_AE = pl.DataFrame(
    schema={"USUBJID": pl.String, "AETOXGR": pl.Int64, "CRSFL": pl.String, "ICANSFL": pl.String}
)


def _with_deaths(queries: tuple, adsl: pl.DataFrame, adae: pl.DataFrame) -> SimpleNamespace:
    """Report inputs with the drop's queries and the Deaths section's, made from ``adsl``
    and ``adae`` as ``ReportInputs.death_query_titles`` makes them."""
    from trial_outcomes.analysis.deaths import death_query_titles, deaths_queried

    return SimpleNamespace(queries=queries, death_query_titles=death_query_titles(*deaths_queried(adsl, adae)))


def test_page_1_counts_the_queries_on_causes_of_death():
    """Three deaths, causes coded (``DTHCATSR`` reported): S1 "Cytokine release syndrome"
    coded LEUKEMIA (the text reads CRS: coded against its text); S2 "Refractory leukemia"
    coded LEUKEMIA (agrees: no query); S3 "Multi-organ failure" coded CRS with no grade-5
    CRS AE (S3's only AE is grade 3: cause and fatal event disagree). Page 1 says 2 open,
    one death each, stated under "Deaths"; with a drop query beside them, 3 open, under
    both sections. No death and no drop query: no line (until 2026-12-04 page 1 counted
    only the drop's queries, "none" beside two open queries on causes of death). Two
    queries on the columns of two files are one kind of query: 1 open, named once."""
    from trial_outcomes.analysis.deaths import REPORTED
    from trial_outcomes.io.records import DropQuery
    from trial_outcomes.reporting.summary import data_queries_headline

    adsl = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4"],
            "DTHDT": [date(2021, 3, 1), date(2021, 4, 1), date(2021, 5, 1), None],
            "DTHCAUS": ["Cytokine release syndrome", "Refractory leukemia", "Multi-organ failure", None],
            "DTHCAT": ["LEUKEMIA", "LEUKEMIA", "CRS", None],
            "DTHCATSR": [REPORTED, REPORTED, REPORTED, None],
        }
    )
    adae = pl.DataFrame({"USUBJID": ["S3"], "AETOXGR": [3], "CRSFL": ["Y"], "ICANSFL": ["N"]})
    [(label, text, style)] = data_queries_headline(_with_deaths((), adsl, adae))  # type: ignore[arg-type]
    assert (label, style) == ("Data queries on this drop", "alert")
    assert text == (
        "2 open, none blocking: 1 death(s) whose cause is uncategorised (coded UNKNOWN, blank or unclassifiable) "
        "or coded against its text; 1 death(s) whose "
        "cause and a fatal CRS or ICANS event disagree. The numbers use the drop as exported; each query is stated "
        'under "Deaths" (the causes of death).'
    )
    files = (
        DropQuery.naming_no_row(
            "known_files", "1 file(s) in the drop folder outside the data contract, never read: x.csv"
        ),
    )
    [(_, text, _)] = data_queries_headline(_with_deaths(files, adsl, adae))  # type: ignore[arg-type]
    assert text.startswith("3 open, none blocking: files in the drop folder never read; 1 death(s) whose cause")
    assert text.endswith('stated under "About this report" and "Deaths" (the causes of death).')
    assert data_queries_headline(_with_deaths((), _NO_DEATHS, _NO_FATAL_AE)) == []  # type: ignore[arg-type]
    columns = (
        DropQuery.naming_no_row(
            "known_columns", "enrolment.csv: 1 column(s) outside the data contract, dropped unread: note"
        ),
        DropQuery.naming_no_row(
            "known_columns", "infusion.csv: 1 column(s) outside the data contract, dropped unread: site"
        ),
    )
    [(_, text, _)] = data_queries_headline(_with_deaths(columns, _NO_DEATHS, _NO_FATAL_AE))  # type: ignore[arg-type]
    assert text.startswith("1 open, none blocking: columns outside the data contract dropped unread. ")


def test_the_drop_queries_are_on_page_1_and_stated_under_about():
    """Two queries, one a file never read: page 1 says 2 open and names both kinds once;
    the About table has a row per query with its finding as the validation said it."""
    from trial_outcomes.io.records import DropQuery
    from trial_outcomes.reporting.summary import data_queries_headline, data_queries_table

    queries = (
        DropQuery.naming_no_row(
            "known_files", "1 file(s) in the drop folder outside the data contract, never read: x.csv"
        ),
        DropQuery.naming_no_row(
            "known_columns", "enrolment.csv: 1 column(s) outside the data contract, dropped unread: note"
        ),
    )
    inp = _with_deaths(queries, _NO_DEATHS, _NO_FATAL_AE)
    [(label, text, style)] = data_queries_headline(inp)  # type: ignore[arg-type]
    assert (label, style) == ("Data queries on this drop", "alert")
    assert text.startswith(
        "2 open, none blocking: files in the drop folder never read; columns outside the data contract dropped unread."
    )
    table = data_queries_table(inp)  # type: ignore[arg-type]
    assert table.rows == [
        ["Files in the drop folder never read", queries[0].finding],
        ["Columns outside the data contract dropped unread", queries[1].finding],
    ]
    assert "counted once" not in text and "counted once" not in (table.method or "")
    # a term spelt several ways is counted once: page 1 and the table say that the numbers do
    spelt = (
        DropQuery.naming_no_row("one_spelling_per_value", "2 AE row(s) whose term or SOC is another spelling ..."),
    )
    [(_, text, _)] = data_queries_headline(
        _with_deaths(spelt, _NO_DEATHS, _NO_FATAL_AE)  # type: ignore[arg-type]
    )
    assert text.startswith(
        "1 open, none blocking: AE terms, SOCs or sites written more than one way, each counted under one spelling. "
        "The numbers use the drop as exported, except that an AE term, SOC or site written several ways is counted "
        "once, under one spelling;"
    )
    spelt_table = data_queries_table(SimpleNamespace(queries=spelt))  # type: ignore[arg-type]
    assert "counted once" in (spelt_table.method or "")
    assert (
        spelt_table.rows[0][0] == "AE terms, SOCs or sites written more than one way, each counted under one spelling"
    )


def test_subjects_named_finds_identifiers_as_words_not_inside_others():
    """BR-001 named (also at a sentence's end), BR-01 not (it is inside BR-010 only), and
    "S 7" (not a word: a space) found as text."""
    from trial_outcomes.reporting.content import subjects_named

    text = "New subjects: BR-001, BR-010. Died: BR-002. Also S 7 here."
    assert subjects_named(text, ["BR-001", "BR-01", "BR-002", "BR-003", "S 7"]) == ["BR-001", "BR-002", "S 7"]
    assert subjects_named("no one", ["BR-001"]) == []
    # numbers and words are not searched: "1001" is in any report as a count or a year
    assert subjects_named("1001 subjects, ALPHA arm", ["1001", "ALPHA", "S1"]) == []


def test_the_guard_reads_embedded_figures_and_skips_other_images():
    """An SVG figure naming BR-007 in its labels is read (decoded from base64); a PNG's
    base64 that happens to hold "S1234" between two "+" is not text and is left out."""
    import base64

    from trial_outcomes.reporting.content import readable_text, subjects_named

    svg = base64.b64encode(b"<svg><text>BR-007</text></svg>").decode()
    html = f'<img src="data:image/svg+xml;base64,{svg}"><img src="data:image/png;base64,AAAA+S1234+AAAA">'
    text = readable_text(html)
    assert subjects_named(text, ["BR-007", "S1234"]) == ["BR-007"]
    assert subjects_named(html, ["BR-007", "S1234"]) == ["S1234"]  # what the raw HTML would have given


def test_a_possibly_stale_ae_export_is_said_beside_the_stopping_rules():
    """With the query ``adverse_events_current`` open, page 1 says, under "No stopping
    boundary crossed", that the safety rule counts only the events the AE export holds;
    without it, nothing is added. So do the queries on early deaths without a fatal AE and
    on a new therapy that may be supportive care (it ends the windows both rules read)."""
    from trial_outcomes.io.records import DropQuery
    from trial_outcomes.reporting.content import Paragraph
    from trial_outcomes.reporting.summary import stopping_blocks

    rules = pl.DataFrame({"rule": ["Safety"], "crossed": [False], "data": ["1/20 evaluable"], "boundary": ["b"]})

    def texts(queries: tuple[DropQuery, ...]) -> list[tuple[str, str]]:
        inp = SimpleNamespace(queries=queries, table=lambda name: rules, figures={})
        return [(b.text, b.style) for b in stopping_blocks(inp) if isinstance(b, Paragraph)]  # type: ignore[arg-type]

    assert texts(()) == [("No stopping boundary crossed at this cut.", "ok")]
    stale = (DropQuery.naming_no_row("adverse_events_current", "the adverse-event export's latest onset is ..."),)
    (_, (said, style)) = texts(stale)
    assert style == "alert" and "the safety rule counts only the events it holds" in said
    early = (DropQuery.naming_no_row("early_deaths_have_fatal_ae", "2 death(s) within the safety rule's window ..."),)
    (_, (said, style)) = texts(early)
    assert style == "alert" and said.startswith(
        "Deaths within the safety rule's window have no treatment-emergent grade-5"
    )
    assert len(texts(stale + early)) == 3
    therapy = (
        DropQuery.naming_no_row("new_therapy_plausible", "1 new therapy record(s) naming a treatment of CRS ..."),
    )
    (_, (said, style)) = texts(therapy)
    assert style == "alert" and said.startswith("A new therapy may be supportive care or a transplant")
    assert "ends its subject's treatment-emergent window and response attribution" in said
    assert len(texts(stale + early + therapy)) == 4
    after = (DropQuery.naming_no_row("rule_toxicity_before_other_therapy", "1 grade-4 or grade-5 CRS or ICANS ..."),)
    (_, (said, style)) = texts(after)
    assert style == "alert" and said.startswith("A grade-4 or grade-5 CRS or ICANS, a related fatal adverse event")
    assert "keeps each subject in its denominator without an event" in said
    awaiting = (DropQuery.naming_no_row("awaiting_infusion_plausible", "1 subject(s) enrolled more than 120 days ..."),)
    assert len(texts(awaiting)) == 1  # the rates' denominator, not a rule's: on page 1's query line only


def test_a_design_whose_final_analysis_is_complete_says_its_result_under_the_boundaries():
    """A DSMB reader found "35 of the first 43 responded: efficacy shown" inside the
    efficacy rule's data, under "No stopping boundary crossed": the conclusion (a column of
    stopping_rules.csv since 2026-12-07) is a paragraph of its own, green when H0 is
    rejected, red when it is not; a rule without one (the safety rule, a design at stage 1,
    a cut published before the column) adds nothing."""
    from trial_outcomes.reporting.content import Paragraph
    from trial_outcomes.reporting.summary import stopping_blocks

    def texts(conclusions: list[str | None]) -> list[tuple[str, str]]:
        rules = pl.DataFrame(
            {
                "rule": ["Safety", "Efficacy (Simon two-stage, CR/CRi by day 28)"],
                "crossed": [False, False],
                "data": ["d", "d"],
                "boundary": ["b", "b"],
                "conclusion": conclusions,
            },
            schema_overrides={"conclusion": pl.String},
        )
        inp = SimpleNamespace(queries=(), table=lambda name: rules, figures={})
        return [(b.text, b.style) for b in stopping_blocks(inp) if isinstance(b, Paragraph)]  # type: ignore[arg-type]

    shown = "35 of the first 43 responded: H0 (response rate <= 0.6) rejected at the design's final analysis"
    assert texts([None, shown]) == [
        ("No stopping boundary crossed at this cut.", "ok"),
        (f"Efficacy (Simon two-stage, CR/CRi by day 28): {shown}.", "ok"),
    ]
    short = "30 of the first 43 responded: H0 (response rate <= 0.6) not rejected at the design's final analysis"
    assert texts([None, short])[1][1] == "alert"
    assert texts([None, None]) == [("No stopping boundary crossed at this cut.", "ok")]


def test_a_secondary_malignancy_naming_a_t_cell_one_is_said_on_page_1s_long_term_line():
    """Page 1's long-term line counts the events as coded; with the query
    ``malignancy_category_plausible`` open it says a secondary malignancy's text names a
    T-cell malignancy or the leukaemia, in the alert style, though no T-cell malignancy is
    coded (a red team's "CAR+ PTCL" coded SECONDARY_MALIGNANCY read "0 with a T-cell
    malignancy" in the normal style)."""
    from trial_outcomes.io.records import DropQuery
    from trial_outcomes.reporting.summary import dsmb_package_items

    long_term = pl.DataFrame(
        {
            "event": ["SECONDARY_MALIGNANCY", "T_CELL_MALIGNANCY", "RCL_POSITIVE", "RCL_PENDING"],
            "n_subjects": [2, 0, 0, 0],
            "n_population": [30, 30, 12, 12],
        }
    )

    def line(queries: tuple[DropQuery, ...]) -> tuple[str, str]:
        inp = SimpleNamespace(labs=None, long_term=long_term, lacks=lambda *_: False, queries=queries)
        ((_, text, style),) = dsmb_package_items(inp)  # type: ignore[arg-type]
        return text, style

    assert line(()) == (
        "2 subject(s) with a secondary malignancy, 0 with a T-cell malignancy; RCL positive in 0 of 12 subject(s) "
        "with an assay",
        "normal",
    )
    # one of the 12 with a pending assay: said (a DSMB reviewer's "of 102 tested" held one with a
    # pending assay and no result)
    pending = long_term.with_columns(
        pl.when(pl.col("event") == "RCL_PENDING").then(1).otherwise(pl.col("n_subjects")).alias("n_subjects")
    )
    inp = SimpleNamespace(labs=None, long_term=pending, lacks=lambda *_: False, queries=())
    ((_, text, _),) = dsmb_package_items(inp)  # type: ignore[arg-type]
    assert text.endswith("RCL positive in 0 of 12 subject(s) with an assay (1 with a result pending)")
    text, style = line((DropQuery.naming_no_row("malignancy_category_plausible", "1 long-term event(s) ..."),))
    assert style == "alert" and text.endswith(
        ". A long-term event's text names a malignancy of another category (a T-cell malignancy, the trial's own "
        "leukaemia, a malignancy coded as a new disorder): counted as coded until the data query is answered"
    )


def test_the_long_term_events_are_listed_in_the_closed_report_only_and_a_long_listing_is_cut(monkeypatch):
    """Two events: one row each, the malignancy's detail as written, the RCL assay's
    result; the table is subject-level (the open report leaves it out). With the limit at
    1 of 2, the first is printed and a note says where the rest are. No events, or no
    file: no listing."""
    import datetime as dt

    from trial_outcomes.reporting import laboratory

    events = pl.DataFrame(
        {
            "USUBJID": ["BR-001", "BR-002"],
            "event": ["T_CELL_MALIGNANCY", "RCL_TEST"],
            "ADT": [dt.date(2023, 1, 5), dt.date(2023, 2, 1)],
            "ADY": [400, 365],
            "result": [None, "POSITIVE"],
            "detail": ["CAR-positive peripheral T-cell lymphoma", None],
        }
    )
    (table,) = laboratory._long_term_listing(events, "2024-03-31")
    assert table.subject_level and table.columns == ["Subject", "Event", "Date", "Day", "Result", "Detail"]
    assert table.rows == [
        ["BR-001", "T-cell malignancy", "2023-01-05", "400", "", "CAR-positive peripheral T-cell lymphoma"],
        ["BR-002", "RCL assay", "2023-02-01", "365", "Positive", ""],
    ]
    assert table.population.startswith("2 event(s) in 2 subject(s)") and not table.notes
    monkeypatch.setattr(laboratory, "REPORT_EVENTS", 1)
    (cut,) = laboratory._long_term_listing(events, "2024-03-31")
    assert len(cut.rows) == 1 and cut.notes == ["First 1 of 2 events; all in long_term_events.csv."]
    assert laboratory._long_term_listing(events.head(0), "2024-03-31") == []
    assert laboratory._long_term_listing(None, "2024-03-31") == []


def test_rcl_assays_pending_at_the_cut_are_counted_with_the_oldest_wait():
    """Three pending assays in two subjects, sampled 2023-06-01 (BR-004), 2023-12-01
    (BR-003) and 2024-01-15 (BR-003), and one positive: at the cut 2024-03-31 the oldest
    waited 30 days to 1 July, 184 more to 1 January, 60 to 1 March (2024 a leap year) and
    30 to 31 March: 304 days. None pending: no note."""
    import datetime as dt

    from trial_outcomes.reporting import laboratory

    events = pl.DataFrame(
        {
            "USUBJID": ["BR-003", "BR-003", "BR-004", "BR-005"],
            "event": ["RCL_TEST"] * 4,
            "ADT": [dt.date(2024, 1, 15), dt.date(2023, 12, 1), dt.date(2023, 6, 1), dt.date(2023, 2, 1)],
            "ADY": [400, 355, 200, 100],
            "result": ["PENDING", "PENDING", "PENDING", "POSITIVE"],
            "detail": [None] * 4,
        }
    )
    (table,) = laboratory._long_term_listing(events, "2024-03-31")
    assert table.notes == [
        "3 RCL assay(s) in 2 subject(s) without a result at the cut; the oldest, BR-004's of 2023-06-01, was "
        "sampled 304 days before it: a result to ask the laboratory for."
    ]
    (none_pending,) = laboratory._long_term_listing(events.filter(pl.col("result") == "POSITIVE"), "2024-03-31")
    assert none_pending.notes == []


def test_a_labs_file_without_below_lloq_is_said_in_what_the_drop_does_not_have():
    """data-contract.md: a drop without an optional column runs and the report says what
    is absent. A red team's labs file without ``below_lloq`` moved Tlast's range from 28-365
    to 28-1095 days without a word; without the labs file at all, nothing is said of it."""
    from trial_outcomes.reporting.summary import absent_notes

    def notes(missing: dict[str, tuple[str, ...]]) -> list[str]:
        from trial_outcomes.schema import SCHEMAS

        def lacks(record: str, column: str | None = None) -> bool:
            gone = missing.get(record, ())
            return column in gone if column else set(gone) == set(SCHEMAS[record].column_names)

        return absent_notes(SimpleNamespace(lacks=lacks))  # type: ignore[arg-type]

    assert notes({}) == []
    (said,) = notes({"labs": ("below_lloq",)})
    assert said.startswith(
        "labs has no below_lloq column, or leaves it blank: every CAR transgene value is taken as quantified"
    )
    from trial_outcomes.schema import SCHEMAS

    assert not any("below_lloq" in n for n in notes({"labs": SCHEMAS["labs"].column_names}))


def test_the_best_response_table_says_a_withdrawal_leaves_the_window_open():
    """A statistician's finding: the table's method said the window "closes ... earlier at
    death, HSCT, new therapy, withdrawal or loss", while the rule (and ADSL) keeps a
    withdrawn or lost subject pending to day 42. S1 was lost to follow-up on day 7, never
    assessed; S2 died on day 10. At a cut on day 30: S1 pending (out of the evaluable: 1
    evaluable, S2, NE); the method names death, HSCT and new therapy as closing it and
    says a withdrawal or loss does not."""
    from trial_outcomes.reporting.efficacy import best_response_table

    t = Trial().enrol("S1").infuse("S1").event("S1", 7, "LOST")
    t.enrol("S2").infuse("S2").event("S2", 10, "DEATH", "Sepsis", category="INFECTION")
    adsl = t.derive(cut_day=30).adsl
    table = best_response_table(SimpleNamespace(adsl=adsl))  # type: ignore[arg-type]
    assert table.columns[1] == "All (N = 1 evaluable; 1 pending)"
    rows = {r[0]: r[1] for r in table.rows}
    assert rows["Pending at the cut"] == "1" and rows["Not evaluable (NE: no assessment in days 21-42)"] == "1 (100.0%)"
    assert "earlier at death, HSCT or new therapy; a withdrawal or loss does not close it" in table.method


def test_page_1_says_what_an_earlier_publication_held_and_this_one_revises():
    """A cut of 2021-06-30 that supersedes its v001 and compares with 2021-03-31. Against
    2021-03-31 one relapse was re-dated; against v001 one subject is gone and one death
    withdrawn. Page 1 carries one line for each comparison, with the counts and no
    subject; the section has a table per comparison (the earlier cut first) and, in the
    closed report only, a table naming the subjects of each."""
    from trial_outcomes.analysis.cut_comparison import COLUMNS, REVISED_ITEMS
    from trial_outcomes.reporting.safety import changes_section, revised_headline

    def rows(cut: str, version: str | None, named: dict[str, str]) -> list[dict]:
        return [
            {
                "item": item,
                "previous": "",
                "current": str(len(named[item].split(", "))) if item in named else "0",
                "change": named.get(item, ""),
                "previous_cut": cut,
                "previous_version": version,
            }
            for item in REVISED_ITEMS
        ]

    comparison = pl.DataFrame(
        rows("2021-03-31", None, {"Relapses withdrawn or re-dated": "BR-002 (2020-08-22 to 2020-08-29)"})
        + rows(
            "2021-06-30",
            "v001",
            {
                "Subjects no longer in the data": "BR-010",
                "MRD-negative remissions by day 28 no longer counted": "BR-005 (now best response by day 28 NR)",
                "Deaths withdrawn or re-dated": "BR-004 (2021-01-02 to none)",
            },
        ),
        schema=COLUMNS,
    )
    inp = SimpleNamespace(comparison=comparison, cut="2021-06-30")
    assert revised_headline(inp) == [
        (
            "Revised since the interim analysis of 2021-03-31",
            "Relapses withdrawn or re-dated: 1 (named in the section on changes)",
            "alert",
        ),
        (
            "Revised since version v001 of this cut, which this version replaces",
            "Subjects no longer in the data: 1; MRD-negative remissions by day 28 no longer counted: 1; deaths "
            "withdrawn or re-dated: 1 (named in the section on changes)",
            "alert",
        ),
    ]
    section = changes_section(inp)
    assert section is not None
    assert section.title == "Changes since the previous interim analysis and the version of this cut it replaces"
    tables = [(b.title, b.columns, getattr(b, "subject_level", False)) for b in section.blocks]
    assert [t[0] for t in tables] == [
        "Changes since the interim analysis of 2021-03-31",
        "Subjects new or revised since the interim analysis of 2021-03-31",
        "Changes since version v001 of this cut, which this version replaces",
        "Subjects new or revised since version v001 of this cut, which this version replaces",
    ]
    assert tables[0][1] == ["Item", "2021-03-31", "2021-06-30", "Change"]
    assert tables[2][1] == ["Item", "2021-06-30 v001", "This version", "Change"]
    assert [t[2] for t in tables] == [False, True, False, True]
    assert section.blocks[3].rows == [
        ["Subjects no longer in the data", "BR-010"],
        ["MRD-negative remissions by day 28 no longer counted", "BR-005 (now best response by day 28 NR)"],
        ["Deaths withdrawn or re-dated", "BR-004 (2021-01-02 to none)"],
    ]
    # a publication that revises nothing says nothing on page 1
    quiet = comparison.with_columns(current=pl.lit("0"), change=pl.lit(""))
    assert revised_headline(SimpleNamespace(comparison=quiet, cut="2021-06-30")) == []
    # another analysis plan than the earlier publication's is said on page 1 (a plan red team's
    # safety rule moved from P 0.10 to 0.007 on the same data, unsaid)
    from trial_outcomes.analysis.cut_comparison import PLAN_ITEM

    plan_row = {"item": PLAN_ITEM, "previous": "aaaaaaaaaaaa", "current": "bbbbbbbbbbbb", "change": "changed"}
    planned = pl.concat(
        [pl.DataFrame([{**plan_row, "previous_cut": "2021-03-31", "previous_version": None}], schema=COLUMNS), quiet]
    )
    (line,) = revised_headline(SimpleNamespace(comparison=planned, cut="2021-06-30"))
    assert line[0] == "Analysis plan changed since the interim analysis of 2021-03-31"
    assert line[1].startswith("That publication read the plan aaaaaaaaaaaa, this one bbbbbbbbbbbb (SHA-256)")
    # and other code (an upgrade red team's changed rule withdrew a response, unsaid)
    from trial_outcomes.analysis.cut_comparison import CODE_ITEM

    code_row = {"item": CODE_ITEM, "previous": "59dcd35302", "current": "472f2ffdb3", "change": "changed"}
    coded = pl.concat(
        [pl.DataFrame([{**code_row, "previous_cut": "2021-06-30", "previous_version": "v001"}], schema=COLUMNS), quiet]
    )
    (line,) = revised_headline(SimpleNamespace(comparison=coded, cut="2021-06-30"))
    assert line == (
        "Code changed since version v001 of this cut, which this version replaces",
        "That publication was made by code 59dcd35302, this one by code 472f2ffdb3: a rule that changed between "
        "them moves a number with no change in the data, so a change below may be the code's, not the export's",
        "alert",
    )


def test_page_1_says_a_crs_or_icans_reported_before_the_infusion_is_not_counted():
    """Two ICANS AEs before the cells (days -3 and -1, grades 4 and 2) in one subject, and a
    CRS on day 2 (counted): page 1 says 2 AEs in 1 subject, worst grade 4, days -3 to -1,
    in the alert style (grade 4 >= 3); no line when only the day-2 CRS is there."""
    from trial_outcomes.reporting.safety import before_infusion_headline

    adae = pl.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S2"],
            "AESPID": ["AE1", "AE2", "AE3"],
            "AETERM": ["ICANS", "ICANS", "CRS"],
            "ASTDY": [-3, -1, 2],
            "AETOXGR": [4, 2, 3],
            "TRTEMFL": ["Y", "Y", "Y"],
            "CRSFL": ["N", "N", "Y"],
            "ICANSFL": ["Y", "Y", "N"],
        }
    )
    title, text, style = before_infusion_headline(adae)  # type: ignore[misc]
    assert title == "CRS or ICANS reported before the infusion, not counted"
    assert text.startswith("2 AE(s) in 1 subject(s), worst grade 4, with onset on days -3 to -1, before the cells")
    assert style == "alert"
    assert before_infusion_headline(adae.filter(pl.col("USUBJID") == "S2")) is None


def test_the_open_report_names_a_querys_files_without_their_rows():
    """A red team: the open report's data-query table printed "(followup.csv row 484)",
    which anyone holding the drop could trace to the child. The closed report keeps the
    rows; the open one states the same sentence made with the rows withheld
    (``DropQuery.open_finding``), so each file is named alone: rows 41, 42 and 57 of
    assessments.csv and row 3 of labs.csv read "assessments.csv rows 41, 42 and 57;
    labs.csv row 3" closed and "assessments.csv; labs.csv" open; ten rows of followup.csv
    (shown 8) read "rows 1, 2, 3, 4, 5, 6, 7, 8 and 2 more" closed. A finding naming no
    row (columns dropped unread) is the same in both."""
    from trial_outcomes.io.records import DropQuery
    from trial_outcomes.io.validation import drop_queries, rows_named, rows_withheld
    from trial_outcomes.reporting.content import Document, Section
    from trial_outcomes.reporting.summary import data_queries_table

    found = pl.DataFrame(
        {
            "file": ["labs.csv", "assessments.csv", "assessments.csv", "assessments.csv"],
            "row": [3, 57, 41, 42],
            "subject": ["S1", "S2", "S2", "S3"],
            "rule": ["r"] * 4,
        }
    )
    assert rows_named(found) == "assessments.csv rows 41, 42 and 57; labs.csv row 3"
    assert rows_named(rows_withheld(found)) == "assessments.csv; labs.csv"
    ten = pl.DataFrame({"file": ["followup.csv"] * 10, "row": list(range(10, 0, -1))})
    assert rows_named(ten) == "followup.csv rows 1, 2, 3, 4, 5, 6, 7, 8 and 2 more"
    assert rows_named(rows_withheld(ten)) == "followup.csv"

    finding = pl.DataFrame({"file": ["adverse_events.csv"], "row": [337], "subject": ["S1"], "rule": ["stale"]})
    (query,) = drop_queries([], {}, {"adverse_events_current": finding})
    assert (query.finding, query.open_finding) == ("stale (adverse_events.csv row 337)", "stale (adverse_events.csv)")
    (dropped,) = drop_queries([], {"enrolment.csv": ("note",)}, {})
    assert dropped.open_finding == dropped.finding

    queries = (
        DropQuery(
            "new_therapy_plausible",
            "1 record(s) (followup.csv row 337) name care",
            "1 record(s) (followup.csv) name care",
        ),
    )
    table = data_queries_table(SimpleNamespace(queries=queries))  # type: ignore[arg-type]
    document = Document("t", "s", "2024-03-31", "v", [Section("About", "about", [table])])
    assert table.rows[0][1] == "1 record(s) (followup.csv row 337) name care"
    (opened,) = document.open_report().sections[0].blocks
    assert isinstance(opened, type(table)) and opened.rows[0][1] == "1 record(s) (followup.csv) name care"


def test_page_1s_itt_rate_names_its_pending_subjects_among_the_enrolled():
    """Early cut of seed 73: 34 enrolled, 4 with the day-28 window open, 25 responders among
    the 30 others: "25/30, 83.3% (...) (4 of 34 pending)"; nobody pending, nothing
    added (a DSMB reader read "all enrolled (ITT) 25/30" beside 34 enrolled)."""
    from trial_outcomes.reporting.summary import _itt_rate

    row = {"responders": 25, "n": 30, "rate": 25 / 30, "rate_lcl": 0.6528, "rate_ucl": 0.9436, "n_pending": 4}
    assert _itt_rate(row).startswith("25/30, 83.3% (65.3-94.4)")
    assert _itt_rate(row).endswith(" (4 of 34 pending)")
    assert "pending" not in _itt_rate({**row, "n_pending": 0})


def test_page_1s_note_says_what_0_at_risk_means_only_where_a_rate_shows_it():
    """A 12-month rate with 0 at risk on page 1: the note explains it (the curve ended with
    an event for every subject at risk); rates with subjects at risk only: it does not."""
    from trial_outcomes.formatting import ENDED_NOTE
    from trial_outcomes.reporting.summary import summary_note

    ended = [
        ("Overall survival (OS): median; rates", "NR; 6 mo 50.0% (1.2-91.0); 2 at risk*; 12 mo 0.0; 0 at risk*", "")
    ]
    assert ENDED_NOTE in summary_note(ended)
    followed = [("Overall survival (OS): median; rates", "NR; 6 mo 87.4% (79.6-92.3); 95 at risk", "")]
    assert ENDED_NOTE not in summary_note(followed) and "(*: fewer than 10)" in summary_note(followed)


def test_a_crossed_rule_is_stated_once_on_page_1():
    """A crossed rule's data and boundary are in the red box; its row in "Stopping rules at
    this cut" says so instead of repeating them (seed 102's page 1 ran onto page 2 by the
    repeat); a rule not crossed keeps its data and boundary there."""
    from trial_outcomes.reporting.content import Facts
    from trial_outcomes.reporting.summary import stopping_blocks

    rules = pl.DataFrame(
        {
            "rule": ["Safety", "Efficacy"],
            "crossed": [True, False],
            "data": ["6 of 10", "8 of 11"],
            "boundary": ["b", "c"],
        }
    )
    inp = SimpleNamespace(queries=(), table=lambda name: rules, figures={})
    blocks = stopping_blocks(inp)  # type: ignore[arg-type]
    assert blocks[0].text == "STOPPING BOUNDARY CROSSED - Safety: 6 of 10. Rule: b."
    (facts,) = [b for b in blocks if isinstance(b, Facts)]
    assert [value for _, value, _ in facts.rows] == ["As stated above.", "8 of 11. Rule: c."]


def test_page_1_of_the_closed_report_names_each_malignancy_and_positive_rcl_assay():
    """A DSMB reader's MDS after a lentiviral product was a count on page 1 and a row 60 pages
    on. BR-027's secondary malignancy (day 261, its text) and BR-030's positive RCL assay
    (day 365) are named, BR-030's in red; a new autoimmune disorder and a negative or pending
    assay are not; the open report leaves the line out (subject-level). Nothing to name, or
    no long-term file: no line."""
    import datetime as dt

    from trial_outcomes.reporting.content import CLOSED_ONLY, Document, Paragraph, Section
    from trial_outcomes.reporting.summary import long_term_signals

    day = dt.date(2023, 1, 1)
    events = pl.DataFrame(
        {
            "USUBJID": ["BR-027", "BR-028", "BR-029", "BR-030", "BR-031"],
            "event": ["SECONDARY_MALIGNANCY", "NEW_AUTOIMMUNE", "RCL_TEST", "RCL_TEST", "RCL_TEST"],
            "ADT": [day] * 5,
            "ADY": [261, 300, 365, 365, 365],
            "result": [None, None, "NEGATIVE", "POSITIVE", "PENDING"],
            "detail": ["Myelodysplastic syndrome", "Thyroiditis", None, None, None],
        }
    )
    (line,) = long_term_signals(events)
    assert line.text == (
        "Long-term events named (closed report): BR-027, day 261: secondary malignancy (Myelodysplastic "
        "syndrome); BR-030, day 365: positive RCL assay."
    )
    assert line.style == "alert" and line.subject_level
    (quiet,) = long_term_signals(events.head(1))
    assert quiet.style == "normal"
    doc = Document("t", "s", "2024-01-01", "abc", [Section("Executive summary", "summary", [line])])
    assert doc.open_report().sections[0].blocks == [Paragraph(CLOSED_ONLY, "note")]
    assert long_term_signals(events.filter(pl.col("event") == "NEW_AUTOIMMUNE")) == []
    assert long_term_signals(None) == []
