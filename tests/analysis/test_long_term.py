"""Long-term gene-therapy safety (docs/endpoints.md, "Long-term safety"): incidence per
100 patient-years with exact Poisson limits, and the file's own rules. Day 0 = the
infusion of every subject."""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import Trial, day
from trial_outcomes.analysis.long_term import events_listing, incidence, not_listed, poisson_ci
from trial_outcomes.io.validation import date_order, dependent_values


def test_exact_poisson_limits_are_rs_poisson_test():
    """R: poisson.test(1, 400 / 365.25)$conf.int = 0.02311832 5.08760687;
    poisson.test(3, 2.5)$conf.int = 0.2474688 3.5069092."""
    assert poisson_ci(1, 400 / 365.25) == pytest.approx((0.02311832, 5.08760687), abs=1e-7)
    assert poisson_ci(3, 2.5) == pytest.approx((0.2474688, 3.5069092), abs=1e-7)
    assert poisson_ci(0, 0.0) == (None, None)


def _trial() -> Trial:
    """S1: a secondary malignancy on day 400, last contact on day 600. S2: no event, an RCL
    assay on day 365 (negative) and last contact on day 500. S3 enrolled, never infused:
    not in the population. Cut on day 700.

    Secondary malignancy: 1 subject over 400 + 500 = 900 days = 2.46407 patient-years:
    40.58 per 100 patient-years; R poisson.test(1, 900 / 365.25)$conf.int * 100 =
    1.027481 226.115861. T-cell malignancy: none over 600 + 500 = 1100 days: 0, upper
    limit 122.4876 (R poisson.test(0, 1100 / 365.25))."""
    t = Trial()
    t.enrol("S1").infuse("S1").event("S1", 600, "CONTACT")
    t.enrol("S2").infuse("S2").event("S2", 500, "CONTACT")
    t.enrol("S3")
    t.ltfu("S1", 400, "SECONDARY_MALIGNANCY", detail="Myelodysplastic syndrome")
    t.ltfu("S2", 365, "RCL_TEST", result="NEGATIVE")
    return t


def test_incidence_per_100_patient_years_worked_example():
    d = _trial().derive(cut_day=700)
    table = incidence(d.records["long_term_followup"], d.adsl, day(700))
    rows = {r["event"]: r for r in table.iter_rows(named=True)}
    second = rows["SECONDARY_MALIGNANCY"]
    assert (second["n_subjects"], second["n_events"], second["n_population"]) == (1, 1, 2)
    assert second["patient_years"] == pytest.approx(900 / 365.25)
    assert second["rate_per_100py"] == pytest.approx(40.583333, abs=1e-5)
    assert (second["lcl"], second["ucl"]) == pytest.approx((1.027481, 226.115861), abs=1e-5)
    t_cell = rows["T_CELL_MALIGNANCY"]
    assert t_cell["patient_years"] == pytest.approx(1100 / 365.25)
    assert (t_cell["rate_per_100py"], t_cell["lcl"]) == (0.0, 0.0)
    assert t_cell["ucl"] == pytest.approx(122.4876, abs=1e-4)
    assert (rows["RCL_NEGATIVE"]["n_events"], rows["RCL_NEGATIVE"]["n_population"]) == (1, 1)


def test_the_listing_names_each_event_but_a_negative_rcl_assay():
    """The worked example's trial with a pending RCL assay of S1 on day 180 and a positive
    one of S2 on day 730: listed by subject and date, S1's assay (day 180) then its
    malignancy (day 400, its detail as written), then S2's positive assay (day 730); S2's
    negative assay on day 365 is counted, not listed. Without the file: no rows, the same
    columns."""
    t = _trial()
    t.ltfu("S1", 180, "RCL_TEST", result="PENDING")
    t.ltfu("S2", 730, "RCL_TEST", result="POSITIVE")
    d = t.derive(cut_day=800)
    listed = events_listing(d.records["long_term_followup"], d.adsl)
    assert listed.select("USUBJID", "event", "ADT", "ADY", "result", "detail").rows() == [
        ("S1", "RCL_TEST", day(180), 180, "PENDING", None),
        ("S1", "SECONDARY_MALIGNANCY", day(400), 400, None, "Myelodysplastic syndrome"),
        ("S2", "RCL_TEST", day(730), 730, "POSITIVE", None),
    ]
    assert not_listed().schema == listed.schema and not_listed().is_empty()


def test_the_long_term_files_rules_name_row_column_and_value():
    """An RCL assay without a result, a result on a malignancy, an event of a subject never
    infused, and an event before the infusion: each refused."""
    t = Trial().enrol("S1").infuse("S1").enrol("S2")
    t.ltfu("S1", 100, "RCL_TEST")
    t.ltfu("S1", 200, "NEW_AUTOIMMUNE", result="NEGATIVE")
    t.ltfu("S2", 300, "NEW_NEUROLOGIC")
    t.ltfu("S1", -3, "NEW_HEMATOLOGIC")
    records = t.records()
    problems = pl.concat([date_order(records), dependent_values(records)])
    found = sorted(problems.filter(pl.col("file") == "long_term_followup.csv").select("row", "column", "rule").rows())
    assert found == [
        (2, "result", "an RCL_TEST needs its result (NEGATIVE, POSITIVE or PENDING)"),
        (3, "result", "result is for RCL_TEST rows only"),
        (4, "subject_id", "long-term follow-up of a subject never infused"),
        (5, "event_date", "long-term follow-up event before the first infusion"),
    ]
