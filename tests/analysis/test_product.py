"""The optional apheresis file (data-contract.md, version 3): product variables of ADSL,
vein-to-vein time, the cut, and the file's own rules. Study days, day 0 = 2021-01-01."""

from __future__ import annotations

import datetime as dt

import polars as pl

from tests.builders import Trial, day
from trial_outcomes.io.validation import date_order, dependent_values


def _trial() -> Trial:
    """S1: apheresis day -30, released day -12, infused day 0: vein-to-vein 30 days.
    S2: apheresis day -25, manufacturing failure, never infused. S3: apheresis day -20,
    out of specification, released day -4 and infused under exception on day 0."""
    t = Trial()
    t.enrol("S1", enrol_day=-35).apheresis("S1", -30, "RELEASED", released=-12).infuse("S1")
    t.enrol("S2", enrol_day=-35).apheresis("S2", -25, "FAILED", not_infused="MANUFACTURING_FAILURE")
    t.event("S2", -5, "WITHDRAWAL", "Manufacturing failure")
    t.enrol("S3", enrol_day=-35).apheresis("S3", -20, "OOS_INFUSED", released=-4).infuse("S3")
    return t


def test_product_variables_and_vein_to_vein_time():
    adsl = _trial().derive(cut_day=60).adsl
    got = adsl.select("USUBJID", "PRODSTAT", "APHNINF", "V2VDY").rows()
    assert got == [
        ("S1", "RELEASED", None, 30),
        ("S2", "FAILED", "MANUFACTURING_FAILURE", None),
        ("S3", "OOS_INFUSED", None, 20),
    ]
    assert adsl.filter(pl.col("USUBJID") == "S2")["NINFCAT"].item() == "MANUFACTURING_FAILURE"


def test_a_product_released_after_the_cut_is_pending_at_the_cut():
    """Cut day -8: S1's release (day -12) is known; S3's (day -4) is not: PENDING, no date."""
    adsl = _trial().derive(cut_day=-8).adsl
    assert adsl.select("USUBJID", "PRODSTAT", "PRODRLDT").rows() == [
        ("S1", "RELEASED", dt.date(2020, 12, 20)),
        ("S2", "FAILED", None),
        ("S3", "PENDING", None),
    ]


def test_the_apheresis_files_rules_name_row_column_and_value():
    """A release before the apheresis, a release date on a failed product, a reason not
    infused for an infused subject: each refused with its row, column and value."""
    t = _trial()
    t.rows["apheresis"][0]["release_date"] = dt.date(2020, 11, 1)  # S1: before its apheresis
    t.rows["apheresis"][1]["release_date"] = dt.date(2020, 12, 20)  # S2: failed, yet released
    t.rows["apheresis"][2]["not_infused_reason"] = "OTHER"  # S3: infused
    records = t.records()
    records = {
        k: v.with_columns(pl.lit(f"{k}.csv").alias("_source_file"), pl.int_range(2, v.height + 2).alias("_source_row"))
        for k, v in records.items()
    }
    problems = pl.concat([date_order(records), dependent_values(records)])
    aph = problems.filter(pl.col("file") == "apheresis.csv").select("row", "column", "rule").rows()
    assert (2, "release_date", "product released before the apheresis") in aph
    assert (3, "release_date", "a release date is for a RELEASED or OOS_INFUSED product only") in aph
    assert (4, "not_infused_reason", "the subject was infused: not_infused_reason must be blank") in aph


def test_dose_against_the_protocol_range_includes_its_bounds():
    """Range 0.2-5.0 x 10^6/kg: 0.1 x 10^6 below, 0.2 and 5.0 x 10^6 within, 5.1 x 10^6
    above; the exposure table counts 1, 2 and 1 of 4 infused subjects."""
    from trial_outcomes.analysis.exposure import DOSE_RANGE, dose_category, exposure_summary

    t = Trial()
    for sid, dose in (("S1", 0.1e6), ("S2", 0.2e6), ("S3", 5.0e6), ("S4", 5.1e6)):
        t.enrol(sid).infuse(sid, dose=dose)
    adsl = t.derive(cut_day=60).adsl
    got = adsl.select("USUBJID", dose_category(pl.col("DOSE"), 0.2e6, 5.0e6).alias("c")).rows()
    assert got == [
        ("S1", "Below the range"),
        ("S2", "Within the range"),
        ("S3", "Within the range"),
        ("S4", "Above the range"),
    ]
    table = exposure_summary(adsl, (0.2e6, 5.0e6)).filter(pl.col("measure") == DOSE_RANGE)
    assert table.select("category", "n").rows() == [
        ("Below the range", 1),
        ("Within the range", 2),
        ("Above the range", 1),
    ]


def test_contradictory_product_rows_are_refused():
    """A FAILED product for an infused subject, OOS_INFUSED for one never infused, a
    RELEASED product without its release date, and an infused subject without a row."""
    t = Trial()
    t.enrol("S1").apheresis("S1", -30, "FAILED").infuse("S1")
    t.enrol("S2").apheresis("S2", -30, "OOS_INFUSED", released=-10)
    t.enrol("S3").apheresis("S3", -30, "RELEASED").infuse("S3")
    t.enrol("S4").infuse("S4")
    records = {
        k: v.with_columns(pl.lit(f"{k}.csv").alias("_source_file"), pl.int_range(2, v.height + 2).alias("_source_row"))
        for k, v in t.records().items()
    }
    found = dependent_values(records).select("file", "row", "rule").rows()
    assert (
        "apheresis.csv",
        2,
        "the subject was infused: a FAILED or PENDING product contradicts the infusion",
    ) in found
    assert ("apheresis.csv", 3, "OOS_INFUSED for a subject with no infusion") in found
    assert ("apheresis.csv", 4, "a RELEASED or OOS_INFUSED product needs its release date") in found
    assert ("infusion.csv", 4, "an infused subject has no row in the apheresis file") in found


def test_a_reason_not_infused_is_not_known_before_its_event():
    """S2 (apheresis day -25, PENDING, reason DEATH) dies on day 5: at a cut on day 0 it is
    awaiting infusion and the file's reason is not yet known; on day 10 it is."""
    t = Trial().enrol("S2", enrol_day=-35).apheresis("S2", -25, "PENDING", not_infused="DEATH")
    t.event("S2", 5, "DEATH", "Progression", category="LEUKEMIA")
    assert t.derive(cut_day=0).adsl["APHNINF"].to_list() == [None]
    assert t.derive(cut_day=10).adsl["APHNINF"].to_list() == ["DEATH"]


def test_no_reason_of_the_apheresis_file_is_shown_at_a_cut_before_the_drops_latest_record():
    """A red team's drop at an earlier cut: S1 withdrew on day -10 and died on day 100, the
    file's reason DEATH; S2's product is PENDING with the reason MANUFACTURING_FAILURE. At a
    cut on day 50 (the drop runs to day 100) neither reason is known: S1 is a withdrawal
    (NINFCAT), S2 awaits infusion, and APHNINF is empty for both (it had shown "Death"
    and "Manufacturing failure" in the ITT table beside the CONSORT figure's withdrawal and
    awaiting). At a cut on day 120 both reasons are known; S1 stays a withdrawal, its
    first event (it had been "Death before infusion", death taking precedence)."""
    t = Trial().enrol("S1", enrol_day=-35).apheresis("S1", -30, "PENDING", not_infused="DEATH")
    t.event("S1", -10, "WITHDRAWAL", "Consent withdrawn").event("S1", 100, "DEATH", "Progression", category="LEUKEMIA")
    t.enrol("S2", enrol_day=-35).apheresis("S2", -25, "PENDING", not_infused="MANUFACTURING_FAILURE")
    early = t.derive(cut_day=50).adsl.sort("USUBJID")
    assert early.select("USUBJID", "NINFCAT", "APHNINF").rows() == [
        ("S1", "WITHDRAWAL", None),
        ("S2", "AWAITING", None),
    ]
    late = t.derive(cut_day=120).adsl.sort("USUBJID")
    assert late.select("USUBJID", "NINFCAT", "APHNINF").rows() == [
        ("S1", "WITHDRAWAL", "DEATH"),
        ("S2", "MANUFACTURING_FAILURE", "MANUFACTURING_FAILURE"),
    ]


def test_why_not_infused_is_the_first_event():
    """S1 withdrew on day -10 and died on day 20: a withdrawal. S2 died and withdrew on day
    -5: a death (the death first on one day). S3 was lost on day -8 and withdrew on day -2
    for a manufacturing delay: lost, its first event. S4 withdrew on day -3 because
    manufacturing failed: a manufacturing failure. Cut on day 60."""
    t = Trial()
    for sid in ("S1", "S2", "S3", "S4"):
        t.enrol(sid, enrol_day=-35)
    t.event("S1", -10, "WITHDRAWAL", "Consent withdrawn").event("S1", 20, "DEATH", "Sepsis", category="INFECTION")
    t.event("S2", -5, "DEATH", "Progression", category="LEUKEMIA").event("S2", -5, "WITHDRAWAL", "Died")
    t.event("S3", -8, "LOST", "No contact").event("S3", -2, "WITHDRAWAL", "Manufacturing delayed")
    t.event("S4", -3, "WITHDRAWAL", "Manufacturing failed")
    adsl = t.derive(cut_day=60).adsl.sort("USUBJID")
    assert adsl["NINFCAT"].to_list() == ["WITHDRAWAL", "DEATH", "LOST", "MANUFACTURING_FAILURE"]
    reasons = ["Consent withdrawn", "Progression", "Lost to follow-up", "Manufacturing failed"]
    assert adsl["NINFREAS"].to_list() == reasons


def test_subjects_infused_more_than_once_are_counted_from_their_first_infusion():
    """S1 infused on day 0 (1 x 10^6/kg) and again on day 60 (3 x 10^6/kg), S2 once, S3
    on days 0, 40 and 70, S4 enrolled and not infused; cut on day 120. Day 0 and the
    dose are the first infusion's (S1: TRTSDT day 0, DOSE 1 x 10^6); NINFUS 2, 1, 3;
    the exposure table counts 1, 1 and 1 of the 3 infused (33.3 % each)."""
    from trial_outcomes.analysis.exposure import INFUSIONS, exposure_summary

    t = Trial()
    for sid in ("S1", "S2", "S3", "S4"):
        t.enrol(sid)
    t.infuse("S1").infuse("S1", at=60, dose=3e6).infuse("S2").infuse("S3").infuse("S3", at=40).infuse("S3", at=70)
    adsl = t.derive(cut_day=120).adsl.sort("USUBJID")
    assert adsl.select("USUBJID", "NINFUS").rows() == [("S1", 2), ("S2", 1), ("S3", 3), ("S4", None)]
    assert adsl["NDOSE"].to_list() == [2, 1, 3, None]  # each infusion more than 7 days after the one before
    assert adsl["TR02SDT"].to_list() == [day(60), None, day(40), None]  # the second infusion
    s1 = adsl.row(0, named=True)
    assert (s1["TRTSDT"], s1["DOSE"]) == (day(0), 1e6)
    table = exposure_summary(adsl).filter(pl.col("measure") == INFUSIONS)
    assert table.select("category", "n", "population_n").rows() == [("1", 1, 3), ("2", 1, 3), ("3 or more", 1, 3)]
    assert table["pct"].round(1).to_list() == [33.3, 33.3, 33.3]


def test_a_split_dose_is_dosed_by_its_fractions_summed():
    """A red team's 10/30/60 % split over days 0-2 (0.1, 0.3 and 0.6 x 10^6/kg) was dosed by
    its first fraction, "below the range". S1: that split: DOSE 1.0 x 10^6 (within 0.2-5.0),
    NINFUS 3. S2: 1 x 10^6 on day 0 and 3 x 10^6 on day 8 (more than 7 days: a re-infusion,
    as the kinetics take it): DOSE 1 x 10^6. S3: 0.1 x 10^6 on day 0 and 0.2 x 10^6 on day 7
    (within 7 days: one dose): DOSE 0.3 x 10^6. TR02SDT, the re-infusion: none, day 8, none."""
    from trial_outcomes.analysis.exposure import DOSE_CATEGORIES, dose_category

    t = Trial()
    for sid in ("S1", "S2", "S3"):
        t.enrol(sid)
    t.infuse("S1", dose=0.1e6).infuse("S1", at=1, dose=0.3e6).infuse("S1", at=2, dose=0.6e6)
    t.infuse("S2", dose=1e6).infuse("S2", at=8, dose=3e6)
    t.infuse("S3", dose=0.1e6).infuse("S3", at=7, dose=0.2e6)
    adsl = t.derive(cut_day=120).adsl.sort("USUBJID")
    assert adsl.select("USUBJID", "DOSE", "NINFUS").rows() == [("S1", 1e6, 3), ("S2", 1e6, 2), ("S3", 0.3e6, 2)]
    assert adsl["NDOSE"].to_list() == [1, 2, 1]  # the split doses one each, the re-infusion a second
    assert adsl["TR02SDT"].to_list() == [None, day(8), None]
    ranges = adsl.select(dose_category(pl.col("DOSE"), 0.2e6, 5.0e6).alias("c"))["c"].to_list()
    assert ranges == [DOSE_CATEGORIES[1], DOSE_CATEGORIES[1], DOSE_CATEGORIES[1]]  # each within the range


def test_doses_are_counted_with_a_split_doses_fractions_as_one():
    """Worked by hand (SPLIT_DOSE_DAYS 7): a dose starts at the first infusion more than 7
    days after the start of the one before. Days 0, 1, 2 (a 10/30/60 % split): one dose;
    0, 1, 2, 40, 45: two (40 > 0 + 7, 45 <= 40 + 7); 0, 5, 10: two (10 > 0 + 7);
    0, 40, 70: three; 0, 7: one (7 is not more than 7); 0, 8, 16: three."""
    from trial_outcomes.analysis.timeline import dose_count

    def doses(*days: int) -> int:
        return dose_count([day(n) for n in days])

    assert [
        doses(0, 1, 2),
        doses(0, 1, 2, 40, 45),
        doses(0, 5, 10),
        doses(0, 40, 70),
        doses(0, 7),
        doses(0, 8, 16),
    ] == [
        1,
        2,
        2,
        3,
        1,
        3,
    ]
