"""Cross-file rules: keys, orphans, date order (issue: foundation, item 5)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from trial_outcomes.analysis.terms import counted_spellings, is_crs, is_icans
from trial_outcomes.io.validation import (
    adverse_events_current,
    ae_entered_twice,
    assessments_after_withdrawal,
    awaiting_infusion_queried,
    blank_flags,
    case_twins,
    crs_left_open,
    cut_in_drop,
    date_order,
    dates_after_extraction,
    death_named_in_long_term,
    death_only_in_apheresis,
    dependent_values,
    drop_queries,
    duplicate_keys,
    early_deaths_without_fatal_ae,
    early_hsct_queried,
    empty_required_files,
    enrolment_queried,
    isolated_latest_date,
    lab_units_queried,
    latest_record,
    malignancy_category_queried,
    names_listed,
    new_therapy_queried,
    orphan_records,
    relapse_named_in_therapy,
    relapse_not_assessed,
    rows_named,
    spelling_variants,
    toxicity_after_other_therapy,
    transgene_before_infusion,
    unknown_files,
)
from trial_outcomes.schema import SCHEMAS

D = dt.date


def _typed(record: str, rows: list[dict]) -> pl.DataFrame:
    """A typed frame as ``parse_records`` gives it, rows numbered from line 2."""
    schema = SCHEMAS[record]
    dtypes = {"date": pl.Date, "number": pl.Float64, "integer": pl.Int64, "yn": pl.Boolean}
    frame = pl.DataFrame(
        [{c: r.get(c) for c in schema.column_names} for r in rows],
        schema={c.name: dtypes.get(c.kind, pl.String) for c in schema.columns},
    )
    return frame.with_columns(
        pl.lit(f"{record}.csv").alias("_source_file"), (pl.int_range(pl.len()) + 2).cast(pl.Int64).alias("_source_row")
    )


def _records(**overrides) -> dict[str, pl.DataFrame]:
    """One subject, S1, enrolled 2021-01-10, infused 2021-01-20, alive; valid as given."""
    base = {
        "enrolment": [
            dict(subject_id="S1", consent_date=D(2021, 1, 8), enrol_date=D(2021, 1, 10), diagnosis_date=D(2019, 5, 1))
        ],
        "eligibility": [],
        "infusion": [dict(subject_id="S1", ld_start_date=D(2021, 1, 15), infusion_date=D(2021, 1, 20))],
        "assessments": [dict(subject_id="S1", assessment_date=D(2021, 2, 17), visit="D28", response="CR")],
        "followup": [dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT")],
        "adverse_events": [
            dict(subject_id="S1", ae_id="AE1", onset_date=D(2021, 1, 22), resolution_date=D(2021, 1, 25))
        ],
        "crs_monitoring": [],
        "icans_monitoring": [],
        "apheresis": [],
    }
    base.update(overrides)
    return {record: _typed(record, rows) for record, rows in base.items()}


def test_valid_subject_has_no_findings():
    records = _records()
    assert duplicate_keys(records).is_empty()
    assert orphan_records(records).is_empty()
    assert date_order(records).is_empty()


def test_enrolment_before_consent_is_found():
    records = _records(
        enrolment=[
            dict(subject_id="S1", consent_date=D(2021, 1, 11), enrol_date=D(2021, 1, 10), diagnosis_date=D(2019, 5, 1))
        ]
    )
    found = date_order(records)
    assert found.select("file", "row", "column", "subject").rows() == [("enrolment.csv", 2, "enrol_date", "S1")]


def test_infusion_before_lymphodepletion_is_found():
    records = _records(infusion=[dict(subject_id="S1", ld_start_date=D(2021, 1, 21), infusion_date=D(2021, 1, 20))])
    assert date_order(records)["rule"].to_list() == ["infusion is before lymphodepletion start"]


def test_assessment_on_infusion_day_is_not_after_infusion():
    records = _records(assessments=[dict(subject_id="S1", assessment_date=D(2021, 1, 20), visit="D0", response="NR")])
    assert date_order(records)["rule"].to_list() == ["disease assessment is not after the first infusion"]


def test_records_after_death_are_found_but_the_death_day_is_allowed():
    followup = [
        dict(subject_id="S1", event_date=D(2021, 3, 1), event="DEATH"),
        dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT"),
    ]
    aes = [
        dict(subject_id="S1", ae_id="AE1", onset_date=D(2021, 3, 1)),
        dict(subject_id="S1", ae_id="AE2", onset_date=D(2021, 2, 1), resolution_date=D(2021, 3, 2)),
    ]
    found = date_order(_records(followup=followup, adverse_events=aes))
    assert found.select("file", "row", "column").rows() == [
        ("adverse_events.csv", 3, "resolution_date"),
        ("followup.csv", 3, "event_date"),
    ]


def test_an_apheresis_after_the_subjects_death_is_found():
    """S2, enrolled 2021-01-10 and never infused, dies on 2021-02-01: an apheresis on
    02-03 (apheresis row 2) is refused, one on the death's day (S3) is not (a red team's
    apheresis three days after a death published, APHDT after DTHDT in ADSL)."""
    enrolled = [
        dict(subject_id=s, consent_date=D(2021, 1, 8), enrol_date=D(2021, 1, 10), diagnosis_date=D(2019, 5, 1))
        for s in ("S1", "S2", "S3")
    ]
    followup = [dict(subject_id=s, event_date=D(2021, 2, 1), event="DEATH") for s in ("S2", "S3")]
    apheresis = [
        dict(subject_id="S2", apheresis_date=D(2021, 2, 3), product_status="PENDING"),
        dict(subject_id="S3", apheresis_date=D(2021, 2, 1), product_status="PENDING"),
    ]
    found = date_order(_records(enrolment=enrolled, followup=followup, apheresis=apheresis))
    assert found.select("file", "row", "column", "value", "subject", "rule").rows() == [
        ("apheresis.csv", 2, "apheresis_date", "2021-02-03", "S2", "dated after the subject's death")
    ]


def test_a_t_cell_malignancy_or_a_relapse_coded_as_a_secondary_malignancy_is_queried():
    """long_term_followup rows coded SECONDARY_MALIGNANCY: 2, "CAR-positive T-cell lymphoma
    (CAR+ PTCL)" (a red team's): queried, T-cell; 3, "Peripheral T-cell lymphoma": T-cell;
    4, "T-ALL": T-cell; 5, "CD19-negative B-ALL relapse" (the red team's): the leukaemia;
    6, "Acute myeloid leukaemia" and 7, "Papillary thyroid carcinoma": not; 8, no detail:
    not; 9, "Peripheral T-cell lymphoma" coded T_CELL_MALIGNANCY: not (coded so)."""
    details = [
        "CAR-positive T-cell lymphoma (CAR+ PTCL)",
        "Peripheral T-cell lymphoma",
        "T-ALL",
        "CD19-negative B-ALL relapse",
        "Acute myeloid leukaemia",
        "Papillary thyroid carcinoma",
        None,
    ]
    rows = [
        dict(subject_id="S1", event_date=D(2022, 1, 1) + dt.timedelta(days=i), event="SECONDARY_MALIGNANCY", detail=d)
        for i, d in enumerate(details)
    ]
    rows.append(
        dict(subject_id="S1", event_date=D(2022, 3, 1), event="T_CELL_MALIGNANCY", detail="Peripheral T-cell lymphoma")
    )
    found = malignancy_category_queried(_records(long_term_followup=rows))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("long_term_followup.csv", r, "event", "SECONDARY_MALIGNANCY", "S1") for r in (2, 3, 4, 5)
    ]
    rules = found["rule"].to_list()
    assert all(r.startswith("a SECONDARY_MALIGNANCY whose detail names a T-cell malignancy") for r in rules[:3])
    assert rules[3].startswith("a SECONDARY_MALIGNANCY whose detail names the trial's own leukaemia coming back")
    assert malignancy_category_queried(_records()).is_empty()  # no long-term file
    (query,) = drop_queries([], {}, {"malignancy_category_plausible": found})
    assert query.check == "malignancy_category_plausible"
    assert "(long_term_followup.csv rows 2, 3, 4 and 5)" in query.finding


def test_a_lab_test_whose_median_reads_in_a_lower_unit_is_queried():
    """HGB in mmol/L (a red team's file made all 37 subjects' anaemia grade 3): 20 values
    5.0, 5.15, ..., 8.0 less 6.5 (median 6.5 g/dL if read so, below 7): queried once, at the
    test's first row, with the median. PLT at 100 x 10^9/L: not. The same HGB over 19
    values: too few, not; HGB whose median is 7.0: not (the bound itself passes)."""

    def labs(hgb: list[float]) -> dict[str, pl.DataFrame]:
        rows = [
            dict(subject_id="S1", sample_date=D(2021, 1, 20) + dt.timedelta(days=i), test="PLT", value=100.0)
            for i in range(25)
        ]
        rows += [
            dict(subject_id="S1", sample_date=D(2021, 1, 20) + dt.timedelta(days=i), test="HGB", value=v)
            for i, v in enumerate(hgb)
        ]
        return _records(labs=rows)

    low = [5.0 + 0.15 * i for i in range(21)]  # 5.0 ... 8.0
    low.remove(6.5)  # 20 values, median (6.35 + 6.65) / 2 = 6.5
    found = lab_units_queried(labs(low))
    assert found.select("file", "row", "column", "value", "subject").rows() == [("labs.csv", 27, "value", "6.5", "S1")]
    assert found["rule"][0].startswith(
        "the median of the file's 20 HGB values is 6.5, below 7.0 g/dL: values in a unit"
    )
    assert lab_units_queried(labs(low[:19])).is_empty()
    assert lab_units_queried(labs([7.0] * 20)).is_empty()
    (query,) = drop_queries([], {}, {"lab_units_plausible": found})
    assert query.check == "lab_units_plausible" and query.finding == found["rule"][0]


def test_car_transgene_before_any_infusion_is_queried():
    """S1 infused 2021-01-20: transgene 0 on 01-15 (labs row 2) and 0.5 below the limit on
    01-18 (row 3): not; 120 on 01-19 (row 4): queried, before the infusion; 900 on 01-21
    (row 5): not. S2, never infused, 5,000 on 02-01 (row 6): queried (a red team's, in a
    subject whose product failed). Another test's value before day 0 (ANC, row 7): not."""
    t = "CAR_TRANSGENE"
    rows = [
        dict(subject_id="S1", sample_date=D(2021, 1, 15), test=t, value=0.0),
        dict(subject_id="S1", sample_date=D(2021, 1, 18), test=t, value=0.5, below_lloq=True),
        dict(subject_id="S1", sample_date=D(2021, 1, 19), test=t, value=120.0),
        dict(subject_id="S1", sample_date=D(2021, 1, 21), test=t, value=900.0),
        dict(subject_id="S2", sample_date=D(2021, 2, 1), test=t, value=5000.0),
        dict(subject_id="S1", sample_date=D(2021, 1, 10), test="ANC", value=1.2),
    ]
    found = transgene_before_infusion(_records(labs=rows))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("labs.csv", 4, "value", "120.0", "S1"),
        ("labs.csv", 6, "value", "5000.0", "S2"),
    ]
    assert found["rule"].to_list() == [
        "CAR transgene quantified before the first infusion on 2021-01-20: the sample is another subject's, or "
        "mis-dated; check the subject and the date",
        "CAR transgene quantified in a subject never infused: the sample is another subject's, or mis-dated; check "
        "the subject and the date",
    ]
    (query,) = drop_queries([], {}, {"transgene_after_infusion": found})
    assert query.check == "transgene_after_infusion" and "(labs.csv rows 4 and 6)" in query.finding


def test_a_death_given_only_as_the_reason_not_infused_is_queried():
    """Apheresis rows 2-4: S2 not infused, reason DEATH, no death in follow-up: queried
    (the deaths table would count none); S3 reason DEATH with a follow-up death (dated after
    any cut: the drop has it): not; S4 reason PROGRESSION and no death: not. Without an
    apheresis file: nothing."""
    enrolled = [
        dict(subject_id=s, consent_date=D(2021, 1, 8), enrol_date=D(2021, 1, 10), diagnosis_date=D(2019, 5, 1))
        for s in ("S1", "S2", "S3", "S4")
    ]
    aph = [
        dict(subject_id=s, apheresis_date=D(2021, 1, 12), product_status="PENDING", not_infused_reason=reason)
        for s, reason in (("S2", "DEATH"), ("S3", "DEATH"), ("S4", "PROGRESSION"))
    ]
    followup = [
        dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT"),
        dict(subject_id="S3", event_date=D(2023, 2, 1), event="DEATH", cause_category="LEUKEMIA"),
    ]
    found = death_only_in_apheresis(_records(enrolment=enrolled, apheresis=aph, followup=followup))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("apheresis.csv", 2, "not_infused_reason", "DEATH", "S2")
    ]
    assert found["rule"][0].startswith("not infused for DEATH by the apheresis file, with no DEATH in followup")
    assert death_only_in_apheresis(_records()).is_empty()
    (query,) = drop_queries([], {}, {"not_infused_death_recorded": found})
    assert query.check == "not_infused_death_recorded"
    assert query.finding.startswith("1 subject(s) the apheresis file says were not infused because of death")
    assert "(apheresis.csv row 2)" in query.finding and "S2" not in query.finding


def test_two_deaths_are_found():
    followup = [
        dict(subject_id="S1", event_date=D(2021, 3, 1), event="DEATH"),
        dict(subject_id="S1", event_date=D(2021, 3, 2), event="DEATH"),
    ]
    found = date_order(_records(followup=followup))
    assert "more than one DEATH" in " ".join(found["rule"].to_list())


def test_duplicate_assessment_key_points_at_first_row():
    a = dict(subject_id="S1", assessment_date=D(2021, 2, 17), visit="D28", response="CR")
    found = duplicate_keys(_records(assessments=[a, {**a, "response": "NR"}]))
    assert found.select("file", "row", "value").rows() == [("assessments.csv", 3, "S1 / 2021-02-17")]
    assert "at row 2" in found["rule"][0]


def test_orphan_in_any_file_is_found():
    found = orphan_records(_records(crs_monitoring=[dict(subject_id="S9", obs_date=D(2021, 1, 22))]))
    assert found.select("file", "value").rows() == [("crs_monitoring.csv", "S9")]


def test_death_therapy_and_contacts_before_consent_enrolment_or_infusion_are_found():
    """S1 consented 2021-01-08, enrolled 01-10, infused 01-20: a DEATH on 01-05 (before
    consent), a CONTACT on 01-09 (before enrolment), an HSCT on 01-19 (before the
    CAR-T infusion): each named with its row and subject."""

    def followup_rules(rows: list[dict]) -> dict[int, tuple[str, str]]:
        found = date_order(
            _records(
                followup=rows,
                assessments=[],
                adverse_events=[],
                infusion=[dict(subject_id="S1", ld_start_date=D(2021, 1, 15), infusion_date=D(2021, 1, 20))],
            )
        )
        return {
            r["row"]: (r["rule"], r["subject"])
            for r in found.iter_rows(named=True)
            if r["file"] == "followup.csv" and "death" not in r["rule"].split(" ")[-1]
        }

    death = followup_rules([dict(subject_id="S1", event_date=D(2021, 1, 5), event="DEATH")])
    assert death == {2: ("death is dated before consent", "S1")}
    others = followup_rules(
        [
            dict(subject_id="S1", event_date=D(2021, 1, 9), event="CONTACT"),
            dict(subject_id="S1", event_date=D(2021, 1, 19), event="HSCT"),
        ]
    )
    assert others[2] == ("follow-up event is dated before enrolment", "S1")
    assert others[3][0].startswith("HSCT or new therapy is dated on or before the day of the first CAR-T infusion")


def test_subject_ids_differing_only_in_case_are_found():
    """'BR-001' and 'br-001' would be two subjects; the second is refused."""
    enrol = [
        dict(subject_id="BR-001", consent_date=D(2021, 1, 8), enrol_date=D(2021, 1, 10)),
        dict(subject_id="br-001", consent_date=D(2021, 1, 8), enrol_date=D(2021, 1, 10)),
    ]
    found = case_twins(_records(enrolment=enrol))
    assert found.select("row", "value").rows() == [(3, "br-001")]
    assert "looks like the one at row 2 (it differs only in letter case" in found["rule"][0]


def test_cause_category_only_on_deaths_and_icans_instrument_by_age():
    """A cause_category on a CONTACT row is refused; an ICE score for a child of 8
    (CAPD is the instrument under 12) is refused."""
    followup = [dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT", cause_category="INFECTION")]
    enrol = [dict(subject_id="S1", consent_date=D(2021, 1, 8), enrol_date=D(2021, 1, 10), age_years=8.0)]
    icans = [dict(subject_id="S1", obs_date=D(2021, 1, 25), ice_score=6, consciousness="AWAKE")]
    found = dependent_values(_records(followup=followup, enrolment=enrol, icans_monitoring=icans))
    assert found.select("file", "column").rows() == [
        ("followup.csv", "cause_category"),
        ("icans_monitoring.csv", "ice_score"),
    ]
    assert "CAPD is used" in found["rule"][1]


def test_an_empty_required_file_is_refused_unless_the_drop_says_so():
    """followup with a header and no rows while S1 is enrolled: refused, naming the file
    and the way to declare it; declared in drop_info.toml: accepted."""
    records = _records(followup=[])
    files = {"followup": "followup.csv"}
    found = empty_required_files(records, files, ("eligibility",))
    assert found.select("file").rows() == [("followup.csv",)]
    assert 'drop_info.toml: empty_files = ["followup"]' in found["rule"][0]
    assert empty_required_files(records, files, ("eligibility", "followup")).is_empty()


def test_a_file_declared_empty_that_has_rows_is_refused():
    """drop_info.toml lists adverse_events in empty_files while adverse_events.csv has
    S1's one row: refused, naming the file and the count (a red team's declaration also
    silenced the stale-AE query); undeclared, accepted."""
    records = _records()
    found = empty_required_files(records, {"adverse_events": "adverse_events.csv"}, ("eligibility", "adverse_events"))
    assert found.select("file").rows() == [("adverse_events.csv",)]
    assert found["rule"][0].startswith("drop_info.toml lists adverse_events in empty_files, but the file has 1 row(s)")
    assert empty_required_files(records, {"adverse_events": "adverse_events.csv"}, ("eligibility",)).is_empty()


def test_an_optional_file_the_drop_has_with_no_rows_is_refused_an_absent_one_is_not():
    """apheresis.csv with a header and no rows while S1 is enrolled: refused (it would
    report nobody apheresed); no apheresis file at all (file None): absent, accepted."""
    records = _records()
    found = empty_required_files(records, {"apheresis": "apheresis.csv"}, ("eligibility",))
    assert found.select("file").rows() == [("apheresis.csv",)]
    assert empty_required_files(records, {"apheresis": None}, ("eligibility",)).is_empty()


def test_an_optional_file_declared_empty_must_be_there_with_its_header():
    """A red team's ``empty_files = ["labs"]`` without a labs file published "the drop has
    none" (labs not collected), while the same declaration beside a header-only labs.csv
    gave tables of subjects without samples: one declaration, two reports. Declared empty
    and absent is refused, naming the file and both ways out; declared empty with the
    header alone is accepted."""
    records = _records(labs=[])
    found = empty_required_files(records, {"labs": None}, ("eligibility", "labs"))
    assert found.select("file", "subject").rows() == [("labs.csv", None)]
    assert found["rule"][0].startswith("drop_info.toml lists labs in empty_files, but the drop has no labs file")
    assert empty_required_files(records, {"labs": "labs.csv"}, ("eligibility", "labs")).is_empty()


def test_an_apheresis_file_declared_empty_is_refused_while_a_subject_was_infused():
    """A red team declared apheresis.csv empty (drop_info.toml) beside infused subjects:
    "Leukapheresis 0 (0.0%)" beside "Infused 56". S1 is infused: refused, naming S1, with
    the file present or absent (declared empty, the drop says there are no apheresis
    records); with S1 not infused, a declared-empty file is taken at its word; a file
    neither present nor declared is absent (the product section says it needs it)."""
    records = _records()
    declared = ("eligibility", "apheresis")
    for files in ({"apheresis": "apheresis.csv"}, {"apheresis": None}):
        found = empty_required_files(records, files, declared).filter(pl.col("subject").is_not_null())
        assert found.select("file", "subject").rows() == [("apheresis.csv", "S1")]
        assert "while 1 subject(s) were infused (S1), though drop_info.toml lists it" in found["rule"][0]
    assert empty_required_files(records, {"apheresis": None}, declared[:1]).is_empty()
    not_infused = _records(infusion=[])
    assert empty_required_files(not_infused, {"apheresis": "apheresis.csv"}, (*declared, "infusion")).is_empty()


def test_a_planned_cut_may_pass_the_latest_record_but_not_the_extraction_date():
    """First enrolment 2020-06-04, latest record (a contact) 2020-07-01. The first
    enrolment is a valid cut and the day before it is not; a planned cut ten days
    after the latest record is valid (endpoints.md v3, Time and populations); with
    ``extracted_on = 2020-07-05`` that day is valid and the next is refused, the
    message naming both dates."""
    records = {
        "enrolment": pl.DataFrame(
            {"subject_id": ["A", "B"], "enrol_date": [dt.date(2020, 6, 4), dt.date(2020, 6, 20)]}
        ),
        "followup": pl.DataFrame({"subject_id": ["A"], "event_date": [dt.date(2020, 7, 1)]}),
    }
    assert cut_in_drop(dt.date.fromisoformat("2020-06-04"), records) is None
    assert cut_in_drop(dt.date.fromisoformat("2020-07-01"), records) is None
    assert "before the first enrolment (2020-06-04)" in (
        cut_in_drop(dt.date.fromisoformat("2020-06-03"), records) or ""
    )
    assert cut_in_drop(dt.date.fromisoformat("2020-07-11"), records) is None
    extracted = dt.date(2020, 7, 5)
    assert cut_in_drop(dt.date.fromisoformat("2020-07-05"), records, extracted) is None
    refused = cut_in_drop(dt.date.fromisoformat("2020-07-06"), records, extracted) or ""
    assert "data cut 2020-07-06 is after the drop's extraction date (2020-07-05" in refused
    assert "after today" in (cut_in_drop(dt.date.fromisoformat("2999-01-01"), records) or "")
    assert latest_record(records) == dt.date(2020, 7, 1)


def test_dates_after_the_extraction_date_are_named_by_row():
    """extracted_on 2020-07-05: the contact of 2020-07-06 (row 3) and the infusion of
    2020-07-09 (row 2) are named, the contact of 2020-07-05 is not; no extracted_on,
    nothing."""
    records = {
        "enrolment": pl.DataFrame(
            {
                "subject_id": ["A", "B"],
                "enrol_date": [dt.date(2020, 6, 4), dt.date(2020, 6, 20)],
                "_source_file": ["enrolment.csv"] * 2,
                "_source_row": [2, 3],
            }
        ),
        "followup": pl.DataFrame(
            {
                "subject_id": ["A", "B"],
                "event_date": [dt.date(2020, 7, 5), dt.date(2020, 7, 6)],
                "_source_file": ["followup.csv"] * 2,
                "_source_row": [2, 3],
            }
        ),
        "infusion": pl.DataFrame(
            {
                "subject_id": ["B"],
                "infusion_date": [dt.date(2020, 7, 9)],
                "_source_file": ["infusion.csv"],
                "_source_row": [2],
            }
        ),
    }
    found = dates_after_extraction(records, dt.date(2020, 7, 5))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("followup.csv", 3, "event_date", "2020-07-06", "B"),
        ("infusion.csv", 2, "infusion_date", "2020-07-09", "B"),
    ]
    assert found["rule"].str.contains("after the drop's extraction date \\(2020-07-05").all()
    assert dates_after_extraction(records, None).is_empty()


def test_a_latest_date_far_from_every_other_is_named():
    """The last contact typed 2022-06-01 for 2021-06-01: 365 days after the next latest
    date (the contact of 2021-06-01 stays, the typo is a second contact, row 3): named
    with its file, row and subject, since it would move a default cut a year. 180 days
    after it is no finding (a small trial between visits), nor the base subject's
    contact 104 days after its last assessment."""

    def with_contact(when: dt.date) -> dict[str, pl.DataFrame]:
        return _records(
            followup=[
                dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT"),
                dict(subject_id="S1", event_date=when, event="CONTACT"),
            ]
        )

    found = isolated_latest_date(with_contact(D(2022, 6, 1)))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("followup.csv", 3, "event_date", "2022-06-01", "S1")
    ]
    assert "365 days after every other date (the next latest is 2021-06-01)" in found["rule"][0]
    assert isolated_latest_date(with_contact(D(2021, 11, 28))).is_empty()  # 180 days
    assert isolated_latest_date(_records()).is_empty()


def test_a_file_outside_the_contract_is_named(tmp_path):
    """followup_update.csv (a red team's death, never read) and a folder are named;
    the contract's files, drop_info.toml and hidden files are not."""
    for name in ("enrolment.csv", "followup_update.csv", "drop_info.toml", ".DS_Store", "labs.parquet"):
        (tmp_path / name).write_text("x")
    (tmp_path / "old").mkdir()
    assert unknown_files(tmp_path) == ["followup_update.csv", "old/"]


def test_an_assessment_after_a_withdrawal_is_named():
    """S1 withdrawn 2021-01-25, then assessed on 2021-02-17 (row 2 of assessments): named
    with the withdrawal date. Contacts after it are not (vital status may be followed)."""
    records = _records(
        followup=[
            dict(subject_id="S1", event_date=D(2021, 1, 25), event="WITHDRAWAL"),
            dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT"),
        ]
    )
    found = assessments_after_withdrawal(records)
    assert found.select("file", "row", "column", "value", "subject", "rule").rows() == [
        (
            "assessments.csv",
            2,
            "assessment_date",
            "2021-02-17",
            "S1",
            "a disease assessment after the subject's withdrawal on 2021-01-25",
        )
    ]
    assert assessments_after_withdrawal(_records()).is_empty()


def test_an_assessment_after_a_loss_to_follow_up_is_named():
    """S1 lost to follow-up 2021-01-25, then assessed on 2021-02-17 (row 2): named with
    the loss's date (a red team's loss followed by a CR passed without a word)."""
    records = _records(followup=[dict(subject_id="S1", event_date=D(2021, 1, 25), event="LOST")])
    found = assessments_after_withdrawal(records)
    assert found.select("row", "value", "subject", "rule").rows() == [
        (2, "2021-02-17", "S1", "a disease assessment after the subject's loss to follow-up on 2021-01-25")
    ]


def test_the_drop_queries_name_files_rows_and_columns_but_no_subject():
    """What the report prints of the warnings: S1 withdrawn 2021-01-25 and assessed on
    2021-02-17 (assessments.csv row 2); a file never read; a column dropped unread. No
    subject id appears (the open report prints these too)."""
    records = _records(
        followup=[
            dict(subject_id="S1", event_date=D(2021, 1, 25), event="WITHDRAWAL"),
            dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT"),
        ]
    )
    queries = drop_queries(
        ["followup_update.csv"],
        {"enrolment.csv": ("site_note",)},
        {
            "no_assessment_after_withdrawal": assessments_after_withdrawal(records),
            "latest_date_plausible": isolated_latest_date(records),
        },
    )
    assert [(q.check, q.finding) for q in queries] == [
        ("known_files", "1 file(s) in the drop folder outside the data contract, never read: followup_update.csv"),
        ("known_columns", "enrolment.csv: 1 column(s) outside the data contract, dropped unread: site_note"),
        (
            "no_assessment_after_withdrawal",
            "1 disease assessment(s) dated after the subject's withdrawal or loss to follow-up, in 1 subject(s) "
            "(assessments.csv row 2): the efficacy set leaves out a subject withdrawn before any assessment, "
            "and a subject assessed after being lost was not lost",
        ),
    ]
    assert not any("S1" in q.finding for q in queries)
    nothing = {
        "no_assessment_after_withdrawal": assessments_after_withdrawal(_records()),
        "latest_date_plausible": isolated_latest_date(_records()),
    }
    assert drop_queries([], {}, nothing) == ()
    with pytest.raises(ValueError, match="no sentence for the drop queries"):
        drop_queries([], {}, {"a_check_without_a_sentence": assessments_after_withdrawal(records)})


def test_rows_are_named_file_by_file_and_a_long_list_is_cut():
    """Rows 2 and 3 of a.csv, 5 of b.csv; eleven rows of c.csv show eight, then "3 more"."""
    frame = pl.DataFrame(
        {"file": ["b.csv", "a.csv", "a.csv"], "row": [5, 3, 2]}, schema={"file": pl.String, "row": pl.Int64}
    )
    assert rows_named(frame) == "a.csv rows 2 and 3; b.csv row 5"
    many = pl.DataFrame({"file": ["c.csv"] * 11, "row": list(range(2, 13))})
    assert rows_named(many) == "c.csv rows 2, 3, 4, 5, 6, 7, 8, 9 and 3 more"
    three = pl.DataFrame({"file": ["c.csv"] * 3, "row": [4, 2, 3]})
    assert rows_named(three) == "c.csv rows 2, 3 and 4"


def test_names_are_listed_escaped_and_cut():
    """A file name with a line break is one escaped name; 15 names show 12, then "3 more"."""
    assert names_listed(["new\nline.csv", "a.csv"]) == "new\\nline.csv, a.csv"
    many = [f"f{i}.csv" for i in range(15)]
    assert names_listed(many) == ", ".join(many[:12]) + " and 3 more"


def test_an_ae_term_or_soc_written_another_way_is_named_with_the_spelling_it_is_counted_under():
    """Rows 2-5 of adverse_events: "Febrile neutropenia" twice, "FEBRILE NEUTROPENIA"
    (row 4) and SOC "INFECTIONS AND INFESTATIONS" (row 5): row 4 is counted as the term
    of the most rows, row 5 as MedDRA spells the SOC. The report's query names rows, not
    subjects."""
    ae = [
        dict(subject_id="S1", ae_id=f"AE{i}", term=term, soc=soc, onset_date=D(2021, 1, 22))
        for i, (term, soc) in enumerate(
            [
                ("Febrile neutropenia", "Blood and lymphatic system disorders"),
                ("Febrile neutropenia", "Blood and lymphatic system disorders"),
                ("FEBRILE NEUTROPENIA", "Blood and lymphatic system disorders"),
                ("Sepsis", "INFECTIONS AND INFESTATIONS"),
            ]
        )
    ]
    records = _records(adverse_events=ae)
    spellings = counted_spellings(records)
    assert spellings == {
        "adverse_events.term": {"FEBRILE NEUTROPENIA": "Febrile neutropenia"},
        "adverse_events.soc": {"INFECTIONS AND INFESTATIONS": "Infections and infestations"},
    }
    found = spelling_variants(records, spellings)
    assert found.select("row", "column", "value", "subject", "rule").rows() == [
        (4, "term", "FEBRILE NEUTROPENIA", "S1", "counted as 'Febrile neutropenia'"),
        (5, "soc", "INFECTIONS AND INFESTATIONS", "S1", "counted as 'Infections and infestations'"),
    ]
    (query,) = drop_queries([], {}, {"one_spelling_per_value": found})
    assert query.check == "one_spelling_per_value"
    assert "term 'FEBRILE NEUTROPENIA' counted as 'Febrile neutropenia' (adverse_events.csv row 4)" in query.finding
    assert "S1" not in query.finding
    assert spelling_variants(_records(), counted_spellings(_records())).is_empty()


def test_an_ae_export_older_than_the_others_is_queried():
    """S1's AE has onset 2021-01-22. S2, S3 and S4 are infused 2021-03-01, 03-10 and
    03-20 (all after it) and S5 on 2021-05-20. By 2021-04-19 S2, S3 and S4 have had
    their 30 days (03-31, 04-09 and 04-19 <= 04-19) with no AE: three, so queried, at
    their infusion rows 3, 4 and 5. By 2021-04-18 only S2 and S3 have (S4's ends
    04-19): two, not queried. S5 (followed to 06-19) is never among them by 06-01. An
    AE of S4 on 2021-03-25 moves the latest onset past S2's, S3's and S4's infusions,
    and S5 is not yet followed 30 days by 2021-06-01: no one, not queried."""
    infused = [dict(subject_id="S1", ld_start_date=D(2021, 1, 15), infusion_date=D(2021, 1, 20))]
    for subject, day in (("S2", D(2021, 3, 1)), ("S3", D(2021, 3, 10)), ("S4", D(2021, 3, 20)), ("S5", D(2021, 5, 20))):
        infused.append(dict(subject_id=subject, ld_start_date=day - dt.timedelta(days=5), infusion_date=day))
    records = _records(infusion=infused)
    found = adverse_events_current(records, D(2021, 4, 19))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("infusion.csv", 3, "infusion_date", "2021-03-01", "S2"),
        ("infusion.csv", 4, "infusion_date", "2021-03-10", "S3"),
        ("infusion.csv", 5, "infusion_date", "2021-03-20", "S4"),
    ]
    assert "latest onset is 2021-01-22: 3 subjects infused after it" in found["rule"][0]
    assert adverse_events_current(records, D(2021, 4, 18)).is_empty()
    (query,) = drop_queries([], {}, {"adverse_events_current": found})
    assert query.check == "adverse_events_current"
    assert "infusion.csv rows 3, 4 and 5" in query.finding and "S2" not in query.finding
    later = dict(subject_id="S4", ae_id="AE9", onset_date=D(2021, 3, 25), resolution_date=D(2021, 3, 27))
    fresh = _records(
        infusion=infused,
        adverse_events=[*_records()["adverse_events"].drop("_source_file", "_source_row").to_dicts(), later],
    )
    assert adverse_events_current(fresh, D(2021, 6, 1)).is_empty()
    assert adverse_events_current(_records(), D(2021, 6, 1)).is_empty()


def _infused(*subjects: tuple[str, dt.date]) -> list[dict]:
    return [dict(subject_id=s, ld_start_date=day - dt.timedelta(days=5), infusion_date=day) for s, day in subjects]


def _causes(followup: list[dict], text: dict[str, str] | None = None) -> pl.DataFrame:
    """Each death's category as the rows give it (ADSL's ``DTHCAT``) and what its text
    reads (``TEXTCAT``, given by subject; the keyword rule is ``analysis.deaths``' and
    tested there)."""
    deaths = [r for r in followup if r["event"] == "DEATH"]
    rows = [(r["subject_id"], r.get("cause_category"), (text or {}).get(r["subject_id"])) for r in deaths]
    schema = {"subject_id": pl.String, "DTHCAT": pl.String, "TEXTCAT": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def test_an_early_death_without_a_fatal_ae_is_queried():
    """S1 is infused 2021-01-20 and alive; S2-S9 are infused 2021-03-10 (day 0). S2 dies
    on day 0 (03-10, cause OTHER) and S3 on day 30 (04-09, INFECTION), neither with a
    grade-5 AE: queried at followup rows 3 and 4, days 0 and 30. S4 dies on day 31
    (04-10): outside the window. S5 has an HSCT on 03-20 (row 6) and dies on 03-25 (row
    7): after the window closed. S6 dies on day 5 (03-15, row 8) with a grade-5 AE
    (unrelated or not, assessed): not queried. S7 dies of the leukaemia on day 10 (the
    disease's, no AE), S8 of CRS on day 6 (the rule counts it; a disagreement with the AEs
    is ``deaths.cause_and_fatal_syndrome_disagree``'s): not queried; S9 on day 12 of an
    unknown cause: queried (row 11). Seen to 2021-04-08, S3's death is after it: S2 and S9.
    A 31-day window takes S4 in (a plan's own ``window_days``)."""
    day0 = D(2021, 3, 10)
    infused = _infused(("S1", D(2021, 1, 20)), *((f"S{i}", day0) for i in range(2, 10)))
    followup = [
        dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT"),
        dict(subject_id="S2", event_date=day0, event="DEATH", cause_category="OTHER"),
        dict(subject_id="S3", event_date=D(2021, 4, 9), event="DEATH", cause_category="INFECTION"),
        dict(subject_id="S4", event_date=D(2021, 4, 10), event="DEATH", cause_category="INFECTION"),
        dict(subject_id="S5", event_date=D(2021, 3, 20), event="HSCT"),
        dict(subject_id="S5", event_date=D(2021, 3, 25), event="DEATH", cause_category="TRANSPLANT"),
        dict(subject_id="S6", event_date=D(2021, 3, 15), event="DEATH", cause_category="INFECTION"),
        dict(subject_id="S7", event_date=D(2021, 3, 20), event="DEATH", cause_category="LEUKEMIA"),
        dict(subject_id="S8", event_date=D(2021, 3, 16), event="DEATH", cause_category="CRS"),
        dict(subject_id="S9", event_date=D(2021, 3, 22), event="DEATH", cause_category="UNKNOWN"),
    ]
    causes = _causes(followup)
    events = [
        *_records()["adverse_events"].drop("_source_file", "_source_row").to_dicts(),
        dict(subject_id="S6", ae_id="AE6", onset_date=D(2021, 3, 12), grade=5, related=False),
    ]
    records = _records(infusion=infused, followup=followup, adverse_events=events)
    found = early_deaths_without_fatal_ae(records, D(2021, 4, 30), 30, causes)
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("followup.csv", 3, "event_date", "2021-03-10", "S2"),
        ("followup.csv", 4, "event_date", "2021-04-09", "S3"),
        ("followup.csv", 11, "event_date", "2021-03-22", "S9"),
    ]
    assert found["rule"][0].startswith(
        "a death on day 0 after the first infusion (within the safety rule's 30 days; cause OTHER) with no "
        "treatment-emergent grade-5"
    )
    assert found["rule"][1].startswith("a death on day 30 ") and "cause UNKNOWN" in found["rule"][2]
    assert early_deaths_without_fatal_ae(records, D(2021, 4, 8), 30, causes)["subject"].to_list() == ["S2", "S9"]
    longer = early_deaths_without_fatal_ae(records, D(2021, 4, 30), 31, causes)
    assert longer["subject"].to_list() == ["S2", "S3", "S4", "S9"]
    (query,) = drop_queries([], {}, {"early_deaths_have_fatal_ae": found})
    assert query.check == "early_deaths_have_fatal_ae"
    assert query.finding.startswith(
        "3 death(s) within the safety rule's window, not from the leukaemia, CRS or ICANS, with no treatment-emergent"
    )
    assert "followup.csv rows 3, 4 and 11" in query.finding and "S2" not in query.finding
    assert early_deaths_without_fatal_ae(_records(), D(2021, 6, 1), 30, causes.head(0)).is_empty()


def test_a_crs_left_open_for_weeks_while_followed_is_queried():
    """The cut 2021-02-01. adverse_events rows: 2, S1's CRS from 2021-01-01, no resolution:
    followed 31 days (> 28): queried. 3, S2's CRS from 01-01, withdrawn 01-10: 9 days, not
    (open at a withdrawal is no missing date). 4, S3's "Cytokine Release Syndrome" from
    01-04: 28 days, not (more than 28 needed). 5, S4's sepsis from 01-01, open: not a CRS.
    6, S1's second CRS, resolved: not. 7, S5's CRS from 01-01, S5 dead 01-31: 30 days,
    queried. 8, S6's CRS from 02-05, after the cut: not. 9, S7's CRS from 01-01 resolved
    01-31: 30 days, queried (a resolution typed late masks as an open one does). 10, S8's
    CRS from 01-01, S8 lost 01-05 and seen again 01-20: the loss is not the end, 31 days
    to the cut, queried. 11, S9's, lost 01-05 and not seen since: 4 days, not. 12, S10's
    CRS from 01-01 resolved 03-01, after the cut: open at the cut, 31 days, queried."""
    crs, events = "Cytokine release syndrome", []
    for sid, term, onset, resolved in (
        ("S1", crs, D(2021, 1, 1), None),
        ("S2", crs, D(2021, 1, 1), None),
        ("S3", "Cytokine Release Syndrome", D(2021, 1, 4), None),
        ("S4", "Sepsis", D(2021, 1, 1), None),
        ("S1", crs, D(2021, 1, 20), D(2021, 1, 22)),
        ("S5", crs, D(2021, 1, 1), None),
        ("S6", crs, D(2021, 2, 5), None),
        ("S7", crs, D(2021, 1, 1), D(2021, 1, 31)),
        ("S8", crs, D(2021, 1, 1), None),
        ("S9", crs, D(2021, 1, 1), None),
        ("S10", crs, D(2021, 1, 1), D(2021, 3, 1)),
    ):
        events.append(
            dict(subject_id=sid, ae_id=f"AE{len(events)}", term=term, onset_date=onset, resolution_date=resolved)
        )
    followup = [
        dict(subject_id="S2", event_date=D(2021, 1, 10), event="WITHDRAWAL"),
        dict(subject_id="S5", event_date=D(2021, 1, 31), event="DEATH"),
        dict(subject_id="S8", event_date=D(2021, 1, 5), event="LOST"),
        dict(subject_id="S8", event_date=D(2021, 1, 20), event="CONTACT"),
        dict(subject_id="S9", event_date=D(2021, 1, 5), event="LOST"),
    ]
    records = _records(adverse_events=events, followup=followup)
    found = crs_left_open(records, D(2021, 2, 1), is_crs)
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("adverse_events.csv", 2, "resolution_date", None, "S1"),
        ("adverse_events.csv", 7, "resolution_date", None, "S5"),
        ("adverse_events.csv", 9, "resolution_date", "2021-01-31", "S7"),
        ("adverse_events.csv", 10, "resolution_date", None, "S8"),
        ("adverse_events.csv", 12, "resolution_date", "2021-03-01", "S10"),
    ]
    rules = found["rule"].to_list()
    assert rules[0].startswith(
        "a CRS not resolved 31 days after its onset, its subject followed to 2021-02-01 (more than 28): enter or check "
        "the resolution date"
    )
    assert "30 days after its onset, its subject followed to 2021-01-31" in rules[1]
    assert rules[2].startswith("a CRS lasting 30 days from its onset to its resolution (more than 28): check the dates")
    assert "31 days after its onset, its subject followed to 2021-02-01" in rules[3]
    assert rules[4].startswith("a CRS not resolved 31 days after its onset")  # resolved after the cut
    (query,) = drop_queries([], {}, {"crs_resolved": found})
    assert query.check == "crs_resolved"
    assert query.finding.startswith("5 CRS adverse event(s) lasting more than 28 days, or without a resolution date")
    assert "adverse_events.csv rows 2, 7, 9, 10 and 12" in query.finding and "S1" not in query.finding
    assert crs_left_open(records, D(2021, 1, 29), is_crs).is_empty()


def test_a_new_therapy_naming_a_crs_treatment_or_before_day_21_is_queried():
    """Every subject infused 2021-01-20 (day 0); the cut 2021-03-01. followup rows: 2, S1's
    "Tocilizumab" on 01-24 (day 4): queried, a CRS treatment (a red team's, which took a
    grade-4 ICANS out of the safety rule and flipped the futility rule). 3, S2's
    "Blinatumomab" on 01-30 (day 10): queried, before day 21. 4, S3's "Blinatumomab" on
    02-25 (day 36): not. 5, S4's "Dexamethasone" on 02-25: queried (a corticosteroid). 6,
    S5's HSCT on 02-01, then 7, S5's "Tocilizumab" on 02-10: not (the HSCT ended the windows
    first). 8, S6's "IV methylprednisolone 1 g" on 03-01 (day 40): queried, the word within
    the text. 9, S7's "Tocilizumab" on 03-05: after the cut, not. 10, S8's "CD22 CAR-T" on
    02-10 (day 21): not (day 21 is the window's first). 11, S9's "Salvage chemotherapy" on
    02-09 (day 20): queried. 12, S9's "Tocilizumab" on 02-20: not its first, not queried.
    13, S10's "Tocilizumab" on 01-24, S10 never infused: not. 14, S11's "Anti-CD22
    (toci-free)" on 03-01 (day 40): its words "anti cd22 toci free" hold "toci", queried (a
    query errs towards asking). 15, S12's "IVIG replacement for hypogammaglobulinaemia" on
    02-12 (day 23): queried, supportive care (a red team's, which crossed the futility
    boundary). 16, S13's "Allogeneic HSCT (matched sibling donor)" on 02-25: queried, a
    transplant. 17, S14's "Intrathecal methotrexate for CNS relapse" on 02-25: not (therapy
    of the leukaemia)."""
    infused = [
        dict(subject_id=f"S{i}", ld_start_date=D(2021, 1, 15), infusion_date=D(2021, 1, 20)) for i in range(1, 15)
    ]
    infused = [r for r in infused if r["subject_id"] != "S10"]
    new = "NEW_THERAPY"
    followup = [
        dict(subject_id="S1", event_date=D(2021, 1, 24), event=new, detail="Tocilizumab"),
        dict(subject_id="S2", event_date=D(2021, 1, 30), event=new, detail="Blinatumomab"),
        dict(subject_id="S3", event_date=D(2021, 2, 25), event=new, detail="Blinatumomab"),
        dict(subject_id="S4", event_date=D(2021, 2, 25), event=new, detail="Dexamethasone"),
        dict(subject_id="S5", event_date=D(2021, 2, 1), event="HSCT"),
        dict(subject_id="S5", event_date=D(2021, 2, 10), event=new, detail="Tocilizumab"),
        dict(subject_id="S6", event_date=D(2021, 3, 1), event=new, detail="IV methylprednisolone 1 g"),
        dict(subject_id="S7", event_date=D(2021, 3, 5), event=new, detail="Tocilizumab"),
        dict(subject_id="S8", event_date=D(2021, 2, 10), event=new, detail="CD22 CAR-T"),
        dict(subject_id="S9", event_date=D(2021, 2, 9), event=new, detail="Salvage chemotherapy"),
        dict(subject_id="S9", event_date=D(2021, 2, 20), event=new, detail="Tocilizumab"),
        dict(subject_id="S10", event_date=D(2021, 1, 24), event=new, detail="Tocilizumab"),
        dict(subject_id="S11", event_date=D(2021, 3, 1), event=new, detail="Anti-CD22 (toci-free)"),
        dict(
            subject_id="S12", event_date=D(2021, 2, 12), event=new, detail="IVIG replacement for hypogammaglobulinaemia"
        ),
        dict(subject_id="S13", event_date=D(2021, 2, 25), event=new, detail="Allogeneic HSCT (matched sibling donor)"),
        dict(subject_id="S14", event_date=D(2021, 2, 25), event=new, detail="Intrathecal methotrexate for CNS relapse"),
    ]
    records = _records(infusion=infused, followup=followup)
    found = new_therapy_queried(records, D(2021, 3, 1))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("followup.csv", 2, "detail", "Tocilizumab", "S1"),
        ("followup.csv", 3, "detail", "Blinatumomab", "S2"),
        ("followup.csv", 5, "detail", "Dexamethasone", "S4"),
        ("followup.csv", 8, "detail", "IV methylprednisolone 1 g", "S6"),
        ("followup.csv", 11, "detail", "Salvage chemotherapy", "S9"),
        ("followup.csv", 14, "detail", "Anti-CD22 (toci-free)", "S11"),
        ("followup.csv", 15, "detail", "IVIG replacement for hypogammaglobulinaemia", "S12"),
        ("followup.csv", 16, "detail", "Allogeneic HSCT (matched sibling donor)", "S13"),
    ]
    rules = found["rule"].to_list()
    assert rules[0].startswith(
        "a new therapy on day 4 after the first infusion (its detail names a treatment of CRS or ICANS, supportive "
        "care, not new anti-leukaemia therapy): it ends the treatment-emergent window"
    )
    assert rules[1].startswith("a new therapy on day 10 after the first infusion (before day 21, when the day-28")
    assert rules[4].startswith("a new therapy on day 20 ")
    assert "(its detail names supportive care (immunoglobulin, a growth factor" in rules[6]
    assert "(its detail names a transplant, which is coded HSCT" in rules[7]
    assert new_therapy_queried(records, D(2021, 2, 24))["subject"].to_list() == ["S1", "S2", "S9", "S12"]
    (query,) = drop_queries([], {}, {"new_therapy_plausible": found})
    assert query.check == "new_therapy_plausible"
    assert query.finding.startswith(
        "8 new therapy record(s) naming a treatment of CRS or ICANS (tocilizumab, siltuximab, anakinra, "
        "corticosteroids), other supportive care (immunoglobulin, a growth factor, prophylaxis, a transfusion, an "
        "anti-infective, a treatment of IEC-HS or HLH) or a transplant, or dated before day 21 or on or before a "
        "remission assessed in the day-28 response window (followup.csv rows 2, 3, 5, 8, 11, 14, 15 and 16)"
    )
    assert "S1" not in query.finding


def test_a_relapse_named_only_in_a_new_therapys_text_is_queried():
    """S1-S4 infused 2021-01-20 (day 0). followup rows: 2, S1's "Blinatumomab for CD19+ bone
    marrow relapse" on day 200 with no relapse assessed: queried (a red team's). 3, S2's
    "Blinatumomab for relapse" on day 200 after its RELAPSE assessment on day 190: not. 4,
    S3's "Inotuzumab" with no relapse: not. 5, S4's "Salvage for disease progression" on
    day 90, its relapse assessed on day 95 (after the therapy): queried. 6, S1's
    "Relapsed: FLAG-Ida" on day 400, after the cut (day 365): not."""
    day0 = D(2021, 1, 20)

    def on(n: int) -> dt.date:
        return day0 + dt.timedelta(days=n)

    infused = [dict(subject_id=f"S{i}", ld_start_date=D(2021, 1, 15), infusion_date=day0) for i in range(1, 5)]
    new = "NEW_THERAPY"
    followup = [
        dict(subject_id="S1", event_date=on(200), event=new, detail="Blinatumomab for CD19+ bone marrow relapse"),
        dict(subject_id="S2", event_date=on(200), event=new, detail="Blinatumomab for relapse"),
        dict(subject_id="S3", event_date=on(200), event=new, detail="Inotuzumab"),
        dict(subject_id="S4", event_date=on(90), event=new, detail="Salvage for disease progression"),
        dict(subject_id="S1", event_date=on(400), event=new, detail="Relapsed: FLAG-Ida"),
    ]
    assessments = [
        dict(subject_id=sid, assessment_date=on(28), visit="D28", response="CR") for sid in ("S1", "S2", "S3", "S4")
    ] + [
        dict(subject_id="S2", assessment_date=on(190), visit="UNSCHED", response="RELAPSE"),
        dict(subject_id="S4", assessment_date=on(95), visit="UNSCHED", response="RELAPSE"),
    ]
    records = _records(infusion=infused, followup=followup, assessments=assessments)
    found = relapse_named_in_therapy(records, on(365))
    assert found.select("file", "row", "subject").rows() == [("followup.csv", 2, "S1"), ("followup.csv", 5, "S4")]
    assert found["rule"][0].startswith("a new therapy whose detail names a relapse, with no RELAPSE assessment")
    (query,) = drop_queries([], {}, {"relapse_recorded": found})
    assert query.check == "relapse_recorded" and "(followup.csv rows 2 and 5)" in query.finding
    assert "S1" not in query.finding


def _in_remission(subjects: tuple[str, ...], day0: dt.date, relapsed: dict[str, dt.date]) -> tuple[list, list, list]:
    """Enrolment, infusion (on ``day0``) and assessment rows of ``subjects`` in CR on day 28,
    with a RELAPSE assessment on the date ``relapsed`` gives a subject."""
    enrolled = [
        dict(subject_id=sid, consent_date=D(2021, 1, 8), enrol_date=D(2021, 1, 10), diagnosis_date=D(2019, 5, 1))
        for sid in subjects
    ]
    infused = [dict(subject_id=sid, ld_start_date=D(2021, 1, 15), infusion_date=day0) for sid in subjects]
    assessed = [
        dict(subject_id=sid, assessment_date=day0 + dt.timedelta(days=28), visit="D28", response="CR")
        for sid in subjects
    ]
    assessed += [
        dict(subject_id=sid, assessment_date=on, visit="UNSCHED", response="RELAPSE") for sid, on in relapsed.items()
    ]
    return enrolled, infused, assessed


def test_a_relapse_or_a_death_named_only_in_long_term_follow_up_is_queried():
    """A red team's "CD19-negative B-ALL relapse" coded NEW_HEMATOLOGIC was a new disorder
    and no relapse, and its "Fatal progressive multifocal leukoencephalopathy; patient
    died" left the subject alive in overall survival, neither said. S1-S5 infused
    2021-01-20 (day 0), in CR on day 28; cut on day 730. long_term_followup rows: 2, S1's
    NEW_HEMATOLOGIC "CD19-negative B-ALL relapse" on day 500, no relapse assessed: queried
    (relapse); 3, S2's the same on day 500 after its RELAPSE assessment on day 400: not; 4,
    S3's NEW_HEMATOLOGIC "Pancytopenia": not; 5, S4's SECONDARY_MALIGNANCY "B-ALL relapse":
    not here (the malignancy query's); 6, S5's NEW_NEUROLOGIC "Fatal progressive multifocal
    leukoencephalopathy", no death in follow-up: queried (death; "progressive" names no
    relapse there); 7, S2's "Fatal PML" with S2's follow-up death:
    not; 8, S3's "Non-fatal cerebral venous thrombosis": not; 9, S1's "Relapse" on day 800, after
    the cut: not."""
    day0 = D(2021, 1, 20)

    def on(n: int) -> dt.date:
        return day0 + dt.timedelta(days=n)

    enrolled, infused, assessments = _in_remission(("S1", "S2", "S3", "S4", "S5"), day0, {"S2": on(400)})
    followup = [dict(subject_id="S2", event_date=on(600), event="DEATH", detail="PML")]
    hem, neuro = "NEW_HEMATOLOGIC", "NEW_NEUROLOGIC"
    ltfu = [
        dict(subject_id="S1", event_date=on(500), event=hem, detail="CD19-negative B-ALL relapse"),
        dict(subject_id="S2", event_date=on(500), event=hem, detail="CD19-negative B-ALL relapse"),
        dict(subject_id="S3", event_date=on(500), event=hem, detail="Pancytopenia"),
        dict(subject_id="S4", event_date=on(500), event="SECONDARY_MALIGNANCY", detail="B-ALL relapse"),
        dict(
            subject_id="S5", event_date=on(500), event=neuro, detail="Fatal progressive multifocal leukoencephalopathy"
        ),
        dict(subject_id="S2", event_date=on(590), event=neuro, detail="Fatal PML"),
        dict(subject_id="S3", event_date=on(520), event=neuro, detail="Non-fatal cerebral venous thrombosis"),
        dict(subject_id="S1", event_date=on(800), event=hem, detail="Relapse"),
    ]
    records = _records(
        enrolment=enrolled, infusion=infused, assessments=assessments, followup=followup, long_term_followup=ltfu
    )
    relapses = relapse_not_assessed(records, on(730))
    assert relapses.select("file", "row", "column", "subject").rows() == [("long_term_followup.csv", 2, "detail", "S1")]
    assert relapses["rule"][0].startswith("a long-term NEW_HEMATOLOGIC whose detail names a relapse, with no RELAPSE")
    deaths = death_named_in_long_term(records, on(730))
    assert deaths.select("file", "row", "column", "subject").rows() == [("long_term_followup.csv", 6, "detail", "S5")]
    assert deaths["rule"][0].startswith("a long-term NEW_NEUROLOGIC whose detail names a death, with no DEATH")
    assert (
        relapse_not_assessed(_records(), on(730)).is_empty()
        and death_named_in_long_term(_records(), on(730)).is_empty()
    )
    told = drop_queries([], {}, {"relapse_recorded": relapses, "death_recorded": deaths})
    assert [q.check for q in told] == ["relapse_recorded", "death_recorded"]
    assert "(long_term_followup.csv row 2)" in told[0].finding and "(long_term_followup.csv row 6)" in told[1].finding


def test_an_hsct_before_day_21_is_queried():
    """S1-S4 infused 2021-01-20 (day 0), cut 2021-03-01. followup rows: 2, S1's HSCT on
    02-09 (day 20): queried (a red team's, a month mistyped, made a CRi responder a
    non-responder). 3, S2's HSCT on 02-10 (day 21, the window's first): not. 4, S3's new
    therapy on 01-30, then 5, its HSCT on 02-05: not (the therapy ended attribution first,
    and is queried itself). 6, S4's HSCT on 03-05: after the cut, not. 7, S5's HSCT on
    01-25, S5 never infused: not."""
    infused = [
        dict(subject_id=f"S{i}", ld_start_date=D(2021, 1, 15), infusion_date=D(2021, 1, 20)) for i in range(1, 5)
    ]
    followup = [
        dict(subject_id="S1", event_date=D(2021, 2, 9), event="HSCT"),
        dict(subject_id="S2", event_date=D(2021, 2, 10), event="HSCT"),
        dict(subject_id="S3", event_date=D(2021, 1, 30), event="NEW_THERAPY", detail="Blinatumomab"),
        dict(subject_id="S3", event_date=D(2021, 2, 5), event="HSCT"),
        dict(subject_id="S4", event_date=D(2021, 3, 5), event="HSCT"),
        dict(subject_id="S5", event_date=D(2021, 1, 25), event="HSCT"),
    ]
    records = _records(infusion=infused, followup=followup)
    found = early_hsct_queried(records, D(2021, 3, 1))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("followup.csv", 2, "event_date", "2021-02-09", "S1")
    ]
    assert found["rule"][0].startswith("an HSCT on day 20 after the first infusion, before day 21 when the day-28")
    (query,) = drop_queries([], {}, {"hsct_plausible": found})
    assert query.check == "hsct_plausible" and "(followup.csv row 2)" in query.finding and "S1" not in query.finding
    assert query.finding.startswith("1 HSCT(s) before day 21 after the first infusion")


def test_what_the_safety_rule_would_count_but_for_an_hsct_or_new_therapy_before_it_is_queried():
    """Every subject infused 2021-01-20 (day 0), the safety window 30 days, seen to
    2021-04-30. adverse_events rows: 2, S1's grade-4 CRS from 02-15 (day 26), after its new
    therapy on 02-13 (day 24): queried (a red team's, a related grade-5 CRS two days after a
    salvage on day 24). 3, S2's grade-4 CRS from 02-22 (day 33): past the window, not. 4,
    S3's grade-3 CRS on day 26: below grade 4, not. 5, S4's related grade-5 sepsis on day
    26, after its HSCT on 02-13: queried. 6, S5's unrelated grade-5 sepsis on day 26: not.
    7, S7's grade-4 ICANS on day 10, no therapy: the rule counts it, not. 8, S8's grade-4
    ICANS from 02-13, its new therapy's own day: queried (the window closes on the
    therapy's day). 9, S9's grade-4 ICANS from 02-12, the day before its therapy: the rule
    counts it, not. followup: S6's death from CRS on 03-21 (day 60, row 9), after its new
    therapy on 02-13: queried on any day; S10's death from ICANS on 02-10 (day 21, row 12),
    before its therapy on 02-13: the rule counts it, not. Seen to 2021-02-14, only row 8 of
    the AEs (02-13) is by then: S1's CRS (02-15) is after it."""
    day0 = D(2021, 1, 20)
    therapy = D(2021, 2, 13)
    infused = _infused(*((f"S{i}", day0) for i in range(1, 11)))
    followup = [
        dict(subject_id=f"S{i}", event_date=therapy, event="HSCT" if i == 4 else "NEW_THERAPY", detail="Salvage")
        for i in (1, 2, 3, 4, 5, 6, 8)
    ]
    followup += [
        dict(subject_id="S6", event_date=D(2021, 3, 21), event="DEATH", cause_category="CRS"),
        dict(subject_id="S9", event_date=therapy, event="NEW_THERAPY", detail="Salvage"),
        dict(subject_id="S10", event_date=therapy, event="NEW_THERAPY", detail="Salvage"),
        dict(subject_id="S10", event_date=D(2021, 2, 10), event="DEATH", cause_category="ICANS"),
    ]
    crs, icans = "Cytokine release syndrome", "ICANS"
    events = [
        dict(subject_id="S1", term=crs, grade=4, related=True, onset_date=D(2021, 2, 15)),
        dict(subject_id="S2", term=crs, grade=4, related=True, onset_date=D(2021, 2, 22)),
        dict(subject_id="S3", term=crs, grade=3, related=True, onset_date=D(2021, 2, 15)),
        dict(subject_id="S4", term="Sepsis", grade=5, related=True, onset_date=D(2021, 2, 15)),
        dict(subject_id="S5", term="Sepsis", grade=5, related=False, onset_date=D(2021, 2, 15)),
        dict(subject_id="S7", term=icans, grade=4, related=True, onset_date=D(2021, 1, 30)),
        dict(subject_id="S8", term=icans, grade=4, related=True, onset_date=therapy),
        dict(subject_id="S9", term=icans, grade=4, related=True, onset_date=D(2021, 2, 12)),
    ]
    events = [dict(e, ae_id=f"AE{n}") for n, e in enumerate(events)]
    records = _records(infusion=infused, followup=followup, adverse_events=events)
    causes = _causes(followup)

    def found(seen_to: dt.date) -> pl.DataFrame:
        return toxicity_after_other_therapy(records, seen_to, 30, lambda t: is_crs(t) | is_icans(t), causes)

    queried = found(D(2021, 4, 30))
    assert queried.select("file", "row", "column", "value", "subject").rows() == [
        ("adverse_events.csv", 2, "onset_date", "2021-02-15", "S1"),
        ("adverse_events.csv", 5, "onset_date", "2021-02-15", "S4"),
        ("adverse_events.csv", 8, "onset_date", "2021-02-13", "S8"),
        ("followup.csv", 9, "event_date", "2021-03-21", "S6"),
    ]
    rules = queried["rule"].to_list()
    assert rules[0].startswith(
        "a grade 4 adverse event (Cytokine release syndrome) on day 26 after the first infusion, within the safety "
        "rule's 30 days, on or after the first HSCT or new therapy on day 24, which ends the treatment-emergent "
        "window: the safety stopping rule does not count it, and keeps the subject in its denominator"
    )
    assert rules[1].startswith("a grade 5 adverse event (Sepsis, related) on day 26 ")
    assert rules[3].startswith("a death from CRS on day 60 after the first infusion, on or after the first HSCT")
    assert found(D(2021, 2, 14))["subject"].to_list() == ["S8"]
    (query,) = drop_queries([], {}, {"rule_toxicity_before_other_therapy": queried})
    assert query.check == "rule_toxicity_before_other_therapy"
    assert query.finding.startswith(
        "4 grade-4 or grade-5 CRS or ICANS, related fatal adverse event(s) or death(s) from CRS or ICANS on or after "
        "a first HSCT or new therapy, in 4 subject(s) (adverse_events.csv rows 2, 5 and 8; followup.csv row 9)"
    )


def test_a_subject_awaiting_infusion_for_months_with_nothing_recorded_is_queried():
    """S1 is infused (the base record). Enrolled 2021-01-01: A1 with nothing else (enrolment
    row 3): at a cut on 2021-05-01, 120 days, not queried; on 05-02, 121 days, queried (a
    red team's subject whose only withdrawal row was removed: "awaiting infusion" three
    years on, ITT 27/39 for 27/40). A2 withdrew on 01-07: not. A3 is infused on 2021-06-01,
    after the cut: not (the drop shows the wait ended). A4's product FAILED, A5's was
    released and not infused for progression: not. A6's was released with no reason (row
    8): queried. A7 was enrolled on 2021-06-01, after the cut: not."""
    enrolled = [
        dict(subject_id=s, consent_date=D(2020, 12, 30), enrol_date=D(2021, 1, 1), diagnosis_date=D(2019, 5, 1))
        for s in ("A1", "A2", "A3", "A4", "A5", "A6")
    ]
    enrolled.append(
        dict(subject_id="A7", consent_date=D(2021, 5, 30), enrol_date=D(2021, 6, 1), diagnosis_date=D(2019, 5, 1))
    )
    base = _records()
    records = _records(
        enrolment=base["enrolment"].drop("_source_file", "_source_row").to_dicts() + enrolled,
        infusion=[
            dict(subject_id="S1", ld_start_date=D(2021, 1, 15), infusion_date=D(2021, 1, 20)),
            dict(subject_id="A3", ld_start_date=D(2021, 5, 27), infusion_date=D(2021, 6, 1)),
        ],
        followup=[
            dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT"),
            dict(subject_id="A2", event_date=D(2021, 1, 7), event="WITHDRAWAL"),
        ],
        apheresis=[
            dict(subject_id="A4", apheresis_date=D(2021, 1, 5), product_status="FAILED"),
            dict(
                subject_id="A5",
                apheresis_date=D(2021, 1, 5),
                product_status="RELEASED",
                release_date=D(2021, 1, 25),
                not_infused_reason="PROGRESSION",
            ),
            dict(subject_id="A6", apheresis_date=D(2021, 1, 5), product_status="RELEASED", release_date=D(2021, 1, 25)),
        ],
    )
    assert awaiting_infusion_queried(records, D(2021, 5, 1)).is_empty()
    queried = awaiting_infusion_queried(records, D(2021, 5, 2))
    assert queried.select("file", "row", "column", "value", "subject").rows() == [
        ("enrolment.csv", 3, "enrol_date", "2021-01-01", "A1"),
        ("enrolment.csv", 8, "enrol_date", "2021-01-01", "A6"),
    ]
    assert queried["rule"][0].startswith(
        "enrolled 121 days before 2021-05-02 (more than 120) with no infusion, no death, withdrawal or loss to "
        "follow-up, and no failed product or reason not infused in the apheresis file"
    )
    without_apheresis = {r: f for r, f in records.items() if r != "apheresis"}
    assert awaiting_infusion_queried(without_apheresis, D(2021, 5, 2))["subject"].to_list() == [
        "A1",
        "A4",
        "A5",
        "A6",
    ]
    (query,) = drop_queries([], {}, {"awaiting_infusion_plausible": queried})
    assert query.check == "awaiting_infusion_plausible"
    assert query.finding.startswith(
        "2 subject(s) enrolled more than 120 days before the cut with no infusion and nothing recorded to say why "
        "(enrolment.csv rows 3 and 8)"
    )


def test_a_grade_5_ae_before_lymphodepletion_or_a_cause_its_text_contradicts_does_not_hide_an_early_death():
    """S2 (infused 2021-03-10, lymphodepleted from 03-05) has a related grade-5 sepsis
    from 03-03, before lymphodepletion: not treatment-emergent, never counted by the rule,
    so its death on day 5 (followup row 2) is queried (a red team's hid it). S3, the same AE from
    03-05 (the lymphodepletion's first day): treatment-emergent, not queried. S4 dies on
    day 6, coded LEUKEMIA, its text reading CRS (a red team's "Cytokine release
    syndrome" coded LEUKEMIA): queried (row 4), saying both; S5 coded LEUKEMIA, its text
    reading leukaemia, and S6 coded LEUKEMIA with a text naming nothing: not queried."""
    day0 = D(2021, 3, 10)
    infused = _infused(*((f"S{i}", day0) for i in range(2, 7)))
    followup = [dict(subject_id=f"S{i}", event_date=day0 + dt.timedelta(days=i + 3), event="DEATH") for i in (2, 3)]
    followup += [
        dict(subject_id=f"S{i}", event_date=day0 + dt.timedelta(days=6), event="DEATH", cause_category="LEUKEMIA")
        for i in (4, 5, 6)
    ]
    followup[0]["cause_category"] = followup[1]["cause_category"] = "INFECTION"
    sepsis = dict(term="Sepsis", grade=5, related=True, serious=True)
    events = [
        dict(subject_id="S2", ae_id="AE2", onset_date=D(2021, 3, 3), **sepsis),
        dict(subject_id="S3", ae_id="AE3", onset_date=D(2021, 3, 5), **sepsis),
    ]
    records = _records(enrolment=[], infusion=infused, followup=followup, adverse_events=events)
    causes = _causes(followup, {"S4": "CRS", "S5": "LEUKEMIA", "S6": "OTHER"})
    found = early_deaths_without_fatal_ae(records, D(2021, 4, 30), 30, causes)
    assert found.select("row", "subject").rows() == [(2, "S2"), (4, "S4")]
    assert "day 5 after the first infusion (within the safety rule's 30 days; cause INFECTION)" in found["rule"][0]
    assert "cause LEUKEMIA, though its text reads CRS)" in found["rule"][1]


def test_subjects_dead_before_day_30_are_not_called_followed_30_days_without_an_ae():
    """S1's AE has onset 2021-01-22; S2, S3 and S4, infused 2021-03-01, 03-10 and 03-20
    after it, die on the day of their infusion with no AE. By 2021-04-30 they are not
    "followed 30 days" (a red team's drop said so of subjects dead on day 0), but infused
    after the export's latest onset and dead with no AE since, they are still evidence of
    an old export (a red team's two early deaths among four silenced it): queried, saying
    "or dead by then"; each is also the early-death query's (followup rows 3-5)."""
    days = (("S2", D(2021, 3, 1)), ("S3", D(2021, 3, 10)), ("S4", D(2021, 3, 20)))
    followup = [
        dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT"),
        *(dict(subject_id=s, event_date=day, event="DEATH") for s, day in days),
    ]
    records = _records(infusion=_infused(("S1", D(2021, 1, 20)), *days), followup=followup)
    stale = adverse_events_current(records, D(2021, 4, 30))
    assert stale["subject"].to_list() == ["S2", "S3", "S4"]
    assert (
        "3 subjects infused after it and followed 30 days by 2021-04-30, or dead by then, have no" in stale["rule"][0]
    )
    found = early_deaths_without_fatal_ae(records, D(2021, 4, 30), 30, _causes(followup))
    assert found["row"].to_list() == [3, 4, 5] and "cause not recorded" in found["rule"][0]
    alive = _records(infusion=_infused(("S1", D(2021, 1, 20)), *days))
    assert adverse_events_current(alive, D(2021, 4, 30))["subject"].to_list() == ["S2", "S3", "S4"]


def _every_five_days() -> tuple[list[dict], list[dict]]:
    """Twelve subjects S01-S12 infused every 5 days from 2021-01-01, each with an AE two
    days after its infusion."""
    infused, events = [], []
    for i in range(1, 13):
        day = D(2021, 1, 1) + dt.timedelta(days=5 * (i - 1))
        infused.append(dict(subject_id=f"S{i:02d}", ld_start_date=day - dt.timedelta(days=5), infusion_date=day))
        on = day + dt.timedelta(days=2)
        events.append(dict(subject_id=f"S{i:02d}", ae_id=f"AE{i}", onset_date=on, resolution_date=on))
    return infused, events


def test_an_early_death_is_among_the_most_recently_infused_said_as_dead():
    """Twelve subjects infused every 5 days from 2021-01-01 (S11 on 02-20), each with an
    AE two days later but S08-S11. S11 dies on day 6 (02-26): not followed 30 days, but
    dead with no AE, it stays among the 10 most recent (S03-S12; a second red team's
    early deaths hid an old export), and S08-S11 make 4 of 10: queried, "or dead by then".
    Alive, the same 4 of 10."""
    infused, events = _every_five_days()
    kept = [e for e in events if e["subject_id"] not in {"S08", "S09", "S10", "S11"}]
    died = [dict(subject_id="S11", event_date=D(2021, 2, 26), event="DEATH")]
    records = _records(enrolment=[], infusion=infused, followup=died, adverse_events=kept)
    found = adverse_events_current(records, D(2021, 4, 30))
    assert found["subject"].to_list() == ["S08", "S09", "S10", "S11"]
    assert found["rule"][0].startswith(
        "4 of the 10 subjects most recently infused and followed 30 days by 2021-04-30, or"
    )
    alive = _records(enrolment=[], infusion=infused, adverse_events=kept)
    assert adverse_events_current(alive, D(2021, 4, 30))["subject"].to_list() == ["S08", "S09", "S10", "S11"]


def test_one_late_ae_row_does_not_hide_an_old_ae_export():
    """Twelve subjects infused every 5 days from 2021-01-01 (S01 ... S12 on 02-25), each
    with an AE two days later, except S07-S11 (infused 01-31 to 02-20), none of whose AEs
    were exported; S12's one AE (02-27) is the export's latest onset, so no one is infused
    after it. By 2021-04-30 all are followed 30 days; the 10 most recently infused are
    S03-S12, and 5 of them (S07-S11) have no AE in their first 30 days: 5 >= 4, queried
    at their infusion rows 8-12 (a red team's single late row silenced the query). With
    S07 and S08's AEs exported, 3 of 10: not queried."""
    infused, events = _every_five_days()
    old = [e for e in events if e["subject_id"] not in {"S07", "S08", "S09", "S10", "S11"}]
    found = adverse_events_current(_records(infusion=infused, adverse_events=old), D(2021, 4, 30))
    assert found.select("row", "subject").rows() == [(r, f"S{r - 1:02d}") for r in range(8, 13)]
    assert found["rule"][0].startswith("5 of the 10 subjects most recently infused and followed 30 days by 2021-04-30")
    fewer = [e for e in events if e["subject_id"] not in {"S09", "S10", "S11"}]
    assert adverse_events_current(_records(infusion=infused, adverse_events=fewer), D(2021, 4, 30)).is_empty()


@pytest.mark.parametrize(
    ("age", "days", "instrument", "refused"),
    [
        # a red team's child: 11.937029 at enrolment on 2020-06-04, the ICE score on her
        # 12th birthday 23 days later (11.999999 by the rule): 11.95 to 12.05, accepted
        (11.937029, 23, "ice", None),
        (11.0, 40, "ice", None),  # completed years: 11.11 to 12.11
        (10.5, 15, "ice", "ICE score for a child aged 10.49 to 10.59 at the observation"),
        (12.5, 15, "capd", "CAPD for a subject aged 12.49 to 12.59 at the observation"),
        (11.0, 15, "capd", None),  # 11.04 to 12.04: either
        (12.0, 15, "capd", "CAPD for a subject aged 12.04 to 13.04 at the observation"),
        # a red team's unable_capd = Y without a CAPD score was named as column capd_score, no value
        (12.5, 15, "unable", "'unable to perform the CAPD' for a subject aged 12.49 to 12.59 at the observation"),
    ],
)
def test_an_icans_instrument_is_refused_only_where_the_written_age_rules_it_out(age, days, instrument, refused):
    """Ages by hand: 10.5 +/- 0.05 + 15 / 365.25 (0.041) = 10.49 to 10.59; 12.5: 12.49 to
    12.59; a whole 12 is 12 to 13, + 0.041. The message gives the bounds, the age written,
    the enrolment date and the days since (it said "aged 12.0 ... under 12" before)."""
    enrolled = D(2020, 6, 4)
    enrol = [dict(subject_id="S1", consent_date=D(2020, 6, 1), enrol_date=enrolled, age_years=age)]
    score = {"ice": {"ice_score": 5}, "capd": {"capd_score": 9}, "unable": {"unable_capd": True}}[instrument]
    icans = [dict(subject_id="S1", obs_date=enrolled + dt.timedelta(days=days), consciousness="AWAKE", **score)]
    found = dependent_values(_records(enrolment=enrol, icans_monitoring=icans))
    if refused is None:
        assert found.is_empty()
    else:
        (rule,) = found["rule"].to_list()
        assert rule.startswith(refused) and f"years at enrolment on 2020-06-04, {days} days before" in rule
        column, value = {"ice": ("ice_score", "5"), "capd": ("capd_score", "9"), "unable": ("unable_capd", "Y")}[
            instrument
        ]
        assert found.select("column", "value").rows() == [(column, value)]


def test_an_age_is_read_to_the_precision_the_drop_writes_ages():
    """A drop writing any age with decimals writes them to a tenth: there 12.0 is 11.95 to
    12.05 and 11.0 is 10.95 to 11.05 (a reviewer's CAPD for a 12.0, 13 days after
    enrolment, was refused, and an ICE score for an 11.0, 20 days after, accepted). A drop
    of whole ages writes completed years: 11 is 11 to the day before 12, so an ICE score on
    the enrolment day is refused. S2 (10.5) makes the first drop one of decimals."""
    enrolled = D(2020, 6, 4)

    def found(ages: dict[str, float], sid: str, days: int, score: dict) -> list[str]:
        enrol = [
            dict(subject_id=s, consent_date=D(2020, 6, 1), enrol_date=enrolled, age_years=a) for s, a in ages.items()
        ]
        icans = [dict(subject_id=sid, obs_date=enrolled + dt.timedelta(days=days), consciousness="AWAKE", **score)]
        records = _records(enrolment=enrol, icans_monitoring=icans)
        return dependent_values(records)["rule"].to_list()

    decimals = {"S1": 12.0, "S2": 10.5}
    assert found(decimals, "S1", 13, {"capd_score": 9}) == []
    assert found({"S1": 11.0, "S2": 10.5}, "S1", 20, {"ice_score": 5})[0].startswith(
        "ICE score for a child aged 11.0 to 11.1 at the observation"
    )
    whole = {"S1": 11.0, "S2": 10.0}
    assert found(whole, "S1", 0, {"ice_score": 5})[0].startswith("ICE score for a child aged 11.0 to 12.0")
    assert found(whole, "S1", 1, {"ice_score": 5}) == []  # 11.003 to 12.0005: either


def test_the_problems_of_one_cell_keep_the_order_their_checks_found_them():
    """Two checks each find a problem on the same 50,000 cells (file, row, column): the
    problems come out by file, row and column, and on each cell in the order of the
    checks, every time. Polars' sort left about half such ties the other way round."""
    from trial_outcomes.io.validation import _concat

    n = 50_000

    def found(rule: str) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "file": ["f.csv"] * n,
                "row": list(range(n + 1, 1, -1)),  # rows given last first: the sort has work to do
                "column": ["onset_date"] * n,
                "value": ["x"] * n,
                "subject": ["S1"] * n,
                "rule": [rule] * n,
            }
        )

    problems = _concat([found("first check"), found("second check")])
    assert problems["row"].to_list() == [r for r in range(2, n + 2) for _ in (0, 1)]
    assert problems["rule"].to_list() == ["first check", "second check"] * n


@settings(max_examples=examples(80), deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["S1", "S2", "S10"]), st.integers(0, 3), st.sampled_from(["CR", "NR"])),
        max_size=60,
    )
)
def test_repeated_keys_are_the_rows_whose_key_another_row_holds(rows):
    """``repeated_keys`` (hashes sorted, neighbours compared, suspects compared by their
    keys) gives exactly the rows polars' own ``is_duplicated`` gives on the whole key, in
    the file's order: keys of two and three columns, drawn from few values so that most
    frames repeat some."""
    from trial_outcomes.io.validation import repeated_keys

    frame = pl.DataFrame(rows, schema={"subject_id": pl.String, "day": pl.Int64, "response": pl.String}, orient="row")
    for key in (["subject_id", "day"], ["subject_id", "day", "response"]):
        expected = frame.filter(pl.struct(key).is_duplicated())
        assert repeated_keys(frame, key).equals(expected), key


def test_a_malignancy_coded_as_a_new_disorder_is_queried():
    """A red team's "CAR-positive T-cell lymphoma (CAR+ PTCL)" coded NEW_HEMATOLOGIC left
    page 1 at "0 with a T-cell malignancy". long_term_followup rows: 2, that detail as
    NEW_HEMATOLOGIC: queried, T-cell; 3, "Therapy-related myelodysplastic syndrome" as
    NEW_HEMATOLOGIC: a malignancy; 4, "Papillary thyroid carcinoma" as NEW_AUTOIMMUNE: a
    malignancy; 5, "Aplastic anaemia" and 6, "Immune thrombocytopenia" (NEW_HEMATOLOGIC,
    NEW_AUTOIMMUNE): not; 7, "Peripheral neuropathy" (NEW_NEUROLOGIC): not; 8, "Leukaemia
    recurred in marrow (CD19-negative)" (NEW_HEMATOLOGIC): not here, a relapse, not a second
    malignancy to code so (the relapse query's: a second red team's was told to code it
    SECONDARY_MALIGNANCY)."""
    coded = [
        ("NEW_HEMATOLOGIC", "CAR-positive T-cell lymphoma (CAR+ PTCL)"),
        ("NEW_HEMATOLOGIC", "Therapy-related myelodysplastic syndrome"),
        ("NEW_AUTOIMMUNE", "Papillary thyroid carcinoma"),
        ("NEW_HEMATOLOGIC", "Aplastic anaemia"),
        ("NEW_AUTOIMMUNE", "Immune thrombocytopenia"),
        ("NEW_NEUROLOGIC", "Peripheral neuropathy"),
        ("NEW_HEMATOLOGIC", "Leukaemia recurred in marrow (CD19-negative)"),
    ]
    rows = [
        dict(subject_id="S1", event_date=D(2022, 1, 1) + dt.timedelta(days=i), event=e, detail=d)
        for i, (e, d) in enumerate(coded)
    ]
    found = malignancy_category_queried(_records(long_term_followup=rows))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("long_term_followup.csv", 2, "event", "NEW_HEMATOLOGIC", "S1"),
        ("long_term_followup.csv", 3, "event", "NEW_HEMATOLOGIC", "S1"),
        ("long_term_followup.csv", 4, "event", "NEW_AUTOIMMUNE", "S1"),
    ]
    rules = found["rule"].to_list()
    assert rules[0].startswith("a NEW_HEMATOLOGIC whose detail names a T-cell malignancy")
    assert rules[1].startswith("a NEW_HEMATOLOGIC whose detail names a malignancy: the report counts SECONDARY")
    assert rules[2].startswith("a NEW_AUTOIMMUNE whose detail names a malignancy")


def test_an_ae_before_consent_is_refused():
    """A red team dated a grade-4 ICANS a year before consent (2020-07-07 to 2019-07-07):
    it left the safety rule as a pre-treatment AE, without a word. S1 consented on
    2021-01-08: an AE from 2021-01-07 is refused, naming adverse_events.csv row 3,
    onset_date, S1; one on the day of consent (2021-01-08) is not."""
    aes = [
        dict(subject_id="S1", ae_id="AE1", onset_date=D(2021, 1, 8), resolution_date=D(2021, 1, 9)),
        dict(subject_id="S1", ae_id="AE2", onset_date=D(2021, 1, 7), resolution_date=D(2021, 1, 9)),
    ]
    found = date_order(_records(adverse_events=aes))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("adverse_events.csv", 3, "onset_date", "2021-01-07", "S1")
    ]
    assert found["rule"][0].startswith("AE onset is before consent")


def test_an_adverse_event_entered_twice_is_queried():
    """A red team copied a CRS under a new id: the AESI's CRS events went 33 to 34 without
    a word. S1's rows: 2, AE1 "CRS" grade 2 on 2021-01-22; 3, AE2 "CRS" grade 3 that day
    (another grade: not); 4, AE3 "crs " grade 2 that day (the same as AE1 but for case and
    spacing: queried, naming AE1 at row 2); 5, AE4 "CRS" grade 2 the next day (not); 6,
    AE5, AE1 again (queried)."""
    rows = [
        ("AE1", "CRS", D(2021, 1, 22), 2),
        ("AE2", "CRS", D(2021, 1, 22), 3),
        ("AE3", "crs ", D(2021, 1, 22), 2),
        ("AE4", "CRS", D(2021, 1, 23), 2),
        ("AE5", "CRS", D(2021, 1, 22), 2),
    ]
    aes = [dict(subject_id="S1", ae_id=i, term=t, onset_date=d, grade=g) for i, t, d, g in rows]
    found = ae_entered_twice(_records(adverse_events=aes))
    assert found.select("file", "row", "column", "value", "subject").rows() == [
        ("adverse_events.csv", 4, "ae_id", "AE3", "S1"),
        ("adverse_events.csv", 6, "ae_id", "AE5", "S1"),
    ]
    assert found["rule"][0].startswith("the same subject, term, onset date and grade as ae_id AE1 at row 2")
    assert ae_entered_twice(_records()).is_empty()
    (query,) = drop_queries([], {}, {"ae_entered_once": found})
    assert query.finding.startswith("2 adverse event(s) the same as another") and "rows 4 and 6" in query.finding


def test_igg_in_g_dl_and_a_neutrophil_percentage_are_queried_by_their_medians():
    """A red team's IgG in g/dL (every value a tenth: 37 of 37 hypogammaglobulinaemic) and
    ANC exported as a neutrophil percentage (median 54: no subject below 0.5, no early
    ICAHT). IGG 20 values 0.30, 0.35, ..., 1.25 (median (0.75 + 0.80) / 2 = 0.775, below
    1.5 g/L): queried at its first row; ANC 20 values 40, 41, ..., 59 (median 49.5, above
    15 x 10^9/L): queried. IGG at 5 g/L and ANC at 1.5: neither. ANC at exactly 15: not
    (the bound passes)."""

    def labs(igg: list[float], anc: list[float]) -> dict[str, pl.DataFrame]:
        day = [D(2021, 1, 20) + dt.timedelta(days=i) for i in range(40)]
        rows = [dict(subject_id="S1", sample_date=day[i], test="IGG", value=v) for i, v in enumerate(igg)]
        rows += [dict(subject_id="S1", sample_date=day[i], test="ANC", value=v) for i, v in enumerate(anc)]
        return _records(labs=rows)

    igg = [round(0.30 + 0.05 * i, 2) for i in range(20)]
    anc = [40.0 + i for i in range(20)]
    found = lab_units_queried(labs(igg, anc))
    assert found.select("row", "value").rows() == [(2, "0.78"), (22, "49.5")]  # by row
    assert found["rule"][0].startswith("the median of the file's 20 IGG values is 0.78, below 1.5 g/L: values in a")
    assert found["rule"][1].startswith("the median of the file's 20 ANC values is 49.5, above 15.0 10^9/L: another")
    assert lab_units_queried(labs([5.0] * 20, [1.5] * 20)).is_empty()
    assert lab_units_queried(labs([5.0] * 20, [15.0] * 20)).is_empty()


def test_a_unit_that_changes_partway_through_the_labs_file_is_queried_by_quarter():
    """A red team put platelets and haemoglobin in other units from 2022-03 on (220 of 464
    rows): the file's medians stayed above the bounds. S1 infused 2021-01-20. HGB 25 values
    of 11.0 g/dL from 2021-04-01 (day 71 on, Q2) and 25 of 6.5 (mmol/L read as g/dL) from
    2021-07-01 (Q3): the file's median (11.0 + 6.5) / 2 = 8.75 is above 7, but Q3's, of
    values drawn 60 days or more after infusion, is 6.5: queried at Q3's first row (27).
    Platelets of 8.0 on days 1-25 (a nadir, before day 60) and 30 of 150 from day 71: the
    file's median is 150, and no quarter of settled values is low: not queried."""
    start_q2, start_q3 = D(2021, 4, 1), D(2021, 7, 1)
    hgb = [
        dict(subject_id="S1", sample_date=start_q2 + dt.timedelta(days=i), test="HGB", value=11.0) for i in range(25)
    ]
    hgb += [
        dict(subject_id="S1", sample_date=start_q3 + dt.timedelta(days=i), test="HGB", value=6.5) for i in range(25)
    ]
    found = lab_units_queried(_records(labs=hgb))
    assert found.select("row", "value").rows() == [(27, "6.5")]
    assert found["rule"][0].startswith(
        "the median of the 25 HGB values from the quarter of 2021-07-01 on, drawn 60 days or more after infusion, is "
        "6.5, below 7.0 g/dL"
    )
    nadir = [
        dict(subject_id="S1", sample_date=D(2021, 1, 21) + dt.timedelta(days=i), test="PLT", value=8.0)
        for i in range(25)
    ]
    later = [
        dict(subject_id="S1", sample_date=start_q2 + dt.timedelta(days=i), test="PLT", value=150.0) for i in range(30)
    ]
    assert lab_units_queried(_records(labs=nadir + later)).is_empty()


def test_an_optional_flag_blank_on_every_row_is_taken_as_absent():
    """A red team blanked labs.below_lloq: the 60 values below the limit, written at the
    limit, were quantified, and the note on a drop without the column was not said. Two
    transgene rows with below_lloq blank: labs lacks it; one of them marked Y: it does not."""
    rows = [
        dict(subject_id="S1", sample_date=D(2021, 1, 21), test="CAR_TRANSGENE", value=50.0),
        dict(subject_id="S1", sample_date=D(2021, 1, 28), test="CAR_TRANSGENE", value=900.0),
    ]
    assert blank_flags(_records(labs=rows)) == {"labs": ("below_lloq",)}
    rows[0]["below_lloq"] = True
    assert blank_flags(_records(labs=rows)) == {}


def _enrolled(sid: str, **change) -> dict:
    base = dict(
        subject_id=sid,
        consent_date=D(2021, 1, 8),
        enrol_date=D(2021, 1, 10),
        diagnosis_date=D(2019, 5, 1),
        age_years=6.5,
        disease_status="relapsed",
        bm_blast_pct=50.0,
    )
    return {**base, **change}


def test_a_child_registered_twice_is_queried():
    """A red team's BR-041, a copy of BR-040 in every enrolment value, was counted twice
    (ITT 27/41 for 27/40). Rows: 2, S1; 3, S2 the same as S1 but the id: both queried,
    each naming the other's row; 4, S3 the same but one day older at diagnosis: not; 5, S4 with
    S1's values but age 6.6: not. Each has 50 % marrow blasts, a morphologic relapse's."""
    rows = [
        _enrolled("S1"),
        _enrolled("S2"),
        _enrolled("S3", diagnosis_date=D(2019, 4, 30)),
        _enrolled("S4", age_years=6.6),
    ]
    found = enrolment_queried(_records(enrolment=rows))
    assert found.select("file", "row", "column", "subject").rows() == [
        ("enrolment.csv", 2, "subject_id", "S1"),
        ("enrolment.csv", 3, "subject_id", "S2"),
    ]
    # the twin is named by its row: the sentence goes into the open report, which names no subject
    assert found["rule"][0].startswith("the same in every enrolment value but the id as row 3: one child registered")
    assert found["rule"][1].startswith("the same in every enrolment value but the id as row 2:")
    (query,) = drop_queries([], {}, {"enrolment_plausible": found})
    assert query.check == "enrolment_plausible" and "(enrolment.csv rows 2 and 3)" in query.finding


def test_marrow_blasts_written_as_fractions_are_queried():
    """A red team divided every marrow blast percentage by 100 (76.9 to 0.769): the
    baseline median read 0.4 % and marrow blasts left every model, without a word; a
    second divided only some subjects', which a median over the file missed. Morphologic
    disease has 5 % marrow blasts or more, or extramedullary disease. Rows: 2, S1
    relapsed, 0.769, no EMD: queried; 3, S2 relapsed, 4.9: queried; 4, S3 relapsed, 5.0:
    not; 5, S4 relapsed, 0.5, with EMD (an isolated CNS relapse): not; 6, S5
    MRD-persistent, 0.01: not (each its own age, so no twins)."""
    rows = [
        _enrolled("S1", age_years=2.0, bm_blast_pct=0.769, emd=False),
        _enrolled("S2", age_years=3.0, bm_blast_pct=4.9, emd=False),
        _enrolled("S3", age_years=4.0, bm_blast_pct=5.0, emd=False),
        _enrolled("S4", age_years=5.0, bm_blast_pct=0.5, emd=True),
        _enrolled("S5", age_years=6.0, bm_blast_pct=0.01, emd=False, disease_status="mrd_persistent"),
    ]
    found = enrolment_queried(_records(enrolment=rows))
    assert found.select("row", "column", "value", "subject").rows() == [
        (2, "bm_blast_pct", "0.769", "S1"),
        (3, "bm_blast_pct", "4.9", "S2"),
    ]
    assert "with marrow blasts below 5 %: a percentage written as a fraction" in found["rule"][0]


RELAPSE_NAMED = [
    "CD19-negative B-ALL relapse",
    "Relapsing CD19-negative B-ALL",
    "Leukaemia recurred in marrow (CD19-negative)",
    "ALL relapse",
    "Relapse",
    "Late isolated CNS relapse",
    "Leukaemia returned",
    "Disease progression",
]
RELAPSE_NOT_NAMED = [
    "Relapse of nephrotic syndrome",
    "Recurrent neutropenia",
    "Recurrent seizures",
    "Aplastic anaemia, no evidence of relapse on marrow",
    "relapse-free",
    "relapses of asthma",
    "disease progression of neuropathy",
    "Relapsing-remitting multiple sclerosis",
    "Fatal progressive multifocal leukoencephalopathy",
    "recurrence ruled out",
    "All symptoms recurred",
    # a third red team's false alarms
    "MRD-negative, no leukaemia relapse",
    "No sign of leukaemia recurrence",
    "B-ALL relapse not detected pre-HSCT",
    "Relapse negative",
    "MRD came back negative",
    "Blast count returned to normal",
    "No B-ALL relapse",
    "Relapse unlikely, MRD negative",
    "Relapse screening: MRD negative",
    "CD19 returned (B-cell recovery)",
    "HSCT to prevent relapse",
    "Parents informed of risk of relapse",
    "Molecular relapse",
]
#: a follow-up record's text: the trial's leukaemia by a relapse word alone (a third red team's)
FOLLOWUP_RELAPSE_NAMED = [
    "Relapsed at local hospital, family moved",
    "Withdrew: relapsed",
    "HSCT for relapse",
    "Leukaemic recurrence",
    "Leukaemia has come back",
    "Disease came back",
    "Relapse post CAR-T",
    "Loss of remission",
    "Rechute",
    "复发",
    "Relapse of B-ALL diagnosed at local hospital",
]
FOLLOWUP_RELAPSE_NOT_NAMED = [*RELAPSE_NOT_NAMED, "Mother relapsed (depression)", "Relapsing fever", "Seen in clinic"]
DEATH_NAMED = [
    "PML; patient passed away",
    "Fatal PML",
    "expired",
    "Dead",
    "Fatality",
    "near-fatal sepsis; later died",
    # a third red team's misses
    "Per mother, died abroad",
    "Informed by father: died at home",
    "Per parents deceased",
    "Mother reports child died",
    "Patient passed on",
    "Succumbed to disease at home",
    "Killed in road accident",
    "No longer alive",
    "Death certificate received",
    "Fallecido en su domicilio",
    "死亡",
]
DEATH_NOT_NAMED = [
    "Near-fatal status epilepticus",
    "Bone marrow failure; risk of death discussed with family",
    "Autoimmune hepatitis, not fatal",
    "potentially fatal",
    "Not deceased",
    "mother died",
    "death of sibling",
    "Father passed away",
    "Non-fatal cerebral venous thrombosis",
    # a third red team's false alarms
    "Mum died in March",
    "Stepfather died",
    "Grandpa died",
    "Granny passed away",
    "Legal guardian deceased; now in foster care",
    "Sudden death of classmate",
    "Father is deceased",
    "Mother recently died",
    "Family pet died",
    "Death in family",
    "Consent expired, reconsented",
    "Insurance expired",
    "Checked death registry - alive",
    "National death index: no match",
    "No deaths",
    "Not known to have died",
    "Death certificate requested for father",
]


def test_a_long_term_text_names_the_leukaemia_coming_back_or_the_subjects_death_by_its_words():
    """A second red team's "PML; patient passed away" and "Relapsing CD19-negative B-ALL"
    were not read, and its "Recurrent seizures", "Relapse of nephrotic syndrome", "no
    evidence of relapse", "Near-fatal status epilepticus", "risk of death discussed" and
    "mother died" were queried. A relapse word counts with a word of the leukaemia (B-ALL,
    leukaemia, lymphoblastic, blasts, CD19, MRD) or in a text of relapse words alone, and
    not where the text says there was none; a death word counts once a death that is not
    the subject's, or none (near-, not, potentially, risk of, a relative's), is taken out.
    Each text below is read as the lists say."""
    from trial_outcomes.io.validation import names_death, names_own_relapse
    from trial_outcomes.text import spelling_key

    assert [names_own_relapse(spelling_key(t)) for t in RELAPSE_NAMED] == [True] * len(RELAPSE_NAMED)
    assert [names_own_relapse(spelling_key(t)) for t in RELAPSE_NOT_NAMED] == [False] * len(RELAPSE_NOT_NAMED)
    assert [names_death(spelling_key(t)) for t in DEATH_NAMED] == [True] * len(DEATH_NAMED)
    assert [names_death(spelling_key(t)) for t in DEATH_NOT_NAMED] == [False] * len(DEATH_NOT_NAMED)


def test_a_follow_up_text_names_the_leukaemia_coming_back_by_a_relapse_word_alone():
    """In the trial's own follow-up file a relapse word is the leukaemia's unless the text
    says there was none or names another's or another disease's (a third red team's
    "Withdrew: relapsed" and "HSCT for relapse" were not read by the long-term reader, which
    wants a word of the leukaemia). Each text below is read as the lists say."""
    from trial_outcomes.io.validation import names_relapse_in_followup
    from trial_outcomes.text import spelling_key

    named = [names_relapse_in_followup(spelling_key(t)) for t in FOLLOWUP_RELAPSE_NAMED]
    assert named == [True] * len(FOLLOWUP_RELAPSE_NAMED)
    not_named = [names_relapse_in_followup(spelling_key(t)) for t in FOLLOWUP_RELAPSE_NOT_NAMED]
    assert not_named == [False] * len(FOLLOWUP_RELAPSE_NOT_NAMED)


def test_a_death_or_a_relapse_named_in_a_follow_up_record_is_queried():
    """A second red team wrote deaths into follow-up rows that are not DEATH ("Family reports
    the child died abroad" coded LOST, a WITHDRAWAL whose detail is "Death", a CONTACT
    "patient passed away at home") and a relapse into a contact ("Relapse of B-ALL
    diagnosed at local hospital"): three children alive in overall survival and a relapse
    counted by no endpoint, without a word. S1-S4 infused 2021-01-20, in CR on day 28; cut
    on day 730. followup rows: 2, S1's LOST "Family reports the child died abroad" on day
    300, no DEATH: queried (death); 3, S2's WITHDRAWAL "Death" on day 310, S2's DEATH on
    day 305 (row 4): not; 5, S3's CONTACT "Mother died last month": not (a relative's); 6,
    S1's CONTACT "Relapse of B-ALL diagnosed at local hospital" on day 200, no RELAPSE
    assessed: queried (relapse); 7, S4's CONTACT the same on day 200 after its RELAPSE
    assessment on day 190: not; 8, S3's CONTACT "Well, no evidence of relapse": not; 9,
    S4's DEATH "Relapsed leukaemia" (a death's cause: CIR counts it already): not; 10, S3's
    CONTACT "Patient died" on day 800, after the cut: not."""
    from trial_outcomes.io.validation import death_not_recorded

    day0 = D(2021, 1, 20)

    def on(n: int) -> dt.date:
        return day0 + dt.timedelta(days=n)

    enrolled, infused, assessments = _in_remission(("S1", "S2", "S3", "S4"), day0, {"S4": on(190)})
    relapse = "Relapse of B-ALL diagnosed at local hospital"
    followup = [
        dict(subject_id="S1", event_date=on(300), event="LOST", detail="Family reports the child died abroad"),
        dict(subject_id="S2", event_date=on(310), event="WITHDRAWAL", detail="Death"),
        dict(subject_id="S2", event_date=on(305), event="DEATH", detail="Sepsis"),
        dict(subject_id="S3", event_date=on(100), event="CONTACT", detail="Mother died last month"),
        dict(subject_id="S1", event_date=on(200), event="CONTACT", detail=relapse),
        dict(subject_id="S4", event_date=on(200), event="CONTACT", detail=relapse),
        dict(subject_id="S3", event_date=on(150), event="CONTACT", detail="Well, no evidence of relapse"),
        dict(subject_id="S4", event_date=on(400), event="DEATH", detail="Relapsed leukaemia"),
        dict(subject_id="S3", event_date=on(800), event="CONTACT", detail="Patient died"),
    ]
    records = _records(enrolment=enrolled, infusion=infused, assessments=assessments, followup=followup)
    deaths = death_not_recorded(records, on(730))
    assert deaths.select("file", "row", "column", "subject").rows() == [("followup.csv", 2, "detail", "S1")]
    assert deaths["rule"][0].startswith("a follow-up LOST whose detail names a death, with no DEATH in followup")
    relapses = relapse_not_assessed(records, on(730))
    assert relapses.select("file", "row", "column", "subject").rows() == [("followup.csv", 6, "detail", "S1")]
    assert relapses["rule"][0].startswith("a follow-up CONTACT whose detail names a relapse, with no RELAPSE")
    told = drop_queries([], {}, {"relapse_recorded": relapses, "death_recorded": deaths})
    assert "(followup.csv row 6)" in told[0].finding and "(followup.csv row 2)" in told[1].finding
    assert "S1" not in told[0].finding + told[1].finding


def test_a_contact_after_a_loss_to_follow_up_is_named():
    """A second red team's subject lost 2023-08-15 and in contact to 2023-12-14 kept the
    loss: four months of visits due and of the windows followed gone, without a word. S1
    lost 2021-03-01 (row 3), a CONTACT on 2021-06-01 (row 2) and an HSCT on 2021-05-01 (row
    4) after it: both named with the loss's date; a DEATH after the loss (row 5: learned
    from a registry) is not; a contact after a WITHDRAWAL is not (vital status is followed).
    A third red team's: a CONTACT "Phone call attempted, no answer" after the loss (row 6)
    reached no one: not named; lab samples on 2021-04-01 and 2021-05-01 (labs rows 2 and
    3) after it: the first named (the subject was seen)."""
    records = _records(
        assessments=[],
        followup=[
            dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT"),
            dict(subject_id="S1", event_date=D(2021, 3, 1), event="LOST"),
            dict(subject_id="S1", event_date=D(2021, 5, 1), event="HSCT"),
            dict(subject_id="S1", event_date=D(2021, 7, 1), event="DEATH"),
            dict(subject_id="S1", event_date=D(2021, 7, 2), event="CONTACT", detail="Phone call attempted, no answer"),
        ],
        labs=[
            dict(subject_id="S1", sample_date=D(2021, 5, 1), test="ANC", value=2.0),
            dict(subject_id="S1", sample_date=D(2021, 4, 1), test="ANC", value=1.0),
        ],
    )
    found = assessments_after_withdrawal(records)
    after = "after the subject's loss to follow-up on 2021-03-01"
    assert found.select("row", "column", "value", "subject", "rule").sort("row").rows() == [
        (2, "event_date", "2021-06-01", "S1", f"a follow-up CONTACT {after}"),
        (3, "sample_date", "2021-04-01", "S1", f"a laboratory sample {after}"),
        (4, "event_date", "2021-05-01", "S1", f"a follow-up HSCT {after}"),
    ]
    (query,) = drop_queries([], {}, {"no_assessment_after_withdrawal": found})
    assert query.finding.startswith("3 contact(s) dated after the subject's loss to follow-up (a follow-up contact")
    withdrawn = _records(
        assessments=[],
        followup=[
            dict(subject_id="S1", event_date=D(2021, 3, 1), event="WITHDRAWAL"),
            dict(subject_id="S1", event_date=D(2021, 6, 1), event="CONTACT"),
        ],
    )
    assert assessments_after_withdrawal(withdrawn).is_empty()


@pytest.mark.parametrize(
    ("detail", "reading"),
    [
        # a CAR-T toxicity's treatment other than CRS's or ICANS's is supportive care (a second
        # red team's "Emapalumab for IEC-HS" on day 26 took a CR out of the futility rule)
        ("Emapalumab for IEC-HS", "supportive"),
        ("Etoposide for HLH", "supportive"),
        ("Ruxolitinib for HLH", "supportive"),
        ("Allopurinol for TLS", "supportive"),
        # a third red team's false alarm: ruxolitinib treats Ph-like ALL too
        ("Ruxolitinib + chemotherapy (CRLF2-r Ph-like ALL)", None),
        ("Anakinra for MAS", "crs"),
        ("Defibrotide for VOD", "supportive"),
        ("Rasburicase", "supportive"),
        ("Etoposide-based salvage", None),
        ("Blinatumomab", None),
    ],
)
def test_a_new_therapy_treating_a_car_t_toxicity_reads_as_supportive_care(detail, reading):
    from trial_outcomes.io.validation import _therapy_reading

    assert _therapy_reading(detail) == reading


def test_a_therapy_on_or_before_an_assessment_of_the_day_28_window_is_queried():
    """Only assessments before the first HSCT or new therapy count (endpoints.md). A second
    red team's "Blinatumomab consolidation" on the day of a day-28 CR, and an HSCT on day 24
    before a CR on day 27, each made a responder "not evaluable" and crossed the futility
    rule, without a word. All infused 2021-01-20 (day 0). S1: CR on day 27, a new therapy
    that day: queried, naming day 27. S2: CR on day 14 and 27, an HSCT on day 24: queried,
    naming day 27. S3: NR on day 28, salvage on day 30, no later assessment in the window:
    not. S4: CR on day 28, HSCT on day 60: not (after the window). S5: NR day 28, a new
    therapy on day 35, CR on day 40: queried (day 40; its remission is not the CAR-T's, the
    board is asked to confirm). S6: NR day 28, salvage day 30, NR day 42: not (an NR after a
    salvage changes no response)."""
    day0 = D(2021, 1, 20)

    def on(n: int) -> dt.date:
        return day0 + dt.timedelta(days=n)

    subjects = ("S1", "S2", "S3", "S4", "S5", "S6")
    enrolled, infused, _ = _in_remission(subjects, day0, {})
    assessed = [
        ("S1", 27, "CR"), ("S2", 14, "CR"), ("S2", 27, "CR"), ("S3", 28, "NR"), ("S4", 28, "CR"), ("S5", 28, "NR"),
        ("S5", 40, "CR"), ("S6", 28, "NR"), ("S6", 42, "NR"),
    ]  # fmt: skip
    assessments = [dict(subject_id=s, assessment_date=on(d), visit="UNSCHED", response=r) for s, d, r in assessed]
    followup = [
        dict(subject_id="S1", event_date=on(27), event="NEW_THERAPY", detail="Blinatumomab consolidation"),
        dict(subject_id="S2", event_date=on(24), event="HSCT", detail="Matched sibling donor"),
        dict(subject_id="S3", event_date=on(30), event="NEW_THERAPY", detail="Salvage chemotherapy"),
        dict(subject_id="S4", event_date=on(60), event="HSCT", detail="Matched sibling donor"),
        dict(subject_id="S5", event_date=on(35), event="NEW_THERAPY", detail="Inotuzumab ozogamicin"),
        dict(subject_id="S6", event_date=on(30), event="NEW_THERAPY", detail="Salvage chemotherapy"),
    ]
    records = _records(enrolment=enrolled, infusion=infused, assessments=assessments, followup=followup)
    therapies = new_therapy_queried(records, on(200))
    assert therapies.select("row", "subject").rows() == [(2, "S1"), (6, "S5")]
    assert (
        "(on or before the subject's remission assessed on day 27 in the day-28 response window"
        in (therapies["rule"][0])
    )
    hscts = early_hsct_queried(records, on(200))
    assert hscts.select("row", "subject").rows() == [(3, "S2")]
    assert hscts["rule"][0].startswith(
        "an HSCT on day 24 after the first infusion, on or before the subject's remission assessed on day 27"
    )
    (query,) = drop_queries([], {}, {"hsct_plausible": hscts})
    assert "or on or before a remission assessed in the day-28 response window (followup.csv row 3)" in query.finding


def test_an_assessment_out_of_place_or_contradicting_its_response_is_queried():
    """A second red team's D28 CR typed two months late (day 91, after the subject's M2 and
    M3) crossed the futility rule; its isolated CNS relapse written on a CR row, its relapse
    coded CR with MRD 62 %, and its MRD written as fractions (a marrow relapse 0.743) were
    each counted wrong, without a word. All infused 2021-01-20 (day 0). Rows: S1's D14 day
    14 (2), M2 day 64 (3), M3 day 84 (4), D28 day 91 (5): row 5 queried (after M3's target
    day 91); S2's "Day 28" on day 44 (6): queried, outside days 21-42; S3's D28 day 30 (7),
    an unscheduled day 20 (8): not; S4's M6 CR with relapse site CNS (9): queried; S5's M3
    CR with MRD 62 (10): queried; S6's BM RELAPSE with MRD 0.743 (11): queried; S7's BM
    RELAPSE MRD 74.3 (12), CR MRD 0.004 (13), NR MRD 30 (14): not."""
    from trial_outcomes.io.validation import assessments_queried

    day0 = D(2021, 1, 20)
    subjects = tuple(f"S{i}" for i in range(1, 8))
    enrolled, infused, _ = _in_remission(subjects, day0, {})
    rows = [
        ("S1", 14, "D14", "CR", None, None),
        ("S1", 64, "M2", "CR", None, None),
        ("S1", 84, "M3", "CR", None, None),
        ("S1", 91, "D28", "CR", None, None),
        ("S2", 44, "Day 28", "CR", None, None),
        ("S3", 30, "D28", "CR", None, None),
        ("S3", 20, "UNSCHED", "CR", None, None),
        ("S4", 183, "M6", "CR", None, "CNS"),
        ("S5", 91, "M3", "CR", 62.0, None),
        ("S6", 200, "UNSCHED", "RELAPSE", 0.743, "BM"),
        ("S7", 200, "UNSCHED", "RELAPSE", 74.3, "BM"),
        ("S7", 28, "D28", "CR", 0.004, None),
        ("S7", 14, "D14", "NR", 30.0, None),
    ]
    assessments = [
        dict(
            subject_id=s,
            assessment_date=day0 + dt.timedelta(days=d),
            visit=v,
            response=r,
            mrd_pct=m,
            relapse_site=site,
        )
        for s, d, v, r, m, site in rows
    ]
    records = _records(enrolment=enrolled, infusion=infused, assessments=assessments, followup=[])
    found = assessments_queried(records).sort("row")
    assert found.select("row", "column", "subject").rows() == [
        (5, "assessment_date", "S1"),
        (6, "assessment_date", "S2"),
        (9, "relapse_site", "S4"),
        (10, "mrd_pct", "S5"),
        (11, "mrd_pct", "S6"),
    ]
    rules = found["rule"].to_list()
    assert rules[0].startswith("a D28 assessment on day 91, dated after an assessment of a later visit (target day 91)")
    assert rules[1].startswith("a Day 28 assessment on day 44, outside the day-28 response window (days 21-42)")
    assert rules[2].startswith("a relapse site or CD19 status at relapse on a CR assessment")
    assert rules[3].startswith("an MRD of 62.0 % on a CR assessment")
    assert rules[4].startswith("an MRD of 0.743 % at a marrow relapse")
    (query,) = drop_queries([], {}, {"assessments_plausible": found})
    assert query.finding.startswith(
        "5 disease assessment(s) whose date or values contradict the visit or the response (assessments.csv rows 5, "
        "6, 9, 10 and 11): 1 dated after a later visit's, 1 day-28 visits outside days 21-42"
    )
    assert "S1" not in query.finding


@pytest.mark.parametrize(
    ("label", "target"),
    [
        ("D28", 28), ("Day 28", 28), ("DAY_28", 28), ("Day +28", 28), ("D+28", 28), ("Day 28 +/- 7", 28),
        ("D28 repeat", 28), ("D28R", 28), ("M3", 91), ("Mo 3", 91), ("Month 3", 91), ("Week 4", 28), ("Year 1", 365),
        ("M12", 365), ("Day -5", None), ("EOT", None), ("Screening", None), ("Month 12 LTFU", None), ("UNSCHED", None),
    ],
)  # fmt: skip
def test_a_visit_label_names_its_target_day(label, target):
    """By hand: a day number, weeks of 7 days, months of 30.4375 days (3 months 91.3 -> 91,
    12 months 365.25 -> 365), years of 365.25; a third red team's "Day +28" and "Mo 3" were
    not read, and "Day -5" was read as day 5."""
    from trial_outcomes.io.validation import _nominal_day

    frame = pl.DataFrame({"v": [label]})
    assert frame.select(_nominal_day(pl.col("v"))).item() == target


def test_a_cd19_negative_marrow_relapse_with_low_mrd_is_not_queried():
    """A CD19-gated MRD panel reads a CD19-negative relapse's blasts low (a third red team's
    false alarm): S1's BM RELAPSE, CD19 NEG, MRD 2.1: not queried; S2's the same CD19 POS:
    queried."""
    from trial_outcomes.io.validation import assessments_queried

    day0 = D(2021, 1, 20)
    enrolled, infused, _ = _in_remission(("S1", "S2"), day0, {})
    relapse = dict(assessment_date=day0 + dt.timedelta(days=200), visit="UNSCHED", response="RELAPSE", mrd_pct=2.1)
    assessments = [
        dict(subject_id="S1", relapse_site="BM", cd19_at_relapse="NEG", **relapse),
        dict(subject_id="S2", relapse_site="BM", cd19_at_relapse="POS", **relapse),
    ]
    records = _records(enrolment=enrolled, infusion=infused, assessments=assessments, followup=[])
    assert assessments_queried(records)["subject"].to_list() == ["S2"]


def test_an_extraction_date_long_after_the_latest_record_is_queried():
    """drop_info.toml's extracted_on makes the export complete to the cut: a red team's drop
    truncated at 2023-03-20 with extracted_on 2023-09-30 counted a subject infused six days
    before as followed 30 days, event-free, without a word. The one subject's latest record
    is its CONTACT of 2021-06-01 (followup row 2): extracted_on 2021-09-01 (92 days after)
    is queried, naming that row; 2021-08-30 (90 days) is not; none without extracted_on."""
    from trial_outcomes.io.validation import latest_date_queried

    records = _records()
    found = latest_date_queried(records, D(2021, 9, 1))
    assert found.select("file", "row", "column").rows() == [("followup.csv", 2, "event_date")]
    assert found["rule"][0].startswith(
        "drop_info.toml extracted_on 2021-09-01 is 92 days after the drop's latest record, 2021-06-01"
    )
    assert latest_date_queried(records, D(2021, 8, 30)).is_empty()
    assert latest_date_queried(records, None).is_empty()
