"""The stopping rules across cuts on page 1: each cut against its own boundary, and a
point past the line that was not yet judged told apart from one that crossed."""

from __future__ import annotations

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
