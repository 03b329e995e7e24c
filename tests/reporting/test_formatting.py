"""One formatter (trial_outcomes.formatting): each convention with its worked example."""

from __future__ import annotations

import polars as pl

from tests.builders import Trial
from trial_outcomes.analysis.adtte import event_counts
from trial_outcomes.analysis.stopping import stopping_history
from trial_outcomes.formatting import (
    at_risk,
    day_count,
    dose,
    landmark_rate,
    median_months_days,
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

    cox = pl.DataFrame({"endpoint": ["OS", "OS"], "group_var": ["SITEID", "SEX"], "reference": ["BOREN", "M"]})
    assert reference_notes(cox, {"SITEID": "ZZ", "SEX": "M"}) == [
        "The analysis plan's reference level for site, 'ZZ', has no subjects at this cut: the largest group, "
        "'BOREN', is the reference instead."
    ]


def test_references_that_differ_by_endpoint_are_each_named_with_their_endpoints_every_time():
    """The plan's site 'ZZ' has no subject; OS and EFS take BOREN, DFS and DOR (responders,
    none at BOREN) take LEEDS. The note names both, each with its endpoints, in the
    table's order; it named whichever of the two polars' unordered ``unique`` gave first,
    one of them in two runs of six (a reviewer's finding). Sixty tables, each with its
    rows given in a new order, give the note that order's first reference first."""
    from trial_outcomes.reporting.efficacy import reference_notes

    cox = pl.DataFrame(
        {
            "endpoint": ["OS", "OS", "EFS", "DFS", "DOR", "DOR"],
            "group_var": ["SITEID"] * 6,
            "group": ["LEEDS", "OXFORD", "LEEDS", "OXFORD", "OXFORD", "YORK"],
            "reference": ["BOREN", "BOREN", "BOREN", "LEEDS", "LEEDS", "LEEDS"],
        }
    )
    said = "The analysis plan's reference level for site, 'ZZ', has no subjects at this cut: "
    assert reference_notes(cox, {"SITEID": "ZZ"}) == [
        said + "the reference is instead the infused subjects' largest group where an endpoint's subjects have it, "
        "else that endpoint's own largest group: 'BOREN' for OS and EFS; 'LEEDS' for DFS and DOR."
    ]
    for seed in range(60):
        shuffled = cox.sample(fraction=1.0, shuffle=True, seed=seed)
        first = shuffled["reference"][0]
        (note,) = reference_notes(shuffled, {"SITEID": "ZZ"})
        assert note.index(f"'{first}' for") < note.index(f"'{'LEEDS' if first == 'BOREN' else 'BOREN'}' for")


def test_a_p_value_below_a_thousandth_is_not_printed_as_zero():
    """Three decimals print p = 1e-242 as 0.000 (a million subjects' figures did, 18
    times): below 0.001 it reads p < 0.001; 0.001 itself and above keep three decimals."""
    from trial_outcomes.formatting import p_stated

    assert p_stated(5.957e-242) == "p < 0.001"
    assert p_stated(0.0) == "p < 0.001"
    assert p_stated(0.000999) == "p < 0.001"
    assert p_stated(0.001) == "p = 0.001"
    assert p_stated(0.0434) == "p = 0.043"


def test_the_risk_tables_group_labels_end_before_a_count_of_seven_digits(monkeypatch):
    """The number at risk under a curve: each group's label sits left of the first
    column, which is centred on the axis' left edge. With a million subjects the counts
    (316,917; 1,419,992) ran into the labels ("Female316917"): drawn, every label's
    right edge is left of every first-column count's left edge; with three-digit counts
    the labels keep their place (the sample's figures are unchanged)."""
    from trial_outcomes.reporting.figures import survival

    drawn = []
    monkeypatch.setattr(survival, "figure_bytes", lambda fig: drawn.append(fig) or b"")

    def labels_and_first_column(counts: list[int]) -> tuple[list, list]:
        curves = [
            Curve(name, [0.0, 6.0], [0.0, 0.03], [None, None], [None, None], [], [], [n, n // 2])
            for name, n in zip(("Female", "Male"), counts, strict=True)
        ]
        survival.draw(SurvivalSpec("t", "s", True, "first remission", [0.0, 6.0], curves))
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = drawn.pop()
        renderer = FigureCanvasAgg(fig).get_renderer()
        texts = {t.get_text().strip(): t for t in fig.texts}
        label_boxes = [t.get_window_extent(renderer) for k, t in texts.items() if k in ("Female", "Male")]
        assert len(label_boxes) == 2, list(texts)
        column = next(t for k, t in texts.items() if k.startswith(str(counts[0])))
        return label_boxes, [column.get_window_extent(renderer)]

    labels, column = labels_and_first_column([316_917, 1_419_992])
    assert max(box.x1 for box in labels) < min(box.x0 for box in column)
    labels, column = labels_and_first_column([316, 141])
    assert max(box.x1 for box in labels) < min(box.x0 for box in column)


def test_a_median_between_two_days_is_shown_as_it_is():
    """Two medians of one table, midpoints 77.5 and 74.5 days, read 78 and 74 rounded half to
    even (a DSMB reviewer took it for an error). Days are shown as they are: 78, 77.5, 74.5;
    805.5 (a midpoint of 504 and 1107); a whole 0 is 0. 77.5 days are 77.5 / 30.4375 = 2.546
    months, shown 2.5 (2.546 to one decimal)."""
    assert [day_count(d) for d in (78.0, 77.5, 74.5, 805.5, 0.0)] == ["78", "77.5", "74.5", "805.5", "0"]
    assert median_months_days(77.5, 62.0, None) == "2.5 mo (77.5 d); 95% CI 2.0-NE mo"


def test_a_note_written_with_codes_reads_in_the_reports_words():
    """A DSMB reviewer read "SEX: no events in the reference level (M)", "AGEGR1 ... (>=10)"
    and "mrd_persistent never at risk together with another level" in the report."""
    from trial_outcomes.labels import in_note

    assert in_note("SEX: no events in the reference level (M), left out of the model") == (
        "Sex: no events in the reference level (Male), left out of the model"
    )
    assert in_note("not estimable: no events in the reference level (>=10)", "AGEGR1") == (
        "not estimable: no events in the reference level (>= 10 years)"
    )
    assert in_note("mrd_persistent never at risk together with another level, so compared with none", "STRATUM") == (
        "MRD-persistent never at risk together with another level, so compared with none"
    )
    # a word that only looks like a code is left alone; a note without codes is unchanged
    assert (
        in_note("fewer than 5 events (SEXTANT); AGE per year", "SEX")
        == "fewer than 5 events (SEXTANT); Age, per year per year"
    )


def test_a_median_is_given_its_number_at_risk_only_when_few_are_followed_at_it():
    """FEW_AT_RISK is 10: 9 at the median marks it, in a table and in a sentence; 10, or a
    median not reached (no number), leaves it as it is."""
    from trial_outcomes.formatting import FEW_AT_RISK, few_at_median

    assert FEW_AT_RISK == 10
    assert few_at_median("5.2 (1.1-NE)", 9, short=True) == "5.2 (1.1-NE) [9]*"
    assert few_at_median("5.2 mo (158 d)", 1) == "5.2 mo (158 d); 1 at risk at the median*"
    assert few_at_median("5.2 (1.1-NE)", 10, short=True) == "5.2 (1.1-NE)"
    assert few_at_median("NR (1.1-NE)", None, short=True) == "NR (1.1-NE)"
