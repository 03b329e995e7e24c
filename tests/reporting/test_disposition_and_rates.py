"""A DSMB reviewer's reading of the report (2026-12-07): the disposition table and the flow
drew the analysis sets as parts of each other, the response rates left out an ITT group
nobody of which was infused, and a leukaemia death counted as a relapse went unnamed."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl

from trial_outcomes.analysis.rates import EFFICACY_POPULATION, ITT_POPULATION
from trial_outcomes.reporting.efficacy import response_rates_table
from trial_outcomes.reporting.figures.specs import consort_spec
from trial_outcomes.reporting.summary import disposition_table


def _adsl() -> pl.DataFrame:
    """Six enrolled, five infused. S2 withdrew before any assessment (not in the efficacy
    set, eligible: per-protocol); S3 is evaluable and not eligible. So the efficacy set is
    S1, S3, S4, S5 (4), the per-protocol set S1, S2, S4, S5 (4), in both S1, S4, S5 (3)."""
    return pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4", "S5", "S6"],
            "SAFFL": ["Y", "Y", "Y", "Y", "Y", "N"],
            "EFFFL": ["Y", "N", "Y", "Y", "Y", "N"],
            "D28PNDFL": ["N", None, "N", "Y", "N", None],
            "PPROTFL": ["Y", "Y", "N", "Y", "Y", "N"],
            "DISPSTAT": ["ONGOING", "WITHDRAWN", "DIED", "ONGOING", "LOST", None],
            "NINFCAT": [None, None, None, None, None, "DEATH"],
            "HSCTDT": [None] * 6,
            "NTHERDT": [None] * 6,
        },
        schema_overrides={"HSCTDT": pl.Date, "NTHERDT": pl.Date},
    )


def test_the_analysis_sets_are_parts_of_the_safety_set_not_of_each_other():
    rows = {r[0]: r[1] for r in disposition_table(SimpleNamespace(adsl=_adsl())).rows}  # type: ignore[arg-type]
    assert rows["Infused (safety set)"] == "5"
    # indented under the safety set, side by side, with the overlap
    assert rows["   Efficacy set (response analyses)"] == "4 (80.0%)"
    # of whom the day-28 response rates leave out the one pending: 1 of 5 infused
    assert rows["      Day-28 response pending at the cut"] == "1 (20.0%)"
    assert rows["   Per-protocol set (infused and eligible)"] == "4 (80.0%)"
    assert rows["   In both the efficacy and per-protocol sets"] == "3 (60.0%)"
    # the status rows under a row of their own: 2 + 1 + 1 + 1 = 5, the safety set
    assert "Status of the infused at the data cut" in rows
    assert [rows[f"   {s}"] for s in ("Ongoing at the cut", "Died", "Withdrawn", "Lost to follow-up")] == [
        "2 (40.0%)",
        "1 (20.0%)",
        "1 (20.0%)",
        "1 (20.0%)",
    ]
    spec = consort_spec(_adsl())
    assert (spec.infused, spec.evaluable, spec.per_protocol, spec.evaluable_and_per_protocol) == (5, 4, 4, 3)


def _rate(population: str, var: str, group: str, n: int, k: int) -> dict[str, object]:
    return {
        "population": population,
        "parameter": "CR/CRi by day 28",
        "group_var": var,
        "group": group,
        "n": n,
        "responders": k,
        "rate": k / n if n else None,
        "rate_lcl": 0.0 if n else None,
        "rate_ucl": 1.0 if n else None,
        "n_pending": 0,
        "n_pending_responders": 0,
    }


def test_an_itt_group_with_nobody_in_the_efficacy_set_keeps_its_itt_row():
    """A reviewer's early cut: 11 enrolled, 9 morphologic (6 responders, all infused ones
    evaluable) and 2 MRD-persistent entrants never infused, so no efficacy row of their own.
    ITT: all 6/11, morphologic 6/9, MRD-persistent 0/2; the report left out the last, and the
    ITT groups, 9, did not add up to 11."""
    summary = pl.DataFrame(
        [
            _rate(EFFICACY_POPULATION, "all", "all", 8, 6),
            _rate(EFFICACY_POPULATION, "STRATUM", "morphologic", 8, 6),
            _rate(ITT_POPULATION, "all", "all", 11, 6),
            _rate(ITT_POPULATION, "STRATUM", "morphologic", 9, 6),
            _rate(ITT_POPULATION, "STRATUM", "mrd_persistent", 2, 0),
        ]
    )
    table = response_rates_table(SimpleNamespace(table=lambda name: summary))  # type: ignore[arg-type]
    labels = [r[0].strip() for r in table.rows]
    itt = [r[-1].split(",")[0] for r in table.rows]
    assert labels[0] == "CR/CRi by day 28" and table.bold_rows == [0]
    assert len(table.rows) == 4
    assert itt[1:] == ["6/11", "6/9", "0/2"]
    assert labels[2:] == ["Response stratum: Morphologic disease", "Response stratum: MRD-persistent"]
    assert table.rows[3][1:5] == ["0", "0", "no subject in the efficacy set", "0"]
    # the ITT groups of the stratum add up to the ITT total again: 9 + 2 = 11
    assert sum(int(x.split("/")[1]) for x in itt[2:]) == 11


def test_a_leukaemia_death_in_remission_without_a_relapse_record_is_named():
    """CIR and DOR count a leukaemia death in remission with no relapse recorded as a relapse
    (endpoints.md); the listing's "After relapse from remission" says N. S1: leukaemia, remission on day 28,
    no relapse: named. S2: leukaemia after a relapse; S3: leukaemia, never in remission; S4:
    CRS in remission; S5: leukaemia, never infused (no day of death from infusion); S6:
    leukaemia in remission, its relapse recorded after the death (not before it): named."""
    from datetime import date

    from trial_outcomes.reporting.safety import _unrecorded_relapse_note

    d = date(2022, 1, 1)
    died = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4", "S5", "S6"],
            "DTHDT": [d] * 6,
            "DTHDY": [200, 200, 200, 200, None, 200],
            "DTHCAT": ["LEUKEMIA", "LEUKEMIA", "LEUKEMIA", "CRS", "LEUKEMIA", "LEUKEMIA"],
            "FRMDT": [date(2021, 7, 1), date(2021, 7, 1), None, date(2021, 7, 1), None, date(2021, 7, 1)],
            "RELDT": [None, date(2021, 12, 1), None, None, None, date(2022, 2, 1)],
        }
    )
    note = _unrecorded_relapse_note(died)
    assert note.startswith(" 2 death(s) from leukaemia after a CAR-T remission with no relapse recorded (S1, S6)")
    assert _unrecorded_relapse_note(died.filter(pl.col("USUBJID").is_in(["S2", "S3", "S4", "S5"]))) == ""


def test_the_swimmer_pages_run_from_the_longest_follow_up_down_and_mark_who_left(monkeypatch):
    """The caption says "in order of follow-up, the longest at the top": a reviewer's page 1
    of 2 held the shortest follow-up. Five infused on one day, followed 10, 40, 20, 50 and 30
    days (S1-S5), two lanes a page: page 1 holds S4 (50) and S2 (40), S4 at the top (the last
    lane, drawn bottom up), page 2 S5 (30) and S3 (20), page 3 S1 (10). S3 withdrew and S1 was
    lost: their bars' ends are marked, the others' not."""
    from datetime import date, timedelta

    from trial_outcomes.reporting.figures import specs

    monkeypatch.setattr(specs, "SWIMMER_LANES", 2)
    day0 = date(2021, 1, 1)
    adsl = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4", "S5"],
            "SAFFL": ["Y"] * 5,
            "DISPSTAT": ["LOST", "ONGOING", "WITHDRAWN", "ONGOING", "DIED"],
            "TRTSDT": [day0] * 5,
            "DTHDT": [None, None, None, None, day0 + timedelta(days=30)],
            "LSTALVDT": [day0 + timedelta(days=d) for d in (10, 40, 20, 50, 29)],
            **{c: [None] * 5 for c in ("FRMDT", "HSCTDT", "NTHERDT", "RELDT")},
        },
        schema_overrides=dict.fromkeys(("DTHDT", "FRMDT", "HSCTDT", "NTHERDT", "RELDT"), pl.Date),
    )
    pages = specs.swimmer_specs(adsl)
    assert list(pages) == ["swimmer_1.svg", "swimmer_2.svg", "swimmer_3.svg"]
    assert [pages[f"swimmer_{k}.svg"].ids for k in (1, 2, 3)] == [["S2", "S4"], ["S3", "S5"], ["S1"]]
    assert [pages[f"swimmer_{k}.svg"].left for k in (1, 2, 3)] == [[False, False], [True, False], [True]]


def test_a_later_visit_every_due_subject_missed_is_said():
    """A reviewer's drop: M30 19 of 19 and M42 2 of 2 overdue (sites assessing yearly after
    M24), read as a conduct failure with no word on the schedule. M30 and M42 are named; M24
    (3 of 10), M6 (all of 1: one subject is not a pattern) and D28 (an early visit, 2 of 2, is
    a missed visit) are not."""
    from trial_outcomes.reporting.efficacy import _all_overdue_note

    visits = pl.DataFrame(
        {"group": ["D28", "M6", "M24", "M30", "M42"], "n": [2, 1, 10, 19, 2], "count": [2, 1, 3, 19, 2]}
    )
    (note,) = _all_overdue_note(visits)
    assert note.startswith("Every subject due for M30, M42 is overdue")
    assert _all_overdue_note(visits.filter(pl.col("group") != "M30").filter(pl.col("group") != "M42")) == []


def test_the_swimmer_caption_says_who_is_drawn(monkeypatch):
    """Three infused of four enrolled: "All 3 infused subjects", in order of follow-up. With
    the limit at 2: "The 2 most recently infused of the 3 infused subjects" (a DSMB reader of
    a trial of 59 read "the 180 most recently infused at most" against "longest first")."""
    from types import SimpleNamespace

    from trial_outcomes.reporting import safety

    inp = SimpleNamespace(
        figures={"swimmer_1.svg": b""},
        adsl=pl.DataFrame({"USUBJID": ["S1", "S2", "S3", "S4"], "SAFFL": ["Y", "Y", "N", "Y"]}),
    )
    (figure,) = safety.course_section(inp).blocks  # type: ignore[arg-type]
    assert "All 3 infused subjects, in order of follow-up, the longest first" in figure.footnote
    monkeypatch.setattr(safety, "SWIMMER_LIMIT", 2)
    (figure,) = safety.course_section(inp).blocks  # type: ignore[arg-type]
    assert "The 2 most recently infused of the 3 infused subjects (all are in ADSL), in order" in figure.footnote
