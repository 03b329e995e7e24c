"""Helpers the tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions
from trial_outcomes.pipelines.runner import default_cut

ROOT = Path(__file__).resolve().parents[1]


def materialize_cut(data_dir: Path, out_dir: Path, cut: str | None = None,
                    instance: dg.DagsterInstance | None = None, **settings: str) -> tuple[dg.ExecuteInProcessResult, str]:
    """Run the whole job for one cut (the drop's latest date by default), in process."""
    cut = cut or default_cut(data_dir)
    defs = build_definitions(DropSettings(data_dir=str(data_dir), out_dir=str(out_dir), **settings))
    instance = instance or dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DATA_CUTS.name, [cut])
    result = defs.resolve_job_def(ALL_JOB).execute_in_process(instance=instance, partition_key=cut,
                                                              raise_on_error=False)
    return result, cut


def cli(*args: str, home: Path, env: dict[str, str] | None = None, timeout: int = 600,
        cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``trial-outcomes`` as a user runs it, with its own Dagster home (tests never share
    the project's .dagster_home)."""
    full_env = {**os.environ, "DAGSTER_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "trial_outcomes.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def cli_process(*args: str, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "trial_outcomes.cli", *args], cwd=ROOT,
                            env={**os.environ, "DAGSTER_HOME": str(home)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
