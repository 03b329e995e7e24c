"""Shared fixtures: a small synthetic drop made once, copied for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions
from trial_outcomes.pipelines.runner import default_cut
from trial_outcomes.synth.generator import generate

SMALL_SUBJECTS = 40
SEED = 7


@pytest.fixture(scope="session")
def small_drop_master(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("small_drop")
    generate(path, SMALL_SUBJECTS, SEED)
    return path


@pytest.fixture
def drop(small_drop_master, tmp_path) -> Path:
    """A fresh, writable copy of the small synthetic drop."""
    target = tmp_path / "drop"
    shutil.copytree(small_drop_master, target)
    return target


def materialize_cut(data_dir: Path, out_dir: Path, cut: str | None = None, instance: dg.DagsterInstance | None = None):
    """Run the whole job for one cut (the drop's latest date by default), in process."""
    cut = cut or default_cut(data_dir)
    defs = build_definitions(DropSettings(data_dir=str(data_dir), out_dir=str(out_dir)))
    instance = instance or dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DATA_CUTS.name, [cut])
    result = defs.resolve_job_def(ALL_JOB).execute_in_process(
        instance=instance, partition_key=cut, raise_on_error=False
    )
    return result, cut
