"""One run, built once (issue 23): the analysis plan is read and the data cut parsed
once per run, whoever launches it, and every step sees that one specification."""

from __future__ import annotations

import re
import time
from pathlib import Path

import dagster as dg
import pytest

from trial_outcomes import dates, plan
from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, DropSettings
from trial_outcomes.cli import main
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions
from trial_outcomes.pipelines.instance import REMEMBER_SECONDS
from trial_outcomes.pipelines.runner import default_cut
from trial_outcomes.schema import SCHEMAS


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


@pytest.mark.slow  # a whole CLI run; the fast tier counts a run launched with a partition key
def test_a_cli_run_reads_the_plan_once_and_parses_the_cut_once(small_drop_master, tmp_path, monkeypatch, counters):
    """``trial-outcomes run --cut``: the CLI checks its arguments (one parse of the
    cut, one reading of the plan) and the run takes those values: no step, resource
    or publisher reads the plan or parses the cut again (before: 36 readings and 4
    parsings in a sample run). The run's storage is asked whether the cut is a partition
    about once every ``REMEMBER_SECONDS``, not once for every input and output of every
    step (775 times a sample run before ``TrialInstance`` remembered it: 3.1 s of its 20)."""
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    reads, parses = counters
    asked = _Counted(SqlEventLogStorage.has_dynamic_partition)

    def has_dynamic_partition(self, *args, **kwargs):  # a method: the storage is its first argument
        return asked(self, *args, **kwargs)

    monkeypatch.setattr(SqlEventLogStorage, "has_dynamic_partition", has_dynamic_partition)
    cut = default_cut(small_drop_master).isoformat()
    started = time.monotonic()
    code = main(["run", "--data", str(small_drop_master), "--out", str(tmp_path / "out"), "--cut", cut, "--quiet"])
    elapsed = time.monotonic() - started
    assert code in (0, 3), code  # 3: a boundary crossed, still published
    assert (tmp_path / "out" / cut / "report.pdf").is_file()
    assert (reads.calls, parses.calls) == (1, 1)
    # two before the run's execution, then one each time the remembered answer is older
    # than REMEMBER_SECONDS (10 in a CI run of 20 s on a loaded machine; 775 before)
    assert 1 <= asked.calls <= 3 + elapsed / REMEMBER_SECONDS, (asked.calls, elapsed)


def test_a_run_launched_by_the_ui_makes_its_own_specification_once(small_drop_master, tmp_path, counters):
    """A run launched with only a partition key (the UI, a sensor, the schedule): the
    ``settings`` resource makes the specification when the run starts, once, and
    every step of the run (here the reading, the cut, ADSL, ADTTE and the stopping
    rules, which all take the plan or the cut) sees that one value."""
    reads, parses = counters
    settings = DropSettings(data_dir=str(small_drop_master), out_dir=str(tmp_path / "out"))
    defs = build_definitions(settings)
    assert (reads.calls, parses.calls) == (1, 0)  # the definitions read the plan for the schedule's cron
    cut = "2023-06-30"
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [cut])
    job = defs.resolve_job_def(ALL_JOB)
    selection = [dg.AssetKey(["raw", r]) for r in SCHEMAS] + [
        dg.AssetKey(k)
        for k in ("trial_drop", "cut_records", "eligibility_deviations", "adae", "crs_grading", "icans_grading")
    ]
    selection += [dg.AssetKey(k) for k in ("adsl", "adtte", "stopping_rules", "response_summary")]
    result = job.get_subset(asset_selection=set(selection)).execute_in_process(
        instance=instance, partition_key=cut, raise_on_error=False
    )
    assert result.success, [e.message for e in result.get_step_failure_events()]
    assert (reads.calls, parses.calls) == (2, 1)
    assert (tmp_path / "out" / ".work" / cut / result.run_id / "adsl.parquet").is_file()


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


def test_each_resource_has_one_job_and_the_figures_step_asks_for_the_workers():
    """``settings`` makes the run specification, ``output_store`` holds the lock and
    the working folder, ``figure_workers`` warms the figure processes: only the
    ``figures`` step requires the workers, so a run without it starts none (Dagster
    starts the resources the run's steps require, when the run starts)."""
    defs = build_definitions(DropSettings())
    assert {"settings", "output_store", "figure_workers", "io_manager"} <= set(defs.resources)
    graph = defs.resolve_asset_graph()
    needing = sorted(
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if "figure_workers" in graph.get(key).assets_def.required_resource_keys
    )
    assert needing == ["figures"]


def test_a_comparison_with_a_cut_not_before_this_one_is_refused_before_any_step(tmp_path, capsys):
    """--compare names a later or the same cut: the CLI refuses it as a usage error
    (exit 2) at once, before any step (it failed after 15 s in cut_comparison, exit 1);
    a run specification made any other way (the UI, a sensor) refuses it too."""
    from trial_outcomes.runspec import RunSpec

    sample = Path(__file__).resolve().parents[2] / "data" / "sample"
    for compared in ("2024-03-31", "2022-06-30"):
        args = ["run", "--data", str(sample), "--cut", "2022-06-30", "--compare", compared, "--out", str(tmp_path)]
        assert main(args) == 2
        assert "is not before the cut 2022-06-30" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not before the cut 2022-06-30"):
        RunSpec.make("2022-06-30", None, sample, tmp_path, previous_cut="2023-01-31")
    assert RunSpec.make("2022-06-30", None, sample, tmp_path, previous_cut="2021-06-30").comparison == "2021-06-30"
    assert not any(tmp_path.iterdir())  # nothing ran


def test_a_plan_comparing_with_a_cut_not_before_this_one_is_refused_at_once(tmp_path, capsys):
    """The plan's [comparison] previous_cut names the run's own cut: exit 2 before any
    step, naming the plan's key (it failed after 15 s in cut_comparison)."""
    from trial_outcomes.plan import DEFAULT_PLAN
    from trial_outcomes.runspec import RunSpec

    sample = Path(__file__).resolve().parents[2] / "data" / "sample"
    plan = tmp_path / "plan.toml"
    plan.write_text(DEFAULT_PLAN.read_text().replace('previous_cut = "auto"', 'previous_cut = "2022-06-30"'))
    out = tmp_path / "out"
    args = ["run", "--data", str(sample), "--cut", "2022-06-30", "--plan", str(plan), "--out", str(out)]
    assert main(args) == 2
    assert "the plan's [comparison] previous_cut = 2022-06-30" in capsys.readouterr().err
    with pytest.raises(ValueError, match="the plan's"):
        RunSpec.make("2022-06-30", plan, sample, out)
