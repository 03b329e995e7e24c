"""The sample's month-end cuts, from the month of its first infusion to its latest
record (``test_every_cut.py``, ``test_every_month_end.py``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from tests.helpers import ROOT
from trial_outcomes.pipelines.runner import default_cut

SAMPLE = ROOT / "data" / "sample"


def month_ends(drop: Path) -> list[str]:
    first = pl.read_csv(drop / "infusion.csv", try_parse_dates=True)["infusion_date"].min()
    assert isinstance(first, dt.date)
    last = default_cut(drop)
    cuts, month = [], dt.date(first.year, first.month, 1)
    while True:
        following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        end = following - dt.timedelta(days=1)
        if end > last:
            return cuts
        cuts.append(end.isoformat())
        month = following


CUTS = month_ends(SAMPLE)
QUARTERS = [c for c in CUTS if c[5:7] in ("03", "06", "09", "12")]
