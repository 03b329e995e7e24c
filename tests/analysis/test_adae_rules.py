"""ADAE and ASTCT CRS grading rules (endpoints.md, Adverse events), in study days."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import Trial, adae_rows, adsl_row, day
from tests.helpers import examples
from trial_outcomes.analysis.ae_tables import ae_soc_summary, ae_summary
from trial_outcomes.analysis.crs import astct_daily_grade, crs_treated_episodes, derived_grade, grade_discrepancies
from trial_outcomes.analysis.rates import clopper_pearson
from trial_outcomes.analysis.syndromes import syndrome_details

CRS = "Cytokine release syndrome"
ICANS = "Immune effector cell-associated neurotoxicity syndrome"


def test_treatment_emergent_from_the_first_lymphodepletion_day():
    """Lymphodepletion starts day -5: onset day -5 is treatment-emergent, day -6 is not."""
    d = Trial().enrol("S1").infuse("S1").ae("S1", "Headache", -6, 1).ae("S1", "Nausea", -5, 1).derive()
    assert [(r["AEDECOD"], r["TRTEMFL"], r["TRTEMRSN"]) for r in adae_rows(d)] == [
        ("Headache", "N", "Before lymphodepletion"),
        ("Nausea", "Y", None),
    ]


def test_treatment_emergent_window_closes_at_hsct():
    """HSCT on day 120; GVHD from day 173 is not a CAR-T toxicity (TRTEMFL N, listed
    apart); an infection on day 119 still is; an AE on the day of HSCT is not."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "CR", 0.0)
        .event("S1", 120, "HSCT", "Sibling donor")
        .ae("S1", "Pneumonia", 119, 3)
        .ae("S1", "Graft versus host disease", 173, 3)
        .ae("S1", "Nausea", 120, 1)
        .derive()
    )
    flags = {r["AEDECOD"]: (r["TRTEMFL"], r["TRTEMRSN"]) for r in adae_rows(d)}
    assert flags["Pneumonia"] == ("Y", None)
    assert flags["Graft versus host disease"] == ("N", "On or after the first consolidative HSCT")
    assert flags["Nausea"][0] == "N"


def test_treatment_emergent_window_closes_at_new_therapy():
    """NR at day 28, blinatumomab from day 35: a CRS-like event on day 40 belongs to the
    new therapy (TRTEMFL N) and is not the subject's CAR-T CRS grade."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "NR")
        .event("S1", 35, "NEW_THERAPY", "Blinatumomab")
        .ae("S1", CRS, 2, 1, resolved=4)
        .ae("S1", CRS, 40, 3, resolved=43)
        .derive()
    )
    assert [(r["TRTEMFL"], r["TRTEMRSN"]) for r in adae_rows(d)] == [
        ("Y", None),
        ("N", "On or after the first new anti-leukemia therapy"),
    ]
    assert adsl_row(d)["CRSGR"] == 1


def test_crs_details_worst_grade_onset_duration_and_drugs():
    """CRS day 2-5 grade 2 with tocilizumab, and day 9-10 grade 3 with steroids:
    worst grade 3, onset day 2, duration 4 + 2 = 6 days (both ends counted),
    tocilizumab Y, steroids Y."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", CRS, 2, 2, resolved=5, toci=True)
        .ae("S1", CRS, 9, 3, resolved=10, steroid=True)
        .derive()
    )
    row = syndrome_details(d.adae, "CRSFL", "CRS").row(0, named=True)
    assert (row["CRSGR"], row["CRSONDY"], row["CRSDUR"], row["CRSTOCI"], row["CRSSTER"]) == (3, 2, 6, "Y", "Y")


def test_crs_duration_counts_each_day_once():
    """S1: a CRS episode on days 2-9 and an exact copy of it (a red team's duplicated
    row: 16 days before, summed): 8 days. S2: days 2-9 and 6-12 overlap: 11 days (2 to
    12); days 14-15 apart add 2: 13."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", CRS, 2, 2, resolved=9)
        .ae("S1", CRS, 2, 2, resolved=9)
        .enrol("S2")
        .infuse("S2")
        .ae("S2", CRS, 2, 2, resolved=9)
        .ae("S2", CRS, 6, 3, resolved=12)
        .ae("S2", CRS, 14, 1, resolved=15)
        .derive()
    )
    details = syndrome_details(d.adae, "CRSFL", "CRS").sort("USUBJID")
    assert details["CRSDUR"].to_list() == [8, 13]


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["S1", "S2", "S3"]), st.integers(1, 40), st.integers(1, 15)),
        min_size=1,
        max_size=25,
    )
)
def test_crs_duration_is_the_count_of_days_any_episode_covers(episodes):
    """Any episodes (subject, onset day, days long; overlapping, nested, repeated, apart)
    of resolved treatment-emergent CRS: each subject's duration is the number of distinct
    days the episodes cover, counted here as a set of days."""
    adae = pl.DataFrame(
        [
            {
                "USUBJID": subject,
                "CRSFL": "Y",
                "TRTEMFL": "Y",
                "AETOXGR": 1,
                "ASTDY": onset,
                "ADURN": length,
                "AEONGO": "N",
                "AETOCI": "N",
                "AESTER": "N",
            }
            for subject, onset, length in episodes
        ]
    )
    covered: dict[str, set[int]] = {}
    for subject, onset, length in episodes:
        covered.setdefault(subject, set()).update(range(onset, onset + length))
    details = syndrome_details(adae, "CRSFL", "CRS")
    assert dict(details.select("USUBJID", "CRSDUR").iter_rows()) == {k: len(v) for k, v in covered.items()}


def test_ongoing_crs_has_no_duration():
    d = Trial().enrol("S1").infuse("S1").ae("S1", CRS, 2, 2).derive(cut_day=4)
    assert syndrome_details(d.adae, "CRSFL", "CRS")["CRSDUR"].to_list() == [None]


def test_resolution_after_the_cut_is_ongoing_at_the_cut():
    d = Trial().enrol("S1").infuse("S1").ae("S1", ICANS, 5, 2, resolved=12).derive(cut_day=10)
    assert [(r["AENDT"], r["AEONGO"]) for r in adae_rows(d)] == [(None, "Y")]


def test_soc_as_coded_or_not_coded():
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", "Pneumonia", 20, 3, soc="Infections and infestations")
        .ae("S1", "Nausea", 21, 1)
        .derive()
    )
    assert [r["AESOC"] for r in adae_rows(d)] == ["Infections and infestations", "Not coded"]


def _grade(temp: float, hypotension: str = "NONE", oxygen: str = "NONE") -> int:
    records = Trial().enrol("S1").infuse("S1").crs("S1", 3, temp, hypotension, oxygen).records()
    return int(astct_daily_grade(records["crs_monitoring"], _UNTREATED)["ASTCT_GRADE"][0])


_UNTREATED = pl.DataFrame(schema={"subject_id": pl.String, "onset_date": pl.Date, "resolution_date": pl.Date})


@pytest.mark.parametrize(
    ("temp", "hypotension", "oxygen", "grade"),
    [
        (37.9, "NONE", "NONE", 0),  # no fever, no CRS
        (37.9, "MULTI_VASOPRESSOR", "NONE", 0),  # no fever, untreated: not CRS
        (38.0, "NONE", "NONE", 1),  # fever >= 38.0 alone: grade 1
        (38.5, "FLUIDS", "NONE", 2),  # hypotension without vasopressor
        (38.5, "NONE", "LOW_FLOW", 2),  # low-flow oxygen <= 6 L/min
        (38.5, "ONE_VASOPRESSOR", "NONE", 3),  # one vasopressor
        (38.5, "NONE", "HIGH_FLOW", 3),  # high-flow oxygen
        (38.5, "FLUIDS", "HIGH_FLOW", 3),  # the more severe of the two sets it
        (38.5, "MULTI_VASOPRESSOR", "LOW_FLOW", 4),
        (38.5, "NONE", "POSITIVE_PRESSURE", 4),
    ],
)
def test_astct_grade_boundaries(temp, hypotension, oxygen, grade):
    assert _grade(temp, hypotension, oxygen) == grade


def test_fever_masked_by_tocilizumab_still_counts():
    """Day 3: 39.0 C; day 4: 37.2 C on one vasopressor after tocilizumab for a CRS from
    day 3, ongoing: grade 3 (fever masked); untreated, day 4 would be no CRS (grade 0)."""
    records = Trial().enrol("S1").infuse("S1").crs("S1", 3, 39.0).crs("S1", 4, 37.2, "ONE_VASOPRESSOR").records()
    mon = records["crs_monitoring"]
    treated = pl.DataFrame(
        {"subject_id": ["S1"], "onset_date": [day(3)], "resolution_date": [None]}, schema=_UNTREATED.schema
    )
    assert astct_daily_grade(mon, treated)["ASTCT_GRADE"].to_list() == [1, 3]
    assert astct_daily_grade(mon, _UNTREATED)["ASTCT_GRADE"].to_list() == [1, 0]


def test_fever_is_masked_only_within_the_treated_crs_episode():
    """S1: CRS on days 2-6 treated with tocilizumab, 39.0 C with fluids on day 2 (grade
    2); on day 5, 37.4 C on one vasopressor (inside the episode: masked fever, grade 3);
    on day 25, septic shock, 37.8 C on several vasopressors (after the CRS resolved: not
    CRS, grade 0). Derived grade 3, adjudicated max(2 reported, 3) = 3; until 2026-12-04
    the masking never ended, and day 25 made it 4. S2: the same days with the CRS still
    ongoing at the cut (no resolution date): day 25 is still masked, grade 4, the
    cautious side while the episode is open. S3: two treated episodes, days 2-4 and
    20-30, the same days: day 5 is between them (grade 0), day 25 inside the second
    (grade 4)."""
    t = Trial()
    for sid, resolved in (("S1", 6), ("S2", None), ("S3", 4)):
        t.enrol(sid).infuse(sid).ae(sid, CRS, 2, 2, resolved=resolved, toci=True)
        t.crs(sid, 2, 39.0, "FLUIDS").crs(sid, 5, 37.4, "ONE_VASOPRESSOR").crs(sid, 25, 37.8, "MULTI_VASOPRESSOR")
    t.ae("S3", CRS, 20, 2, resolved=30, toci=True)
    d = t.derive(cut_day=60)
    daily = d.crs.daily.sort("subject_id", "obs_date")
    assert daily.group_by("subject_id", maintain_order=True).agg("ASTCT_GRADE").rows() == [
        ("S1", [2, 3, 0]),
        ("S2", [2, 3, 4]),
        ("S3", [2, 0, 4]),
    ]
    grades = d.adsl.select("USUBJID", "CRSGRDV", "CRSGRAJ").rows()
    assert grades == [("S1", 3, 3), ("S2", 4, 4), ("S3", 4, 4)]


def test_corticosteroids_for_icans_during_a_crs_mask_its_fever():
    """Every subject: CRS on days 2-6, grade 1, untreated; 38.5 C on day 2 (grade 1), 37.3
    C on several vasopressors on day 4. S1: an ICANS on days 3-8 treated with
    corticosteroids (dexamethasone recorded against the ICANS, the usual case): masked on
    days 3-6 (while both are open), day 4 grade 4; derived 4, adjudicated max(1, 4) = 4.
    S2: the ICANS and its corticosteroids from day 7, after the CRS resolved: day 4
    unmasked, grade 0; derived 1. S3: the ICANS untreated: derived 1. S4: a rash on
    corticosteroids from day 1, before the CRS, still open: the treatment not known to be
    given during the CRS, no span; derived 1. S5: a transfusion reaction on day 3 alone,
    on corticosteroids: masked on day 3 only, day 4 grade 0; derived 1. Until 2026-12-05
    only the CRS's own row counted: S1 was derived 1, and the safety rule missed a grade 4
    (a red team's); that day's first version masked S4 and S5 to the CRS's end: 4 (a
    second red team's)."""
    t = Trial()
    for sid, other, onset, resolved, steroid in (
        ("S1", ICANS, 3, 8, True),
        ("S2", ICANS, 7, 8, True),
        ("S3", ICANS, 3, 8, False),
        ("S4", "Rash maculo-papular", 1, None, True),
        ("S5", "Transfusion reaction", 3, 3, True),
    ):
        t.enrol(sid).infuse(sid).ae(sid, CRS, 2, 1, resolved=6)
        t.ae(sid, other, onset, 3, resolved=resolved, steroid=steroid)
        t.crs(sid, 2, 38.5).crs(sid, 4, 37.3, "MULTI_VASOPRESSOR")
    d = t.derive(cut_day=60)
    spans = crs_treated_episodes(t.records()["adverse_events"])
    assert spans.rows() == [("S1", day(3), day(6)), ("S5", day(3), day(3))]
    daily = d.crs.daily.sort("subject_id", "obs_date")
    assert daily.group_by("subject_id", maintain_order=True).agg("ASTCT_GRADE").rows() == [
        ("S1", [1, 4]),
        ("S2", [1, 0]),
        ("S3", [1, 0]),
        ("S4", [1, 0]),
        ("S5", [1, 0]),
    ]
    assert d.adsl.select("USUBJID", "CRSGRDV", "CRSGRAJ").rows() == [
        ("S1", 4, 4),
        ("S2", 1, 1),
        ("S3", 1, 1),
        ("S4", 1, 1),
        ("S5", 1, 1),
    ]


def test_a_treated_crs_attests_its_fever_whatever_the_monitoring_saw_before():
    """S1 and S2: CRS on days 2-6, grade 3, tocilizumab; one monitoring day, day 3, 37.4 C
    on several vasopressors (the fever before monitoring began, or masked). S2 also had
    39.0 C on day -2 with febrile neutropenia, during lymphodepletion. Both: day 3 is a
    masked CRS day, grade 4; derived 4, adjudicated max(3, 4) = 4. Day -2 of S2 is before
    the infusion: not graded, listed apart. Until 2026-12-05 the fever had to be seen on an
    earlier monitoring day: S1 was derived 0 and S2 4, from the neutropenia's fever (a red
    team's)."""
    t = Trial()
    for sid in ("S1", "S2"):
        t.enrol(sid).infuse(sid).ae(sid, CRS, 2, 3, resolved=6, toci=True).crs(sid, 3, 37.4, "MULTI_VASOPRESSOR")
    t.ae("S2", "Febrile neutropenia", -2, 3, resolved=0).crs("S2", -2, 39.0)
    d = t.derive(cut_day=60)
    assert d.adsl.select("USUBJID", "CRSGRDV", "CRSGRAJ").rows() == [("S1", 4, 4), ("S2", 4, 4)]
    assert d.crs.outside is not None
    assert d.crs.outside.select("subject_id", "obs_date").rows() == [("S2", day(-2))]


def test_a_septic_shock_during_lymphodepletion_is_not_a_crs():
    """S1: lymphodepletion from day -5, infusion on day 0; 39.2 C on several
    vasopressors on day -3 (a sepsis), then CRS grade 2 on days 2-4, 38.6 C with fluids on
    day 2 (grade 2). CRS is the infused cells': day -3 is not graded (listed apart), the
    derived grade is 2, adjudicated 2. Until 2026-12-05 every day of the treatment-emergent
    window, from lymphodepletion, was graded: derived 4, in the safety rule. The same holds
    for ICANS: S1 (14 years old: the ICE score) unarousable with an ICE score of 0 on day -3
    (fludarabine's) is not graded; day 2, ICE 10, is grade 0."""
    t = Trial().enrol("S1", age_years=14.0).infuse("S1").ae("S1", "Sepsis", -3, 4, resolved=1)
    t.ae("S1", CRS, 2, 2, resolved=4).crs("S1", -3, 39.2, "MULTI_VASOPRESSOR").crs("S1", 2, 38.6, "FLUIDS")
    t.icans("S1", -3, ice=0, consciousness="UNAROUSABLE").icans("S1", 2, ice=10)
    d = t.derive(cut_day=60)
    subject = adsl_row(d)
    assert (subject["CRSGRDV"], subject["CRSGRAJ"]) == (2, 2)
    assert d.crs.outside is not None and d.crs.outside["obs_date"].to_list() == [day(-3)]
    assert d.icans.outside is not None and d.icans.outside["obs_date"].to_list() == [day(-3)]
    assert d.icans.derived.rows() == [("S1", 0)]


def test_death_from_crs_is_grade_5_and_differences_are_listed():
    """S1 reported grade 3, monitoring says 3 and died of CRS: derived 5, listed.
    S2 reported grade 1, monitoring shows fluids (2): listed. S3 agrees: not listed."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", CRS, 2, 3, toci=True)
        .crs("S1", 2, 39.5, "ONE_VASOPRESSOR")
        .enrol("S2")
        .infuse("S2")
        .ae("S2", CRS, 2, 1)
        .crs("S2", 2, 38.4, "FLUIDS")
        .enrol("S3")
        .infuse("S3")
        .ae("S3", CRS, 2, 2)
        .crs("S3", 2, 38.4, "NONE", "LOW_FLOW")
    )
    records = t.records()
    daily = astct_daily_grade(records["crs_monitoring"], crs_treated_episodes(records["adverse_events"]))
    deaths = pl.DataFrame({"subject_id": ["S1"], "DTHCAT": ["CRS"]})
    derived = derived_grade(daily, deaths, "CRS", "CRSGRDV")
    reported = pl.DataFrame({"subject_id": ["S1", "S2", "S3"], "CRSGR": [3, 1, 2]})
    assert grade_discrepancies(reported, derived, "CRSGR").rows() == [("S1", 3, 5), ("S2", 1, 2)]


def test_adjudicated_grade_is_the_higher_of_reported_and_derived():
    """S1 reported grade 2, monitoring shows one vasopressor (3): adjudicated 3.
    S2 reported 3, monitoring shows fluids (2): adjudicated 3. S3 never reported CRS
    but has a febrile day on high-flow oxygen (3): adjudicated 3, reported empty."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", CRS, 2, 2)
        .crs("S1", 2, 39.0, "ONE_VASOPRESSOR")
        .enrol("S2")
        .infuse("S2")
        .ae("S2", CRS, 2, 3)
        .crs("S2", 2, 39.0, "FLUIDS")
        .enrol("S3")
        .infuse("S3")
        .crs("S3", 2, 38.6, "NONE", "HIGH_FLOW")
        .derive()
    )
    rows = {s: adsl_row(d, s) for s in ("S1", "S2", "S3")}
    assert [(r["CRSGR"], r["CRSGRDV"], r["CRSGRAJ"]) for r in rows.values()] == [(2, 3, 3), (3, 2, 3), (None, 3, 3)]
    assert d.crs.discrepancies.rows() == [("S1", 2, 3), ("S2", 3, 2), ("S3", 0, 3)]


def test_a_death_from_crs_is_grade_5_without_monitoring_days():
    """S1: CRS reported grade 3 on day 2, no monitoring day, death coded CRS on day 40
    (a red team's drop: adjudicated 3, so the safety rule missed it). The death is
    ASTCT grade 5: derived 5, adjudicated 5, and listed as a discrepancy (3 against 5).
    S2, the same death after new therapy on day 30, is outside the treatment-emergent
    window: no derived grade, adjudicated 3."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", CRS, 2, 3, resolved=9)
        .event("S1", 40, "DEATH", "Cytokine release syndrome", "CRS")
        .enrol("S2")
        .infuse("S2")
        .ae("S2", CRS, 2, 3, resolved=9)
        .event("S2", 30, "NEW_THERAPY", "Blinatumomab")
        .event("S2", 40, "DEATH", "Cytokine release syndrome", "CRS")
        .derive()
    )
    s1, s2 = adsl_row(d, "S1"), adsl_row(d, "S2")
    assert (s1["CRSGR"], s1["CRSGRDV"], s1["CRSGRAJ"]) == (3, 5, 5)
    assert (s2["CRSGR"], s2["CRSGRDV"], s2["CRSGRAJ"]) == (3, None, 3)
    assert d.crs.discrepancies.rows() == [("S1", 3, 5)]


def test_clopper_pearson_matches_r_binom_test():
    """R: binom.test(8, 10)$conf.int = 0.4439045 0.9747893;
    binom.test(0, 10)$conf.int = 0.0000000 0.3084971; binom.test(10, 10): 0.6915029 1."""
    assert clopper_pearson(8, 10) == pytest.approx((0.4439045, 0.9747893), abs=1e-7)
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 0.3084971), abs=1e-7)
    assert clopper_pearson(10, 10) == pytest.approx((0.6915029, 1.0), abs=1e-7)
    assert clopper_pearson(0, 0) == (None, None)


def test_ae_summary_without_any_teae_keeps_its_first_row_with_zeros():
    """Two infused subjects, no adverse event: the table is not empty but says
    0 of 2 (0.0 %) had any TEAE, as ae_soc_summary's overall row does."""
    d = Trial().enrol("S1").infuse("S1").enrol("S2").infuse("S2").derive()
    table = ae_summary(d.adae, d.adsl)
    assert table.columns[:4] == ["term", "n_safety", "n_any", "pct_any"]
    assert table.rows() == [("Any adverse event", 2, 0, 0.0, 0, 0.0, 0, 0, 0, 0, 0)]
    soc = ae_soc_summary(d.adae, d.adsl)
    assert soc.height == 4  # each of the four tables keeps its overall row
    assert set(soc["soc"]) == {"Any SOC"} and set(soc["term"]) == {"Any term"}
    assert soc["n_any"].to_list() == [0, 0, 0, 0] and soc["n_safety"].to_list() == [2, 2, 2, 2]


def test_ae_summary_counts_subjects_once_by_worst_grade():
    """S1: CRS grades 1 and 3 -> worst 3; S2: CRS 2 and anaemia 3; S3: nothing.
    Safety set 3. Any AE: 2 subjects (66.7 %), both grade 3+.
    CRS: 2 subjects, one worst 2, one worst 3; grade 3+: 1 (33.3 %)."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", CRS, 1, 1, resolved=3)
        .ae("S1", CRS, 6, 3, resolved=8)
        .enrol("S2")
        .infuse("S2")
        .ae("S2", CRS, 2, 2, resolved=4)
        .ae("S2", "Anaemia", 3, 3)
        .enrol("S3")
        .infuse("S3")
    )
    d = t.derive()
    table = ae_summary(d.adae, d.adsl)
    rows = {r["term"]: r for r in table.iter_rows(named=True)}
    assert table["term"][0] == "Any adverse event"
    anyae = rows["Any adverse event"]
    assert (anyae["n_any"], anyae["pct_any"], anyae["n_grade3plus"]) == (2, 66.7, 2)
    crs = rows[CRS]
    assert (crs["n_any"], crs["n_grade2"], crs["n_grade3"], crs["n_grade3plus"], crs["pct_grade3plus"]) == (
        2,
        1,
        1,
        1,
        33.3,
    )
