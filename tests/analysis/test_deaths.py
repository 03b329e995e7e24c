"""Cause of death category and non-relapse mortality (endpoints.md, Adverse events)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import Trial, adsl_row
from trial_outcomes.analysis.deaths import cause_category_from_text


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Relapsed leukemia", "LEUKEMIA"),
        ("Refractory leukaemia", "LEUKEMIA"),
        ("Disease progression before infusion", "LEUKEMIA"),
        ("Cytokine release syndrome", "CRS"),
        ("ICANS with cerebral edema", "ICANS"),
        ("Transplant-related (GVHD and infection)", "TRANSPLANT"),
        ("Infection in remission", "INFECTION"),
        ("Septic shock", "INFECTION"),
        ("Road accident", "OTHER"),
        ("", "UNKNOWN"),
        (None, "UNKNOWN"),
    ],
)
def test_keyword_rule_for_a_cause_without_a_category(text, category):
    frame = pl.DataFrame({"t": [text]}, schema={"t": pl.String})
    assert frame.select(cause_category_from_text(pl.col("t"))).item() == category


def test_coded_category_wins_over_the_text():
    """'Multi-organ failure' coded CRS is CRS (the text alone would say OTHER)."""
    d = Trial().enrol("S1").infuse("S1").event("S1", 9, "DEATH", "Multi-organ failure", "CRS").derive()
    row = adsl_row(d)
    assert (row["DTHCAT"], row["DTHCATSR"]) == ("CRS", "Reported (cause_category)")


def test_non_responder_dying_of_refractory_leukaemia_is_not_nrm():
    """NR at day 14, death of refractory leukaemia on day 20 (no relapse: never in
    remission): not non-relapse mortality (version 1 said NRMFL = Y)."""
    d = Trial().enrol("S1").infuse("S1").assess("S1", 14, "NR").event("S1", 20, "DEATH", "Refractory leukemia").derive()
    assert (adsl_row(d)["DTHCAT"], adsl_row(d)["NRMFL"]) == ("LEUKEMIA", "N")


def test_infection_death_without_relapse_is_nrm_and_early():
    """Sepsis on day 25 without relapse: NRM, within 30 and 100 days."""
    d = Trial().enrol("S1").infuse("S1").event("S1", 25, "DEATH", "Sepsis during aplasia").derive()
    row = adsl_row(d)
    assert (row["DTHCAT"], row["NRMFL"], row["DTH30FL"], row["DTH100FL"], row["DTHDY"]) == (
        "INFECTION",
        "Y",
        "Y",
        "Y",
        25,
    )


def test_death_after_relapse_is_not_nrm_whatever_its_cause():
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "CR", 0.0)
        .assess("S1", 200, "RELAPSE")
        .event("S1", 260, "DEATH", "Pneumonia")
        .derive()
    )
    assert (adsl_row(d)["DTHCAT"], adsl_row(d)["NRMFL"]) == ("INFECTION", "N")
