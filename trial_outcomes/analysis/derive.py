"""The one derivation chain, from the records of a drop to the analysis datasets.

The Dagster assets call these same functions one step each (``cut_records``,
``eligibility_deviations``, ``adae``, ``crs_grading``, ``icans_grading``,
``adsl``, ``adrs``, ``adtte``); ``derive_all`` calls them in the same order with
the same arguments, so the test builders and the asset graph cannot drift
apart (tests/assets/test_graph.py compares the two on a synthetic drop).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from trial_outcomes.analysis.adae import derive_adae
from trial_outcomes.analysis.adrs import derive_adrs
from trial_outcomes.analysis.adsl import derive_adsl
from trial_outcomes.analysis.adtte import derive_adtte
from trial_outcomes.analysis.cut import Records, apply_cut
from trial_outcomes.analysis.eligibility import eligibility_deviations
from trial_outcomes.analysis.syndromes import SyndromeGrading, grade_crs, grade_icans
from trial_outcomes.analysis.terms import counted_spellings

DEFAULT_SUBGROUPS = ("SEX", "PRHSCTFL", "DISSTAT", "AGEGR1")


@dataclass(frozen=True)
class Derived:
    """Every analysis dataset of one cut."""

    records: Records
    deviations: pl.DataFrame
    adae: pl.DataFrame
    crs: SyndromeGrading
    icans: SyndromeGrading
    adsl: pl.DataFrame
    adrs: pl.DataFrame
    adtte: pl.DataFrame
    monitored: dict[str, bool] = field(default_factory=dict)


def derive_all(
    records: Records,
    cut: dt.date,
    subgroups: tuple[str, ...] = DEFAULT_SUBGROUPS,
    monitored: dict[str, bool] | None = None,
) -> Derived:
    """All datasets at ``cut`` from the typed records of a drop. ``monitored`` says
    whether the drop has the CRS and ICANS monitoring files (both by default)."""
    monitored = monitored or {"CRS": True, "ICANS": True}
    at_cut = apply_cut(records, cut)
    deviations = eligibility_deviations(at_cut["enrolment"], at_cut["eligibility"])
    spellings = counted_spellings(records)
    adae = derive_adae(at_cut, cut, spellings)
    crs = grade_crs(at_cut, adae, monitored["CRS"])
    icans = grade_icans(at_cut, adae, monitored["ICANS"])
    latest = _latest_date(records)
    adsl = derive_adsl(
        at_cut, cut, deviations, adae, (crs, icans), reasons_seen=latest is None or latest <= cut, spellings=spellings
    )
    adrs = derive_adrs(at_cut, adsl)
    adtte = derive_adtte(adsl, subgroups)
    return Derived(at_cut, deviations, adae, crs, icans, adsl, adrs, adtte, monitored)


def _latest_date(records: Records) -> dt.date | None:
    """The latest date of any record (the whole drop, before the cut)."""
    dates: list[object] = []
    for frame in records.values():
        found = frame.select(pl.col(pl.Date).max())
        if found.width and found.height:
            dates += found.row(0)
    return max((d for d in dates if isinstance(d, dt.date)), default=None)
