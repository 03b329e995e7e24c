"""The stopping rules across the published cuts of a drop: one panel per rule, its
statistic at each cut against its boundary (page 1 of the report)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trial_outcomes.reporting.figures.style import COLOURS, GREY, figure_bytes, new_figure

ALERT = "#c0392b"


@dataclass(frozen=True)
class RulePanel:
    title: str
    ylabel: str
    cuts: list[str]
    statistic: list[float | None]
    crossed: list[bool]
    boundary: float | None
    boundary_label: str
    probability: bool  # a probability axis (0-1) rather than a count
    #: each cut's own boundary (a cut published under another plan had another one); empty:
    #: ``boundary`` at every cut
    boundaries: tuple[float | None, ...] = ()

    def past(self, i: int) -> bool:
        """The statistic at cut ``i`` is on the boundary's far side (above a probability
        boundary, at or below a count): crossed, unless the rule was not yet judged."""
        y = self.statistic[i]
        bound = self.boundaries[i] if self.boundaries else self.boundary
        if y is None or bound is None:
            return False
        return y > bound if self.probability else y <= bound


@dataclass(frozen=True)
class StoppingHistorySpec:
    panels: list[RulePanel]


def draw(spec: StoppingHistorySpec) -> bytes:
    return figure_bytes(figure(spec))


def figure(spec: StoppingHistorySpec) -> Any:
    """The matplotlib figure of ``draw``, before it is written."""
    n = max(len(spec.panels), 1)
    fig = new_figure(7.4, 1.75)
    for k, panel in enumerate(spec.panels):
        ax = fig.add_axes((0.08 + k * 0.5, 0.3, 0.38, 0.55))
        x = list(range(len(panel.cuts)))
        points = [(xi, y, c) for xi, y, c in zip(x, panel.statistic, panel.crossed, strict=True) if y is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], color=COLOURS[0], linewidth=1.2)
            for xi, y, crossed in points:
                # past the line yet not crossed: not judged yet (too few evaluable subjects, or
                # stage 1 still open): a hollow point, as a red team read a filled one as crossed
                hollow = panel.past(xi) and not crossed
                colour = ALERT if crossed else COLOURS[0]
                ax.plot(
                    [xi], [y], marker="o", markersize=4.5, color=colour, markerfacecolor="white" if hollow else colour
                )
        varying = len({b for b in panel.boundaries if b is not None}) > 1
        if varying:  # each cut against its own plan's boundary
            ax.step(
                x,
                [float("nan") if b is None else b for b in panel.boundaries],
                where="mid",
                color=ALERT,
                linewidth=0.9,
                linestyle="--",
                label=panel.boundary_label,
            )
        if panel.boundary is not None:
            if not varying:
                ax.axhline(panel.boundary, color=ALERT, linewidth=0.9, linestyle="--", label=panel.boundary_label)
            # the boundary is named in a legend placed where it covers the fewest points and
            # lines: a label written on the line crossed the statistic's own line when the two
            # were close (8 responders against a futility boundary of 7)
            ax.legend(loc="best", fontsize=6.5, frameon=True, framealpha=0.9, edgecolor="none", handlelength=2.2)
        values = [p[1] for p in points] + [b for b in (panel.boundary, *panel.boundaries) if b is not None]
        if panel.probability:
            ax.set_ylim(0, 1.02)
        else:
            from matplotlib.ticker import MaxNLocator

            ax.set_ylim(0, max([*values, 1.0]) * 1.35)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.set_xlim(-0.5, max(len(x) - 0.5, 0.5))
        step = max(1, -(-len(x) // 6))  # at most six date labels
        ax.set_xticks(x[::step])
        ax.set_xticklabels(panel.cuts[::step], fontsize=7, rotation=20, ha="right")
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel(panel.ylabel, fontsize=7.5)
        ax.set_title(panel.title, fontsize=8.5, loc="left")
        ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
    if n == 0:
        fig.text(0.5, 0.5, "No stopping rules", ha="center", color=GREY)
    return fig
