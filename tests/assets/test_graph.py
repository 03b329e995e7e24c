"""The asset graph materialized on a small drop, as the UI would."""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import materialize_cut

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
    for expected in ("adsl.parquet", "adtte.parquet", "adrs.parquet", "adae.parquet", "response_summary.csv", "ae_summary.csv"):
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
