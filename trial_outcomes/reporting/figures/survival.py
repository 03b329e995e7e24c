"""Survival figures for a DSMB report: Kaplan-Meier and cumulative-incidence curves
with CI bands, censoring ticks, medians, landmarks and a number-at-risk table
aligned under the time axis. Input is ``km_curves`` rows; output PNG bytes
without timestamps or software stamps, so the same data give the same bytes."""

from __future__ import annotations

import io

import numpy as np
import polars as pl

from trial_outcomes.analysis.survival_summary import DAYS_PER_MONTH

COLOURS = ("#1f4e79", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#7f8c8d")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "svg.hashsalt": "trial-outcomes",
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def png_bytes(fig, dpi: int = 150) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    _pyplot().close(fig)
    return buffer.getvalue()


def number_at_risk(curve: pl.DataFrame, t: float) -> int:
    """Subjects still at risk at day ``t``: n_risk at the first time >= t, else 0."""
    later = curve.filter(pl.col("time_days") >= t)
    return int(later["n_risk"][0]) if later.height else 0


def _step(curve: pl.DataFrame, start: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t = np.concatenate([[0.0], curve["time_days"].to_numpy()]) / DAYS_PER_MONTH
    est = np.concatenate([[start], curve["estimate"].fill_null(np.nan).to_numpy()])
    lcl = np.concatenate([[start], curve["lcl"].fill_null(np.nan).to_numpy()])
    ucl = np.concatenate([[start], curve["ucl"].fill_null(np.nan).to_numpy()])
    return t, est, lcl, ucl


def _fmt_days(value) -> str:
    return "NE" if value is None else f"{value:.0f}"


def survival_figure(
    curves: pl.DataFrame,
    summary: pl.DataFrame,
    title: str,
    cumulative: bool = False,
    landmark_months: tuple[int, ...] = (6, 12, 24),
    origin: str = "infusion",
    dpi: int = 150,
) -> bytes:
    """One figure: a curve per ``group`` of ``curves`` (already filtered to one
    endpoint, analysis and group variable) and the matching ``summary`` rows."""
    plt = _pyplot()
    groups = sorted(curves["group"].unique().to_list(), key=lambda g: (g != "all", g))
    horizon = max(float(curves["time_days"].max() or 0) / DAYS_PER_MONTH, 1.0)
    step = 3 if horizon <= 24 else 6 if horizon <= 60 else 12
    ticks = np.arange(0, horizon + step, step)
    fig = plt.figure(figsize=(7.5, 4.2 + 0.22 * len(groups)))
    grid = fig.add_gridspec(
        2, 1, height_ratios=[4.2, 0.35 + 0.22 * len(groups)], hspace=0.38, left=0.2, right=0.97, top=0.93, bottom=0.04
    )
    ax = fig.add_subplot(grid[0])
    table_ax = fig.add_subplot(grid[1], sharex=ax)
    start = 0.0 if cumulative else 1.0
    for i, group in enumerate(groups):
        colour = COLOURS[i % len(COLOURS)]
        curve = curves.filter(pl.col("group") == group).sort("time_days")
        row = summary.filter(pl.col("group") == group)
        row = row.row(0, named=True) if row.height else {}
        t, est, lcl, ucl = _step(curve, start)
        name = "All" if group == "all" else group
        label = f"{name} (n={row.get('n', curve['n_risk'][0] if curve.height else 0)}, events={row.get('n_events', 0)})"
        if not cumulative:
            label += f"; median {_fmt_days(row.get('median_days'))} d"
        ax.step(t, est, where="post", color=colour, linewidth=1.6, label=label)
        if len(groups) == 1:  # bands of several groups hide each other: single curves only
            ax.fill_between(t, lcl, ucl, step="post", color=colour, alpha=0.12, linewidth=0)
        censored = curve.filter(pl.col("n_censor") > 0)
        ax.plot(
            censored["time_days"].to_numpy() / DAYS_PER_MONTH,
            censored["estimate"].to_numpy(),
            linestyle="none",
            marker="|",
            markersize=7,
            color=colour,
        )
        table_ax.text(
            -0.045,
            -i,
            name,
            transform=table_ax.get_yaxis_transform(),
            ha="right",
            va="center",
            color=colour,
            fontsize=8,
        )
        for tick in ticks:
            table_ax.text(
                tick, -i, str(number_at_risk(curve, tick * DAYS_PER_MONTH)), ha="center", va="center", fontsize=8
            )
    if not cumulative:
        ax.axhline(0.5, color="#999999", linewidth=0.7, linestyle="--")
    for months in landmark_months:
        if months <= horizon:
            ax.axvline(months, color="#bbbbbb", linewidth=0.6, linestyle=":")
    if len(groups) == 1 and summary.height:
        row = summary.row(0, named=True)
        notes = [
            f"{m} mo: {_pct(row.get(f'rate_{m}m'))} ({_pct(row.get(f'rate_{m}m_lcl'))}-{_pct(row.get(f'rate_{m}m_ucl'))})"
            for m in landmark_months
            if row.get(f"rate_{m}m") is not None
        ]
        if notes:
            ax.text(
                0.99,
                0.97 if cumulative is False else 0.03,
                "\n".join(notes),
                transform=ax.transAxes,
                ha="right",
                va="top" if not cumulative else "bottom",
                fontsize=8,
                color="#333333",
            )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, ticks[-1])
    ax.set_xticks(ticks)
    ax.set_ylabel("Cumulative incidence" if cumulative else "Probability")
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(loc="lower left" if not cumulative else "upper left", fontsize=7.5, frameon=False)
    ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
    ax.set_xlabel(f"Months since {origin}")
    table_ax.set_ylim(-len(groups) + 0.5, 0.6)
    table_ax.set_title("Number at risk", fontsize=8, loc="left")
    table_ax.axis("off")
    return png_bytes(fig, dpi)


def _pct(value) -> str:
    return "NE" if value is None else f"{100 * value:.0f}%"
