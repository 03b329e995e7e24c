"""Data cuts as Dagster partitions: one partition key per cut date (YYYY-MM-DD),
added when a cut is requested (CLI, sensor, schedule or the UI's launch dialog)."""

from __future__ import annotations

import dagster as dg

DATA_CUTS = dg.DynamicPartitionsDefinition(name="data_cut")
