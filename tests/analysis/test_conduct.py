"""Trial conduct and data currency (analysis/conduct.py), worked examples in study days
(day 0 = 2021-01-01)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from tests.builders import Trial
from trial_outcomes.analysis.conduct import accrual, conduct_summary, overdue_assessments, visit_schedule


def test_the_visit_schedule_is_d14_to_m12_then_every_six_months():
    """Months of 30.4375 days, rounded: M18 = 547.875 -> 548, M24 = 730.5 -> 730 (to even)."""
    assert visit_schedule(800) == {
        "D14": 14,
        "D28": 28,
        "M2": 61,
        "M3": 91,
        "M6": 183,
        "M9": 274,
        "M12": 365,
        "M18": 548,
        "M24": 730,
    }
    assert list(visit_schedule(60)) == ["D14", "D28"]


def test_a_visit_is_overdue_once_its_window_has_passed_without_an_assessment():
    """Cut day 100. S1: D14 labelled on day 14; an unscheduled CR on day 31 counts for D28
    (28 +/- 7); M2 (day 61, window 14: due by day 75) has nothing: overdue; M3 (91 + 14 =
    105 > 100) is not due yet. S2 relapsed on day 50 (off the response schedule) and S3
    died on day 20: neither has a due visit."""
    t = Trial()
    t.enrol("S1").infuse("S1").assess("S1", 14, "CR", 0.0, visit="D14").assess("S1", 31, "CR", None, visit="UNSCHED")
    t.enrol("S2").infuse("S2").assess("S2", 28, "CR", 0.0, visit="D28").assess("S2", 50, "RELAPSE", visit="M2")
    t.enrol("S3").infuse("S3").event("S3", 20, "DEATH", "Sepsis", "INFECTION")
    d = t.derive(cut_day=100)
    cut = dt.date(2021, 1, 1) + dt.timedelta(days=100)
    due = overdue_assessments(d.adsl, d.adrs, cut)
    assert due.select("USUBJID", "visit", "overdue").rows() == [
        ("S1", "D14", False),
        ("S1", "D28", False),
        ("S1", "M2", True),
    ]
    tables = conduct_summary(d.adsl, d.adrs, cut, target=3, months=12)
    assert tables.overdue.select("USUBJID", "visit").rows() == [("S1", "M2")]
    table = tables.summary
    visits = table.filter(pl.col("section") == "visit").select("group", "n", "count").rows()
    assert visits == [("D14", 1, 0), ("D28", 1, 0), ("M2", 1, 1)]
    # MRD: S1's day-31 CR has none; S1's day-14 CR and S2's day-28 CR have it
    assert table.filter(pl.col("section") == "mrd").select("n", "count").row(0) == (3, 1)


def test_a_relapse_after_a_remission_on_another_therapy_takes_the_subject_off_the_schedule():
    """A statistician's drop: a subject with no remission on CAR-T (NR at days 14 and 28),
    salvage therapy on day 40, CR on day 70 and a RELAPSE assessment on day 90 has no
    attributable remission, so no ``RELDT``, and was owed M3 to M12 as if on the schedule.
    Cut day 400. S1 (that subject) and S2 (CR on days 14 and 28, RELAPSE on day 61: a
    ``RELDT``) owe nothing; S3, assessed at D14 and D28 only, owes M2, M3, M6 and M9 (M12,
    365 + 30 = 395 <= 400, too) and is the only subject with due visits."""
    t = Trial()
    t.enrol("S1").infuse("S1").assess("S1", 14, "NR", visit="D14").assess("S1", 28, "NR", visit="D28")
    t.event("S1", 40, "NEW_THERAPY", "Blinatumomab").assess("S1", 70, "CR", 0.0).assess("S1", 90, "RELAPSE")
    t.enrol("S2").infuse("S2").assess("S2", 14, "CR", 0.0, visit="D14").assess("S2", 28, "CR", 0.0, visit="D28")
    t.assess("S2", 61, "RELAPSE", visit="M2")
    t.enrol("S3").infuse("S3").assess("S3", 14, "CR", 0.0, visit="D14").assess("S3", 28, "CR", 0.0, visit="D28")
    d = t.derive(cut_day=400)
    assert d.adsl.filter(pl.col("USUBJID") == "S1")["RELDT"].item() is None  # no attributable remission
    cut = dt.date(2021, 1, 1) + dt.timedelta(days=400)
    due = overdue_assessments(d.adsl, d.adrs, cut)
    assert due.filter(pl.col("overdue")).select("USUBJID", "visit").rows() == [
        ("S3", v) for v in ("M2", "M3", "M6", "M9", "M12")
    ]
    assert set(due["USUBJID"]) == {"S3"}


def test_accrual_by_quarter_against_a_linear_plan():
    """Enrolled 2021-01-05 and 2021-04-10, plan 4 subjects over 12 months from the first,
    cut 2021-06-30. Q1 ends 2021-03-31, 85 days = 2.79 months in: planned 4 x 2.79 / 12 =
    0.93 -> 1; Q2 ends at the cut, 176 days = 5.78 months: 1.93 -> 2."""
    adsl = pl.DataFrame({"ENRLDT": [dt.date(2021, 1, 5), dt.date(2021, 4, 10)]})
    table = accrual(adsl, dt.date(2021, 6, 30), target=4, months=12)
    assert table.rows() == [("2021-Q1", 1, 1, 1), ("2021-Q2", 1, 2, 2)]


def test_a_visit_labelled_in_another_case_or_with_spaces_is_that_visit():
    """A red team's drop: an assessment labelled "m6" on day 220, outside M6's window
    (183 +/- 30 = days 153-213), left its subject overdue for M6 while one labelled "M6"
    on day 218 did not. Cut day 300: S1 labelled "m6", S2 " M 6", S3 "M6" (the control)
    are not overdue for M6; S4, assessed on day 220 with the label "UNSCHED", is. ADRS's
    ``AVISIT`` is the schedule's label, "M6" for S1-S3, and S4's as written (a second red
    team's ADRS published "d14" and "m2" beside "D14" and "M2")."""
    t = Trial()
    for sid, label in (("S1", "m6"), ("S2", " M 6"), ("S3", "M6"), ("S4", "UNSCHED")):
        t.enrol(sid).infuse(sid)
        for at, visit in ((14, "D14"), (28, "D28"), (61, "M2"), (91, "M3")):
            t.assess(sid, at, "CR", 0.0, visit=visit)
        t.assess(sid, 220, "CR", 0.0, visit=label)
    d = t.derive(cut_day=300)
    cut = dt.date(2021, 1, 1) + dt.timedelta(days=300)
    due = overdue_assessments(d.adsl, d.adrs, cut)
    assert due.filter(pl.col("overdue")).select("USUBJID", "visit").rows() == [("S4", "M6")]
    last = (
        d.adrs.filter(pl.col("PARAMCD") == "OVRLRESP").group_by("USUBJID").agg(pl.col("AVISIT").sort_by("ADT").last())
    )
    assert sorted(last.rows()) == [("S1", "M6"), ("S2", "M6"), ("S3", "M6"), ("S4", "UNSCHED")]


def test_a_label_is_the_schedules_where_only_its_case_and_spaces_differ():
    """data-contract.md: labels are matched to the schedule whatever their case, spaces and
    unit's spelling. "d14", " m 2", "m\u00a024" (a no-break space) and "M 30" are D14, M2, M24
    and M30 (M18, M24, ... every 6 months after M12); "Day 28", "day +14", "D+28", "Month 6",
    "Mo 3", "mth 12" and "Month 18" are D28, D14, D28, M6, M3, M12 and M18. "Unscheduled",
    "M5" and "Month 5" (no visit of the schedule), "Week 4" (not a unit of the schedule),
    "Day 28 repeat", "Monthly", "M06" and "m 018" (a leading zero, as a re-verifier wrote it:
    "M018" before) stay as written."""
    from trial_outcomes.analysis.conduct import scheduled_visit

    pairs = {
        "d14": "D14",
        " m 2": "M2",
        "m\u00a024": "M24",
        "M 30": "M30",
        "Day 28": "D28",
        "day +14": "D14",
        "D+28": "D28",
        "Month 6": "M6",
        "Mo 3": "M3",
        "mth 12": "M12",
        "Month 18": "M18",
    }
    pairs |= {
        kept: kept for kept in ("Unscheduled", "M5", "Month 5", "Week 4", "Day 28 repeat", "Monthly", "M06", "m 018")
    }
    written = [*pairs, None]
    got = pl.DataFrame({"v": written}).select(scheduled_visit(pl.col("v")))["v"].to_list()
    assert got == [*pairs.values(), None]


def test_a_visit_labelled_before_its_window_opens_is_not_that_visit():
    """A red team's assessment labelled D28 on day 20 made D28 done here while the day-28
    response (days 21-42) was NE. Cut day 100. S1: "D28" on day 20, before D28's window
    (28 - 7 = day 21): D28 overdue (nothing else from day 21 to 35). S2: "D28" on day 21,
    the window's first day: done. S3: "M2" on day 80, late (61 + 14 = day 75): done, a late
    visit was still done. Each subject's D14 on day 14 is done."""
    t = Trial()
    for sid, day, visit in (("S1", 20, "D28"), ("S2", 21, "D28"), ("S3", 80, "M2")):
        t.enrol(sid).infuse(sid).assess(sid, 14, "CR", 0.0, visit="D14").assess(sid, day, "CR", 0.0, visit=visit)
    d = t.derive(cut_day=100)
    cut = dt.date(2021, 1, 1) + dt.timedelta(days=100)
    due = overdue_assessments(d.adsl, d.adrs, cut).filter(pl.col("visit").is_in(["D28", "M2"]))
    assert due.select("USUBJID", "visit", "overdue").rows() == [
        ("S1", "D28", True),
        ("S1", "M2", True),
        ("S2", "D28", False),
        ("S2", "M2", True),
        ("S3", "D28", True),
        ("S3", "M2", False),
    ]
