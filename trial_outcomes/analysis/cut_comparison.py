"""What changed between two interim analyses (two data cuts)."""

from __future__ import annotations

import polars as pl

from trial_outcomes.contracts import CutComparison
from trial_outcomes.dates import DAYS_PER_MONTH
from trial_outcomes.formatting import months, number, pct, signed
from trial_outcomes.text import first_of

COLUMNS = {name: col.dtype for name, col in CutComparison.columns().items()}
#: the rows whose ``change`` names subjects (closed report only)
NEW_ITEMS = ("New subjects", "New deaths", "New relapses")


def _count(adsl: pl.DataFrame, expr: pl.Expr) -> int:
    return int(adsl.select(expr.fill_null(False).sum()).item())


def _ids(frame: pl.DataFrame, limit: int = 12) -> str:
    return first_of(sorted(frame["USUBJID"].to_list()), limit)


def compare_cuts(
    previous_cut: str, prev_adsl: pl.DataFrame, prev_summary: pl.DataFrame, adsl: pl.DataFrame, summary: pl.DataFrame
) -> pl.DataFrame:
    """Counts, new subjects and events, and overall primary estimates side by side.
    ``change`` is current minus previous for counts; the new subjects' ids otherwise."""
    rows = []
    counts = {
        "Enrolled": pl.col("USUBJID").is_not_null(),
        "Infused (safety set)": pl.col("SAFFL") == "Y",
        "CR/CRi by day 28 (efficacy set, evaluable)": (pl.col("EFFFL") == "Y")
        & (pl.col("CRFL") == "Y")
        & (pl.col("D28PNDFL") != "Y"),
        "Relapses": pl.col("RELDT").is_not_null(),
        "Consolidative HSCT": pl.col("HSCTDT").is_not_null(),
        "Deaths": pl.col("DTHDT").is_not_null(),
        # among the infused, as the disposition table counts them (a subject withdrawn before
        # infusion, after a manufacturing failure, is there as not infused)
        "Lost or withdrawn (infused)": (pl.col("SAFFL") == "Y") & pl.col("DISPSTAT").is_in(["LOST", "WITHDRAWN"]),
    }
    for item, expr in counts.items():
        before, now = _count(prev_adsl, expr), _count(adsl, expr)
        rows.append({"item": item, "previous": str(before), "current": str(now), "change": signed(now - before, "", 0)})
    new_subjects = adsl.join(prev_adsl.select("USUBJID"), on="USUBJID", how="anti")
    rows.append(
        {"item": NEW_ITEMS[0], "previous": "", "current": str(new_subjects.height), "change": _ids(new_subjects)}
    )
    for label, col in zip(NEW_ITEMS[1:], ("DTHDT", "RELDT"), strict=True):
        had = prev_adsl.filter(pl.col(col).is_not_null()).select("USUBJID")
        new = adsl.filter(pl.col(col).is_not_null()).join(had, on="USUBJID", how="anti")
        rows.append({"item": label, "previous": "", "current": str(new.height), "change": _ids(new)})
    overall = (pl.col("group_var") == "all") & (pl.col("analysis") == "primary")
    previous = {r["endpoint"]: r for r in prev_summary.filter(overall).iter_rows(named=True)}
    rates = [c for c in summary.columns if c.startswith("rate_") and c.endswith("m") and c in prev_summary.columns]
    measures = [
        ("n_events", "events"),
        ("median_days", "median, months"),
        *[(c, f"{c.removeprefix('rate_').removesuffix('m')}-month estimate, %") for c in rates],
    ]
    for r in summary.filter(overall).iter_rows(named=True):
        p = previous.get(r["endpoint"], {})
        for key, label in measures:
            if r["endpoint"] in ("CIR", "NRM") and key == "median_days":
                continue
            old, new = p.get(key), r[key]
            rows.append({"item": f"{r['endpoint']} {label}", **_side_by_side(key, old, new)})
    return pl.DataFrame([{**r, "previous_cut": previous_cut} for r in rows], schema=COLUMNS)


def _shown_difference(old: str, new: str, exact: float) -> float:
    """The difference of two numbers as the table prints them ("84.2%" to "87.4%": 3.2),
    so that the change reads as the columns beside it do: a red team found "+3.1 pp"
    between 84.2% and 87.4% (3.15 unrounded). ``exact`` where either is not a plain
    number (a median under two days printed in days)."""
    try:
        return float(new.rstrip("%")) - float(old.rstrip("%"))
    except ValueError:
        return exact


def _side_by_side(key: str, old: float | None, new: float | None) -> dict[str, str]:
    """Previous, current and change in the report's units: counts as counts, medians
    in months (NR when not reached), estimates in % with the change in percentage
    points (trial_outcomes.formatting), the change that of the printed values."""
    both = old is not None and new is not None
    if key == "median_days":
        shown = {"previous": "NR" if old is None else months(old), "current": "NR" if new is None else months(new)}
        exact = (new - old) / DAYS_PER_MONTH if both else 0.0  # type: ignore[operator]
        change = signed(_shown_difference(shown["previous"], shown["current"], exact), " mo") if both else ""
        return {**shown, "change": change}
    if key.startswith("rate_"):
        shown = {"previous": pct(old), "current": pct(new)}
        exact = 100 * (new - old) if both else 0.0  # type: ignore[operator]
        change = signed(_shown_difference(shown["previous"], shown["current"], exact), " pp") if both else ""
        return {**shown, "change": change}
    return {
        "previous": number(old),
        "current": number(new),
        "change": signed(new - old, "", 0) if both else "",  # type: ignore[operator]
    }
