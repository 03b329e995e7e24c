"""What changed between two interim analyses (two data cuts)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from trial_outcomes.contracts import CutComparison
from trial_outcomes.dates import DAYS_PER_MONTH
from trial_outcomes.formatting import months, number, pct, signed
from trial_outcomes.text import first_of

COLUMNS = {name: col.dtype for name, col in CutComparison.columns().items()}
NEW_ITEMS = ("New subjects", "New deaths", "New relapses")
#: what the previous cut published that this cut no longer says (a lost record, an event
#: withdrawn or re-dated by a corrected export): each names its subjects
WITHDRAWN_ITEMS = (
    "Subjects no longer in the data",
    "Infusions withdrawn or re-dated",
    "Responses by day 28 no longer counted",
    "Relapses withdrawn or re-dated",
    "Consolidative HSCT withdrawn or re-dated",
    "Deaths withdrawn or re-dated",
)
#: what the earlier publication should have held and did not: a subject, or an infusion,
#: relapse, HSCT or death, dated on or before its cut and new here (a late entry or a
#: correction), or a day-28 non-responder it counted who is a responder here (until
#: 2026-12-06 a red team's relapse re-read a day before the earlier cut was only a "new
#: relapse", as if after that interim, whose CIR, DFS and EFS had missed it)
BACKDATED_ITEMS = (
    "Subjects enrolled by the earlier cut, not in its publication",
    "Infusions dated by the earlier cut, not in its publication",
    "Responses by day 28 newly counted",
    "Relapses dated by the earlier cut, not in its publication",
    "Consolidative HSCT dated by the earlier cut, not in its publication",
    "Deaths dated by the earlier cut, not in its publication",
)
#: every row that revises what an earlier publication held
REVISED_ITEMS = WITHDRAWN_ITEMS + BACKDATED_ITEMS
#: the rows whose ``change`` names subjects (closed report only)
NAMING_ITEMS = NEW_ITEMS + REVISED_ITEMS
#: the dated facts a corrected export may withdraw or re-date, by their REVISED_ITEMS row
DATED = ("TRTSDT", None, "RELDT", "HSCTDT", "DTHDT")
REVISED_DATES = dict(zip(WITHDRAWN_ITEMS[1:], DATED, strict=True))
#: the same facts new to this publication, dated on or before the earlier cut
BACKDATED_DATES = dict(zip(BACKDATED_ITEMS[1:], DATED, strict=True))


def responder(suffix: str = "") -> pl.Expr:
    """The responders the table counts (its "CR/CRi by day 28" row), from the columns
    named with ``suffix`` (a joined frame's ``_now``)."""
    return (pl.col(f"EFFFL{suffix}") == "Y") & (pl.col(f"CRFL{suffix}") == "Y") & (pl.col(f"D28PNDFL{suffix}") != "Y")


def _count(adsl: pl.DataFrame, expr: pl.Expr) -> int:
    return int(adsl.select(expr.fill_null(False).sum()).item())


def _ids(frame: pl.DataFrame, limit: int = 12) -> str:
    return first_of(sorted(frame["USUBJID"].to_list()), limit)


def compare_cuts(
    previous_cut: str,
    prev_adsl: pl.DataFrame,
    prev_summary: pl.DataFrame,
    adsl: pl.DataFrame,
    summary: pl.DataFrame,
    previous_version: str | None = None,
) -> pl.DataFrame:
    """Counts, new subjects and events, what was revised, and overall primary estimates
    side by side. ``change`` is current minus previous for counts; the subjects' ids
    otherwise. ``previous_version``: the version of this same cut compared with (the one
    a superseding version replaces: ``previous_cut`` is then this cut)."""
    rows = []
    counts = {
        "Enrolled": pl.col("USUBJID").is_not_null(),
        "Infused (safety set)": pl.col("SAFFL") == "Y",
        "CR/CRi by day 28 (efficacy set, evaluable)": responder(),
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
    rows += revised(prev_adsl, adsl, dt.date.fromisoformat(previous_cut))
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
    return pl.DataFrame(
        [{**r, "previous_cut": previous_cut, "previous_version": previous_version} for r in rows], schema=COLUMNS
    )


def compare_publications(
    earlier: list[tuple[str, str | None, pl.DataFrame, pl.DataFrame]], adsl: pl.DataFrame, summary: pl.DataFrame
) -> pl.DataFrame:
    """``compare_cuts`` with each earlier publication in turn (its cut, its version when it
    is a version of this cut, its ADSL, its survival summary), one table; empty with none."""
    tables = [compare_cuts(cut, before, was, adsl, summary, version) for cut, version, before, was in earlier]
    return pl.concat(tables) if tables else pl.DataFrame(schema=COLUMNS)


def _named(item: str, found: list[str]) -> dict[str, str]:
    return {"item": item, "previous": "", "current": str(len(found)), "change": first_of(found, 12)}


def _not_compared(item: str, why: str) -> dict[str, str]:
    return {"item": item, "previous": "", "current": "", "change": f"not compared ({why})"}


def revised(prev_adsl: pl.DataFrame, adsl: pl.DataFrame, previous_cut: dt.date) -> list[dict[str, str]]:
    """What the previous publication (of ``previous_cut``) held that this one no longer
    says, subject by subject: a subject gone from the data, an infusion, relapse, HSCT or
    death date withdrawn (none now) or changed, a responder the day-28 rate no longer
    counts; then what it should have held and did not (``BACKDATED_ITEMS``): a subject
    enrolled, or an infusion, relapse, HSCT or death dated, on or before its cut and new
    here, and a day-28 non-responder it counted who is a responder here. A later cut of
    the same data keeps every one of the first (each is the first such date, or a
    response by day 28, fixed once seen) and adds none of the second, so a row here is a
    correction or a late entry in the export, or a rule of another code version: the
    board is told which published facts moved, not only the counts (a red team's
    withdrawn relapse left "Relapses +0" beside a new one; another's relapse re-read a
    day before the earlier cut was a "new relapse"). Each row counts the subjects
    (``current``) and names them with the dates (``change``: "BR-007 (2021-02-03 to
    none)", "BR-009 (2021-03-30)")."""
    ids = adsl.select("USUBJID")
    gone = prev_adsl.join(ids, on="USUBJID", how="anti")["USUBJID"].sort().to_list()
    rows = [_named(REVISED_ITEMS[0], gone)]
    both = prev_adsl.join(adsl, on="USUBJID", how="inner", suffix="_now").sort("USUBJID")
    day28 = ("EFFFL", "CRFL", "D28PNDFL")
    for item, col in REVISED_DATES.items():
        if col is None:
            if any(c not in prev_adsl.columns for c in day28):
                rows.append(_not_compared(item, "no day-28 flags"))
                continue
            lost = both.filter(responder().fill_null(False) & ~responder("_now").fill_null(False))
            found = [f"{r['USUBJID']} (now {_response_now(r)})" for r in lost.iter_rows(named=True)]
        elif col not in prev_adsl.columns:
            rows.append(_not_compared(item, f"no {col}"))
            continue
        else:
            was, now = pl.col(col), pl.col(f"{col}_now")
            moved = both.filter(was.is_not_null() & (now.is_null() | (was != now)))
            found = [f"{r['USUBJID']} ({r[col]} to {r[f'{col}_now'] or 'none'})" for r in moved.iter_rows(named=True)]
        rows.append(_named(item, found))
    new = adsl.join(prev_adsl.select("USUBJID"), on="USUBJID", how="anti").filter(
        (pl.col("ENRLDT") <= previous_cut).fill_null(False)
    )
    rows.append(
        _named(
            BACKDATED_ITEMS[0], [f"{r['USUBJID']} ({r['ENRLDT']})" for r in new.sort("USUBJID").iter_rows(named=True)]
        )
    )
    for item, col in BACKDATED_DATES.items():
        if col is None:
            if any(c not in prev_adsl.columns for c in day28):
                rows.append(_not_compared(item, "no day-28 flags"))
                continue
            # a day-28 non-responder the earlier publication counted (in the efficacy set,
            # not pending), a responder here
            counted = (pl.col("EFFFL") == "Y") & (pl.col("D28PNDFL") != "Y") & ~responder()
            gained = both.filter(counted.fill_null(False) & responder("_now").fill_null(False))
            found = [
                f"{r['USUBJID']} (was best response by day 28 {r.get('BOR28') or 'none'})"
                for r in gained.iter_rows(named=True)
            ]
        elif col not in prev_adsl.columns:
            rows.append(_not_compared(item, f"no {col}"))
            continue
        else:
            now = pl.col(f"{col}_now")
            added = both.filter(pl.col(col).is_null() & (now <= previous_cut).fill_null(False))
            found = [f"{r['USUBJID']} ({r[f'{col}_now']})" for r in added.iter_rows(named=True)]
        rows.append(_named(item, found))
    return rows


def _response_now(r: dict[str, object]) -> str:
    if r.get("EFFFL_now") != "Y":
        return "not in the efficacy set"
    if r.get("D28PNDFL_now") == "Y":
        return "pending"
    return f"best response by day 28 {r.get('BOR28_now') or 'none'}"


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
