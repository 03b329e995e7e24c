"""R's reference results (shared/reference): loading helpers for the tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
LANDMARKS = {"rate_6m": 6 * 30.4375, "rate_12m": 12 * 30.4375, "rate_24m": 24 * 30.4375}


def load(name: str) -> tuple[pl.DataFrame, dict]:
    csv, js = REFERENCE / f"{name}.csv", REFERENCE / f"{name}.json"
    if not csv.exists():
        if os.environ.get("CI"):
            pytest.fail(f"reference data {csv} missing in CI")
        pytest.skip(f"reference data {csv} not found (shared/ is laid beside the checkout)")
    return pl.read_csv(csv), json.loads(js.read_text())


def approx_or_none(expected, rel=None, abs=None):
    return None if expected is None else pytest.approx(expected, rel=rel, abs=abs)
