"""The CONSORT-style flow of subjects and the swimmer plot of each infused subject."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import numpy as np

from trial_outcomes.reporting.figures.style import GREY, figure_bytes, new_figure


@dataclass(frozen=True)
class ConsortSpec:
    enrolled: int
    infused: int
    evaluable: int
    per_protocol: int
    not_infused: list[tuple[str, int]]  # reason, subjects
    status: dict[str, int]  # ongoing, died, withdrawn, lost (infused subjects)
    evaluable_and_per_protocol: int = 0  # in both analysis sets


def draw_consort(spec: ConsortSpec) -> bytes:
    """Enrolled, then the infused (the safety set) or not infused with the reasons; below the
    safety set, side by side, its two analysis sets and its subjects' status at the cut. The
    efficacy and per-protocol sets are each a part of the safety set, not one of the other (a
    DSMB reviewer read the per-protocol set, drawn under the efficacy set, and the status box,
    drawn under the per-protocol set, as parts of them: 2026-12-07)."""
    fig = new_figure(7.4, 3.75)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
    ax.set_xlim(0, 10)
    ax.set_ylim(2.4, 10)
    ax.axis("off")

    def box(x: float, y: float, text: str, w: float = 3.6, h: float = 1.1) -> None:
        from matplotlib.patches import FancyBboxPatch

        ax.add_patch(
            FancyBboxPatch(
                (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02", fill=False, linewidth=1.0, edgecolor="#1f4e79"
            )
        )
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5)

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "color": GREY, "lw": 0.9})

    box(3, 9.2, f"Enrolled (consented)\nn = {spec.enrolled}")
    box(3, 6.9, f"Infused: safety set\nn = {spec.infused}")
    lines = [textwrap.fill(f"{reason}: {n}", 34, subsequent_indent="  ") for reason, n in spec.not_infused if n]
    reasons = "\n".join(lines) or "none"
    n_lines = reasons.count("\n") + 2
    box(7.5, 8.05, f"Not infused: n = {spec.enrolled - spec.infused}\n{reasons}", w=4.6, h=0.3 + 0.36 * n_lines)
    arrow(3, 8.65, 3, 7.45)
    arrow(3, 8.05, 5.2, 8.05)
    # the safety set's three parts, side by side
    s = spec.status
    parts = [
        (
            1.65,
            f"Efficacy set: n = {spec.evaluable}\n(infused, not withdrawn\nbefore any assessment;\n"
            f"withdrawn before: {spec.infused - spec.evaluable})",
        ),
        (
            5.0,
            f"Per-protocol set: n = {spec.per_protocol}\n(infused and eligible;\n"
            f"not shown eligible: {spec.infused - spec.per_protocol})\n"
            f"in both sets: {spec.evaluable_and_per_protocol}",
        ),
        (
            8.35,
            f"Status at the data cut\nongoing {s.get('ONGOING', 0)}   died {s.get('DIED', 0)}\n"
            f"withdrawn {s.get('WITHDRAWN', 0)}   lost {s.get('LOST', 0)}",
        ),
    ]
    ax.plot([3, 3], [6.35, 5.6], color=GREY, lw=0.9)
    ax.plot([parts[0][0], parts[-1][0]], [5.6, 5.6], color=GREY, lw=0.9)
    for x, text in parts:
        box(x, 3.7, text, w=3.2, h=2.2)
        arrow(x, 5.6, x, 4.8)
    return figure_bytes(fig)


@dataclass(frozen=True)
class SwimmerSpec:
    ids: list[str]
    end: list[float]  # months of follow-up (to death or last known alive)
    remission: list[float | None]
    hsct: list[float | None]
    new_therapy: list[float | None]
    relapse: list[float | None]
    death: list[float | None]
    ongoing: list[bool]
    title: str
    max_months: float = 0.0  # the time axis of every page of the set (0: this page's own)
    #: withdrawn or lost to follow-up: the bar's end marked (a DSMB reviewer found three bars
    #: that simply stopped, 2026-12-07)
    left: list[bool] = field(default_factory=list)


def draw_swimmer(spec: SwimmerSpec) -> bytes:
    n = len(spec.ids)
    lane = 0.13
    height = 1.5 + lane * n
    fig = new_figure(7.4, height)
    ax = fig.add_axes((0.13, 0.65 / height, 0.84, 1 - 1.25 / height))
    y = np.arange(n)
    # one line per subject (a single collection, cheaper than a bar each), 62 % of its lane
    ax.hlines(y, 0, spec.end, color="#d6e4f0", linewidth=0.62 * lane * 72, capstyle="butt")
    marks = (
        ("remission", "o", "#2e8b57", "First remission (CR/CRi)"),
        ("hsct", "D", "#8e44ad", "HSCT"),
        ("new_therapy", "P", "#b7950b", "New therapy"),
        ("relapse", "X", "#d35400", "Relapse"),
        ("death", "s", "#000000", "Death"),
    )
    for name, marker, colour, label in marks:
        values = getattr(spec, name)
        has = [i for i, v in enumerate(values) if v is not None]
        ax.plot(
            [values[i] for i in has],
            [y[i] for i in has],
            linestyle="none",
            marker=marker,
            markersize=4,
            color=colour,
            label=label,
        )
    ongoing = [i for i, o in enumerate(spec.ongoing) if o]
    ax.plot(
        [spec.end[i] + 0.5 for i in ongoing],
        [y[i] for i in ongoing],
        linestyle="none",
        marker=">",
        markersize=4,
        color="#1f4e79",
        label="Ongoing at the cut",
    )
    gone = [i for i, o in enumerate(spec.left) if o]
    ax.plot(
        [spec.end[i] for i in gone],
        [y[i] for i in gone],
        linestyle="none",
        marker="|",
        markersize=7,
        markeredgewidth=1.8,
        color=GREY,
        label="Withdrawn or lost",
    )
    ax.set_yticks(y)
    ax.set_yticklabels(spec.ids, fontsize=6.5)
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlim(0, max(spec.max_months, max(spec.end, default=1)) + 2)
    ax.set_xlabel("Months since infusion")
    fig.text(0.01, 1 - 0.12 / height, spec.title, fontsize=10, fontweight="bold", va="top")
    fig.legend(
        loc="upper center",
        bbox_to_anchor=(0.55, 1 - 0.36 / height),
        ncol=7,
        fontsize=7,
        frameon=False,
        handletextpad=0.2,
        columnspacing=0.9,
    )
    return figure_bytes(fig)
