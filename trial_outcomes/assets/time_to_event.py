"""Time-to-event analysis data: ADTTE."""

from __future__ import annotations

import dagster as dg
import polars as pl

from trial_outcomes.analysis.adtte import derive_adtte
from trial_outcomes.assets.files import save_table
from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.io.records import TrialDrop


@dg.asset(partitions_def=DATA_CUTS, group_name="derivation", code_version="1")
def adtte(settings: DropSettings, cut_records: TrialDrop, adsl: pl.DataFrame) -> dg.Output:
    """ADTTE: OS, EFS, DFS and CIR for the primary analysis and `censor_at_hsct`,
    with STARTDT, ADT, AVAL (days), CNSR, event and censoring descriptions, and
    the CIR event type (1 relapse, 2 competing death, 0 censored)."""
    table = derive_adtte(adsl)
    counts = (
        table.group_by("PARAMCD", "ANALYSIS")
        .agg(pl.len(), (pl.col("CNSR") == 0).sum().alias("events"))
        .sort("PARAMCD", "ANALYSIS")
    )
    meta = {
        f"{r['PARAMCD']} {r['ANALYSIS']}": f"{r['len']} subjects, {r['events']} events"
        for r in counts.iter_rows(named=True)
    }
    return dg.Output(table, metadata={**save_table(settings, str(cut_records.cut), "adtte.parquet", table), **meta})
