"""Dates the pipeline accepts: the data cut, and what a plausible record date is.

A cut is written exactly ``YYYY-MM-DD`` (``date.fromisoformat`` alone would also
take ``2024-W13-5`` or ``20240330``, another spelling of a date that would get
past the cut's lock and partition key under a second name). Record dates are
refused before ``EARLIEST_DATE`` or after today: no EDC record of this trial
can be dated in the future, and a far-future typo must never move the default
cut.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

CUT_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: \d took full-width ones
#: no record of a paediatric trial enrolling from 2020 is older; and a spreadsheet's time
#: without a date reads as its epoch day (1899-12-30, or 1904-01-01 in a 1904 workbook)
EARLIEST_DATE = dt.date(1950, 1, 1)
DAYS_PER_MONTH = 30.4375  # endpoints: a month is 30.4375 days (365.25 / 12), everywhere
#: endpoints: the day-28 response window, days 21 to 42 from infusion (read by the best
#: response, ``analysis.response``, and by the drop's window queries, ``io.validation``)
RESPONSE_WINDOW_FIRST_DAY, RESPONSE_WINDOW_LAST_DAY = 21, 42


def parse_cut(text: str) -> dt.date:
    """A data cut given as ``YYYY-MM-DD`` (a real calendar day), or a ValueError saying so."""
    if not isinstance(text, str) or not CUT_FORMAT.fullmatch(text):
        raise ValueError(f"data cut {text!r} is not written YYYY-MM-DD (for example 2024-03-31)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"data cut {text!r} is not a real calendar day") from None


def today() -> dt.date:
    """The latest date a record may carry (records from the future are refused)."""
    return dt.date.today()


def cut_in_the_future(when: dt.date) -> str | None:
    """Why a cut cannot be taken when it is after today (no drop can show it), or None:
    read by the CLI before a run starts and by the drop's check of its cut."""
    if when > today():
        return f"data cut {when.isoformat()} is after today ({today()}): a cut cannot be in the future"
    return None


#: ASTCT's instruments: the ICE score from age 12, the CAPD under it
ICE_FROM_AGE = 12
#: how far a written age with decimals may be from the child's age: rounded to a tenth
AGE_ROUNDING_YEARS = 0.05


def written_in_completed_years(ages: pl.Series) -> bool:
    """Whether a drop writes ages as completed years: every age a whole number (an EDC's
    11); a drop writing any age with decimals writes them all to a tenth (12.0 is then
    11.95 to 12.05, not 12 to 13: a reviewer's CAPD for a child written 12.0, 13 days
    after enrolment, was refused)."""
    known = ages.drop_nulls().drop_nans()
    return bool(known.len()) and bool((known == known.floor()).all())


def age_bounds(age_years: pl.Expr, enrolled: pl.Expr, on: pl.Expr, completed_years: bool) -> tuple[pl.Expr, pl.Expr]:
    """The youngest and oldest a child can be on ``on``, from the age written at enrolment
    (``age_years`` on ``enrolled``) plus the years since (days / 365.25). In completed
    years (``written_in_completed_years``), 11 is 11 to the day before 12; otherwise an
    age is taken as rounded to a tenth (11.9 is 11.85 to 11.95). Within these bounds of a
    12th birthday either ASTCT instrument may be the right one: a red team's child
    assessed with the ICE score on the day the rule computed as 11.99999985 years was
    refused."""
    since = (on - enrolled).dt.total_days() / 365.25
    if completed_years:
        return age_years + since, age_years + 1 - 1 / 365.25 + since
    return age_years - AGE_ROUNDING_YEARS + since, age_years + AGE_ROUNDING_YEARS + since
