"""One formatter (trial_outcomes.formatting): each convention with its worked example."""

from __future__ import annotations

import polars as pl

from tests.builders import Trial
from trial_outcomes.analysis.adtte import event_counts
from trial_outcomes.analysis.stopping import stopping_history
from trial_outcomes.formatting import (
    at_risk,
    dose,
    landmark_rate,
    median_range,
    months,
    pct,
    pct_ci,
    signed,
)
from trial_outcomes.labels import in_sentence
from trial_outcomes.reporting.figures.survival import Curve, SurvivalSpec, y_axis


def test_dose_in_the_protocols_notation():
    """8.97e+05 -> 9.0 x 10^5 (two significant digits); 1.2e6 -> 1.2 x 10^6; 9.96e6 rounds to 10.0 -> 1.0 x 10^7."""
    assert dose(8.97e5) == "9.0 x 10^5 cells/kg"
    assert dose(1.2e6) == "1.2 x 10^6 cells/kg"
    assert dose(9.96e6) == "1.0 x 10^7 cells/kg"
    assert dose(None) == "-"
    assert median_range(1.2e6, 5e5, 4.9e6, as_dose=True) == "1.2 x 10^6 (5.0 x 10^5 to 4.9 x 10^6) cells/kg"
    assert median_range(12.0, 3.0, 40.0) == "12 (3-40)"


def test_months_show_days_where_months_would_read_zero():
    """1 day is 0.03 months, printed '0.0' before: now '1 d'; 405 days = 13.3 months; 0 days is 0.0."""
    assert months(1.0) == "1 d"
    assert months(405.0) == "13.3"
    assert months(0.0) == "0.0"
    assert months(None) == "NE"


def test_percentages_never_negative_zero_and_signed_changes():
    assert pct(-1e-9) == "0.0%"
    assert pct_ci(0.5, 0.25, None) == "50.0% (25.0-NE)"
    assert signed(-0.0004, " pp") == "0.0 pp"
    assert signed(2.26, " mo") == "+2.3 mo"
    assert signed(-3, "", 0) == "-3"


def test_landmark_rates_carry_their_number_at_risk():
    """9 at risk is fewer than 10: marked."""
    row = {"rate_12m": 0.8, "rate_12m_lcl": 0.7, "rate_12m_ucl": 0.9}
    assert landmark_rate(row, {"nrisk_12m": 34}, 12) == "80.0% (70.0-90.0); 34 at risk"
    assert landmark_rate(row, {"nrisk_12m": 9}, 12, short=True) == "80.0 (70.0-90.0) [9]*"
    assert at_risk("NE", 3) == "NE"


def test_labels_inside_a_sentence_keep_abbreviations():
    assert in_sentence("Prior HSCT") == "prior HSCT"
    assert in_sentence("ECOG") == "ECOG"
    assert in_sentence("CD19 share") == "CD19 share"


def test_incidence_axis_fits_a_low_curve():
    """An NRM curve up to 4 % (CI to 9 %) gets a 0-10 % axis; a 45 % curve 0-50 %; survival 0-100 %."""

    def spec(top: float, cumulative: bool = True) -> SurvivalSpec:
        curve = Curve("All", [0.0, 1.0], [0.0, top], [0.0, 0.0], [0.0, top + 0.05], [], [], [10])
        return SurvivalSpec("t", "s", cumulative, "first remission", [0.0, 3.0], [curve])

    assert y_axis(spec(0.04))[1][-1] == 0.1
    assert y_axis(spec(0.40))[1][-1] == 0.5
    assert y_axis(spec(0.04, cumulative=False))[1][-1] == 1.0


def test_competing_events_are_not_counted_as_events():
    """CIR: S1 relapses (type 1), S2 dies in remission (type 2), S3 censored: 1 event, 1 competing."""
    t = Trial()
    for sid in ("S1", "S2", "S3"):
        t.enrol(sid).infuse(sid).assess(sid, 28, "CR", 0.0)
    t.assess("S1", 100, "RELAPSE")
    t.event("S2", 150, "DEATH", "Graft-versus-host disease")
    counts = event_counts(t.derive().adtte).filter((pl.col("PARAMCD") == "CIR") & (pl.col("ANALYSIS") == "primary"))
    assert (counts["n"][0], counts["events"][0], counts["competing"][0]) == (3, 1, 1)


def test_stopping_history_orders_cuts_and_ignores_later_ones():
    """Earlier cuts 2023-01-01 and 2022-01-01 (no boundary_value: published before it
    existed), a later 2025-01-01 (not shown in a report of 2024-04-01)."""
    old = pl.DataFrame({"rule_id": ["safety"], "statistic": [0.01], "crossed": [False]})
    newer = pl.DataFrame({"rule_id": ["safety"], "statistic": [0.5], "boundary_value": [0.9], "crossed": [False]})
    current = pl.DataFrame({"rule_id": ["safety"], "statistic": [0.95], "boundary_value": [0.9], "crossed": [True]})
    got = stopping_history({"2023-01-01": newer, "2022-01-01": old, "2025-01-01": newer}, "2024-04-01", current)
    assert got["cut"].to_list() == ["2022-01-01", "2023-01-01", "2024-04-01"]
    assert got["boundary_value"].to_list() == [None, 0.9, 0.9]
    assert got["current"].to_list() == [False, False, True]


def test_a_planned_reference_level_absent_at_the_cut_is_said():
    """The plan names site 'ZZ' (no subject at this cut): the note says the largest group, BOREN, is used."""
    from trial_outcomes.reporting.efficacy import reference_notes

    cox = pl.DataFrame({"group_var": ["SITEID", "SEX"], "reference": ["BOREN", "M"]})
    assert reference_notes(cox, {"SITEID": "ZZ", "SEX": "M"}) == [
        "The analysis plan's reference level for site, 'ZZ', has no subjects at this cut: the largest group, "
        "'BOREN', is the reference instead."
    ]
