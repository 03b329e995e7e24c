"""Survival assets on the small drop: files, metadata a statistician sees, determinism of figures."""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import materialize_cut
from trial_outcomes.analysis.survival_summary import SUMMARY_COLUMNS


@pytest.fixture(scope="module")
def run(small_drop_master, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result, cut = materialize_cut(small_drop_master, out)
    assert result.success
    return result, out / cut


def test_survival_files_follow_the_contract(run):
    _, folder = run
    summary = pl.read_csv(folder / "survival_summary.csv")
    assert summary.columns == SUMMARY_COLUMNS
    assert set(summary["endpoint"].unique().to_list()) == {"OS", "EFS", "DFS", "CIR"}
    assert set(summary["analysis"].unique().to_list()) == {"primary", "censor_at_hsct"}
    adtte = pl.read_parquet(folder / "adtte.parquet")
    overall = summary.filter((pl.col("group_var") == "all"))
    for row in overall.iter_rows(named=True):
        rows = adtte.filter((pl.col("PARAMCD") == row["endpoint"]) & (pl.col("ANALYSIS") == row["analysis"]))
        assert row["n"] == rows.height
    curves = pl.read_parquet(folder / "km_curves.parquet")
    assert curves.columns == ["endpoint", "analysis", "group_var", "group", "time_days", "n_risk", "n_event",
                              "n_censor", "estimate", "lcl", "ucl"]
    assert (folder / "plots" / "OS_primary_all.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "plots" / "CIR_primary_sex.png").exists()


def test_plots_show_in_the_ui_metadata(run):
    result, _ = run
    (event,) = result.asset_materializations_for_node("survival_plots")
    markdown = event.metadata["curves (primary, overall)"].value
    assert markdown.count("data:image/png;base64,") == 4
    (summary_event,) = result.asset_materializations_for_node("survival_analysis")
    assert "EFS 12-month rate" in summary_event.metadata


def test_figures_are_byte_identical_for_the_same_data(run):
    from trial_outcomes.reporting.plots import survival_figure

    _, folder = run
    curves = pl.read_parquet(folder / "km_curves.parquet").filter(
        (pl.col("endpoint") == "OS") & (pl.col("analysis") == "primary") & (pl.col("group_var") == "all"))
    summary = pl.read_csv(folder / "survival_summary.csv").filter(
        (pl.col("endpoint") == "OS") & (pl.col("analysis") == "primary") & (pl.col("group_var") == "all"))
    assert survival_figure(curves, summary, "t") == survival_figure(curves, summary, "t")
