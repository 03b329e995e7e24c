"""ADAE and ASTCT CRS grading rules (endpoints.md, Adverse events)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import Trial
from trial_outcomes.analysis.adae import syndrome_details, worst_grade_by_term
from trial_outcomes.analysis.crs import (
    astct_daily_grade,
    crs_grade_discrepancies,
    crs_treated_subjects,
    derived_crs_grade,
)
from trial_outcomes.analysis.rates import ae_summary, clopper_pearson

CRS = "Cytokine release syndrome"
ICANS = "Immune effector cell-associated neurotoxicity syndrome"


def test_treatment_emergent_from_the_first_lymphodepletion_day():
    """Lymphodepletion starts day -5: onset day -5 is treatment-emergent, day -6 is not."""
    adae = Trial().enrol("S1").infuse("S1").ae("S1", "Headache", -6, 1).ae("S1", "Nausea", -5, 1).derive()["adae"]
    assert adae.sort("ASTDT").select("AEDECOD", "TRTEMFL").rows() == [("Headache", "N"), ("Nausea", "Y")]


def test_crs_details_worst_grade_onset_duration_and_drugs():
    """CRS day 2-5 grade 2 with tocilizumab, and day 9-10 grade 3 with steroids:
    worst grade 3, onset day 2, duration 4 + 2 = 6 days (both ends counted),
    tocilizumab Y, steroids Y."""
    adae = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", CRS, 2, 2, resolved=5, toci=True)
        .ae("S1", CRS, 9, 3, resolved=10, steroid=True)
        .derive()["adae"]
    )
    row = syndrome_details(adae, "CRSFL", "CRS").row(0, named=True)
    assert (row["CRSGR"], row["CRSONDY"], row["CRSDUR"], row["CRSTOCI"], row["CRSSTER"]) == (3, 2, 6, "Y", "Y")


def test_ongoing_crs_has_no_duration():
    adae = Trial().enrol("S1").infuse("S1").ae("S1", CRS, 2, 2).derive(cut_day=4)["adae"]
    assert syndrome_details(adae, "CRSFL", "CRS")["CRSDUR"].to_list() == [None]


def test_resolution_after_the_cut_is_ongoing_at_the_cut():
    adae = Trial().enrol("S1").infuse("S1").ae("S1", ICANS, 5, 2, resolved=12).derive(cut_day=10)["adae"]
    assert adae.select("AENDT", "AEONGO").row(0) == (None, "Y")


def _grade(temp: float, hypotension: str = "NONE", oxygen: str = "NONE", treated: bool = False) -> int:
    t = Trial().enrol("S1").infuse("S1").crs("S1", 3, temp, hypotension, oxygen)
    records = t.records()
    treated_frame = pl.DataFrame({"subject_id": ["S1"] if treated else []}, schema={"subject_id": pl.String})
    return astct_daily_grade(records["crs_monitoring"], treated_frame)["ASTCT_GRADE"][0]


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
    """Day 3: 39.0 C; day 4: 37.2 C on one vasopressor after tocilizumab: grade 3
    (fever masked); untreated, day 4 would be no CRS (grade 0)."""
    records = Trial().enrol("S1").infuse("S1").crs("S1", 3, 39.0).crs("S1", 4, 37.2, "ONE_VASOPRESSOR").records()
    mon = records["crs_monitoring"]
    treated = pl.DataFrame({"subject_id": ["S1"]})
    untreated = treated.clear()
    assert astct_daily_grade(mon, treated)["ASTCT_GRADE"].to_list() == [1, 3]
    assert astct_daily_grade(mon, untreated)["ASTCT_GRADE"].to_list() == [1, 0]


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
    daily = astct_daily_grade(records["crs_monitoring"], crs_treated_subjects(records["adverse_events"]))
    deaths = pl.DataFrame({"subject_id": ["S1"], "DTHCAUS": ["Cytokine release syndrome"]})
    derived = derived_crs_grade(daily, deaths)
    reported = pl.DataFrame({"subject_id": ["S1", "S2", "S3"], "CRSGR_REPORTED": [3, 1, 2]})
    assert crs_grade_discrepancies(reported, derived).rows() == [("S1", 3, 5), ("S2", 1, 2)]


def test_clopper_pearson_matches_r_binom_test():
    """R: binom.test(8, 10)$conf.int = 0.4439045 0.9747893;
    binom.test(0, 10)$conf.int = 0.0000000 0.3084971; binom.test(10, 10): 0.6915029 1."""
    assert clopper_pearson(8, 10) == pytest.approx((0.4439045, 0.9747893), abs=1e-7)
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 0.3084971), abs=1e-7)
    assert clopper_pearson(10, 10) == pytest.approx((0.6915029, 1.0), abs=1e-7)
    assert clopper_pearson(0, 0) == (None, None)


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
    table = ae_summary(worst_grade_by_term(t.derive()["adae"]), 3)
    rows = {r["term"]: r for r in table.iter_rows(named=True)}
    assert table["term"][0] == "Any adverse event"
    assert (
        rows["Any adverse event"]["n_any"],
        rows["Any adverse event"]["pct_any"],
        rows["Any adverse event"]["n_grade3plus"],
    ) == (2, 66.7, 2)
    crs = rows[CRS]
    assert (crs["n_any"], crs["n_grade2"], crs["n_grade3"], crs["n_grade3plus"], crs["pct_grade3plus"]) == (
        2,
        1,
        1,
        1,
        33.3,
    )
