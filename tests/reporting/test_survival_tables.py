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


def test_an_endpoint_nobody_is_in_yet_has_its_row_saying_so():
    """A cut before the first infusion: ADTTE has no rows. Each of the trial's endpoints
    keeps its primary row, N 0, its reason "no subjects" (endpoints.md: empty with the
    reason shown, never left out); the table reads NE, never NR ("not reached" would
    say the curve stayed above one half), and its note says why."""
    from trial_outcomes.analysis.adtte import ENDPOINT_ORDER

    adtte = pl.DataFrame(
        schema={"PARAMCD": pl.String, "ANALYSIS": pl.String, "AVAL": pl.Float64, "CNSR": pl.Int64, "EVNTTYPE": pl.Int64}
    )
    tables = summarise_survival(adtte, (), (6, 12), always=ENDPOINT_ORDER)
    assert tables.summary["endpoint"].to_list() == list(ENDPOINT_ORDER)
    assert tables.summary["n"].to_list() == [0] * len(ENDPOINT_ORDER)
    assert tables.details["notes"].to_list() == ["no subjects"] * len(ENDPOINT_ORDER)
    assert summarise_survival(adtte, (), (6, 12)).summary.is_empty()  # a partial ADTTE (R's data sets): its own
    rows, notes = _endpoint_rows(tables.summary, tables.details, "OS", (6, 12))
    assert rows == [["All subjects", "0", "0", "0", "NE", "NE", "NE", "NE", ""]]
    assert "All subjects: no subjects." in notes
