"""CAR transgene over time, one line per subject on a log scale (a spaghetti plot),
coloured by the day-28 response: days 0-28 (the expansion) on the left, the whole
follow-up in months on the right. Values below the limit of quantification are open
grey markers at the value reported, and the lines skip them."""

from __future__ import annotations

from dataclasses import dataclass

from trial_outcomes.dates import DAYS_PER_MONTH
from trial_outcomes.reporting.figures.style import COLOURS, GREY, figure_bytes, new_figure

EXPANSION_DAYS = 28


@dataclass(frozen=True)
class Profile:
    group: int  # index into SpaghettiSpec.groups
    day: list[float]
    value: list[float]
    blq: list[bool]


@dataclass(frozen=True)
class SpaghettiSpec:
    title: str
    subtitle: str
    groups: list[str]
    profiles: list[Profile]


def _copies(value: float, _: object = None) -> str:
    """A tick of the log axis as a plain number (10, 1,000, 100,000)."""
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def draw(spec: SpaghettiSpec) -> bytes:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig = new_figure(7.4, 3.7)
    fig.text(0.01, 0.955, spec.title, fontsize=10, fontweight="bold", va="top")
    fig.text(0.01, 0.89, spec.subtitle, fontsize=7.5, color=GREY, va="top")
    early = fig.add_axes((0.12, 0.14, 0.4, 0.62))
    late = fig.add_axes((0.57, 0.14, 0.4, 0.62), sharey=early)
    counts = [0] * len(spec.groups)
    for p in spec.profiles:
        counts[p.group] += 1
        colour = COLOURS[p.group % len(COLOURS)]
        points = list(zip(p.day, p.value, p.blq, strict=True))
        for ax, scale, keep in (
            (early, 1.0, lambda d: d <= EXPANSION_DAYS),
            (late, 1 / DAYS_PER_MONTH, lambda d: d >= EXPANSION_DAYS),
        ):
            quantified = [(d * scale, v) for d, v, b in points if keep(d) and not b and v > 0]
            if quantified:
                xs, ys = [q[0] for q in quantified], [q[1] for q in quantified]
                ax.plot(xs, ys, color=colour, linewidth=0.6, alpha=0.5)
                ax.plot(xs, ys, "o", color=colour, markersize=1.6)
            below = [(d * scale, v) for d, v, b in points if keep(d) and b and v > 0]
            if below:
                ax.plot([q[0] for q in below], [q[1] for q in below], "o", mfc="none", color=GREY, markersize=2.4)
    early.set_yscale("log")
    early.yaxis.set_major_locator(LogLocator(base=10))
    early.yaxis.set_major_formatter(FuncFormatter(_copies))
    early.yaxis.set_minor_formatter(NullFormatter())
    early.set_xlim(-1, EXPANSION_DAYS + 1)
    early.set_xticks([0, 7, 14, 21, 28])
    early.set_xlabel("Days from infusion (expansion)")
    early.set_ylabel("CAR transgene (copies/ug gDNA)")
    late.set_xlabel("Months from infusion (persistence, from day 28)")
    late.tick_params(labelleft=False)
    legend = [(f"\u2014 {name} (n={counts[k]})", COLOURS[k % len(COLOURS)]) for k, name in enumerate(spec.groups)]
    entries = [*legend, ("\u25cb below the LLOQ", GREY)]
    # four short entries in a row; more, or a long one ("Not evaluable for response"), three a row
    per_row = 4 if len(entries) <= 4 and all(len(text) <= 30 for text, _ in entries) else 3
    for k, (text, colour) in enumerate(entries):
        row, column = divmod(k, per_row)
        fig.text(0.12 + (0.25 if per_row == 4 else 0.3) * column, 0.83 - 0.045 * row, text, color=colour, fontsize=7.5)
    if not spec.profiles:
        early.text(0.5, 0.5, "No transgene samples", transform=early.transAxes, ha="center", color=GREY)
    return figure_bytes(fig)
