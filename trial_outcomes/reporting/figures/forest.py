"""Forest plots: hazard ratios of subgroups against their reference level (log
scale), and response rates by subgroup against the overall rate."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
from typing_extensions import TypeIs

from trial_outcomes.reporting.figures.style import COLOURS, GREY, figure_bytes, new_figure


@dataclass(frozen=True)
class ForestRow:
    label: str  # "Sex: Female vs Male"
    estimate: float | None
    lcl: float | None
    ucl: float | None
    right: str  # the numbers printed at the right: "1.23 (0.80-1.90)" or "not estimable: ..."
    heading: bool = False  # a subgroup heading line, without an estimate


@dataclass(frozen=True)
class ForestSpec:
    title: str
    xlabel: str
    rows: list[ForestRow]
    log_scale: bool  # hazard ratios
    reference: float  # 1 for hazard ratios, the overall rate for response
    reference_label: str
    right_header: str


def _finite(v: float | None) -> TypeIs[float]:
    return v is not None and bool(np.isfinite(v)) and v > 0


def tick_label(t: float) -> str:
    """A hazard-ratio tick: ``1/16`` rather than ``0.0625`` (the decimals ran together)."""
    return f"{t:g}" if t >= 0.25 else f"1/{round(1 / t)}"


#: the characters of a row's label on one line at the left of the plot (0.40 of 7.4 inches)
LABEL_WIDTH = 46


def draw(spec: ForestSpec) -> bytes:
    n = max(len(spec.rows), 1)
    height = 1.2 + 0.24 * n
    fig = new_figure(7.4, height)
    ax = fig.add_axes((0.40, 0.55 / height, 0.33, 1 - 1.05 / height))
    values = [v for r in spec.rows for v in (r.lcl, r.ucl, r.estimate) if _finite(v)] + [spec.reference]
    if spec.log_scale:
        low, high = max(min([*values, 0.5]), 1 / 64), min(max([*values, 2.0]), 64)
        ax.set_xscale("log")
        ticks = [
            t
            for t in (1 / 64, 1 / 32, 1 / 16, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)
            if low / 1.5 <= t <= high * 1.5
        ]
        limits = (min(ticks[0], low * 0.9), max(ticks[-1], high * 1.1))
        if len(ticks) > 6:  # powers of 4 only: on 0.33 of a 7.4-inch figure the labels never run together
            ticks = [t for t in ticks if round(np.log2(t)) % 2 == 0]
    else:
        ticks = [0, 0.25, 0.5, 0.75, 1.0]
        limits = (0.0, 1.0)
    y = np.arange(len(spec.rows))[::-1]
    for yi, row in zip(y, spec.rows, strict=True):
        weight = "bold" if row.heading else "normal"
        # a label longer than the left margin holds (about 46 characters at 7.5 pt) is two
        # smaller lines: a pooled trial's title with its counts ran off the page's left edge
        left = textwrap.wrap(row.label, LABEL_WIDTH, max_lines=2, placeholder="...") or [""]
        ax.text(
            -0.03,
            yi,
            "\n".join(left),
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=7.5 if len(left) == 1 else 6,
            **({"linespacing": 1.0} if len(left) > 1 else {}),  # one line placed as before
            fontweight=weight,
            clip_on=False,
        )
        right = textwrap.wrap(row.right, 38, max_lines=2, placeholder="...") or [""]
        ax.text(
            1.03,
            yi,
            "\n".join(right),
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="center",
            fontsize=7.5 if len(right) == 1 else 6,
            linespacing=1.0,
            color="#333333" if _finite(row.estimate) else GREY,
            clip_on=False,
        )
        if row.heading or not _finite(row.estimate):
            continue
        lo = row.lcl if _finite(row.lcl) else limits[0]
        hi = row.ucl if _finite(row.ucl) else limits[1]
        ax.plot([max(lo, limits[0]), min(hi, limits[1])], [yi, yi], color=COLOURS[0], linewidth=1.2)
        ax.plot(
            [min(max(row.estimate, limits[0]), limits[1])],
            [yi],
            marker="s",
            color=COLOURS[0],
            markersize=4.5,
        )
    ax.axvline(spec.reference, color=GREY, linewidth=0.8, linestyle="--")
    ax.set_xlim(*limits)
    ax.set_xticks(ticks)
    ax.set_xticklabels([tick_label(t) if spec.log_scale else f"{100 * t:.0f}%" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_ylim(-0.7, len(spec.rows) - 0.3)
    ax.set_xlabel(spec.xlabel, fontsize=8)
    ax.text(
        1.03,
        len(spec.rows) - 0.1,
        spec.right_header,
        transform=ax.get_yaxis_transform(),
        ha="left",
        va="bottom",
        fontsize=7.5,
        fontweight="bold",
        clip_on=False,
    )
    # over the plot, beside the header of the numbers: under the axis it would touch the tick labels
    ax.text(
        spec.reference,
        len(spec.rows) - 0.1,
        spec.reference_label,
        ha="center",
        va="bottom",
        fontsize=6.5,
        color=GREY,
        clip_on=False,
    )
    fig.text(0.01, 1 - 0.15 / height, spec.title, fontsize=10, fontweight="bold", va="top")
    return figure_bytes(fig)
