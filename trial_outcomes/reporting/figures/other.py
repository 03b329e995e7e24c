"""Report figures beyond the survival curves: CONSORT flow, forest plot, swimmer plot.

Each takes plain tables and returns deterministic PNG bytes (``plots.png_bytes``).
"""

from __future__ import annotations

import textwrap

import numpy as np
import polars as pl

from trial_outcomes.analysis.adsl import study_day
from trial_outcomes.reporting.figures.survival import DAYS_PER_MONTH, _pyplot, png_bytes


def consort_figure(counts: dict, not_infused: list[tuple[str, int]], dpi: int = 150) -> bytes:
    """Flow of subjects: enrolled -> infused (safety) -> evaluable (efficacy) -> status
    at the cut, with the not-infused subjects and their reasons beside."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.axis("off")

    def box(x, y, text, w=3.6, h=1.1):
        ax.add_patch(plt.Rectangle((x - w / 2, y - h / 2), w, h, fill=False, linewidth=1.0, edgecolor="#1f4e79"))
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5)

    def arrow(x0, y0, x1, y1):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "color": "#555555", "lw": 0.9})

    box(3, 9.2, f"Enrolled (consented)\nn = {counts['enrolled']}")
    box(3, 6.9, f"Infused: safety set\nn = {counts['infused']}")
    box(3, 4.6, f"Evaluable: efficacy set\nn = {counts['evaluable']}")
    status = (
        f"Status at the data cut\nongoing {counts['ongoing']}   died {counts['died']}\n"
        f"withdrawn {counts['withdrawn']}   lost {counts['lost']}"
    )
    box(3, 2.0, status, h=1.5)
    lines = [textwrap.fill(f"{reason}: {n}", 34, subsequent_indent="  ") for reason, n in not_infused] or ["none"]
    reasons = "\n".join(lines)
    n_lines = reasons.count("\n") + 2
    box(
        7.5,
        8.05,
        f"Not infused: n = {counts['enrolled'] - counts['infused']}\n{reasons}",
        w=4.6,
        h=0.3 + 0.36 * n_lines,
    )
    arrow(3, 8.65, 3, 7.45)
    arrow(3, 6.35, 3, 5.15)
    arrow(3, 4.05, 3, 2.75)
    arrow(3, 8.05, 5.4, 8.05)
    not_evaluable = counts["infused"] - counts["evaluable"]
    ax.text(3.15, 5.75, f"withdrawn before any assessment: {not_evaluable}", fontsize=7.5, color="#555555")
    ax.text(3.15, 3.45, f"per-protocol set: {counts['per_protocol']}", fontsize=7.5, color="#555555")
    return png_bytes(fig, dpi)


def forest_figure(cox: pl.DataFrame, endpoint: str, dpi: int = 150) -> bytes:
    """Hazard ratios (log scale) with 95 % CIs of each subgroup level against its
    reference level, for one endpoint (primary analysis)."""
    plt = _pyplot()
    rows = cox.filter((pl.col("endpoint") == endpoint) & (pl.col("analysis") == "primary")).sort("group_var", "group")
    n = max(rows.height, 1)
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.38 * n))
    fig.subplots_adjust(left=0.42, right=0.78, top=0.88, bottom=0.18)
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

    def usable(v) -> bool:
        return v is not None and np.isfinite(v) and v > 0

    finite = [v for v in rows["hr_lcl"].to_list() + rows["hr_ucl"].to_list() if usable(v)]
    low, high = (min(finite + [0.5]), max(finite + [2.0])) if finite else (0.25, 4.0)
    low, high = max(low, 1 / 64), min(high, 64)  # a CI wider than that is drawn to the edge
    ticks = [t for t in (1 / 64, 1 / 32, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64) if low / 2 <= t <= high * 2]
    xlim = (min(ticks[0], low * 0.9), max(ticks[-1], high * 1.1))
    y = np.arange(rows.height)[::-1]
    for yi, r in zip(y, rows.iter_rows(named=True)):
        label = f"{r['group_var']}: {r['group']} vs {r['reference']}"
        ax.text(-0.02, yi, label, transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=8)
        if not usable(r["hr"]):
            ax.text(1.0, yi, "not estimable", ha="center", va="center", fontsize=7.5, color="#777777")
            continue
        lo = r["hr_lcl"] if usable(r["hr_lcl"]) else xlim[0]
        hi = r["hr_ucl"] if usable(r["hr_ucl"]) else xlim[1]
        ax.plot([max(lo, xlim[0]), min(hi, xlim[1])], [yi, yi], color="#1f4e79", linewidth=1.2)
        ax.plot([min(max(r["hr"], xlim[0]), xlim[1])], [yi], marker="s", color="#1f4e79", markersize=5)
        ax.text(
            1.02,
            yi,
            f"{r['hr']:.2f} ({lo:.2f}-{hi:.2f})" if usable(r["hr_ucl"]) else f"{r['hr']:.2f} (CI not finite)",
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="center",
            fontsize=8,
        )
    ax.axvline(1.0, color="#999999", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    ax.set_yticks([])
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("Hazard ratio (95 % CI), Cox, Efron ties")
    ax.set_title(f"{endpoint}: subgroup hazard ratios", fontsize=10, loc="left")
    return png_bytes(fig, dpi)


SWIMMER_LIMIT = 150


def swimmer_figure(adsl: pl.DataFrame, dpi: int = 120) -> bytes:
    """One lane per infused subject from day 0 to death or last follow-up, with
    remission, relapse, HSCT, death and ongoing (arrow) marks; past
    ``SWIMMER_LIMIT`` subjects, the most recently infused ones."""
    plt = _pyplot()
    recent = adsl.filter(pl.col("SAFFL") == "Y").sort("TRTSDT", "USUBJID", descending=True).head(SWIMMER_LIMIT)
    safety = recent.with_columns(study_day(pl.coalesce("DTHDT", "LSTALVDT")).alias("_end")).sort("_end", "USUBJID")
    lanes = safety.with_columns(
        study_day(pl.col(date)).alias(name)
        for date, name in (("FRMDT", "_cr"), ("RELDT", "_rel"), ("HSCTDT", "_hsct"), ("DTHDT", "_dth"))
    )
    n = lanes.height
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.085 * n))
    fig.subplots_adjust(left=0.12, right=0.97, top=1 - 0.5 / (1.2 + 0.085 * n), bottom=0.6 / (1.2 + 0.085 * n))
    y = np.arange(n)
    months = lambda s: s.to_numpy().astype(float) / DAYS_PER_MONTH  # noqa: E731
    ax.barh(y, months(lanes["_end"]), height=0.6, color="#d6e4f0", edgecolor="none")
    marks = (
        ("_cr", "o", "#2e8b57", "CR/CRi"),
        ("_hsct", "D", "#8e44ad", "HSCT"),
        ("_rel", "X", "#d35400", "Relapse"),
        ("_dth", "s", "#000000", "Death"),
    )
    for col, marker, colour, label in marks:
        has = lanes[col].is_not_null().to_numpy()
        ax.plot(
            months(lanes[col].fill_null(0))[has],
            y[has],
            linestyle="none",
            marker=marker,
            markersize=3.2,
            color=colour,
            label=label,
        )
    ongoing = (lanes["DISPSTAT"] == "ONGOING").to_numpy()
    ax.plot(
        months(lanes["_end"])[ongoing] + 0.4,
        y[ongoing],
        linestyle="none",
        marker=">",
        markersize=3,
        color="#1f4e79",
        label="Ongoing at cut",
    )
    ax.set_yticks(y)
    ax.set_yticklabels(lanes["USUBJID"].to_list(), fontsize=4.5)
    ax.set_ylim(-1, n)
    ax.set_xlabel("Months since infusion")
    ax.set_title("Course of each infused subject", fontsize=10, loc="left")
    ax.legend(loc="lower right", fontsize=7, frameon=True, framealpha=0.9, edgecolor="#cccccc")
    return png_bytes(fig, dpi)
