"""The production instance (deploy/dagster-postgres.yaml) against the PostgreSQL on
127.0.0.1:5432: a materialization runs there, and a second instance reads the run
and its materializations back."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import dagster as dg
import pytest

from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, DropSettings
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions

ROOT = Path(__file__).resolve().parents[2]
PG = {
    "DAGSTER_PG_HOST": os.environ.get("TEST_PG_HOST", "127.0.0.1"),
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_DB": os.environ.get("TEST_PG_DB", "test"),
    "DAGSTER_PG_USERNAME": os.environ.get("TEST_PG_USER", "postgres"),
    "DAGSTER_PG_PASSWORD": os.environ.get("TEST_PG_PASSWORD", ""),
}
pytestmark = pytest.mark.slow


def _postgres_up() -> bool:
    try:
        with socket.create_connection((PG["DAGSTER_PG_HOST"], 5432), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def postgres_home(tmp_path, monkeypatch) -> Path:
    if not _postgres_up():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 in CI")
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    for key, value in PG.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(ROOT / "deploy" / "dagster-postgres.yaml", home / "dagster.yaml")
    return home


def test_materialization_is_stored_in_postgres_and_read_back(postgres_home, small_drop_master, tmp_path):
    cut = "2022-12-31"
    defs = build_definitions(DropSettings(data_dir=str(small_drop_master), out_dir=str(tmp_path / "out")))
    with dg.DagsterInstance.from_config(str(postgres_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [cut])
        result = defs.resolve_job_def(ALL_JOB).execute_in_process(instance=instance, partition_key=cut)
        assert result.success
        run_id = result.run_id
    with dg.DagsterInstance.from_config(str(postgres_home)) as reader:
        run = reader.get_run_by_id(run_id)
        assert run is not None and run.is_success
        assert run.tags["dagster/partition"] == cut
        records = reader.fetch_materializations(dg.AssetRecordsFilter(asset_key=dg.AssetKey("adsl")), limit=50).records
        mine = [r for r in records if r.run_id == run_id]
        assert len(mine) == 1
        assert mine[0].partition_key == cut
        assert mine[0].asset_materialization.metadata["dagster/row_count"].value > 0
        assert cut in reader.get_dynamic_partitions(DATA_CUT_PARTITIONS)
