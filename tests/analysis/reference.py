"""R's reference results (tests/reference, copied from the shared reference set with
the R script that made them): loading helpers for the tests."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
LANDMARKS = {"rate_6m": 6 * 30.4375, "rate_12m": 12 * 30.4375, "rate_24m": 24 * 30.4375}


def load(name: str) -> tuple[pl.DataFrame, dict]:
    """The data set ``name`` and R's results for it; both ship with the tests."""
    return pl.read_csv(REFERENCE / f"{name}.csv"), json.loads((REFERENCE / f"{name}.json").read_text())


def approx_or_none(expected, rel=None, abs=None):
    return None if expected is None else pytest.approx(expected, rel=rel, abs=abs)
