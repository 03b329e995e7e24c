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

CUT_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: \d took full-width ones
#: no record of a paediatric trial enrolling from 2020 is older; and a spreadsheet's time
#: without a date reads as its epoch day (1899-12-30, or 1904-01-01 in a 1904 workbook)
EARLIEST_DATE = dt.date(1950, 1, 1)
DAYS_PER_MONTH = 30.4375  # endpoints: a month is 30.4375 days (365.25 / 12), everywhere


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
