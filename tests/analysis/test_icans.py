"""ASTCT 2019 ICANS grading (Lee et al.; endpoints.md, Adverse events): one test per
boundary of each domain, for adolescents (ICE, age >= 12) and children (CAPD,
age < 12). The subject is enrolled on day -10; ``age`` is the age at enrolment."""

from __future__ import annotations

import pytest

from tests.builders import Trial, adsl_row
from trial_outcomes.analysis.icans import icans_daily_grade

ICANS = "Immune effector cell-associated neurotoxicity syndrome"


def _grade(age: float, **day: object) -> int:
    records = Trial().enrol("S1", age_years=age).infuse("S1").icans("S1", 5, **day).records()  # type: ignore[arg-type]
    return int(icans_daily_grade(records["icans_monitoring"], records["enrolment"])["ASTCT_GRADE"][0])


@pytest.mark.parametrize(
    ("ice", "consciousness", "grade"),
    [
        (10, "AWAKE", 0),  # a normal ICE: no ICANS
        (9, "AWAKE", 1),  # 7-9: grade 1
        (7, "AWAKE", 1),
        (6, "AWAKE", 2),  # 3-6: grade 2
        (3, "AWAKE", 2),
        (2, "AWAKE", 3),  # 0-2: grade 3
        (0, "AWAKE", 3),  # 0 while awake (global aphasia): grade 3
        (0, "UNAROUSABLE", 4),  # 0 and unarousable: grade 4
    ],
)
def test_ice_score_boundaries_from_age_12(ice, consciousness, grade):
    assert _grade(14.0, ice=ice, consciousness=consciousness) == grade


@pytest.mark.parametrize(
    ("capd", "unable", "consciousness", "grade"),
    [
        (0, False, "AWAKE", 0),  # no delirium
        (1, False, "AWAKE", 1),  # CAPD 1-8 and awakens spontaneously: grade 1
        (8, False, "AWAKE", 1),
        (8, False, "VOICE", 2),  # CAPD 1-8 and awakens to voice: grade 2
        (9, False, "AWAKE", 3),  # CAPD >= 9: grade 3
        (32, False, "AWAKE", 3),
        (None, True, "AWAKE", 4),  # unable to perform the CAPD: grade 4
    ],
)
def test_capd_boundaries_under_12(capd, unable, consciousness, grade):
    assert _grade(6.0, capd=capd, unable=unable, consciousness=consciousness) == grade


@pytest.mark.parametrize(
    ("domain", "value", "grade"),
    [
        ("consciousness", "VOICE", 2),  # awakens to voice
        ("consciousness", "TACTILE", 3),  # awakens only to tactile stimulus
        ("consciousness", "UNAROUSABLE", 4),  # stupor or coma
        ("seizure", "RESOLVED", 3),  # rapidly resolving, or non-convulsive resolving with intervention
        ("seizure", "PROLONGED", 4),  # > 5 min or repetitive without return to baseline
        ("motor", True, 4),  # deep focal motor weakness
        ("edema", "FOCAL", 3),  # focal/local oedema on imaging
        ("edema", "DIFFUSE", 4),  # diffuse oedema, posturing, papilloedema
    ],
)
def test_other_domains_with_a_normal_ice(domain, value, grade):
    """ICE 10 (normal): the other domain alone sets the grade."""
    assert _grade(15.0, ice=10, **{domain: value}) == grade


def test_the_most_severe_domain_sets_the_grade():
    """ICE 8 (grade 1) with a rapidly resolving seizure (grade 3): grade 3."""
    assert _grade(15.0, ice=8, seizure="RESOLVED") == 3


def test_the_instrument_follows_the_age_at_the_observation():
    """Enrolled at 11.99 years (day -10), observed on day 5: 11.99 + 15/365.25 =
    12.03 years, so the ICE score grades the day (ICE 5: grade 2)."""
    assert _grade(11.99, ice=5) == 2


def test_subject_grade_is_the_worst_day_and_death_from_icans_is_5():
    """S1: ICE 8 then 4 (grades 1, 2): derived 2, reported 2. S2 died of ICANS
    (category ICANS): derived 5. Adjudicated: the higher of reported and derived."""
    d = (
        Trial()
        .enrol("S1", age_years=14.0)
        .infuse("S1")
        .ae("S1", ICANS, 5, 2, resolved=7)
        .icans("S1", 5, ice=8)
        .icans("S1", 6, ice=4)
        .enrol("S2", age_years=15.0)
        .infuse("S2")
        .ae("S2", ICANS, 5, 4)
        .icans("S2", 5, ice=0, consciousness="UNAROUSABLE")
        .event("S2", 9, "DEATH", "Diffuse cerebral oedema", "ICANS")
        .derive()
    )
    assert [
        (adsl_row(d, s)["ICANGR"], adsl_row(d, s)["ICANGRDV"], adsl_row(d, s)["ICANGRAJ"]) for s in ("S1", "S2")
    ] == [(2, 2, 2), (4, 5, 5)]
    assert d.icans.discrepancies.rows() == [("S2", 4, 5)]


@pytest.mark.parametrize(
    ("age", "day", "grade"),
    [
        # 11.95 at enrolment, 15 days before: 11.90 to 12.00 written, 11.94 to 12.04 at the
        # observation; the site's ICE score 5 (3-6: grade 2) was graded by an empty CAPD (0)
        (11.95, {"ice": 5}, 2),
        (11.95, {"capd": 9}, 3),  # the same child assessed by the CAPD: >= 9, grade 3
        # an EDC's completed years: 11 at enrolment is 11.04 to 12.04 at the observation
        (11.0, {"ice": 5}, 2),
        (11.0, {"capd": 9}, 3),
        (12.0, {"ice": 5}, 2),  # 12.04 at the youngest: the ICE score
        (11.5, {"capd": 9}, 3),  # 11.59 at the oldest: the CAPD
    ],
)
def test_near_the_12th_birthday_the_instrument_the_site_used_grades(age, day, grade):
    """A red team's child enrolled at 11.937029 and assessed by the ICE score on the day
    the rule computed as her 12th birthday was refused. Where the written age cannot tell
    which side of 12 the child is on (dates.age_bounds), the instrument given decides."""
    assert _grade(age, consciousness="AWAKE", **day) == grade
