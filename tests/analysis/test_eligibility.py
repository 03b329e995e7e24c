"""Computable eligibility criteria (protocol.md) against the checklist."""

from __future__ import annotations

import datetime as dt

import polars as pl

from trial_outcomes.analysis.eligibility import eligibility_deviations, subject_eligibility
from trial_outcomes.schema import CRITERIA

OK = dict(
    subject_id="S1",
    consent_date=dt.date(2021, 1, 1),
    enrol_date=dt.date(2021, 1, 2),
    age_years=9.0,
    disease_status="relapsed",
    cd19_pct=99.0,
    creatinine_x_uln=0.8,
    bun_x_uln=0.9,
    csf_blasts_per_ul=0.0,
    pb_blast_pct=5.0,
    ecog=1,
)


def _checklist(subject="S1", **met):
    return pl.DataFrame(
        [{"subject_id": subject, "criterion": c, "met": met.get(c, c.startswith("IN"))} for c in CRITERIA]
    )


def test_eligible_subject_with_agreeing_checklist_has_no_findings():
    assert eligibility_deviations(pl.DataFrame([OK]), _checklist()).is_empty()


def test_each_computable_criterion_boundary():
    """cd19 95 is not > 95; age 18 is eligible, 18.1 not; creatinine 1.5 is not > 1.5;
    CSF 20 is not > 20; PB 30 % is not > 30; ECOG 3 excludes."""
    cases = [
        ({"cd19_pct": 95.0}, "IN01"),
        ({"cd19_pct": 95.1}, None),
        ({"age_years": 18.0}, None),
        ({"age_years": 18.1}, "IN02"),
        ({"consent_date": dt.date(2021, 1, 3)}, "IN03"),
        ({"creatinine_x_uln": 1.5}, None),
        ({"bun_x_uln": 1.51}, "EX06"),
        ({"csf_blasts_per_ul": 20.0}, None),
        ({"csf_blasts_per_ul": 21.0}, "EX11"),
        ({"pb_blast_pct": 30.0}, None),
        ({"pb_blast_pct": 30.5}, "EX12"),
        ({"ecog": 2}, None),
        ({"ecog": 3}, "EX13"),
    ]
    for change, criterion in cases:
        found = eligibility_deviations(pl.DataFrame([{**OK, **change}]), _checklist())
        assert found["criterion"].to_list() == ([criterion] if criterion else []), change
        if criterion:
            assert "checklist disagrees" in found["finding"][0]


def test_missing_checklist_row_and_checklist_only_failure_are_listed():
    checklist = _checklist(EX04=True).filter(pl.col("criterion") != "EX16")
    found = eligibility_deviations(pl.DataFrame([OK]), checklist)
    assert found.select("criterion", "finding").rows() == [
        ("EX04", "criterion failed on the investigator's checklist"),
        ("EX16", "criterion missing from the investigator's checklist"),
    ]


def test_subject_flags():
    enrol = pl.DataFrame([OK, {**OK, "subject_id": "S2", "ecog": 3}])
    checklist = pl.concat([_checklist("S1"), _checklist("S2")])
    flags = subject_eligibility(enrol, eligibility_deviations(enrol, checklist)).sort("subject_id")
    assert flags.rows() == [("S1", True, False), ("S2", False, True)]
