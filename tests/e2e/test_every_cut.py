"""Every month-end cut of the sample publishes (issue 19): from the month of its first
infusion to its latest record, the analysis at each month end (every asset up to the
figures, contracts included) and the whole Dagster job, report and publication
included, at each quarter end. A statistic at its edge must never stop a run."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.helpers import ROOT, materialize_cut, qc_disagreements
from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, DropSettings
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions
from trial_outcomes.pipelines.runner import default_cut

pytestmark = pytest.mark.slow
SAMPLE = ROOT / "data" / "sample"
NOT_ANALYSIS = {"figures", "report", "published_cut"}


def month_ends(drop: Path) -> list[str]:
    first = pl.read_csv(drop / "infusion.csv", try_parse_dates=True)["infusion_date"].min()
    assert isinstance(first, dt.date)
    last = default_cut(drop)
    cuts, month = [], dt.date(first.year, first.month, 1)
    while True:
        following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        end = following - dt.timedelta(days=1)
        if end > last:
            return cuts
        cuts.append(end.isoformat())
        month = following


CUTS = month_ends(SAMPLE)
QUARTERS = [c for c in CUTS if c[5:7] in ("03", "06", "09", "12")]


def _failed_contracts(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        f"{e.asset_key.to_user_string()}: {e.metadata}"
        for e in result.get_asset_check_evaluations()
        if e.check_name == "output_contract" and not e.passed
    ]


def test_the_sample_has_a_cut_for_every_month_end():
    assert len(CUTS) >= 40 and CUTS[0] <= "2020-07-31"


def test_the_analysis_at_every_month_end_passes_its_contracts(tmp_path):
    defs = build_definitions(DropSettings(data_dir=str(SAMPLE), out_dir=str(tmp_path / "out")))
    job = defs.resolve_job_def(ALL_JOB)
    keys = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.to_user_string() not in NOT_ANALYSIS]
    instance = dg.DagsterInstance.ephemeral()
    monthly = [c for c in CUTS if c not in QUARTERS]
    instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, monthly)
    failed = {}
    for cut in monthly:
        result = job.execute_in_process(
            instance=instance, partition_key=cut, asset_selection=keys, raise_on_error=False
        )
        problems = _failed_contracts(result) + [e.message or "" for e in result.get_step_failure_events()]
        if problems or not result.success:
            failed[cut] = problems
    assert not failed, failed


def test_the_whole_job_publishes_at_every_quarter_end(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    for cut in QUARTERS:
        result, _ = materialize_cut(SAMPLE, tmp_path / "out", cut, instance=instance)
        assert result.success, (cut, [e.message for e in result.get_step_failure_events()])
        assert (tmp_path / "out" / cut / "report.pdf").is_file(), cut
        assert not qc_disagreements(tmp_path / "out" / cut), cut


def test_a_planned_cut_ten_days_after_the_latest_record_publishes_and_says_so(small_drop_master, tmp_path):
    """endpoints.md v3, Time and populations: no visit need fall on the cut."""
    latest = default_cut(small_drop_master)
    cut = (latest + dt.timedelta(days=10)).isoformat()
    result, _ = materialize_cut(small_drop_master, tmp_path / "out", cut)
    assert result.success, [e.message for e in result.get_step_failure_events()]
    page_one = html.unescape(" ".join((tmp_path / "out" / cut / "report.html").read_text().split()))
    assert f"{cut} (planned cut: 10 days after the drop's latest record, {latest}" in page_one


def test_a_cut_before_the_first_infusion_publishes_each_endpoint_empty_with_its_reason(tmp_path):
    """The day before the sample's first infusion: enrolled subjects, nobody infused. Each
    endpoint's row is published with N 0 and the reason "no subjects" (it was left out:
    header-only survival tables); page 1 says the population is empty, never "NR"
    (not reached); the R QC agrees."""
    from trial_outcomes.analysis.adtte import ENDPOINT_ORDER
    from trial_outcomes.reporting.summary import NO_SUBJECTS

    first = pl.read_csv(SAMPLE / "infusion.csv", try_parse_dates=True)["infusion_date"].min()
    assert isinstance(first, dt.date)
    cut = (first - dt.timedelta(days=1)).isoformat()
    result, _ = materialize_cut(SAMPLE, tmp_path / "out", cut)
    assert result.success, [e.message for e in result.get_step_failure_events()]
    folder = tmp_path / "out" / cut
    summary = pl.read_csv(folder / "survival_summary.csv")
    assert summary.select("endpoint", "n").rows() == [(e, 0) for e in ENDPOINT_ORDER]
    assert set(pl.read_csv(folder / "survival_details.csv")["notes"]) == {"no subjects"}
    page_one = html.unescape((folder / "report.html").read_text())
    page_one = page_one[: page_one.index("Headline results") + 6000]
    assert page_one.count(NO_SUBJECTS) == 4  # OS, EFS, DFS and CIR
    assert "NR" not in page_one.split("Overall survival (OS): median; rates")[1][:200]
    assert not qc_disagreements(folder)
