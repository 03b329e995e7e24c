"""The asset graph materialized once on a small drop, as the UI would: datasets,
checks, survival files and the metadata a statistician sees."""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import materialize_cut
from trial_outcomes.analysis.survival_summary import SUMMARY_COLUMNS

DATASETS = ("adsl", "adrs", "adtte", "adae", "response_summary", "ae_summary")


@pytest.fixture(scope="module")
def materialized(small_drop_master, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result, _ = materialize_cut(small_drop_master, out)
    assert result.success
    return result, out


def test_each_dataset_shows_row_count_and_preview(materialized):
    result, _ = materialized
    for name in DATASETS:
        (event,) = result.asset_materializations_for_node(name)
        meta = event.metadata
        assert meta["dagster/row_count"].value > 0, name
        assert "|" in meta["preview"].value, name


def test_published_cut_holds_the_contract_files(materialized):
    result, out = materialized
    cut = str(result.output_for_node("trial_drop").cut)
    names = sorted(p.name for p in (out / cut).iterdir())
    for expected in (
        "adsl.parquet",
        "adtte.parquet",
        "adrs.parquet",
        "adae.parquet",
        "response_summary.csv",
        "ae_summary.csv",
    ):
        assert expected in names
    adsl = pl.read_parquet(out / cut / "adsl.parquet")
    assert adsl.height == adsl["USUBJID"].n_unique()
    assert set(adsl["SAFFL"].unique().to_list()) <= {"Y", "N"}
    assert set(adsl["sex"].unique().to_list()) <= {"M", "F"}


def test_each_check_reports_in_the_run(materialized):
    result, _ = materialized
    checks = {(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations()}
    assert ("trial_drop", "date_order") in checks
    assert ("raw/enrolment", "schema_conformance") in checks
    assert ("crs_grading", "reported_grade_matches_monitoring") in checks


def test_survival_files_follow_the_contract(materialized):
    result, out = materialized
    folder = out / str(result.output_for_node("trial_drop").cut)
    summary = pl.read_csv(folder / "survival_summary.csv")
    assert summary.columns == SUMMARY_COLUMNS
    assert set(summary["endpoint"].unique().to_list()) == {"OS", "EFS", "DFS", "CIR"}
    assert set(summary["analysis"].unique().to_list()) == {"primary", "censor_at_hsct"}
    adtte = pl.read_parquet(folder / "adtte.parquet")
    overall = summary.filter(pl.col("group_var") == "all")
    for row in overall.iter_rows(named=True):
        rows = adtte.filter((pl.col("PARAMCD") == row["endpoint"]) & (pl.col("ANALYSIS") == row["analysis"]))
        assert row["n"] == rows.height
    curves = pl.read_parquet(folder / "km_curves.parquet")
    assert curves.columns == [
        "endpoint",
        "analysis",
        "group_var",
        "group",
        "time_days",
        "n_risk",
        "n_event",
        "n_censor",
        "estimate",
        "lcl",
        "ucl",
    ]
    assert (folder / "plots" / "OS_primary_all.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "plots" / "CIR_primary_sex.png").exists()


def test_plots_show_in_the_ui_metadata(materialized):
    result, _ = materialized
    (event,) = result.asset_materializations_for_node("survival_plots")
    markdown = event.metadata["curves (primary, overall)"].value
    assert markdown.count("data:image/png;base64,") == 4
    (summary_event,) = result.asset_materializations_for_node("survival_analysis")
    assert "EFS 12-month rate" in summary_event.metadata


def test_figures_are_byte_identical_for_the_same_data(materialized):
    from trial_outcomes.reporting.figures.survival import survival_figure

    result, out = materialized
    folder = out / str(result.output_for_node("trial_drop").cut)
    curves = pl.read_parquet(folder / "km_curves.parquet").filter(
        (pl.col("endpoint") == "OS") & (pl.col("analysis") == "primary") & (pl.col("group_var") == "all")
    )
    summary = pl.read_csv(folder / "survival_summary.csv").filter(
        (pl.col("endpoint") == "OS") & (pl.col("analysis") == "primary") & (pl.col("group_var") == "all")
    )
    assert survival_figure(curves, summary, "t") == survival_figure(curves, summary, "t")
