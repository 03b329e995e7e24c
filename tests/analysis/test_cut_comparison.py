"""The changes between two cuts, as the report prints them."""

from __future__ import annotations

from trial_outcomes.analysis.cut_comparison import _side_by_side


def test_a_change_is_the_difference_of_the_printed_values():
    """A red team found "+3.1 pp" between 84.2% and 87.4%. A 6-month estimate of 0.8424
    then 0.8736 prints 84.2% and 87.4%: the change is +3.2 pp (unrounded, 3.12). A median
    of 200 days then 321 prints 6.6 and 10.5 months (200 / 30.4375 = 6.571, 321 / 30.4375
    = 10.546): +3.9 mo (unrounded, 3.975). Counts are exact: 90 to 120 is +30."""
    assert _side_by_side("rate_6m", 0.8424, 0.8736) == {"previous": "84.2%", "current": "87.4%", "change": "+3.2 pp"}
    assert _side_by_side("median_days", 200.0, 321.0) == {"previous": "6.6", "current": "10.5", "change": "+3.9 mo"}
    assert _side_by_side("n", 90, 120)["change"] == "+30"
    assert _side_by_side("rate_6m", None, 0.5)["change"] == ""
    assert _side_by_side("median_days", None, 321.0) == {"previous": "NR", "current": "10.5", "change": ""}
