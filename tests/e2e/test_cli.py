"""The CLI as a user runs it: a subprocess, exit status and words on the terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trial_outcomes.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def test_run_on_the_sample_exits_zero_and_says_where_outputs_are(tmp_path):
    result = _cli("run", "--data", str(ROOT / "data" / "sample"), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "outputs in" in result.stdout
    cut = result.stdout.split("data cut ")[1][:10]
    assert (tmp_path / cut / "eligibility_deviations.csv").is_file()


def test_run_on_a_bad_drop_exits_non_zero_naming_the_check(drop, tmp_path):
    lines = (drop / "infusion.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("dose_cells_per_kg")] = "lots"
    lines[2] = ",".join(cells)
    (drop / "infusion.csv").write_text("\n".join(lines) + "\n")
    result = _cli("run", "--data", str(drop), "--out", str(tmp_path))
    assert result.returncode == 1
    assert "raw/infusion:schema_conformance failed" in result.stderr
    assert "infusion.csv, row 3, column dose_cells_per_kg, value 'lots': not a number" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_folder_is_a_usage_error(tmp_path):
    result = _cli("run", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path))
    assert result.returncode == 2
    assert "no such folder" in result.stderr


def test_synth_prints_time_and_memory_and_is_reproducible(tmp_path):
    a = _cli("synth", "--subjects", "50", "--seed", "5", "--out", str(tmp_path / "a"))
    b = _cli("synth", "--subjects", "50", "--seed", "5", "--out", str(tmp_path / "b"), "--format", "parquet")
    assert a.returncode == 0 and b.returncode == 0
    assert "peak RSS" in a.stdout
    assert (tmp_path / "b" / "enrolment.parquet").is_file()


def test_ui_binds_to_loopback_unless_told_otherwise():
    from trial_outcomes.cli import build_parser, ui_command

    cmd, env = ui_command(build_parser().parse_args(["ui"]))
    assert cmd[cmd.index("-h") + 1] == "127.0.0.1"
    assert env["DAGSTER_HOME"].endswith(".dagster_home")
    cmd, _ = ui_command(build_parser().parse_args(["ui", "--host", "0.0.0.0"]))
    assert cmd[cmd.index("-h") + 1] == "0.0.0.0"
