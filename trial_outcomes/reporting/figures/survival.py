"""Kaplan-Meier and cumulative-incidence figures in the style statisticians know from
survminer and ggsurvfit: step curves with censoring ticks, a CI band for a single
curve, median lines, labels (not codes) in the legend, months on the time axis,
and the number at risk in a table aligned to that axis.

The spec is plain data (lists and numbers), so figures can be drawn in worker
processes; ``draw`` turns one spec into SVG bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trial_outcomes.reporting.figures.style import COLOURS, GREY, LIGHT, figure_bytes, new_figure


@dataclass(frozen=True)
class Curve:
    label: str
    time: list[float]  # months, distinct observed times
    estimate: list[float]
    lcl: list[float | None]
    ucl: list[float | None]
    censor_time: list[float]
    censor_estimate: list[float]
    at_risk: list[int]  # at each tick of the risk table
    median_months: float | None = None


@dataclass(frozen=True)
class SurvivalSpec:
    title: str
    subtitle: str
    cumulative: bool  # cumulative incidence (starts at 0) rather than survival (starts at 1)
    origin: str  # "infusion" or "first remission"
    ticks: list[float]  # months
    curves: list[Curve]
    notes: list[str] = field(default_factory=list)  # landmark rates, drawn on a single curve
    ylabel: str = ""  # the y axis when it is not survival or cumulative incidence


def time_ticks(horizon_months: float) -> list[float]:
    """Ticks every 3, 6 or 12 months up to just past the last observation."""
    horizon = max(horizon_months, 1.0)
    step = 3 if horizon <= 24 else 6 if horizon <= 60 else 12
    return [float(t) for t in np.arange(0, horizon + step, step)]


def _step(curve: Curve, start: float) -> tuple[np.ndarray, ...]:
    t = np.concatenate([[0.0], np.asarray(curve.time, dtype=float)])

    def values(v: list[Any]) -> np.ndarray:
        return np.concatenate([[start], np.array([np.nan if x is None else x for x in v], dtype=float)])

    return t, values(curve.estimate), values(curve.lcl), values(curve.ucl)


def y_axis(spec: SurvivalSpec) -> tuple[float, list[float]]:
    """The probability axis: 0-100 % for survival; for a cumulative incidence whose
    upper limits stay low, the smallest of 10, 20, 30, 50 and 100 % that holds every
    curve and CI with room (a 4 % NRM curve lay on a 0-100 % axis)."""
    if not spec.cumulative:
        return 1.02, [0, 0.25, 0.5, 0.75, 1.0]
    band = len(spec.curves) == 1  # a single curve is drawn with its CI band
    drawn = [v for c in spec.curves for v in (*c.estimate, *(c.ucl if band else []))]
    values = [v for v in drawn if v is not None and np.isfinite(v)]
    highest = max(values, default=0.0)
    for top, step in ((0.1, 0.02), (0.2, 0.05), (0.3, 0.1), (0.5, 0.1)):
        if highest <= top * 0.9:
            return top * 1.02, [round(step * k, 2) for k in range(round(top / step) + 1)]
    return 1.02, [0, 0.25, 0.5, 0.75, 1.0]


#: the width of a digit of the risk table (DejaVu Sans at 7.5 points), in inches
DIGIT_INCHES = 0.065


def draw(spec: SurvivalSpec) -> bytes:
    """One axes; the number-at-risk table is text under it, each tick's column one
    text (a line per group), placed in the axes' time coordinates so it lines up
    with the ticks at any size."""
    from matplotlib.transforms import blended_transform_factory

    n_groups = len(spec.curves)
    height = 3.9 + 0.2 * n_groups
    fig = new_figure(7.4, height)
    row = 0.19 / height  # one line of the risk table, in figure height
    table_top = (0.22 + row * height * n_groups) / height
    ax = fig.add_axes((0.21, table_top + 0.55 / height, 0.76, 1 - table_top - 1.25 / height))
    start = 0.0 if spec.cumulative else 1.0
    medians = []
    for i, curve in enumerate(spec.curves):
        colour = COLOURS[i % len(COLOURS)]
        t, est, lcl, ucl = _step(curve, start)
        ax.step(t, est, where="post", color=colour, linewidth=1.6, label=curve.label)
        if n_groups == 1:  # bands of several groups hide each other (survminer shows them for one curve)
            ax.fill_between(
                t,
                np.where(np.isnan(lcl), est, lcl),
                np.where(np.isnan(ucl), est, ucl),
                step="post",
                color=colour,
                alpha=0.14,
                linewidth=0,
            )
        if curve.censor_time:
            ax.plot(
                curve.censor_time,
                curve.censor_estimate,
                linestyle="none",
                marker="|",
                markersize=6,
                markeredgewidth=1.0,
                color=colour,
            )
        if not spec.cumulative and curve.median_months is not None:
            medians.append((curve.median_months, colour))
    if medians:
        ax.hlines(0.5, 0, max(m for m, _ in medians), color=GREY, linewidth=0.7, linestyle="--")
        for m, colour in medians:
            ax.vlines(m, 0, 0.5, color=colour, linewidth=0.7, linestyle="--")
    if spec.notes and n_groups == 1:
        ax.text(
            0.99,
            0.03 if not spec.cumulative else 0.97,
            "\n".join(spec.notes),
            transform=ax.transAxes,
            ha="right",
            va="bottom" if not spec.cumulative else "top",
            fontsize=7.5,
            color="#333333",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": LIGHT, "linewidth": 0.6},
        )
    top, yticks = y_axis(spec)
    ax.set_ylim(0, top)
    ax.set_xlim(0, spec.ticks[-1])
    ax.set_xticks(spec.ticks)
    ax.set_yticks(yticks)
    ax.set_yticklabels([f"{100 * t:.0f}%" for t in yticks])
    ax.set_ylabel(spec.ylabel or ("Cumulative incidence" if spec.cumulative else "Probability of survival"))
    ax.set_xlabel(f"Months since {spec.origin}")
    ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
    fig.text(0.01, 1 - 0.18 / height, spec.title, fontsize=10, fontweight="bold", va="top")
    fig.text(0.01, 1 - 0.42 / height, spec.subtitle, fontsize=8, color=GREY, va="top")
    # an incidence rises from the lower left: its legend goes upper left, clear of the curve and of the
    # landmark box (upper right); a survival curve falls from the upper left: lower left
    ax.legend(loc="upper left" if spec.cumulative else "lower left", frameon=False, fontsize=7.5)
    # the number at risk: a title, then one line per group under the time axis
    first = table_top - 0.14 / height
    fig.text(0.01, table_top + 0.08 / height, "Number at risk", fontsize=8, va="bottom")
    under_ticks = blended_transform_factory(ax.transData, fig.transFigure)
    lines = {"fontsize": 7.5, "va": "top", "linespacing": 1.5}
    for tick, column in zip(spec.ticks, zip(*(c.at_risk for c in spec.curves), strict=True), strict=True):
        fig.text(tick, first, "\n".join(str(n) for n in column), transform=under_ticks, ha="center", **lines)
    # the labels end left of the first column, which is centred on the axis' left edge (0.21): a
    # count of five digits or more reached into them (a million subjects' "Female316917")
    widest = max((len(str(c.at_risk[0])) for c in spec.curves if c.at_risk), default=0)
    right = 0.19 if widest <= 4 else 0.21 - (DIGIT_INCHES * widest / 2 + 0.04) / 7.4
    for i, curve in enumerate(spec.curves):  # each label in its curve's colour, on its line of the columns
        fig.text(
            right, first, "\n" * i + curve.label.split(" (")[0], ha="right", color=COLOURS[i % len(COLOURS)], **lines
        )
    return figure_bytes(fig)
