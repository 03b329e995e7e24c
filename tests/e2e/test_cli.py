"""The CLI as a user runs it: a subprocess, exit status and words on the terminal."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.helpers import ROOT, cli
from trial_outcomes.plan import DEFAULT_PLAN

pytestmark = pytest.mark.slow


def test_run_on_the_sample_prints_each_step_and_where_the_report_is(tmp_path):
    result = cli(
        "run",
        "--data",
        str(ROOT / "data" / "sample"),
        "--out",
        str(tmp_path / "out"),
        "--timings",
        home=tmp_path / "home",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "outputs in" in out and "report: " in out and "report.pdf" in out
    assert out.count("  done  ") >= 30  # one line per finished step, with its seconds
    assert "seconds by step" in out and "  published v001\n" in out
    # a library's warning reaches the user's terminal from a step's process, where pytest's
    # filterwarnings does not see it (polars' "Sortedness of columns cannot be checked" did)
    assert "Warning:" not in result.stderr, result.stderr
    cut = out.split("data cut ")[1][:10]
    assert (tmp_path / "out" / cut / "eligibility_deviations.csv").is_file()
    opened = cli("open", "--out", str(tmp_path / "out"), "--print-only", home=tmp_path / "home")
    assert opened.returncode == 0 and opened.stdout.strip() == str((tmp_path / "out" / cut / "report.pdf").absolute())
    again = cli(
        "run",
        "--data",
        str(ROOT / "data" / "sample"),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
        home=tmp_path / "home",
    )
    assert again.returncode == 0 and "no new version: v001 already holds these outputs" in again.stdout


def test_a_mistyped_option_gets_a_suggestion_and_help_has_examples_and_exit_statuses(tmp_path):
    typo = cli("run", "--dta", "x", home=tmp_path / "home")
    assert typo.returncode == 2 and "unrecognized arguments: --dta x (did you mean --data?)" in typo.stderr
    helped = cli("run", "--help", home=tmp_path / "home")
    assert "examples:" in helped.stdout and "3    published, and a stopping boundary was crossed" in helped.stdout


def test_run_on_a_bad_drop_exits_1_naming_the_check_row_and_subject(drop, tmp_path):
    lines = (drop / "infusion.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("dose_cells_per_kg")] = "lots"
    lines[2] = ",".join(cells)
    (drop / "infusion.csv").write_text("\n".join(lines) + "\n")
    result = cli("run", "--data", str(drop), "--out", str(tmp_path), "--quiet", home=tmp_path / "home")
    assert result.returncode == 1
    assert "raw/infusion:schema_conformance failed" in result.stderr
    assert (
        f"infusion.csv, row 3, column dose_cells_per_kg, value 'lots', subject {cells[0]}: not a number"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_missing_data_folder_is_a_usage_error(tmp_path):
    result = cli("run", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path), home=tmp_path / "home")
    assert result.returncode == 2
    assert "no such folder" in result.stderr


def test_run_with_another_plan_changes_every_output_that_depends_on_it(drop, tmp_path):
    """Subgroups emd and disease_stratum, landmarks 3 and 12 months: ADTTE carries emd,
    survival_summary has rate_3m/rate_12m triples (no 6 or 24), the response summary
    and the report show emd, and the manifest records the plan (with a copy of it)."""
    plan = tmp_path / "plan.toml"
    plan.write_text(
        DEFAULT_PLAN.read_text()
        .replace(
            'subgroups = ["SEX", "PRHSCTFL", "DISSTAT", "AGEGR1"]',
            'subgroups = ["SEX", "EMDFL", "STRATUM"]',
        )
        .replace("landmark_months = [6, 12, 24]", "landmark_months = [3, 12]")
    )
    result = cli(
        "run",
        "--data",
        str(drop),
        "--out",
        str(tmp_path / "out"),
        "--plan",
        str(plan),
        "--cut",
        "2023-12-31",
        "--quiet",
        home=tmp_path / "home",
    )
    assert result.returncode in (0, 3), result.stderr
    folder = tmp_path / "out" / "2023-12-31"
    assert "EMDFL" in pl.read_parquet(folder / "adtte.parquet").columns
    summary = pl.read_csv(folder / "survival_summary.csv")
    assert [c for c in summary.columns if c.startswith("rate_") and c.endswith("m")] == ["rate_3m", "rate_12m"]
    assert set(summary["group_var"].unique().to_list()) == {"all", "SEX", "EMDFL", "STRATUM"}
    assert "EMDFL" in pl.read_csv(folder / "response_summary.csv")["group_var"].to_list()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["analysis_plan"]["parameters"]["landmark_months"] == [3, 12]
    assert (folder / "analysis_plan.toml").read_text() == plan.read_text()
    html = (folder / "report.html").read_text()
    assert "Extramedullary disease" in html and "Rate at 3 mo" in html


def test_synth_help_describes_every_option_with_its_default(tmp_path):
    result = cli("synth", "--help", home=tmp_path / "home")
    assert result.returncode == 0
    for text in (
        "number of subjects (default: 120)",
        "random seed",
        "(default: 20201)",
        "file format",
        "(default: csv)",
    ):
        assert text in result.stdout.replace("\n", " ").replace("  ", " "), text


def test_synth_is_reproducible_prints_progress_and_writes_xlsx(tmp_path):
    a = cli("synth", "--subjects", "2500", "--seed", "5", "--out", str(tmp_path / "a"), home=tmp_path / "home")
    b = cli(
        "synth",
        "--subjects",
        "50",
        "--seed",
        "5",
        "--out",
        str(tmp_path / "b"),
        "--format",
        "xlsx",
        home=tmp_path / "home",
    )
    assert a.returncode == 0 and b.returncode == 0, b.stderr
    assert "peak RSS" in a.stdout and "2,500/2,500 subjects" in a.stderr  # a progress line, not a spinner
    assert (tmp_path / "b" / "enrolment.xlsx").is_file()


def test_ui_starts_from_this_interpreter_on_loopback_with_the_shared_home(tmp_path, monkeypatch):
    from trial_outcomes.cli import build_parser, ui_commands

    monkeypatch.delenv("TRIAL_PLAN", raising=False)
    commands, env = ui_commands(build_parser().parse_args(["ui"]), tmp_path)
    webserver, daemon = commands
    import sys

    assert webserver[0] == daemon[0] == sys.executable  # no bare 'dagster' looked up on PATH
    assert webserver[webserver.index("-h") + 1] == "127.0.0.1"
    assert "location_name: trial_outcomes" in (tmp_path / "workspace.yaml").read_text()
    assert webserver[webserver.index("-w") + 1] == daemon[daemon.index("-w") + 1] == str(tmp_path / "workspace.yaml")
    assert env["DAGSTER_HOME"] == str(tmp_path)
    commands, _ = ui_commands(build_parser().parse_args(["ui", "--host", "0.0.0.0"]), tmp_path)
    assert commands[0][commands[0].index("-h") + 1] == "0.0.0.0"
    # a quiet console by default (issue 22: ~2,100 DEBUG lines a run), Dagster's own lines with --verbose
    assert webserver[webserver.index("--dagster-log-level") + 1] == daemon[daemon.index("--log-level") + 1] == "warning"
    # the code server learns where the published reports are served (one click from the asset page)
    assert env["TRIAL_FILES_URL"] == "http://127.0.0.1:3080"
    loud, _ = ui_commands(build_parser().parse_args(["ui", "--verbose"]), tmp_path)
    assert loud[1][loud[1].index("--log-level") + 1] == "debug"
