"""Scaled Schoenfeld residuals against time, one panel per model column, for a
covariate whose proportional-hazards test rejects (R's ``plot(cox.zph(fit))``):
under proportional hazards the points scatter around a flat line at the
coefficient; a trend is a hazard ratio that changes with time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trial_outcomes.reporting.figures.style import COLOURS, GREY, LIGHT, figure_bytes, new_figure


@dataclass(frozen=True)
class ResidualPanel:
    label: str  # "CD19+ blasts, per 10 percentage points" or "Disease status: Primary refractory"
    km_time: list[float]  # the test's time scale, 1 - KM(t-)
    months: list[float]  # the same events' times in months (tick labels)
    residual: list[float]
    coefficient: float | None  # the model's log hazard ratio


@dataclass(frozen=True)
class SchoenfeldSpec:
    title: str
    panels: list[ResidualPanel]


def running_mean(x: np.ndarray, y: np.ndarray, share: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """A centred running mean of ``y`` over ``share`` of the points, in the order of
    ``x``: the trend the eye should follow (R draws a spline; the test does not
    depend on either)."""
    n = len(x)
    if n < 5:
        return x, y
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    k = max(3, int(n * share)) | 1
    padded = np.concatenate([np.full(k // 2, ys[0]), ys, np.full(k // 2, ys[-1])])
    # the window sums from one cumulative sum: linear in n (a convolution with a window of a
    # fifth of the points was quadratic: 158 s of figures at a million subjects)
    sums = np.cumsum(np.concatenate([[0.0], padded]))
    return xs, (sums[k:] - sums[:-k]) / k


#: residuals drawn as vector points up to this many per panel; more are drawn as one image
VECTOR_POINTS = 2_000
#: the running mean is drawn through at most this many of its points (it is smooth)
LINE_POINTS = 500


def thinned(x: np.ndarray, y: np.ndarray, most: int = LINE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``most`` points of a line, evenly spaced by rank, the first and last kept."""
    if len(x) <= most:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, most).round().astype(int))
    return x[keep], y[keep]


def draw(spec: SchoenfeldSpec) -> bytes:
    n = max(len(spec.panels), 1)
    fig = new_figure(7.4, 1.2 + 2.1 * n)
    fig.suptitle(spec.title, fontsize=10, x=0.02, ha="left")
    for k, panel in enumerate(spec.panels):
        top = 1 - (0.9 / (1.2 + 2.1 * n)) - k * (2.1 / (1.2 + 2.1 * n))
        height = 1.45 / (1.2 + 2.1 * n)
        ax = fig.add_axes((0.1, top - height, 0.85, height))
        x, y = np.asarray(panel.km_time), np.asarray(panel.residual)
        # every residual is drawn; past VECTOR_POINTS they are one embedded image, not one
        # SVG element each (at 100,000 subjects a panel held 45,000 events: a 12 MB figure)
        ax.scatter(x, y, s=9, color=COLOURS[0], alpha=0.55, linewidths=0, rasterized=len(x) > VECTOR_POINTS)
        tx, ty = thinned(*running_mean(x, y))
        ax.plot(tx, ty, color=COLOURS[1], linewidth=1.4, label="running mean")
        if panel.coefficient is not None:
            ax.axhline(panel.coefficient, color=GREY, linestyle="--", linewidth=0.9, label="model coefficient")
        ax.axhline(0, color=LIGHT, linewidth=0.7)
        ax.set_title(panel.label, fontsize=9, loc="left")
        ax.set_ylabel("Beta(t)")
        if len(x):
            ticks = np.quantile(x, [0.0, 0.25, 0.5, 0.75, 1.0])
            months = np.interp(ticks, np.sort(x), np.sort(np.asarray(panel.months)))
            ax.set_xticks(ticks)
            ax.set_xticklabels([f"{m:.1f}" for m in months])
        ax.set_xlabel("Months from the endpoint's start (spaced by 1 - KM: the test's time scale)")
        if k == 0:
            ax.legend(loc="upper right", frameon=False, fontsize=7)
    return figure_bytes(fig)
