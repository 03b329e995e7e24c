"""Each subject's key dates (endpoints.md, Time and populations).

One small function per date, each taking the records at the cut and returning
one row per subject (``subject_id`` and the dates it derives). ``derive_adsl``
joins them; ADAE and the CRS/ICANS grading take the few they need.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.frames import require, scan, streamed


def study_day(date: pl.Expr, day0: pl.Expr | None = None) -> pl.Expr:
    """Days from the first infusion (``TRTSDT``, day 0) to ``date``: the day after
    infusion is day 1, the day before is day -1 (endpoints.md: day 0 = infusion)."""
    return (date - (pl.col("TRTSDT") if day0 is None else day0)).dt.total_days()


def followed_for(days: int, cut: dt.date) -> pl.Expr:
    """An infused subject followed ``days`` days after the infusion (``TRTSDT``) by the
    cut, not withdrawn (``WDDT``) or lost to follow-up (``LOSTDT``) before then: whether
    the subject is known to have had no event in that window. A subject who withdrew on
    day 5 was counted as followed for 30 days, free of any event (a red team's safety
    rule counted 6 of 23 evaluable, not 6 of 22)."""
    reached = pl.col("TRTSDT") + pl.duration(days=days)
    left = pl.min_horizontal(pl.col("WDDT"), pl.col("LOSTDT"))
    return ((reached <= cut) & (left.is_null() | (left >= reached))).fill_null(False)


#: infusions within this many days of the first are one fractionated (split) dose, not a
#: re-infusion: its fractions are one product
SPLIT_DOSE_DAYS = 7


def treatment_dates(records: Records) -> pl.DataFrame:
    """``TRTSDT``: the first infusion (day 0); ``LDSTDT``: the first lymphodepletion
    start; ``NINFUS`` (every infusion, a split dose's fractions each); ``NDOSE`` (the
    doses: a split dose's fractions one, ``dose_count``); ``TR02SDT``: the
    re-infusion, if any: the first infusion more than ``SPLIT_DOSE_DAYS`` after day 0, the
    start of the second product (treatment period 2; its kinetics are not the first
    product's: ``kinetics.parameters``). Until 2026-12-06 it was the second infusion date,
    a split dose's second fraction on day 1 when there was one, so a red team's re-infusion
    on day 301 after a split dose was never seen, and its expansion was the first
    product's persistence (Tlast day 730 for 180)."""
    infusion = require(records["infusion"], "infusion", "subject_id", "infusion_date", "ld_start_date")
    first = pl.col("infusion_date").min()
    later = pl.col("infusion_date").filter(pl.col("infusion_date") > first + pl.duration(days=SPLIT_DOSE_DAYS))
    dates = infusion.group_by("subject_id").agg(
        first.alias("TRTSDT"),
        pl.col("ld_start_date").min().alias("LDSTDT"),
        pl.len().cast(pl.Int64).alias("NINFUS"),
        later.min().alias("TR02SDT"),
        later.sort().alias("_later"),
    )
    # the few subjects given more than one dose, each read once (a million subjects: a few rows)
    again = dates.filter(pl.col("_later").list.len() > 0).select("subject_id", "_later")
    more = pl.DataFrame(
        {"subject_id": again["subject_id"], "_more": [dose_count(d) for d in again["_later"].to_list()]},
        schema={"subject_id": dates.schema["subject_id"], "_more": pl.Int64},
    )
    return (
        dates.join(more, on="subject_id", how="left")
        .with_columns((1 + pl.col("_more").fill_null(0)).alias("NDOSE"))
        .select("subject_id", "TRTSDT", "LDSTDT", "NINFUS", "NDOSE", "TR02SDT")
    )


def dose_count(dates: list[dt.date]) -> int:
    """The doses among infusion ``dates`` (sorted): each starts at the first infusion more
    than ``SPLIT_DOSE_DAYS`` after the start of the one before; the infusions within
    that many days of a dose's start are its fractions. Worked example: days 0, 1, 2 (a
    10/30/60 % split), 40 and 45 are two doses; days 0, 5 and 10 are two (day 10 is more
    than 7 days after day 0); days 0, 40 and 70 three. Until 2026-12-06 the exposure table
    counted infusions, so a split dose's three fractions read "infused 3 or more times"."""
    count, start = 0, None
    for when in dates:
        if start is None or when > start + dt.timedelta(days=SPLIT_DOSE_DAYS):
            count, start = count + 1, when
    return count


def _first_event(event: str, date_name: str, detail_name: str | None = None) -> list[pl.Expr]:
    rows = pl.col("event") == event
    out = [pl.col("event_date").filter(rows).min().alias(date_name)]
    if detail_name:
        out.append(pl.col("detail").filter(rows).sort_by(pl.col("event_date").filter(rows)).first().alias(detail_name))
    return out


def followup_dates(records: Records) -> pl.DataFrame:
    """``HSCTDT`` (first consolidative HSCT) with its detail ``HSCTDSC``, ``NTHERDT`` (first
    new anti-leukemia therapy) with ``NTHERDSC``, ``WDDT``/``WDREAS`` (withdrawal) and
    ``LOSTDT`` (lost to follow-up). Deaths are ``analysis.deaths.death_details``."""
    fu = require(scan(records, "followup"), "followup", "subject_id", "event_date", "event", "detail")
    return streamed(
        fu.group_by("subject_id").agg(
            *_first_event("HSCT", "HSCTDT", "HSCTDSC"),
            *_first_event("NEW_THERAPY", "NTHERDT", "NTHERDSC"),
            *_first_event("WITHDRAWAL", "WDDT", "WDREAS"),
            *_first_event("LOST", "LOSTDT"),
        )
    )


def attribution_end(dates: pl.DataFrame) -> pl.DataFrame:
    """``ATTRENDT``: the first HSCT or new anti-leukemia therapy, whichever is first.
    endpoints.md, Response: "only assessments before the first HSCT or NEW_THERAPY
    (and before the cut) count toward any response of CAR-T". The same date closes
    the treatment-emergent window of ADAE and censors ``censor_at_hsct``.
    ``ATTRENRS`` says which therapy it was."""
    therapy = pl.min_horizontal("HSCTDT", "NTHERDT")
    reason = (
        pl.when(pl.col("HSCTDT").is_not_null() & (pl.col("HSCTDT") == therapy))
        .then(pl.lit("Consolidative HSCT"))
        .when(pl.col("NTHERDT").is_not_null())
        .then(pl.lit("New anti-leukemia therapy"))
    )
    return dates.with_columns(therapy.alias("ATTRENDT"), reason.alias("ATTRENRS"))


def last_known_alive_date(records: Records) -> pl.DataFrame:
    """``LSTALVDT``: "the latest date, up to the cut, of any record that shows the
    subject alive (infusion, assessment, CONTACT, HSCT, NEW_THERAPY, AE onset or
    resolution), never after a death". Enrolment counts too, so that a subject
    never infused has one. A date after a death is not taken (validation forbids
    them; the filter keeps this rule whole on its own)."""
    fu = scan(records, "followup")
    ae = scan(records, "adverse_events")
    alive = pl.concat(
        [
            scan(records, "enrolment").select("subject_id", pl.col("enrol_date").alias("d")),
            scan(records, "infusion").select("subject_id", pl.col("infusion_date").alias("d")),
            scan(records, "assessments").select("subject_id", pl.col("assessment_date").alias("d")),
            fu.filter(pl.col("event").is_in(["CONTACT", "HSCT", "NEW_THERAPY"])).select(
                "subject_id", pl.col("event_date").alias("d")
            ),
            ae.select("subject_id", pl.col("onset_date").alias("d")),
            ae.select("subject_id", pl.col("resolution_date").alias("d")).drop_nulls(),
        ]
    )
    deaths = fu.filter(pl.col("event") == "DEATH").group_by("subject_id").agg(pl.col("event_date").min().alias("_dth"))
    return streamed(
        alive.join(deaths, on="subject_id", how="left")
        .filter(pl.col("_dth").is_null() | (pl.col("d") <= pl.col("_dth")))
        .group_by("subject_id")
        .agg(pl.col("d").max().alias("LSTALVDT"))
    )


def last_disease_assessment(records: Records) -> pl.DataFrame:
    """``FASDT``/``LSTASDT``: the first and last disease assessment (the EFS censoring date)."""
    return streamed(
        scan(records, "assessments")
        .group_by("subject_id")
        .agg(
            pl.col("assessment_date").min().alias("FASDT"),
            pl.col("assessment_date").max().alias("LSTASDT"),
        )
    )
