"""The efficacy report's survival tables: their rows and the notes below them."""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.survival_summary import NO_CI, summarise_survival
from trial_outcomes.reporting.efficacy import NO_CI_NOTE, _endpoint_rows


def test_rates_without_limits_get_one_line_below_the_table_not_one_per_group():
    """OS by a two-level subgroup. Group a: ten deaths on day 100, so its 6-, 12- and
    24-month rates are 0 with no interval (R: NA). Group b: two subjects censored on
    day 50, so no rate is known past day 50. The table's notes say b's reason per
    group, and a's once for the table (survival_details keeps it per group)."""
    adtte = pl.DataFrame(
        {
            "PARAMCD": ["OS"] * 12,
            "ANALYSIS": ["primary"] * 12,
            "AVAL": [100] * 10 + [50, 50],
            "CNSR": [0] * 10 + [1, 1],
            "EVNTTYPE": [1] * 10 + [0, 0],
            "SEX": ["a"] * 10 + ["b", "b"],
        }
    )
    tables = summarise_survival(adtte, ("SEX",), (6, 12, 24))
    assert NO_CI in (tables.details.filter(pl.col("group") == "a")["notes"][0] or "")
    _, notes = _endpoint_rows(tables.summary, tables.details, "OS", (6, 12, 24))
    assert notes.count(NO_CI_NOTE) == 1
    assert not any(NO_CI in note for note in notes)
    assert any(note.startswith("Sex: b") and "no follow-up that long (last day 50)" in note for note in notes), notes
