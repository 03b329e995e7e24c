"""The analysis at every month-end cut of the sample that is not a quarter end (issue
19): every asset up to the figures, contracts included (the quarter ends run the whole
job, report and publication included: ``test_every_cut.py``)."""

from __future__ import annotations

import dagster as dg
import pytest

from tests.e2e.sample_cuts import CUTS, QUARTERS, SAMPLE
from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, DropSettings
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions

pytestmark = pytest.mark.slow
NOT_ANALYSIS = {"figures", "report", "published_cut"}


def failed_contracts(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        f"{e.asset_key.to_user_string()}: {e.metadata}"
        for e in result.get_asset_check_evaluations()
        if e.check_name == "output_contract" and not e.passed
    ]


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
        problems = failed_contracts(result) + [e.message or "" for e in result.get_step_failure_events()]
        if problems or not result.success:
            failed[cut] = problems
    assert not failed, failed
