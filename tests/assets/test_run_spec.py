"""One run, built once (issue 23): the analysis plan is read and the data cut parsed
once per run, whoever launches it, and every step sees that one specification."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dagster as dg
import pytest

from tests.helpers import materialize_cut
from trial_outcomes import dates, plan
from trial_outcomes.cli import main
from trial_outcomes.pipelines.runner import default_cut


class _Counted:
    """A stand-in that counts its calls and then does what the original does."""

    def __init__(self, original):
        self.original = original
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.original(*args, **kwargs)


class _CountedPattern:
    def __init__(self, pattern: re.Pattern[str]):
        self.pattern = pattern
        self.calls = 0

    def fullmatch(self, text: str):
        self.calls += 1
        return self.pattern.fullmatch(text)


@pytest.fixture
def counters(monkeypatch):
    """``plan.tomllib.loads`` (every reading of a plan file goes through it) and the
    cut's pattern (every parsing of a cut goes through ``dates.parse_cut``)."""
    reads = _Counted(plan.tomllib.loads)
    parses = _CountedPattern(dates.CUT_FORMAT)
    monkeypatch.setattr(plan.tomllib, "loads", reads)
    monkeypatch.setattr(dates, "CUT_FORMAT", parses)
    return reads, parses


def test_a_cli_run_reads_the_plan_once_and_parses_the_cut_once(small_drop_master, tmp_path, monkeypatch, counters):
    """``trial-outcomes run --cut``: the CLI checks its arguments (one parse of the
    cut, one reading of the plan) and the run takes those values: no step, resource
    or publisher reads the plan or parses the cut again (before: 36 readings and 4
    parsings in a sample run)."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    reads, parses = counters
    cut = default_cut(small_drop_master)
    code = main(["run", "--data", str(small_drop_master), "--out", str(tmp_path / "out"), "--cut", cut, "--quiet"])
    assert code in (0, 3), code  # 3: a boundary crossed, still published
    assert (tmp_path / "out" / cut / "report.pdf").is_file()
    assert (reads.calls, parses.calls) == (1, 1)


def test_a_run_launched_by_the_ui_makes_its_own_specification_once(small_drop_master, tmp_path, counters):
    """A run launched with only a partition key (the UI, a sensor, the schedule): the
    ``settings`` resource makes the specification when the run starts, once."""
    reads, parses = counters
    drop = tmp_path / "drop"
    shutil.copytree(small_drop_master, drop)
    cut = "2023-06-30"
    reads.calls = parses.calls = 0
    result, _ = materialize_cut(drop, tmp_path / "out", cut=cut, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    # the definitions read the plan once for the schedule's cron when they are built (as the UI loads
    # them), then the run reads it once; the cut is parsed once, by the run
    assert (reads.calls, parses.calls) == (2, 1)


def test_no_asset_body_writes_a_file():
    """Persistence is the IO manager's: an asset returns its tables and files, and the
    output store writes them (``io/outputs.py``, ``io/store.py``)."""
    writers = re.compile(
        r"\b(atomic_write_bytes|write_csv|write_parquet|write_xpt|write_bytes|write_text|save_table|write_ipc)\("
    )
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted((Path(__file__).resolve().parents[2] / "trial_outcomes" / "assets").glob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if writers.search(line) or re.search(r"open\([^)]*['\"][wa]b?['\"]", line)
    ]
    assert not found, found
