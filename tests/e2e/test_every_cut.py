"""Every month-end cut of the sample publishes (issue 19): from the month of its first
infusion to its latest record, the whole Dagster job, report and publication included,
at each quarter end; the analysis at the other month ends (every asset up to the
figures, contracts included) is ``test_every_month_end.py``, a file of its own so that
the README's two workers run the two at once. A statistic at its edge must never stop
a run."""

from __future__ import annotations

import datetime as dt
import html

import dagster as dg
import polars as pl
import pytest

from tests.e2e.sample_cuts import CUTS, QUARTERS, SAMPLE
from tests.helpers import materialize_cut, qc_disagreements
from trial_outcomes.pipelines.runner import default_cut

pytestmark = pytest.mark.slow


def test_the_sample_has_a_cut_for_every_month_end():
    assert len(CUTS) >= 40 and CUTS[0] <= "2020-07-31"


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
