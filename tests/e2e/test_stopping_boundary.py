"""A synthetic drop with too many grade-4 CRS crosses the safety boundary, and says
so in the check, the report and the exit status."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from trial_outcomes.assets.shared import DATA_CUTS, STOPPING_TAG, DropSettings
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
CUT = "2023-12-31"


@pytest.fixture(scope="module")
def toxic_drop(small_drop_master, tmp_path_factory) -> Path:
    """Every reported CRS becomes grade 4: far above a 20 % threshold."""
    drop = tmp_path_factory.mktemp("toxic")
    shutil.copytree(small_drop_master, drop, dirs_exist_ok=True)
    ae = pl.read_csv(drop / "adverse_events.csv", infer_schema=False)
    crs = pl.col("term") == "Cytokine release syndrome"
    ae = ae.with_columns(
        pl.when(crs & (pl.col("grade") != "5")).then(pl.lit("4")).otherwise(pl.col("grade")).alias("grade")
    )
    ae.write_csv(drop / "adverse_events.csv")
    return drop


def test_cli_exits_3_and_names_the_crossed_boundary(toxic_drop, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "trial_outcomes.cli",
            "run",
            "--data",
            str(toxic_drop),
            "--cut",
            CUT,
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 3, result.stderr
    assert "STOPPING BOUNDARY CROSSED" in result.stderr
    assert "stopping_rules:safety_boundary failed: BOUNDARY CROSSED" in result.stderr
    html = (tmp_path / CUT / "report.html").read_text()
    assert "CROSSED" in html and "Safety (Bayesian beta-binomial)" in html
    rules = pl.read_csv(tmp_path / CUT / "stopping_rules.csv")
    assert rules.filter(pl.col("rule").str.starts_with("Safety"))["crossed"].to_list() == [True]


def test_check_fails_without_blocking_and_the_run_is_tagged(toxic_drop, tmp_path):
    defs = build_definitions(DropSettings(data_dir=str(toxic_drop), out_dir=str(tmp_path)))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(DATA_CUTS.name, [CUT])
        result = defs.resolve_job_def(ALL_JOB).execute_in_process(instance=instance, partition_key=CUT)
        assert result.success  # non-blocking: the report still comes out
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert not checks["safety_boundary"].passed
        assert checks["safety_boundary"].severity == dg.AssetCheckSeverity.WARN
        assert checks["safety_boundary"].description.startswith("BOUNDARY CROSSED")
        assert checks["efficacy_futility_boundary"].passed
        run = instance.get_run_by_id(result.run_id)
        assert run.tags[STOPPING_TAG].startswith("CROSSED: Safety")
