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


def test_a_median_few_are_followed_at_is_marked_with_its_number_at_risk():
    """The DSMB reader's case: four subjects, one death on day 100 after two were censored
    on days 30 and 60, the fourth followed to day 400. S falls 1 -> 1/2 on day 100 (2 at
    risk, 1 death) and stays 1/2 to the last follow-up, so the median is the midpoint
    (100 + 400) / 2 = 250 days (R's ``quantile(fit, 0.5)``; endpoints.md's rule), decided by
    one death, with 1 followed at it (day 400): the table shows "[1]*" beside it (R:
    ``summary(fit, times = 250)$n.risk`` is 1). Twenty subjects, deaths on days 10, 20, ..., 110 and
    nine followed to day 400: S = 10/20 = 1/2 from day 100 to 110, so the median is
    (100 + 110) / 2 = 105 days (R's midpoint), where the death of day 110 and the nine are
    followed: 10, not fewer than ten, so no mark (R: ``summary(fit, times = 105)$n.risk``
    is 10)."""

    def os(days: list[float], dead: list[int]) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "PARAMCD": ["OS"] * len(days),
                "ANALYSIS": ["primary"] * len(days),
                "AVAL": days,
                "CNSR": [1 - d for d in dead],
                "EVNTTYPE": dead,
            }
        )

    few = summarise_survival(os([30.0, 60, 100, 400], [0, 0, 1, 0]), (), (6,))
    assert few.summary["median_days"].to_list() == [250.0]
    assert few.details["median_nrisk"].to_list() == [1]
    rows, _ = _endpoint_rows(few.summary, few.details, "OS", (6,))
    assert rows[0][4].endswith(" [1]*") and rows[0][5] == "250"
    enough = summarise_survival(os([10.0 * k for k in range(1, 12)] + [400.0] * 9, [1] * 11 + [0] * 9), (), (6,))
    assert enough.summary["median_days"].to_list() == [105.0]
    assert enough.details["median_nrisk"].to_list() == [10]
    rows, _ = _endpoint_rows(enough.summary, enough.details, "OS", (6,))
    assert "[" not in rows[0][4] and rows[0][5] == "105"


def test_a_kaplan_meier_legend_gives_a_median_few_are_followed_at_its_number():
    """The four subjects above: median 250 days, 8.2 months (250 / 30.4375 = 8.21), with 1
    followed at it: the figure's legend reads "median 8.2 mo (1 at risk)"; twenty subjects
    with the median at 105 days (3.4 months) and 10 followed there: no number."""
    from trial_outcomes.reporting.figures.specs import survival_specs

    def legend(days: list[float], dead: list[int]) -> str:
        adtte = pl.DataFrame(
            {
                "PARAMCD": ["OS"] * len(days),
                "ANALYSIS": ["primary"] * len(days),
                "AVAL": days,
                "CNSR": [1 - d for d in dead],
                "EVNTTYPE": dead,
            }
        )
        t = summarise_survival(adtte, (), (6,))
        return survival_specs(t.summary, t.details, t.curves, (6,))["OS_primary_all.svg"].curves[0].label

    assert legend([30.0, 60, 100, 400], [0, 0, 1, 0]) == "All (n=4, 1 event; median 8.2 mo (1 at risk))"
    assert legend([10.0 * k for k in range(1, 12)] + [400.0] * 9, [1] * 11 + [0] * 9).endswith("median 3.4 mo)")
