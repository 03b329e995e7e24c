"""The stopping rules across cuts on page 1: each cut against its own boundary, and a
point past the line that was not yet judged told apart from one that crossed."""

from __future__ import annotations

import itertools

import polars as pl

from trial_outcomes.reporting.figures.monitoring import draw
from trial_outcomes.reporting.figures.specs import stopping_history_spec


def _history(rows: list[tuple[str, str, float, float, bool, bool]]) -> pl.DataFrame:
    names = ["cut", "rule_id", "statistic", "boundary_value", "crossed", "current"]
    return pl.DataFrame(rows, schema=names, orient="row")


def test_a_point_past_the_line_not_yet_judged_is_hollow_and_each_cut_has_its_own_boundary():
    """A red team's cuts: on 10 August P = 0.957 above 0.9 with 5 evaluable (monitoring
    starts at 6: not crossed), on 11 August 0.934 crossed; Simon's 3 stage-1 responders
    sit below "7 or fewer" with stage 1 open. Past the line but not crossed: the first
    safety point and both efficacy points; past and crossed: the second safety point. A
    cut published under another plan (boundary 0.8, then 0.9) keeps its own."""
    spec = stopping_history_spec(
        _history(
            [
                ("2020-08-10", "safety", 0.957138, 0.8, False, False),
                ("2020-08-11", "safety", 0.934412, 0.9, True, True),
                ("2020-08-10", "efficacy_futility", 3.0, 7.0, False, False),
                ("2020-08-11", "efficacy_futility", 3.0, 7.0, False, True),
            ]
        )
    )
    safety, efficacy = spec.panels
    assert safety.boundary == 0.9 and safety.boundaries == (0.8, 0.9)
    assert [safety.past(i) for i in range(2)] == [True, True] and safety.crossed == [False, True]
    assert [efficacy.past(i) for i in range(2)] == [True, True] and efficacy.crossed == [False, False]
    below = stopping_history_spec(_history([("2020-08-10", "safety", 0.5, 0.9, False, True)])).panels[0]
    assert not below.past(0)
    svg = draw(spec).decode("utf-8")
    assert svg.count("fill: #ffffff; stroke: #") >= 3  # three hollow points


def _overlaps_data(spec) -> list[str]:
    """The boundary's label against the statistic: any text or legend box of a panel that
    covers one of its points or a point along its line (in the figure's own pixels)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from trial_outcomes.reporting.figures.monitoring import figure

    fig = figure(spec)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    found = []
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.texts]
        if ax.get_legend() is not None:
            boxes.append(ax.get_legend().get_window_extent(renderer))
        statistic = ax.lines[0].get_xydata()
        along = np.concatenate([np.linspace(a, b, 25) for a, b in itertools.pairwise(statistic)] or [statistic])
        pixels = ax.transData.transform(along)
        for box in boxes:
            hit = [tuple(p) for p in pixels if box.contains(*p)]
            if hit:
                found.append(f"{ax.get_title(loc='left')}: a label covers the statistic at {hit[0]}")
    return found


def test_the_boundary_label_never_covers_the_statistic():
    """Page 1 at the sample's cuts 2022-09-30 and 2024-03-31: 8 stage-1 responders at both
    against "futility at or below 7". The label was written on the line's left end, just
    above it, where the statistic's own line (at 8) ran through its words. A run of nine
    cuts with the statistic climbing past each boundary is the other case."""
    two = _history(
        [
            ("2022-09-30", "safety", 0.13, 0.9, False, False),
            ("2024-03-31", "safety", 0.01, 0.9, False, True),
            ("2022-09-30", "efficacy_futility", 8.0, 7.0, False, False),
            ("2024-03-31", "efficacy_futility", 8.0, 7.0, False, True),
        ]
    )
    safety = [0.2, 0.5, 0.85, 0.88, 0.92, 0.95, 0.97, 0.99, 0.99]
    responders = [2.0, 3.0, 5.0, 6.0, 7.0, 7.0, 8.0, 8.0, 9.0]
    nine = _history(
        [(f"2023-0{m + 1}-01", "safety", p, 0.9, p > 0.9, m == 8) for m, p in enumerate(safety)]
        + [(f"2023-0{m + 1}-01", "efficacy_futility", r, 7.0, False, m == 8) for m, r in enumerate(responders)]
    )
    assert _overlaps_data(stopping_history_spec(two)) == []
    assert _overlaps_data(stopping_history_spec(nine)) == []
