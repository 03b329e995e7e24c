"""Trial conduct and data currency at the cut (issue 26): accrual against the plan, by
calendar quarter and by site, time from enrolment to infusion by site, disease
assessments overdue by the visit schedule, and remission assessments without MRD.

Choices made (docs/endpoints.md, Trial conduct):

- Planned accrual is linear: ``target_enrolment`` subjects over ``accrual_months`` from
  the first enrolment (the plan's ``[conduct]``).
- The visit schedule of response assessments is D14, D28, M2, M3, M6, M9, M12, then every
  6 months (``VISIT_DAYS``, days from infusion). A visit is due for an infused subject
  still on the response schedule at the cut: alive, not withdrawn or lost, and not
  relapsed (a relapse ends the response schedule). It is overdue when its day plus its
  window (``WINDOW_DAYS``: 7 days for D14 and D28, 14 for M2 and M3, 30 after) has passed
  by the cut and the subject has no assessment labelled with that visit from the
  window's first day on (late, the visit was done; early, it was not the visit) nor
  any assessment inside that window around the visit's day.
- MRD is expected at every CR/CRi assessment (MRD-negativity defines the remissions of
  MRD-persistent entrants and ``MRDNEGFL``); a CR/CRi assessment without ``mrd_pct`` is
  missing MRD.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import polars as pl

from trial_outcomes.analysis.frames import require, streamed

MONTH_DAYS = 30.4375
#: visit -> target day from infusion; after M12, every 6 months (M18, M24, ...)
VISIT_DAYS = {"D14": 14, "D28": 28, "M2": 61, "M3": 91, "M6": 183, "M9": 274, "M12": 365}
LONG_TERM_EVERY_MONTHS = 6


class ConductTables(NamedTuple):
    """The conduct table, and the overdue visits of each subject (closed report only)."""

    summary: pl.DataFrame
    overdue: pl.DataFrame


def visit_schedule(last_day: int) -> dict[str, int]:
    """Every visit whose target day is on or before ``last_day``: the fixed ones, then
    M18, M24, ... every 6 months (days rounded from months of 30.4375 days)."""
    out = {v: d for v, d in VISIT_DAYS.items() if d <= last_day}
    month = 12 + LONG_TERM_EVERY_MONTHS
    while round(month * MONTH_DAYS) <= last_day:
        out[f"M{month}"] = round(month * MONTH_DAYS)
        month += LONG_TERM_EVERY_MONTHS
    return out


def scheduled_visit(label: pl.Expr) -> pl.Expr:
    """A visit label as the schedule writes it where, in capitals and without spaces, and
    with its unit written in full or short ("Day", "Mo", "Mth", "Month"), it is one of the
    schedule's (``VISIT_DAYS``, then every ``LONG_TERM_EVERY_MONTHS`` months from M18): "m6",
    " M 6", "Month 6" and "Day +28" are "M6" and "D28" (data-contract.md: labels are matched
    to the schedule whatever their case, spaces and unit's spelling, as the date-out-of-place
    query reads them); any other label as written ("Unscheduled", "Week 4", "Day 28 repeat").
    ADRS's ``AVISIT`` and the conduct table read it: a red team's drop labelled some visits
    "d14" and "m2", which ADRS published beside "D14" and "M2" (2026-12-07); "Day 28" and
    "Month 6", an EDC's other spelling of the schedule, were kept as written until
    2026-12-07's forty-seventh session."""
    key = (
        label.str.to_uppercase()
        .str.replace_all(r"[\s\p{Z}]+", "")
        .str.replace(r"^DAY\+?(\d)", "D$1")
        .str.replace(r"^D\+(\d)", "D$1")
        .str.replace(r"^(?:MONTH|MTH|MO)(\d)", "M$1")
    )
    month = key.str.extract(r"^M([1-9]\d{0,3})$").cast(pl.Int64)  # "M018", like "M06", is not the schedule's
    later = (month >= 12 + LONG_TERM_EVERY_MONTHS) & ((month - 12) % LONG_TERM_EVERY_MONTHS == 0)
    return pl.when(key.is_in(list(VISIT_DAYS)) | later.fill_null(False)).then(key).otherwise(label)


def window_days(visit: str) -> int:
    """The days either side of a visit's target day in which an assessment counts for it."""
    return 7 if visit in ("D14", "D28") else 14 if visit in ("M2", "M3") else 30


def _quarter(date: pl.Expr) -> pl.Expr:
    return date.dt.year().cast(pl.String) + pl.lit("-Q") + date.dt.quarter().cast(pl.String)


#: the ADSL and ADRS columns the conduct tables read
ADSL_COLUMNS = ("USUBJID", "ENRLDT", "SITEID", "SAFFL", "ENRINFDY", "TRTSDT", "DTHDT", "WDDT", "LOSTDT", "RELDT")
ADRS_COLUMNS = ("USUBJID", "PARAMCD", "ADT", "AVISIT", "AVALC", "MRDPCT")


def accrual(adsl: pl.DataFrame, cut: dt.date, target: int, months: int) -> pl.DataFrame:
    """Per calendar quarter from the first enrolment to the cut: subjects enrolled in it,
    cumulative, and the cumulative plan at the quarter's end (or the cut, if earlier)."""
    require(adsl, "ADSL", "ENRLDT")
    if adsl.is_empty():
        return pl.DataFrame(
            schema={"quarter": pl.String, "enrolled": pl.Int64, "cumulative": pl.Int64, "planned": pl.Int64}
        )
    first = adsl["ENRLDT"].min()
    assert isinstance(first, dt.date)
    quarters = (
        pl.date_range(first, cut, interval="1d", eager=True)
        .to_frame("d")
        .with_columns(_quarter(pl.col("d")).alias("quarter"))
        .group_by("quarter", maintain_order=True)
        .agg(pl.col("d").max().alias("end"))
    )
    counts = adsl.group_by(_quarter(pl.col("ENRLDT")).alias("quarter")).agg(pl.len().cast(pl.Int64).alias("enrolled"))
    elapsed = (pl.col("end") - pl.lit(first)).dt.total_days() / MONTH_DAYS
    planned = (pl.lit(float(target)) * pl.min_horizontal(elapsed / months, pl.lit(1.0))).round(0).cast(pl.Int64)
    return (
        quarters.join(counts, on="quarter", how="left", maintain_order="left")  # the quarters in order for cum_sum
        .with_columns(pl.col("enrolled").fill_null(0))
        .with_columns(pl.col("enrolled").cum_sum().alias("cumulative"), planned.alias("planned"))
        .select("quarter", "enrolled", "cumulative", "planned")
    )


def by_site(adsl: pl.DataFrame) -> pl.DataFrame:
    """Per site: enrolled, infused, and days from enrolment to infusion (median, range)."""
    require(adsl, "ADSL", "SITEID", "SAFFL", "ENRINFDY")
    return (
        adsl.group_by("SITEID")
        .agg(
            pl.len().cast(pl.Int64).alias("enrolled"),
            (pl.col("SAFFL") == "Y").sum().cast(pl.Int64).alias("infused"),
            pl.col("ENRINFDY").median().alias("median_days"),
            pl.col("ENRINFDY").min().cast(pl.Float64).alias("min_days"),
            pl.col("ENRINFDY").max().cast(pl.Float64).alias("max_days"),
        )
        .sort("SITEID")
    )


def _responses(adrs: pl.DataFrame) -> pl.DataFrame:
    require(adrs, "ADRS", "USUBJID", "PARAMCD", "ADT", "AVISIT", "AVALC", "MRDPCT")
    return adrs.filter(pl.col("PARAMCD") == "OVRLRESP")


def overdue_assessments(adsl: pl.DataFrame, adrs: pl.DataFrame, cut: dt.date) -> pl.DataFrame:
    """One row per due visit of each subject on the response schedule at the cut:
    ``USUBJID, visit, target_day, due_date, overdue`` (True: no assessment for it), from
    ADRS's assessments (``OVRLRESP``). Off the schedule: the dead, withdrawn, lost and
    relapsed at the cut, a relapse being any ``RELAPSE`` assessment: ``RELDT`` is only the
    relapse from an attributable remission, and a statistician found two subjects who
    relapsed from a remission after salvage therapy owing 13 visits at two cuts."""
    require(adsl, "ADSL", "USUBJID", "TRTSDT", "DTHDT", "WDDT", "LOSTDT", "RELDT")
    responses = _responses(adrs)
    relapsed = responses.filter(pl.col("AVALC") == "RELAPSE").select("USUBJID").unique()
    on_schedule = adsl.filter(
        pl.col("TRTSDT").is_not_null()
        & pl.col("DTHDT").is_null()
        & pl.col("WDDT").is_null()
        & pl.col("LOSTDT").is_null()
        & pl.col("RELDT").is_null()
    ).join(relapsed, on="USUBJID", how="anti")
    subjects = on_schedule.select("USUBJID", "TRTSDT", (pl.lit(cut) - pl.col("TRTSDT")).dt.total_days().alias("_last"))
    last = subjects["_last"].max()
    schedule = pl.DataFrame(
        [(v, d, window_days(v)) for v, d in visit_schedule(int(last) if isinstance(last, int) else 0).items()],
        schema={"visit": pl.String, "target_day": pl.Int64, "_window": pl.Int64},
        orient="row",
    )
    # every visit whose window has closed by the cut, for each subject on the schedule
    due = subjects.join(schedule, how="cross").filter(pl.col("target_day") + pl.col("_window") <= pl.col("_last"))
    seen = responses.select("USUBJID", "ADT", pl.col("AVISIT").alias("visit"))
    # a label in another case or with spaces is the visit's ("m6", " M 6"): a red team's
    # assessment labelled "m6" left its subject overdue for M6 (ADRS's AVISIT is the schedule's
    # label since 2026-12-07; the label of an ADRS made before is read again here)
    label = scheduled_visit(pl.col("visit"))
    # a label counts from its window's first day on (late, it was still done; early, it is not
    # the visit: a red team's "D28" on day 20 was done here while the day-28 response was NE)
    labelled = streamed(
        due.lazy()
        .select("USUBJID", "visit", "target_day", "_window", "TRTSDT")
        .join(seen.lazy().select("USUBJID", label.alias("visit"), "ADT").drop_nulls("visit"), on=["USUBJID", "visit"])
        .filter((pl.col("ADT") - pl.col("TRTSDT")).dt.total_days() >= pl.col("target_day") - pl.col("_window"))
        .select("USUBJID", "visit")
        .unique()
        .with_columns(pl.lit(True).alias("_labelled"))
    )
    # each due visit beside each of the subject's assessments is tens of millions of rows at a
    # million subjects: streamed, they are filtered batch by batch and never held
    in_window = streamed(
        due.lazy()
        .select("USUBJID", "visit", "target_day", "_window", "TRTSDT")
        .join(seen.lazy().select("USUBJID", "ADT"), on="USUBJID")
        .filter(((pl.col("ADT") - pl.col("TRTSDT")).dt.total_days() - pl.col("target_day")).abs() <= pl.col("_window"))
        .select("USUBJID", "visit")
        .unique()
        .with_columns(pl.lit(True).alias("_in_window"))
    )
    out = (
        due.join(labelled, on=["USUBJID", "visit"], how="left")
        .join(in_window, on=["USUBJID", "visit"], how="left")
        .select(
            "USUBJID",
            "visit",
            "target_day",
            (pl.col("TRTSDT") + pl.duration(days=pl.col("target_day"))).alias("due_date"),
            ~(pl.col("_labelled").fill_null(False) | pl.col("_in_window").fill_null(False)).alias("overdue"),
        )
        .sort("USUBJID", "target_day")
    )
    return out


def after_other_treatment(overdue: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """``overdue`` (``overdue_assessments``' rows) with ``after_treatment``: the visit fell
    due after the subject's consolidative HSCT or new anti-leukaemia therapy (``HSCTDT``,
    ``NTHERDT``), when its assessments may follow that treatment's schedule. The rule keeps
    such a subject on the schedule; a statistician found 22 of 52 overdue visits so, read
    as the sites' lapses with no word (2026-12-07)."""
    require(adsl, "ADSL", "USUBJID", "HSCTDT", "NTHERDT")
    started = adsl.select("USUBJID", pl.min_horizontal("HSCTDT", "NTHERDT").alias("_other"))
    return (
        overdue.join(started, on="USUBJID", how="left")
        .with_columns((pl.col("_other") < pl.col("due_date")).fill_null(False).alias("after_treatment"))
        .drop("_other")
    )


def missing_mrd(adrs: pl.DataFrame) -> tuple[int, int]:
    """CR/CRi assessments, and how many of them lack MRD."""
    remission = _responses(adrs).filter(pl.col("AVALC").is_in(["CR", "CRi"]))
    return remission.height, int(remission["MRDPCT"].is_null().sum())


def conduct_summary(adsl: pl.DataFrame, adrs: pl.DataFrame, cut: dt.date, target: int, months: int) -> ConductTables:
    """The conduct table: ``section`` (accrual, site, visit, mrd), ``group``, and the
    counts and days of each (``conduct_summary.csv``); and the overdue visits."""
    frames = []
    for r in accrual(adsl, cut, target, months).iter_rows(named=True):
        frames.append(
            {
                "section": "accrual",
                "group": r["quarter"],
                "n": r["enrolled"],
                "count": r["cumulative"],
                "planned": r["planned"],
            }
        )
    for r in by_site(adsl).iter_rows(named=True):
        frames.append(
            {
                "section": "site",
                "group": r["SITEID"],
                "n": r["enrolled"],
                "count": r["infused"],
                "median_days": r["median_days"],
                "min_days": r["min_days"],
                "max_days": r["max_days"],
            }
        )
    due = overdue_assessments(adsl, adrs, cut)
    if due.height:
        visits = due.group_by("visit", "target_day").agg(
            pl.len().cast(pl.Int64).alias("n"), pl.col("overdue").sum().cast(pl.Int64).alias("count")
        )
        for r in visits.sort("target_day").iter_rows(named=True):
            frames.append({"section": "visit", "group": r["visit"], "n": r["n"], "count": r["count"]})
    n, missing = missing_mrd(adrs)
    frames.append({"section": "mrd", "group": "CR/CRi assessments", "n": n, "count": missing})
    schema = {
        "section": pl.String,
        "group": pl.String,
        "n": pl.Int64,
        "count": pl.Int64,
        "planned": pl.Int64,
        "median_days": pl.Float64,
        "min_days": pl.Float64,
        "max_days": pl.Float64,
    }
    return ConductTables(pl.DataFrame(frames, schema=schema), due.filter(pl.col("overdue")))
