"""Writing an asset's table into the cut's work folder, with its metadata."""

from __future__ import annotations

import dagster as dg
import polars as pl

from trial_outcomes.assets.metadata import table_metadata
from trial_outcomes.assets.shared import DropSettings
from trial_outcomes.io.publishing import work_dir
from trial_outcomes.io.writers import write_csv, write_parquet


def save_table(settings: DropSettings, cut: str, name: str, frame: pl.DataFrame) -> dict:
    """Write ``frame`` as ``name`` (.parquet or .csv) for the cut; return UI metadata."""
    path = work_dir(settings.out_path, cut) / name
    (write_parquet if name.endswith(".parquet") else write_csv)(frame, path)
    return {**table_metadata(frame), "path": dg.MetadataValue.path(str(path))}
