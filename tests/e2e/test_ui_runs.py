"""Runs as the UI launches them: a selection of the cut's assets, and the alert of a run
launched from the asset graph (Dagster's ``__ASSET_JOB``)."""

from __future__ import annotations

import os
import shutil

import dagster as dg
import pytest

from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, DropSettings
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions

pytestmark = pytest.mark.slow  # a run of 43 of the cut's 45 steps (25 s)


def test_a_selection_of_the_cuts_assets_publishes_nothing(materialized, toxic_drop, tmp_path):
    """A red team published v001 from the sample, v002 from another drop (a reason
    given), then launched all but `figures` and `independent_qc` on the sample again: a
    green run published v003 whose 46 figures were the other drop's (CONSORT n = 60 beside
    page 1's 120) and whose page 1 said "All 476 numbers agree", the other drop's QC.
    The stored values of the assets a run leaves out are an earlier run's: publishing now
    needs every asset of the cut in the run, and the cut keeps its version."""
    out = tmp_path / "out"
    shutil.copytree(materialized.out, out, symlinks=True)
    before = os.readlink(out / materialized.cut)
    defs = build_definitions(DropSettings(data_dir=str(toxic_drop), out_dir=str(out), supersede_reason="a test"))
    job = defs.resolve_job_def(ALL_JOB)
    keys = [k for k in job.asset_layer.executable_asset_keys if k.to_user_string() not in ("figures", "independent_qc")]
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [materialized.cut])
    result = job.execute_in_process(
        instance=instance, partition_key=materialized.cut, asset_selection=keys, raise_on_error=False
    )
    assert not result.success
    failures = [
        e.step_failure_data.error.message for e in result.get_step_failure_events() if e.step_failure_data.error
    ]
    assert any("needs every one of its assets materialized in one run" in m and "figures" in m for m in failures)
    assert os.readlink(out / materialized.cut) == before
