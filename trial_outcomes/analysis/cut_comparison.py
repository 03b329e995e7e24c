"""What changed between two interim analyses (two data cuts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NamedTuple

import polars as pl

from trial_outcomes.analysis.syndromes import ADSL_STEM, adsl_variable
from trial_outcomes.contracts import CutComparison
from trial_outcomes.dates import DAYS_PER_MONTH
from trial_outcomes.formatting import few_marked, months, number, pct, signed
from trial_outcomes.provenance import code_label, same_code
from trial_outcomes.text import first_of

COLUMNS = {name: col.dtype for name, col in CutComparison.columns().items()}
NEW_ITEMS = ("New subjects", "New deaths", "New relapses")
#: the row saying whether the earlier publication read the same analysis plan (its SHA-256):
#: a plan red team's second cut under another plan moved the safety rule's P from 0.10 to
#: 0.007 on the same data, and the table said nothing had changed
PLAN_ITEM = "Analysis plan (SHA-256)"
#: the row, when the earlier publication was made by other code (or its manifest names none):
#: an upgrade's changed rule withdrew a day-28 response and crossed the futility boundary on
#: the same export, and the table told it as a withdrawn response (an upgrade red team's)
CODE_ITEM = "Code version"
#: what the previous cut published that this cut no longer says (a lost record, an event
#: withdrawn or re-dated by a corrected export): each names its subjects
WITHDRAWN_ITEMS = (
    "Subjects no longer in the data",
    "Infusions withdrawn or re-dated",
    "Responses by day 28 no longer counted",
    "MRD-negative remissions by day 28 no longer counted",
    "Relapses withdrawn or re-dated",
    "Consolidative HSCT withdrawn or re-dated",
    "Deaths withdrawn or re-dated",
    "Grade >= 4 CRS or ICANS no longer recorded",
)
#: what the earlier publication should have held and did not: a subject, or an infusion,
#: relapse, HSCT or death, dated on or before its cut and new here (a late entry or a
#: correction), or a day-28 non-responder (or a remission not MRD-negative) it counted
#: that is one here (until 2026-12-06 a red team's relapse re-read a day before the
#: earlier cut was only a "new relapse", as if after that interim, whose CIR, DFS and EFS
#: had missed it)
BACKDATED_ITEMS = (
    "Subjects enrolled by the earlier cut, not in its publication",
    "Infusions dated by the earlier cut, not in its publication",
    "Responses by day 28 newly counted",
    "MRD-negative remissions by day 28 newly counted",
    "Relapses dated by the earlier cut, not in its publication",
    "Consolidative HSCT dated by the earlier cut, not in its publication",
    "Deaths dated by the earlier cut, not in its publication",
    "Grade >= 4 CRS or ICANS with onset by the earlier cut, not in its publication",
)
#: every row that revises what an earlier publication held
REVISED_ITEMS = WITHDRAWN_ITEMS + BACKDATED_ITEMS
#: the rows whose ``change`` names subjects (closed report only)
NAMING_ITEMS = NEW_ITEMS + REVISED_ITEMS
#: the day-28 rates' numerators a pair of rows compares (``responder``, ``mrd_negative``)
RESPONSE, MRD_NEGATIVE = "responder by day 28", "MRD-negative remission by day 28"
#: the safety stopping rule's toxicities a pair of rows compares (``severe_syndromes``)
SEVERE = "grade >= 4 CRS or ICANS"
#: the facts each pair of rows (withdrawn, backdated) compares: a date column of ADSL, a
#: day-28 rate's numerator, or the stopping rule's toxicities
FACTS = ("TRTSDT", RESPONSE, MRD_NEGATIVE, "RELDT", "HSCTDT", "DTHDT", SEVERE)
#: the syndromes ``SEVERE`` reads (their worst adjudicated grade and onset day in ADSL)
SYNDROMES = tuple(ADSL_STEM)


#: the day-28 responders' row: their count of the evaluable, with the rate (``_responders``)
RESPONDERS_ITEM = "CR/CRi by day 28 (efficacy set, evaluable)"


def _responders(before: int, of_before: int, now: int, of_now: int) -> dict[str, str]:
    """The responders' row with its denominators and rates: "43 of 51 (84.3%)" to "58 of 72
    (80.6%)", change "+15; rate -3.7 pp" (the change of the printed rates). A statistician
    read "43 -> 58, +15" where the rate had fallen: the count alone grows with enrolment."""
    sides = ((before, of_before), (now, of_now))
    rates = [pct(n / of) if of else None for n, of in sides]
    shown = [f"{n} of {of}" + (f" ({rate})" if rate else "") for (n, of), rate in zip(sides, rates, strict=True)]
    change = signed(now - before, "", 0)
    if rates[0] and rates[1]:
        exact = 100 * (now / of_now - before / of_before)
        change += f"; rate {signed(_shown_difference(rates[0], rates[1], exact), ' pp')}"
    return {"previous": shown[0], "current": shown[1], "change": change}


def responder(suffix: str = "") -> pl.Expr:
    """The responders the table counts (its "CR/CRi by day 28" row), from the columns
    named with ``suffix`` (a joined frame's ``_now``)."""
    return (pl.col(f"EFFFL{suffix}") == "Y") & (pl.col(f"CRFL{suffix}") == "Y") & (pl.col(f"D28PNDFL{suffix}") != "Y")


def mrd_negative(suffix: str = "") -> pl.Expr:
    """The MRD-negative remissions by day 28 (the response table's "MRD-negative CR/CRi
    by day 28" numerator): responders (``responder``) whose remission is MRD-negative."""
    return responder(suffix) & (pl.col(f"MRDNEGFL{suffix}") == "Y")


def _evaluable(suffix: str = "") -> pl.Expr:
    """In the efficacy set and not pending at day 28: counted by the day-28 rates."""
    return (pl.col(f"EFFFL{suffix}") == "Y") & (pl.col(f"D28PNDFL{suffix}") != "Y")


def _count(adsl: pl.DataFrame, expr: pl.Expr) -> int:
    return int(adsl.select(expr.fill_null(False).sum()).item())


def _ids(frame: pl.DataFrame, limit: int = 12) -> str:
    return first_of(sorted(frame["USUBJID"].to_list()), limit)


def _at_risk(details: pl.DataFrame | None) -> dict[str, dict[str, Any]]:
    """Per endpoint, the overall primary row of a ``survival_details`` (its numbers at risk
    at the landmarks and the median); none when the publication has no such table (one
    made before 2026-12-07 has no ``median_nrisk``: its medians go unmarked)."""
    if details is None or not {"endpoint", "analysis", "group_var"} <= set(details.columns):
        return {}
    overall = details.filter((pl.col("group_var") == "all") & (pl.col("analysis") == "primary"))
    return {r["endpoint"]: r for r in overall.iter_rows(named=True)}


def _nrisk_column(key: str) -> str:
    """The ``survival_details`` column of a measure's number at risk (``rate_24m``:
    ``nrisk_24m``; ``median_days``: ``median_nrisk``)."""
    return "median_nrisk" if key == "median_days" else "nrisk_" + key.removeprefix("rate_")


def compare_cuts(
    previous_cut: str,
    prev_adsl: pl.DataFrame,
    prev_summary: pl.DataFrame,
    adsl: pl.DataFrame,
    summary: pl.DataFrame,
    previous_version: str | None = None,
    plans: tuple[str | None, str] | None = None,
    codes: tuple[Mapping[str, Any] | None, Mapping[str, Any]] | None = None,
    details: tuple[pl.DataFrame | None, pl.DataFrame | None] = (None, None),
) -> pl.DataFrame:
    """Counts, new subjects and events, what was revised, and overall primary estimates
    side by side. ``change`` is current minus previous for counts; the subjects' ids
    otherwise. ``previous_version``: the version of this same cut compared with (the one
    a superseding version replaces: ``previous_cut`` is then this cut). ``plans``: the
    SHA-256 of the analysis plan the earlier publication read (None when its manifest
    says none) and of this one's, the first row (``PLAN_ITEM``) when given. ``codes``: the
    ``code`` of the earlier publication's manifest (None: none) and this run's; a row
    (``CODE_ITEM``) when they differ (``same_code``). ``details``: the two publications'
    ``survival_details`` (None: none), whose numbers at risk mark a landmark estimate or a
    median resting on fewer than 10 (``formatting.few_at_median``), as the survival tables
    do: a statistician read a 24-month OS falling by 11.5 pp from an estimate that had
    rested on 3 subjects at risk, unsaid (2026-12-07)."""
    rows = []
    if plans is not None:
        read, reads = plans
        change = "not recorded" if read is None else "" if read == reads else "changed"
        rows.append({"item": PLAN_ITEM, "previous": (read or "")[:12], "current": reads[:12], "change": change})
    if codes is not None and not same_code(*codes):
        made, makes = codes
        # alike as printed (one commit, edited twice): each with its source's SHA-256
        source = made is not None and code_label(made) == code_label(makes)
        rows.append(
            {
                "item": CODE_ITEM,
                "previous": "" if made is None else code_label(made, source),
                "current": code_label(makes, source),
                "change": "not recorded" if made is None else "changed",
            }
        )
    counts = {
        "Enrolled": pl.col("USUBJID").is_not_null(),
        "Infused (safety set)": pl.col("SAFFL") == "Y",
        RESPONDERS_ITEM: responder(),
        "Relapses": pl.col("RELDT").is_not_null(),
        "Consolidative HSCT": pl.col("HSCTDT").is_not_null(),
        "Deaths": pl.col("DTHDT").is_not_null(),
        # among the infused, as the disposition table counts them (a subject withdrawn before
        # infusion, after a manufacturing failure, is there as not infused)
        "Lost or withdrawn (infused)": (pl.col("SAFFL") == "Y") & pl.col("DISPSTAT").is_in(["LOST", "WITHDRAWN"]),
    }
    for item, expr in counts.items():
        before, now = _count(prev_adsl, expr), _count(adsl, expr)
        row = {"item": item, "previous": str(before), "current": str(now), "change": signed(now - before, "", 0)}
        if item == RESPONDERS_ITEM:
            row = {**row, **_responders(before, _count(prev_adsl, _evaluable()), now, _count(adsl, _evaluable()))}
        rows.append(row)
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
    risk_before, risk_now = (_at_risk(d) for d in details)
    for r in summary.filter(overall).iter_rows(named=True):
        p = previous.get(r["endpoint"], {})
        for key, label in measures:
            if r["endpoint"] in ("CIR", "NRM") and key == "median_days":
                continue
            old, new = p.get(key), r[key]
            row = _side_by_side(key, old, new)
            if key != "n_events":
                for side, risk in (("previous", risk_before), ("current", risk_now)):
                    row[side] = few_marked(row[side], risk.get(r["endpoint"], {}).get(_nrisk_column(key)))
            rows.append({"item": f"{r['endpoint']} {label}", **row})
    return pl.DataFrame(
        [{**r, "previous_cut": previous_cut, "previous_version": previous_version} for r in rows], schema=COLUMNS
    )


class Publication(NamedTuple):
    """An earlier publication compared with this run's."""

    cut: str
    #: its version, when it is a version of this cut (the one a superseding version replaces)
    version: str | None
    adsl: pl.DataFrame
    survival_summary: pl.DataFrame
    #: the SHA-256 of the analysis plan it read (None when it published none)
    plan_sha256: str | None
    #: its manifest's ``code`` (None when it has none)
    code: Mapping[str, Any] | None = None
    #: its ``survival_details`` (None when it published none)
    survival_details: pl.DataFrame | None = None


def compare_publications(
    earlier: list[Publication],
    adsl: pl.DataFrame,
    summary: pl.DataFrame,
    plan: str | None = None,
    code: Mapping[str, Any] | None = None,
    details: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``compare_cuts`` with each earlier publication in turn, one table; empty with none.
    ``plan``: this run's plan's SHA-256; ``code``: this run's code (``provenance.code_version``);
    ``details``: this run's ``survival_details``."""
    tables = [
        compare_cuts(
            p.cut,
            p.adsl,
            p.survival_summary,
            adsl,
            summary,
            p.version,
            None if plan is None else (p.plan_sha256, plan),
            None if code is None else (p.code, code),
            (p.survival_details, details),
        )
        for p in earlier
    ]
    return pl.concat(tables) if tables else pl.DataFrame(schema=COLUMNS)


def _named(item: str, found: list[str]) -> dict[str, str]:
    return {"item": item, "previous": "", "current": str(len(found)), "change": first_of(found, 12)}


def _not_compared(item: str, why: str) -> dict[str, str]:
    return {"item": item, "previous": "", "current": "", "change": f"not compared ({why})"}


def revised(prev_adsl: pl.DataFrame, adsl: pl.DataFrame, previous_cut: dt.date) -> list[dict[str, str]]:
    """What the previous publication (of ``previous_cut``) held that this one no longer
    says (``WITHDRAWN_ITEMS``), subject by subject: a subject gone from the data, an
    infusion, relapse, HSCT or death date withdrawn (none now) or changed, a responder
    (or an MRD-negative remission) the day-28 rates no longer count, a grade >= 4 CRS or
    ICANS the safety rule no longer counts (``severe_syndromes``); then what it should
    have held and did not (``BACKDATED_ITEMS``): a subject enrolled, or an infusion,
    relapse, HSCT or death dated, on or before its cut and new here, and a day-28
    non-responder (or a remission not MRD-negative) it counted that is one here, and a
    grade >= 4 CRS or ICANS with onset by its cut that it did not count. A later
    cut of the same data keeps every one of the first (each is the first such date, or a
    response by day 28, fixed once seen) and adds none of the second, so a row here is a
    correction or a late entry in the export, or a rule of another code version: the
    board is told which published facts moved, not only the counts (a red team's
    withdrawn relapse left "Relapses +0" beside a new one; another's relapse re-read a
    day before the earlier cut was a "new relapse", and its MRD re-read moved the
    MRD-negative rate with no subject named). Each row counts the subjects (``current``)
    and names them with the dates (``change``: "BR-007 (2021-02-03 to none)", "BR-009
    (2021-03-30)")."""
    gone = prev_adsl.join(adsl.select("USUBJID"), on="USUBJID", how="anti")["USUBJID"].sort().to_list()
    new = adsl.join(prev_adsl.select("USUBJID"), on="USUBJID", how="anti").filter(
        (pl.col("ENRLDT") <= previous_cut).fill_null(False)
    )
    enrolled = [f"{r['USUBJID']} ({r['ENRLDT']})" for r in new.sort("USUBJID").iter_rows(named=True)]
    both = prev_adsl.join(adsl, on="USUBJID", how="inner", suffix="_now").sort("USUBJID")
    withdrawn, backdated = [_named(WITHDRAWN_ITEMS[0], gone)], [_named(BACKDATED_ITEMS[0], enrolled)]
    for lost, added, fact in zip(WITHDRAWN_ITEMS[1:], BACKDATED_ITEMS[1:], FACTS, strict=True):
        if fact in (RESPONSE, MRD_NEGATIVE):
            mrd = fact == MRD_NEGATIVE
            needed = ("EFFFL", "CRFL", "D28PNDFL", *(("MRDNEGFL",) if mrd else ()))
            if any(c not in prev_adsl.columns for c in needed):
                withdrawn.append(_not_compared(lost, "no day-28 flags"))
                backdated.append(_not_compared(added, "no day-28 flags"))
                continue
            counted = mrd_negative if mrd else responder
            was, now = counted().fill_null(False), counted("_now").fill_null(False)
            dropped = both.filter(was & ~now).iter_rows(named=True)
            gained = both.filter(_evaluable().fill_null(False) & ~was & now).iter_rows(named=True)
            withdrawn.append(_named(lost, [f"{r['USUBJID']} (now {_response_now(r, mrd)})" for r in dropped]))
            backdated.append(_named(added, [f"{r['USUBJID']} (was {_response(r, '', mrd)})" for r in gained]))
        elif fact == SEVERE:
            graded = [adsl_variable(name, suffix) for name in SYNDROMES for suffix in ("GRADJ", "ONDY")]
            if any(c not in prev_adsl.columns for c in graded):
                withdrawn.append(_not_compared(lost, "no adjudicated CRS and ICANS grades"))
                backdated.append(_not_compared(added, "no adjudicated CRS and ICANS grades"))
                continue
            lowered, raised = severe_syndromes(both, previous_cut)
            withdrawn.append(_named(lost, lowered))
            backdated.append(_named(added, raised))
        elif fact not in prev_adsl.columns:
            withdrawn.append(_not_compared(lost, f"no {fact}"))
            backdated.append(_not_compared(added, f"no {fact}"))
        else:
            was, now = pl.col(fact), pl.col(f"{fact}_now")
            moved = both.filter(was.is_not_null() & (now.is_null() | (was != now)))
            withdrawn.append(
                _named(
                    lost,
                    [
                        f"{r['USUBJID']} ({r[fact]} to {r[f'{fact}_now'] or 'none'})"
                        for r in moved.iter_rows(named=True)
                    ],
                )
            )
            appeared = both.filter(was.is_null() & (now <= previous_cut).fill_null(False))
            backdated.append(
                _named(added, [f"{r['USUBJID']} ({r[f'{fact}_now']})" for r in appeared.iter_rows(named=True)])
            )
    return withdrawn + backdated


def severe_syndromes(both: pl.DataFrame, previous_cut: dt.date) -> tuple[list[str], list[str]]:
    """The safety stopping rule's grade >= 4 CRS or ICANS (the worst adjudicated grade,
    ``CRSGRAJ``, ``ICANGRAJ``) in two joined ADSLs (``both``: the earlier publication's
    columns, and this one's suffixed ``_now``): the subjects the earlier publication counted
    that this one does not (a re-grade below 4 or a withdrawn record: "BR-007 (CRS grade 4
    to 2)"), and those it did not count that this one does with the syndrome's onset
    (``TRTSDT`` + ``CRSONDY``) on or before its cut ("BR-009 (ICANS grade 4, onset
    2021-03-02)"; a syndrome begun before the cut that first reached grade 4 after it is
    named too: the daily grades are not in ADSL). A new grade >= 4 after the cut is neither.
    Until 2026-12-06 a grade-4 CRS re-graded to 2 in a corrected export moved the safety
    rule's count with no subject named."""
    lowered: list[str] = []
    raised: list[str] = []
    for name in SYNDROMES:
        grade, onset_day = adsl_variable(name, "GRADJ"), adsl_variable(name, "ONDY")
        was = (pl.col(grade).cast(pl.Int64) >= 4).fill_null(False)
        now = (pl.col(f"{grade}_now").cast(pl.Int64) >= 4).fill_null(False)
        onset = pl.col("TRTSDT_now") + pl.duration(days=pl.col(f"{onset_day}_now").cast(pl.Int64))
        for r in both.filter(was & ~now).iter_rows(named=True):
            lowered.append(f"{r['USUBJID']} ({name} grade {r[grade]} to {r[f'{grade}_now'] or 'none'})")
        for r in both.filter(~was & now & (onset <= previous_cut).fill_null(False)).iter_rows(named=True):
            start = r["TRTSDT_now"] + dt.timedelta(days=r[f"{onset_day}_now"])
            raised.append(f"{r['USUBJID']} ({name} grade {r[f'{grade}_now']}, onset {start})")
    return sorted(lowered), sorted(raised)


def _response_now(r: dict[str, object], mrd: bool = False) -> str:
    if r.get("EFFFL_now") != "Y":
        return "not in the efficacy set"
    if r.get("D28PNDFL_now") == "Y":
        return "pending"
    return _response(r, "_now", mrd)


def _response(r: dict[str, object], suffix: str, mrd: bool) -> str:
    """The best response by day 28 of a row of two joined ADSLs, from its columns named
    with ``suffix``, and with ``mrd`` whether the remission is MRD-negative (``MRDNEGFL``:
    at any CR/CRi of the window, not only the best response's)."""
    said = f"best response by day 28 {r.get(f'BOR28{suffix}') or 'none'}"
    if not mrd or r.get(f"CRFL{suffix}") != "Y":
        return said
    flag = r.get(f"MRDNEGFL{suffix}")
    return said + {"Y": ", MRD-negative", "N": ", not MRD-negative"}.get(str(flag), ", MRD not known")


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
