"""Cross-file rules: keys, orphans, date order (issue: foundation, item 5)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from trial_outcomes.io.validation import date_order, duplicate_keys, orphan_records
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
    assert date_order(records).select("file", "row", "column").rows() == [("enrolment.csv", 2, "enrol_date")]


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
