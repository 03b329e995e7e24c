"""The asset graph materialized once on a small drop, as the UI would: datasets,
checks, contracts, the metadata a statistician sees, and the one derivation chain."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from tests.conftest import Materialized
from trial_outcomes.analysis.derive import derive_all
from trial_outcomes.assets.shared import OUTPUT_TAG
from trial_outcomes.contracts import (
    OPTIONAL_OUTPUTS,
    OUTPUTS,
    REGULATORY_FILES,
    survival_summary_schema,
    with_declared_text,
)
from trial_outcomes.io.qc import rscript
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions, output_asset_keys

DATASETS = ("adsl", "adrs", "adtte", "adae", "response_summary", "ae_summary", "ae_soc_summary")


def test_each_dataset_shows_row_count_preview_and_labelled_column_schema(materialized: Materialized):
    for name in DATASETS:
        (event,) = materialized.result.asset_materializations_for_node(name)
        meta = event.metadata
        assert meta["dagster/row_count"].value > 0, name
        assert "|" in meta["preview"].value, name
        schema = meta["dagster/column_schema"].schema
        assert all(column.description for column in schema.columns), name
    adsl_schema = materialized.result.asset_materializations_for_node("adsl")[0].metadata["dagster/column_schema"]
    labels = {c.name: c.description for c in adsl_schema.schema.columns}
    assert labels["SAFFL"] == "Safety population flag (infused)"


def test_every_contract_check_passes_and_every_rule_is_reported(materialized: Materialized):
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e for e in materialized.result.get_asset_check_evaluations()
    }
    contract = [k for k in checks if k[1] == "output_contract"]
    assert len(contract) >= 18 and all(checks[k].passed for k in contract)
    for key in (
        ("trial_drop", "date_order"),
        ("trial_drop", "required_rows"),
        ("raw/enrolment", "schema_conformance"),
        ("raw/icans_monitoring", "known_columns"),
        ("crs_grading", "reported_grade_matches_monitoring"),
        ("icans_grading", "reported_grade_matches_monitoring"),
        ("stopping_rules", "safety_boundary"),
        ("stopping_rules", "efficacy_futility_boundary"),
    ):
        assert key in checks, key


def test_published_cut_holds_every_contract_file_and_the_plan(materialized: Materialized):
    names = {p.name for p in materialized.folder.iterdir()}
    expected = {o.file for o in OUTPUTS if o.file not in OPTIONAL_OUTPUTS}
    regulatory = set(REGULATORY_FILES) | ({"qc_report.csv"} if rscript() else set())
    reports = {"report.html", "report.pdf", "report_open.html", "report_open.pdf"}
    assert expected | regulatory | reports | {"manifest.json", "analysis_plan.toml", "plots"} == names
    adsl = pl.read_parquet(materialized.folder / "adsl.parquet")
    assert adsl.height == adsl["USUBJID"].n_unique()
    assert set(adsl["SAFFL"].unique().to_list()) <= {"Y", "N"}
    summary = pl.read_csv(materialized.folder / "survival_summary.csv")
    assert summary.columns == survival_summary_schema((6, 12, 24)).column_names()
    assert set(summary["endpoint"].unique().to_list()) == {"OS", "EFS", "DFS", "CIR", "NRM", "DOR"}
    assert summary.filter(pl.col("endpoint") == "OS")["analysis"].unique().to_list() == ["primary"]


def test_the_graph_and_the_test_builders_run_the_same_derivation(materialized: Materialized):
    """derive_all (what tests/builders.py calls) gives exactly the published datasets."""
    drop = materialized.result.output_for_node("trial_drop")
    derived = derive_all(
        drop.records,
        drop.cut,
        ("SEX", "PRHSCTFL", "DISSTAT", "AGEGR1"),
        {"CRS": drop.has("crs_monitoring"), "ICANS": drop.has("icans_monitoring")},
    )
    for name, frame in (
        ("adsl", derived.adsl),
        ("adae", derived.adae),
        ("adrs", derived.adrs),
        ("adtte", derived.adtte),
    ):
        published = pl.read_parquet(materialized.folder / f"{name}.parquet")
        # a text column held as categories (ADTTE's) is published as its text
        assert_frame_equal(with_declared_text(frame.select(published.columns)), published)


def test_the_publish_list_is_every_asset_tagged_as_output(materialized: Materialized):
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    published = defs.resolve_assets_def("published_cut")
    deps = set(graph.get(published.key).parent_keys)
    tagged = set(output_asset_keys(list(defs.assets)))  # type: ignore[arg-type]
    assert tagged <= deps and len(tagged) >= 20
    assert all(OUTPUT_TAG in graph.get(k).tags for k in tagged)
    assert {o.asset for o in OUTPUTS} <= {k.to_user_string() for k in tagged}


def test_code_versions_come_from_the_code_and_the_job_runs_in_one_process():
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    versions = {graph.get(k).code_version for k in graph.get_all_asset_keys()}
    assert "1" not in versions and all(v and len(v) == 16 for v in versions)
    assert defs.resolve_job_def(ALL_JOB).executor_def.name == "in_process"


def test_figures_show_in_the_ui_one_entry_per_endpoint(materialized: Materialized):
    (event,) = materialized.result.asset_materializations_for_node("figures")
    meta = event.metadata
    os_figures = meta["curves: Overall survival"].value
    assert os_figures.count("data:image/svg+xml;base64,") == 1 + 4  # overall and the four subgroups
    assert meta["figures"].value == len(list((materialized.folder / "plots").iterdir()))
    # every figure of the cut is on the asset page (the UI showed 35 of 39: issue 22)
    shown = sum(v.value.count("data:image/svg+xml;base64,") for k, v in meta.items() if k != "figures")
    assert shown == meta["figures"].value
    (survival,) = materialized.result.asset_materializations_for_node("survival_analysis")
    headline = survival.metadata["headline: median and rates with 95% CIs (primary, all subjects)"]
    assert [r.data["endpoint"] for r in headline.records][:2] == ["Overall survival", "Event-free survival"]
    first = headline.records[0].data
    assert set(first) == {"endpoint", "N", "events", "median, mo", "12 mo, %", "24 mo, %"}
    assert all(len(v) < 30 for v in first.values())  # rounded for people, no raw floats


def test_figures_are_byte_identical_for_the_same_data(materialized: Materialized):
    import json

    from trial_outcomes.reporting.figures.render import Stamped, draw, figure_stamp
    from trial_outcomes.reporting.figures.specs import survival_specs

    folder = materialized.folder
    specs = survival_specs(
        pl.read_csv(folder / "survival_summary.csv"),
        pl.read_csv(folder / "survival_details.csv"),
        pl.read_parquet(folder / "km_curves.parquet"),
        (6, 12, 24),
    )
    drop = json.loads((folder / "manifest.json").read_text())["data_drop"]["sha256"]
    spec = Stamped(specs["OS_primary_all.svg"], figure_stamp(materialized.cut, drop))  # each figure states its cut
    assert draw(spec) == draw(spec) == (folder / "plots" / "OS_primary_all.svg").read_bytes()
    assert f"Data cut {materialized.cut}".encode() in draw(spec)


def test_published_cut_lists_every_published_cut_in_date_order_with_its_drop(materialized: Materialized):
    """Issue 22: the partition list shows no drop; the published_cut page lists the cuts
    published in the output folder, in date order, each with its version and drop hash."""
    import json

    (event,) = materialized.result.asset_materializations_for_node("published_cut")
    table = event.metadata["published cuts"].value
    manifest = json.loads((materialized.folder / "manifest.json").read_text())
    row = f"| {materialized.cut} | {materialized.folder.resolve().name} | `{manifest['data_drop']['sha256'][:16]}` |"
    assert row in table, table
