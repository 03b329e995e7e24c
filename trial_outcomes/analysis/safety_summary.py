"""Safety summaries over the safety set: CRS and ICANS (incidence, worst grade
reported, derived and adjudicated, onset, duration, drugs), the headline safety
rates with exact CIs, and deaths by cause category (tern's DTHT01 in spirit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from trial_outcomes.analysis.rates import clopper_pearson
from trial_outcomes.analysis.syndromes import adsl_variable
from trial_outcomes.analysis.timeline import followed_for
from trial_outcomes.contracts import DeathsSummary, SafetySummary, SyndromeSummary
from trial_outcomes.schema import CAUSE_CATEGORIES

BASES = {"reported": "GR", "derived": "GRDRV", "adjudicated": "GRADJ"}


def _schema(schema: type) -> dict[str, pl.DataType]:
    return {name: col.dtype for name, col in schema.columns().items()}  # type: ignore[attr-defined]


def _share(measure: str, n: int, denominator: int, ci: bool = False) -> dict[str, Any]:
    lcl, ucl = clopper_pearson(n, denominator) if ci else (None, None)
    return {
        "measure": measure,
        "n": n,
        "denominator": denominator,
        "pct": 100 * n / denominator if denominator else None,
        "lcl": None if lcl is None else 100 * lcl,
        "ucl": None if ucl is None else 100 * ucl,
    }


def _spread(measure: str, values: pl.Series, denominator: int) -> dict[str, Any]:
    values = values.drop_nulls().cast(pl.Float64)
    return {
        "measure": measure,
        "n": values.len(),
        "denominator": denominator,
        "median": values.median(),
        "min": values.min(),
        "max": values.max(),
    }


#: the ADSL columns ``syndrome_summary`` reads: the safety set and, for CRS and ICANS, the
#: reported, derived and adjudicated grades, onset, duration and treatment
SYNDROME_COLUMNS = (
    "SAFFL",
    *(
        adsl_variable(syndrome, suffix)
        for syndrome in ("CRS", "ICANS")
        for suffix in ("GR", "ONDY", "DUR", "TOCI", "STER", "GRDRV", "GRADJ")
    ),
)


def syndrome_summary(adsl: pl.DataFrame, monitored: dict[str, bool]) -> pl.DataFrame:
    """``crs_icans_summary.csv``: for CRS and ICANS and each basis of the worst grade
    (reported; derived from monitoring, when the drop has it; adjudicated: the
    higher of the two), subjects with any grade and with each worst grade 1-5,
    and grade >= 3 with its Clopper-Pearson CI (percentages of the safety set).
    For the reported events: onset day and duration (median, range), and
    tocilizumab and corticosteroid use as a share of subjects with the event."""
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    n = safety.height
    rows: list[dict[str, Any]] = []
    for syndrome in ("CRS", "ICANS"):
        for basis, suffix in BASES.items():
            if basis == "derived" and not monitored.get(syndrome, False):
                continue
            grade = safety[adsl_variable(syndrome, suffix)].fill_null(0)
            for measure, count, ci in (
                ("Any grade", int((grade >= 1).sum()), False),
                *[(f"Grade {g}", int((grade == g).sum()), False) for g in range(1, 6)],
                ("Grade >= 3", int((grade >= 3).sum()), True),
            ):
                rows.append({"syndrome": syndrome, "basis": basis, **_share(measure, count, n, ci)})
        with_event = safety.filter(pl.col(adsl_variable(syndrome, "GR")).is_not_null())
        m = with_event.height
        rows += [
            {
                "syndrome": syndrome,
                "basis": "reported",
                **_spread("Onset, study day", with_event[adsl_variable(syndrome, "ONDY")], m),
            },
            {
                "syndrome": syndrome,
                "basis": "reported",
                **_spread("Duration, days (resolved)", with_event[adsl_variable(syndrome, "DUR")], m),
            },
            {
                "syndrome": syndrome,
                "basis": "reported",
                **_share("Tocilizumab", int((with_event[adsl_variable(syndrome, "TOCI")] == "Y").sum()), m),
            },
            {
                "syndrome": syndrome,
                "basis": "reported",
                **_share("Corticosteroids", int((with_event[adsl_variable(syndrome, "STER")] == "Y").sum()), m),
            },
        ]
    return pl.DataFrame(rows, schema=_schema(SyndromeSummary), orient="row")


def _rate_row(measure: str, events: int, n: int) -> dict[str, Any]:
    lcl, ucl = clopper_pearson(events, n)
    return {
        "measure": measure,
        "n_events": events,
        "n": n,
        "rate": events / n if n else None,
        "rate_lcl": lcl,
        "rate_ucl": ucl,
    }


#: the ADSL columns ``safety_headline`` reads
HEADLINE_COLUMNS = (
    "SAFFL",
    "TRTSDT",
    "WDDT",
    "LOSTDT",
    "CRSGR",
    "CRSGRAJ",
    "ICANGR",
    "ICANGRAJ",
    "DTH30FL",
    "DTH100FL",
    "NRMFL",
)


def safety_headline(adsl: pl.DataFrame, cut: dt.date, window_days: int = 30) -> pl.DataFrame:
    """``safety_summary.csv``: the headline safety rates over the safety set, with
    exact Clopper-Pearson 95 % CIs: grade >= 3 CRS and ICANS (adjudicated, then
    reported), deaths within 30 and 100 days of infusion, non-relapse mortality.

    Interim rates use evaluable denominators (endpoints.md): a rate counts over the
    safety-set subjects it can be known for at the cut. A death within d days: those
    infused at least d days before the cut and not withdrawn or lost to follow-up
    before day d (``timeline.followed_for``), or dead within d days. Grade >= 3 CRS or
    ICANS: those infused at least ``window_days`` (the safety stopping rule's window,
    30 in the plan) before the cut, or with the event: the rule's evaluable set, so a
    subject infused last week is not counted as free of the syndrome. Non-relapse
    mortality (any time) stays over the safety set: its time course is the NRM
    cumulative incidence.
    Worked example (tests/analysis/test_deaths.py): cut on day 50 of subject B; A
    died on day 10, D on day 5 of an infusion 20 days before the cut, C infused 20
    days before the cut and alive: within 30 days 2 of 3 (C not yet known), within
    100 days 2 of 2 (B and C not yet known); D's grade 3 CRS counts over A, B and D
    (C's 30 days not closed), 1 of 3."""
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    n = safety.height

    def count(expr: pl.Expr, rows: pl.DataFrame = safety) -> int:
        return int(rows.select(expr.fill_null(False).sum()).item())

    def over_known(measure: str, event: pl.Expr, days: int) -> dict[str, Any]:
        known = safety.filter(event.fill_null(False) | followed_for(days, cut))
        return _rate_row(measure, count(event, known), known.height)

    def syndrome(measure: str, grade: str) -> dict[str, Any]:
        return over_known(measure, pl.col(grade) >= 3, window_days)

    def early_death(days: int, flag: str) -> dict[str, Any]:
        return over_known(f"Death within {days} days of infusion", pl.col(flag) == "Y", days)

    rows = [
        syndrome("Grade >= 3 CRS (adjudicated)", "CRSGRAJ"),
        syndrome("Grade >= 3 ICANS (adjudicated)", "ICANGRAJ"),
        syndrome("Grade >= 3 CRS (reported)", "CRSGR"),
        syndrome("Grade >= 3 ICANS (reported)", "ICANGR"),
        early_death(30, "DTH30FL"),
        early_death(100, "DTH100FL"),
        _rate_row("Non-relapse mortality (any time)", count(pl.col("NRMFL") == "Y"), n),
    ]
    return pl.DataFrame(rows, schema=_schema(SafetySummary), orient="row")


#: the ADSL columns ``deaths_summary`` reads
DEATHS_COLUMNS = ("TRTSDT", "DTHDT", "DTHCAT", "DTHCGR1", "RELDT", "DTH30FL", "DTH100FL", "NRMFL")


def deaths_summary(adsl: pl.DataFrame) -> pl.DataFrame:
    """``deaths_summary.csv``: deaths of enrolled subjects by cause category (the
    ``All`` row first): before infusion, within 30 and 100 days of it, after a
    relapse, non-relapse mortality (``DTHCGR1 = NRM``, the NRM endpoint's events) and
    deaths of another cause not in remission (endpoints.md version 3)."""
    died = adsl.filter(pl.col("DTHDT").is_not_null())

    def row(category: str, part: pl.DataFrame) -> dict[str, Any]:
        return {
            "cause_category": category,
            "n_deaths": part.height,
            "n_before_infusion": int(part["TRTSDT"].is_null().sum()),
            "n_within_30d": int((part["DTH30FL"] == "Y").sum()),
            "n_within_100d": int((part["DTH100FL"] == "Y").sum()),
            "n_after_relapse": int(part["RELDT"].is_not_null().sum()),
            "n_nrm": int((part["NRMFL"] == "Y").sum()),
            "n_not_in_remission": int((part["DTHCGR1"] == "NOT_IN_REMISSION").sum()),
        }

    rows = [row("All", died)] + [row(c, died.filter(pl.col("DTHCAT") == c)) for c in CAUSE_CATEGORIES]
    return pl.DataFrame(rows, schema=_schema(DeathsSummary), orient="row")
