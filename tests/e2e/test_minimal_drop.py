"""A drop with only the contract's required files and columns (no monitoring files,
no `soc`, `cause_category` or `bridging`) runs end to end, publishes every table,
and the report says what the drop does not have."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import cli

pytestmark = pytest.mark.slow
CUT = "2023-12-31"
OPTIONAL_COLUMNS = {"adverse_events": "soc", "followup": "cause_category", "infusion": "bridging"}


@pytest.fixture(scope="module")
def minimal_drop(small_drop_master, tmp_path_factory) -> Path:
    drop = tmp_path_factory.mktemp("minimal")
    shutil.copytree(small_drop_master, drop, dirs_exist_ok=True)
    for record in ("crs_monitoring", "icans_monitoring"):
        (drop / f"{record}.csv").unlink()
    for record, column in OPTIONAL_COLUMNS.items():
        path = drop / f"{record}.csv"
        pl.read_csv(path, infer_schema=False).drop(column).write_csv(path)
    return drop


def test_a_drop_without_the_optional_files_and_columns_runs_and_says_what_it_lacks(minimal_drop, tmp_path):
    result = cli(
        "run", "--data", str(minimal_drop), "--cut", CUT, "--out", str(tmp_path), "--quiet", home=tmp_path / "home"
    )
    assert result.returncode in (0, 3), result.stderr
    folder = tmp_path / CUT
    for name in (
        "ae_soc_summary",
        "aesi_summary",
        "crs_icans_summary",
        "safety_summary",
        "deaths_summary",
        "exposure_summary",
        "relapse_summary",
        "crs_grade_discrepancies",
        "icans_grade_discrepancies",
    ):
        assert (folder / f"{name}.csv").is_file(), name
    soc = pl.read_csv(folder / "ae_soc_summary.csv")
    assert set(soc.filter(pl.col("row_type") == "soc")["soc"]) == {"Not coded"}
    assert pl.read_csv(folder / "icans_grade_discrepancies.csv").height == 0  # nothing to compare with
    html = " ".join((folder / "report.html").read_text().split())
    for said in (
        "adverse_events has no soc column",
        "followup has no cause_category column",
        "infusion has no bridging column",
        "The drop has no crs_monitoring file",
        "The drop has no icans_monitoring file",
    ):
        assert said in html, said
    for table in (
        "Adverse events of special interest",
        "Deaths by cause category",
        "Exposure to CAR-T",
        "Relapses by site and CD19 status",
        "CRS and ICANS",
    ):
        assert table in html, table
