"""CRS and ICANS found however the export spells them (issue 21) and graded only
inside the treatment-emergent window (endpoints.md v3, CRS and ICANS grading
windows; issue 20). Worked examples in study days (tests/builders.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.builders import Trial, adae_rows, adsl_row, day
from trial_outcomes.analysis.terms import crs_absence_query, lookalike_terms, mapped_terms, resembles, syndrome
from trial_outcomes.schema import CRS_TERM, ICANS_TERM


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Cytokine release syndrome", "CRS"),
        ("Cytokine Release Syndrome", "CRS"),
        ("CYTOKINE RELEASE SYNDROME", "CRS"),
        ("  cytokine-release  syndrome ", "CRS"),
        ("CRS", "CRS"),
        ("Cytokine release syndrome (CRS)", "CRS"),
        ("ＣＲＳ", "CRS"),  # full-width letters: NFKC
        ("Immune effector cell-associated neurotoxicity syndrome", "ICANS"),
        ("Immune Effector Cell–Associated Neurotoxicity Syndrome", "ICANS"),  # an en dash
        ("ICANS", "ICANS"),
        ("icans", "ICANS"),
        ("CRES", "ICANS"),
        ("\u0421RS", "CRS"),  # a Cyrillic С: read as it looks
        ("ІCANS", "ICANS"),  # a Cyrillic І
        ("C\u200bRS", "CRS"),  # a zero-width space inside
        ("C.R.S.", "CRS"),  # spelt out letter by letter
        ("C R S", "CRS"),
        ("I.C.A.N.S.", "ICANS"),
        ("CR\u015a", "CRS"),  # an accent (NFKC composes S and a combining acute): taken off
        ("CRS-like fever", None),
        ("History of CRS", None),
        ("Neurotoxicity", None),
        ("Pyrexia", None),
        ("CRP", None),
        # the whole name in another language (a red team's French and Chinese CRS lost the
        # safety rule every grade 4 so written): counted, accents and case as in English
        ("Syndrome de relargage cytokinique", "CRS"),
        ("Síndrome de liberación de citocinas", "CRS"),
        ("SINDROME DE LIBERACAO DE CITOCINAS", "CRS"),
        ("Zytokin-Freisetzungssyndrom", "CRS"),
        ("Zytokinfreisetzungssyndrom", "CRS"),  # solid, as "C.R.S." is
        ("Sindrome da rilascio di citochine", "CRS"),
        ("细胞因子释放综合征", "CRS"),
        ("サイトカイン放出症候群", "CRS"),
        ("사이토카인 방출 증후군", "CRS"),
        ("免疫效应细胞相关神经毒性综合征", "ICANS"),
        ("Syndrome de neurotoxicité associé aux cellules effectrices immunitaires", "ICANS"),
        ("Neurotoxicité", None),  # queried, as "Neurotoxicity" is
        ("Fièvre", None),
        # a re-verifier's: Taiwan's CRS, the Dutch ICANS, the Chinese CRES and encephalopathy
        # syndrome, and CRS in Russian, Turkish and Greek
        ("細胞激素釋放症候群", "CRS"),
        ("Immuuneffectorcel-geassocieerd neurotoxiciteitssyndroom", "ICANS"),
        ("免疫效应细胞相关脑病综合征", "ICANS"),
        ("CAR-T细胞相关脑病综合征", "ICANS"),
        ("Синдром высвобождения цитокинов", "CRS"),
        ("Sitokin salınım sendromu", "CRS"),
        ("Σύνδρομο απελευθέρωσης κυτοκινών", "CRS"),
    ],
)
def test_each_spelling_is_identified_exactly_after_normalisation(term, expected):
    assert pl.select(syndrome(pl.lit(term))).item() == expected


def test_a_capitalised_export_gives_the_same_grades_as_the_canonical_terms():
    """S1: "Cytokine Release Syndrome" grade 4 on day 2 and "ICANS" grade 3 on day 5.
    ADAE keeps the verbatim term and decodes the preferred term; the subject's
    reported and adjudicated grades are 4 and 3, as with the canonical spellings."""
    t = Trial().enrol("S1")
    t.infuse("S1").ae("S1", "Cytokine Release Syndrome", 2, 4).ae("S1", "ICANS", 5, 3)
    d = t.derive()
    rows = {r["AETERM"]: r for r in adae_rows(d)}
    assert rows["Cytokine Release Syndrome"]["AEDECOD"] == CRS_TERM
    assert rows["Cytokine Release Syndrome"]["CRSFL"] == "Y" and rows["Cytokine Release Syndrome"]["AESICAT"] == "CRS"
    assert rows["ICANS"]["AEDECOD"] == ICANS_TERM and rows["ICANS"]["ICANSFL"] == "Y"
    subject = adsl_row(d)
    assert (subject["CRSGR"], subject["CRSGRAJ"], subject["ICANGR"], subject["ICANGRAJ"]) == (4, 4, 3, 3)


def test_an_export_in_another_language_gives_the_same_grades():
    """A red team's drop with its grade-4 CRS written "Syndrome de relargage cytokinique"
    (and no monitoring to derive a grade from) moved the safety rule from 13 to 5 subjects.
    S1: that term grade 4 on day 2 and the Chinese ICANS grade 3 on day 5: the reported
    and adjudicated grades are 4 and 3, the preferred terms the canonical ones."""
    french, chinese = "Syndrome de relargage cytokinique", "免疫效应细胞相关神经毒性综合征"
    t = Trial().enrol("S1").infuse("S1").ae("S1", french, 2, 4).ae("S1", chinese, 5, 3)
    d = t.derive()
    rows = {r["AETERM"]: r for r in adae_rows(d)}
    assert (rows[french]["AEDECOD"], rows[chinese]["AEDECOD"]) == (CRS_TERM, ICANS_TERM)
    subject = adsl_row(d)
    assert (subject["CRSGR"], subject["CRSGRAJ"], subject["ICANGR"], subject["ICANGRAJ"]) == (4, 4, 3, 3)


def test_mapped_terms_lists_every_spelling_with_its_count():
    ae = pl.DataFrame({"term": ["CRS", "Cytokine Release Syndrome", "CRS", "ICANS", "Pyrexia"]})
    assert mapped_terms(ae).rows() == [
        ("CRS", "CRS", 2),
        ("CRS", "Cytokine Release Syndrome", 1),
        ("ICANS", "ICANS", 1),
    ]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("CRS grade 3", "CRS"),  # a grade written into the term
        ("Cytokine relase syndrome", "CRS"),  # a typing error
        ("Cytokine releasing syndrome", "CRS"),
        ("CRS-like fever", "CRS"),  # not CRS, but a question for the data manager
        ("History of CRS", "CRS"),
        ("Neurotoxicity", "ICANS"),
        ("Encephalopathy", "ICANS"),
        ("Immune effector cell associated neurotoxicty syndrome", "ICANS"),
        ("CRES grade 2", "ICANS"),
        ("Cytokine Release Syndrome", None),  # counted as CRS: not a lookalike
        ("ICANS", None),
        ("CRP increased", None),
        ("Crisis", None),
        ("Tumour lysis syndrome", None),
        ("Febrile neutropenia", None),
        ("Pyrexia", None),
        ("Neurological toxicity", "ICANS"),
        ("Neuro-toxicity", "ICANS"),
        ("Toxic encephalopathy", "ICANS"),
        ("Hepatic encephalopathy", None),  # a diagnosis of its own, not a query
        ("Leukoencephalopathy", None),
        ("Posterior reversible encephalopathy syndrome", None),
        ("\u0421RS", None),  # counted as CRS (read as it looks): not a lookalike
        ("C.R.S. grade 4", "CRS"),  # spelt out and graded: neither counted nor, before, queried
        ("I.C.A.N.S. grade 3", "ICANS"),
        ("C-R-S G4", "CRS"),
        ("CRS4", "CRS"),
        ("ICANS2", "ICANS"),
        ("CRSgrade4", "CRS"),
        ("Encephalopathy grade 3", "ICANS"),
        ("ICANS/CRS", "CRS or ICANS"),
        ("Peripheral neurotoxicity", None),  # a drug's neuropathy, not ICANS
        ("Crescendo", None),
        ("ALT increased", None),
        # another language, not the whole name: queried (a red team's were neither)
        ("SRC", "CRS"),  # the French abbreviation
        ("SRC grade 4", "CRS"),
        ("Sindrome da rilascio di citochine grado 4", "CRS"),
        ("Síndrome de liberación de citoquinas grado 3", "CRS"),
        ("细胞因子释放综合征 3级", "CRS"),
        ("细胞因子释放", "CRS"),
        ("サイトカイン放出症候群グレード4", "CRS"),
        ("Neurotoxicité", "ICANS"),
        ("Neurotoxicidad", "ICANS"),
        ("Neurotossicità", "ICANS"),
        ("Neurotoxizität", "ICANS"),
        ("神经毒性", "ICANS"),
        ("神経毒性", "ICANS"),
        ("Fièvre", None),
        ("Neuropathie périphérique", None),
        ("Syndrome de lyse tumorale", None),
        # an abbreviation with Chinese letters beside it (no word's edge): neither, before
        ("3级CRS", "CRS"),
        ("重度CRS", "CRS"),
        ("2级ICANS", "ICANS"),
        # encephalopathy alone in other languages, and the encephalopathy of CAR-T in CJK
        ("Encefalopatía", "ICANS"),
        ("Encéphalopathie", "ICANS"),
        ("Enzephalopathie", "ICANS"),
        ("CAR-T細胞関連脳症", "ICANS"),
        ("CAR-T 세포 관련 뇌병증", "ICANS"),
        ("肝性脑病", None),  # hepatic encephalopathy
        ("Encéphalopathie hépatique", None),
        ("Leucoencefalopatía", None),
        ("ocrs", None),
    ],
)
def test_a_term_left_uncounted_that_resembles_a_syndrome_is_found(term, expected):
    assert resembles(term) == expected


def test_lookalike_terms_lists_each_with_its_events_and_subjects():
    """ "CRS grade 3" twice (subjects C and A), "Neurotoxicity" once (B); "CRS" is
    counted as CRS and "Pyrexia" resembles nothing. Twelve subjects with
    "Encephalopathy" show the first three ids and "and 9 more" (``shown`` 3)."""
    ae = pl.DataFrame(
        {
            "term": ["CRS grade 3", "CRS", "CRS grade 3", "Pyrexia", "Neurotoxicity", None, *["Encephalopathy"] * 12],
            "subject_id": ["C", "B", "A", "A", "B", "C", *[f"E{i:02d}" for i in range(12)]],
        }
    )
    assert lookalike_terms(ae, shown=3).rows() == [
        ("CRS", "CRS grade 3", 2, 2, "A, C"),
        ("ICANS", "Encephalopathy", 12, 12, "E00, E01, E02 and 9 more"),
        ("ICANS", "Neurotoxicity", 1, 1, "B"),
    ]
    assert lookalike_terms(ae.filter(pl.col("term") == "CRS")).height == 0


def test_a_drop_without_crs_is_queried_from_five_infused():
    """At an early cut with 4 subjects infused and no CRS, nothing is queried (a sweep of
    other seeds warned at a 15-subject drop's first cut); with 5 infused and none, the
    query says so: at a CRS incidence of 50%, none of 5 has probability 0.5**5 = 3.1%.
    One CRS event is never queried."""
    assert crs_absence_query(0, 4) is None
    assert crs_absence_query(1, 40) is None
    query = crs_absence_query(0, 5)
    assert query is not None and query.startswith("no adverse event is coded as CRS among 5 infused subjects")


def test_a_crs_like_episode_after_a_transplant_never_reaches_the_adjudicated_grade():
    """S1: lymphodepletion day -5, infusion day 0, fever 38.5 C with no organ support
    on day 3 (ASTCT grade 1), reported CRS grade 1 on day 3; HSCT on day 60; on day
    74 fever 39.5 C with several vasopressors (grade 4 if it counted). Version 3:
    the derived grade is 1 (day 3 only), the adjudicated grade 1, and day 74 is
    listed apart."""
    t = Trial().enrol("S1")
    t.infuse("S1").ae("S1", "Cytokine release syndrome", 3, 1, resolved=4)
    t.crs("S1", 3, 38.5).crs("S1", 74, 39.5, hypotension="MULTI_VASOPRESSOR")
    t.event("S1", 60, "HSCT", "Sibling donor")
    d = t.derive()
    subject = adsl_row(d)
    assert (subject["CRSGRDV"], subject["CRSGRAJ"]) == (1, 1)
    assert d.crs.outside is not None
    assert d.crs.outside["obs_date"].to_list() == [day(74)]


def test_tocilizumab_for_a_crs_after_a_transplant_does_not_mask_fever_in_the_car_t_window():
    """S1 (a red team's drop): CRS grade 2 on days 1-8, no tocilizumab; monitored 38.6 C
    with fluids on day 1 (ASTCT grade 2), then 37.6 C with several vasopressors on day 8
    (afebrile: not CRS unless the fever is masked by CRS treatment). HSCT on day 100; a
    CRS on day 110 treated with tocilizumab. The treatment is outside the CAR-T window,
    so day 8 is not a CRS day: derived grade 2, adjudicated 2 (version 3's first code
    counted the subject as treated from any date: derived grade 4). S2, the control:
    the same days, with tocilizumab for the in-window CRS: day 8 is masked fever, grade 4."""
    t = Trial().enrol("S1").enrol("S2")
    for sid, toci in (("S1", False), ("S2", True)):
        t.infuse(sid).ae(sid, "Cytokine release syndrome", 1, 2, resolved=8, toci=toci)
        t.crs(sid, 1, 38.6, hypotension="FLUIDS").crs(sid, 8, 37.6, hypotension="MULTI_VASOPRESSOR")
    t.event("S1", 100, "HSCT", "Sibling donor").ae("S1", "Cytokine release syndrome", 110, 2, resolved=114, toci=True)
    d = t.derive(cut_day=200)
    grades = d.adsl.select("USUBJID", "CRSGRDV", "CRSGRAJ").rows()
    assert grades == [("S1", 2, 2), ("S2", 4, 4)]


def test_a_death_from_crs_after_a_transplant_is_not_a_grade_5_crs_of_car_t():
    """S1: CRS grade 2 on day 4 (monitored, 38.6 C with fluids: grade 2); HSCT on day
    50; death of CRS on day 80. The derived grade stays 2, not 5."""
    t = Trial().enrol("S1")
    t.infuse("S1").ae("S1", "Cytokine release syndrome", 4, 2, resolved=6)
    t.crs("S1", 4, 38.6, hypotension="FLUIDS")
    t.event("S1", 50, "HSCT", "Donor").event("S1", 80, "DEATH", "Cytokine release syndrome", "CRS")
    subject = adsl_row(t.derive())
    assert (subject["CRSGRDV"], subject["CRSGRAJ"]) == (2, 2)


def test_the_encephalopathy_of_the_ice_score_is_icans_and_other_immune_effector_terms_are_queried():
    """ "Immune effector cell-associated encephalopathy syndrome" (the E of the ICE score) is
    ICANS: a red team's grade 4 under it was neither counted nor queried. Any other term
    naming immune effector cells, or an encephalopathy syndrome, resembles ICANS (a query),
    but IEC-HS (the HLH-like syndrome, its own AESI) and PRES do not."""
    from trial_outcomes.analysis.terms import resembles, syndrome_of

    assert syndrome_of("Immune effector cell-associated encephalopathy syndrome") == "ICANS"
    assert syndrome_of("Immune Effector Cell Associated Encephalopathy") == "ICANS"
    assert resembles("Immune effector cell toxicity") == "ICANS"
    assert resembles("CAR-T associated encephalopathy syndrome") == "ICANS"
    assert resembles("Immune effector cell-associated HLH-like syndrome") is None
    assert resembles("Posterior reversible encephalopathy syndrome") is None


def test_a_syndrome_reported_before_the_infusion_is_no_grade_and_is_listed():
    """A red team's grade-4 ICANS reported on day -3 (lymphodepletion from day -5, the
    cells on day 0) moved the safety rule from 2 to 3 of 11. S1: ICANS grade 4 on day -3
    only: treatment-emergent (from lymphodepletion) but no ICANS grade (ICANGR and the
    adjudicated grade empty), and listed by ``before_infusion``. S2: ICANS grade 3 on day
    5: graded 3, not listed. S3: CRS grade 2 on day -1 and grade 1 on day 2: CRSGR 1 (the
    day-2 AE alone), onset day 2; the day -1 AE listed."""
    from trial_outcomes.analysis.syndromes import before_infusion

    t = Trial()
    for sid in ("S1", "S2", "S3"):
        t.enrol(sid).infuse(sid)
    t.ae("S1", "ICANS", -3, 4, resolved=2).ae("S2", "ICANS", 5, 3, resolved=9)
    t.ae("S3", "Cytokine release syndrome", -1, 2, resolved=1).ae("S3", "Cytokine release syndrome", 2, 1, resolved=4)
    derived = t.derive(200)
    adsl = derived.adsl.sort("USUBJID")
    assert adsl.select("USUBJID", "ICANGR", "ICANGRAJ", "CRSGR", "CRSONDY").rows() == [
        ("S1", None, None, None, None),
        ("S2", 3, 3, None, None),
        ("S3", None, None, 1, 2),
    ]
    assert derived.adae.filter(pl.col("USUBJID") == "S1")["TRTEMFL"].to_list() == ["Y"]
    listed = before_infusion(derived.adae)
    assert listed.select("USUBJID", "ASTDY", "AETOXGR").rows() == [("S1", -3, 4), ("S3", -1, 2)]


def test_organ_support_without_fever_is_queried_not_graded():
    """A red team's day on several vasopressors and positive pressure at 37.7 C, inside an
    untreated grade-1 CRS, was graded 0 and no one was told. S1's days: 1, 37.7 C, several
    vasopressors, positive pressure: queried (grade 0); 2, 37.5 C, one vasopressor: queried;
    3, 37.5 C, fluids and low-flow oxygen: not (a grade-2 support); 4, 38.5 C, several
    vasopressors: not (fever: graded 4). S2's day 1, 37.0 C on high-flow oxygen inside its
    CRS treated with tocilizumab (days 0-3): not (masked: graded 3)."""
    from trial_outcomes.analysis.crs import astct_daily_grade, support_without_fever

    days = [
        ("S1", 1, 37.7, "MULTI_VASOPRESSOR", "POSITIVE_PRESSURE"),
        ("S1", 2, 37.5, "ONE_VASOPRESSOR", "NONE"),
        ("S1", 3, 37.5, "FLUIDS", "LOW_FLOW"),
        ("S1", 4, 38.5, "MULTI_VASOPRESSOR", "NONE"),
        ("S2", 1, 37.0, "NONE", "HIGH_FLOW"),
    ]
    base = dt.date(2021, 1, 1)
    monitoring = pl.DataFrame(
        [
            {"subject_id": s, "obs_date": base + dt.timedelta(days=d), "max_temp_c": t, "hypotension": h, "oxygen": o}
            for s, d, t, h, o in days
        ]
    )
    treated = pl.DataFrame(
        {"subject_id": ["S2"], "onset_date": [base], "resolution_date": [base + dt.timedelta(days=3)]}
    )
    daily = astct_daily_grade(monitoring, treated)
    assert daily["ASTCT_GRADE"].to_list() == [0, 0, 0, 4, 3]
    queried = support_without_fever(daily)
    assert queried.select("subject_id", "obs_date").rows() == [
        ("S1", base + dt.timedelta(days=1)),
        ("S1", base + dt.timedelta(days=2)),
    ]


def test_a_severe_monitoring_day_outside_the_grading_window_is_queried():
    """A red team's grade-4 CRS and ICANS days of a subject with no infusion row, a grade-4
    CRS the days after a new therapy dated day 25, and one on day -1 were each left out of
    the safety rule without a word. Safety window 30 days; ASTCT: 39.5 C on several
    vasopressors is grade 4, 39.0 C on high-flow oxygen grade 3, 38.6 C with fluids grade
    2. S1 (infused day 0): grade 4 on day -1: queried. S2: grade 2 on day -1: not. S3: HSCT
    on day 18, grade 3 on day 20: queried; grade 4 on day 45: not (past the rule's 30
    days). S4 (never infused): grade 4 on day 5: queried, with no day from infusion. S5:
    below."""
    from trial_outcomes.analysis.syndromes import (
        AFTER_OTHER_THERAPY,
        BEFORE_INFUSION,
        NOT_INFUSED,
        outside_finding,
        outside_queried,
    )

    t = Trial()
    for sid in ("S1", "S2", "S3"):
        t.enrol(sid).infuse(sid)
    t.enrol("S4")
    t.crs("S1", -1, 39.5, hypotension="MULTI_VASOPRESSOR").crs("S2", -1, 38.6, hypotension="FLUIDS")
    t.event("S3", 18, "HSCT", "Sibling donor")
    t.crs("S3", 20, 39.0, oxygen="HIGH_FLOW").crs("S3", 45, 39.5, hypotension="MULTI_VASOPRESSOR")
    t.crs("S4", 5, 39.5, hypotension="MULTI_VASOPRESSOR")
    # S5: new therapy on day 40, re-infused on day 90, grade 4 on day 92 (2 days after the
    # re-infusion, 92 after the first): queried (a third red team's; the 30 days count from
    # the latest infusion)
    t.enrol("S5").infuse("S5").event("S5", 40, "NEW_THERAPY", "Blinatumomab").infuse("S5", at=90)
    t.crs("S5", 92, 39.5, hypotension="MULTI_VASOPRESSOR")
    # S6: new therapy on day 25, day 26 at 37.1 C on several vasopressors (grade 0 for want
    # of fever, as inside the window's organ-support query): queried (a third red team's)
    t.enrol("S6").infuse("S6").event("S6", 25, "NEW_THERAPY", "Blinatumomab")
    t.crs("S6", 26, 37.1, hypotension="MULTI_VASOPRESSOR")
    d = t.derive(cut_day=200)
    queried = outside_queried(d.crs, 30)
    assert queried.select("subject_id", "obs_date", "ADY", "INFDY", "ASTCT_GRADE", "WHERE").rows() == [
        ("S1", day(-1), -1, None, 4, BEFORE_INFUSION),
        ("S3", day(20), 20, 20, 3, AFTER_OTHER_THERAPY),
        ("S4", day(5), None, None, 4, NOT_INFUSED),
        ("S5", day(92), 92, 2, 4, AFTER_OTHER_THERAPY),
        ("S6", day(26), 26, 26, 0, AFTER_OTHER_THERAPY),
    ]
    assert d.adsl.filter(pl.col("USUBJID") == "S1")["CRSGRDV"].to_list() == [None]  # no grade counts day -1
    # the check's words: 5 days in 5 subjects, by why outside (3 after another therapy, then
    # the two single ones in alphabetical order), the five named in subject order, each with
    # its grade (S6's 37.1 C on vasopressors: organ support without fever) and why outside
    assert outside_finding(queried, "CRS") == (
        "5 monitoring day(s) in 5 subject(s) outside the grading window would grade 3 or more, or need organ "
        "support without fever (3 on or after the first HSCT or new therapy, 1 before the first infusion, 1 no "
        "infusion recorded): no CRS grade and no stopping rule counts them "
        f"(S1 {day(-1)} grade 4 (before the first infusion), S3 {day(20)} grade 3 (on or after the first HSCT or new "
        f"therapy), S4 {day(5)} grade 4 (no infusion recorded), S5 {day(92)} grade 4 (on or after the first HSCT or "
        f"new therapy), S6 {day(26)} organ support without fever (on or after the first HSCT or new therapy)). "
        "Query the infusion, HSCT and new-therapy dates and the days' dates with the data manager"
    )
    assert outside_finding(queried.clear(), "ICANS").startswith("no monitoring day outside the grading window")
    # page 1 says them (a run warning and a Dagster check did, and no page a board reads), and
    # the closed report lists them, a row a day; a syndrome without such a day says nothing
    from types import SimpleNamespace

    from trial_outcomes.reporting.safety import outside_window_listings
    from trial_outcomes.reporting.summary import outside_window_items

    inp = SimpleNamespace(outside_window={"CRS": queried, "ICANS": queried.clear()})
    assert outside_window_items(inp) == [  # type: ignore[arg-type]
        (
            "CRS monitoring outside the grading window",
            "5 day(s) in 5 subject(s) at grade 3 or more, or on organ support without fever (3 on or after the "
            "first HSCT or new therapy, 1 before the first infusion, 1 no infusion recorded): counted by no rate "
            "and no stopping rule, as the grading window says, but more often a date or a record wrong than a CRS "
            'of another cause: queried (the closed report lists them under "Listings"; check '
            "crs_grading:no_severe_day_outside_grading)",
            "alert",
        )
    ]
    [table] = outside_window_listings(inp)  # type: ignore[arg-type]
    assert table.subject_level and table.title == "CRS: monitoring days outside the grading window, queried"
    assert table.rows[0] == ["S1", str(day(-1)), "-1", "", "4", BEFORE_INFUSION]
    assert table.rows[-1] == ["S6", str(day(26)), "26", "26", "0 (organ support without fever)", AFTER_OTHER_THERAPY]
