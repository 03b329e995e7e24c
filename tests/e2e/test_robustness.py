"""Faults: a run killed at any moment leaves the previous outputs of its cut intact
and readable, a re-run is idempotent, two cuts run at the same time do not
interfere, and a failed publish keeps the previous version."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import cli_process
from trial_outcomes.io import publishing as outputs

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
CUT = "2023-12-31"
OK = (0, 3)  # done, or done with a stopping boundary crossed


def _cli(*args: str) -> subprocess.Popen:
    return cli_process(*args, "--quiet", home=Path(os.environ["DAGSTER_HOME"]))


def _complete_and_consistent(folder: Path) -> dict:
    """Every file the manifest names is there with its hash; the tables load."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for name, sha in manifest["outputs"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha, name
    pl.read_parquet(folder / "adtte.parquet")
    pl.read_csv(folder / "survival_summary.csv")
    return manifest["outputs"]


def test_killed_runs_leave_the_previous_outputs_intact_and_a_rerun_is_idempotent(small_drop_master, tmp_path):
    drop, out = tmp_path / "drop", tmp_path / "out"
    shutil.copytree(small_drop_master, drop)
    first = _cli("run", "--data", str(drop), "--cut", CUT, "--out", str(out))
    assert first.wait(timeout=900) in OK, first.stderr.read()
    before = _complete_and_consistent(out / CUT)

    # new data: a later export with one more contact (it supersedes the cut); kill runs of it at several moments
    with (drop / "followup.csv").open("a") as handle:
        handle.write("BR-001,2023-12-30,CONTACT,,\n")
    supersede = ["--supersede", "later export with a corrected contact"]
    for delay in (1, 4, 8):
        run = _cli("run", "--data", str(drop), "--cut", CUT, "--out", str(out), *supersede)
        time.sleep(delay)
        finished = run.poll() is not None
        if not finished:
            run.send_signal(signal.SIGKILL)
        run.wait(timeout=60)
        now = _complete_and_consistent(out / CUT)
        assert now == before or finished  # intact, unless the run got to the end before the kill

    rerun = _cli("run", "--data", str(drop), "--cut", CUT, "--out", str(out), *supersede)
    assert rerun.wait(timeout=900) in OK
    after = _complete_and_consistent(out / CUT)
    again = _cli("run", "--data", str(drop), "--cut", CUT, "--out", str(out), *supersede)
    assert again.wait(timeout=900) in OK
    assert _complete_and_consistent(out / CUT) == after != before  # idempotent
    versions = sorted(p.name for p in (out / ".versions" / CUT).iterdir())
    assert versions[0] == "v001" and all(v.startswith("v") for v in versions)  # kept; no half-copied version
    assert (out / ".versions" / CUT / "v001" / "manifest.json").is_file()


def test_two_cuts_at_the_same_time_do_not_interfere(small_drop_master, tmp_path):
    cuts = ("2022-06-30", "2023-06-30")
    together = tmp_path / "together"
    runs = [_cli("run", "--data", str(small_drop_master), "--cut", c, "--out", str(together)) for c in cuts]
    for run in runs:
        assert run.wait(timeout=900) in OK, run.stderr.read()
    for cut in cuts:
        alone = tmp_path / f"alone_{cut}"
        solo = _cli("run", "--data", str(small_drop_master), "--cut", cut, "--out", str(alone))
        assert solo.wait(timeout=900) in OK
        a, b = _complete_and_consistent(together / cut), _complete_and_consistent(alone / cut)
        # the analysis files must agree; the report and manifest may mention the other cut
        for name in ("adsl.parquet", "adtte.parquet", "adae.parquet", "survival_summary.csv", "km_curves.parquet"):
            assert a[name] == b[name], (cut, name)


def test_a_failed_publish_keeps_the_previous_version(tmp_path, monkeypatch):
    out = tmp_path / "out"
    old = tmp_path / "old.csv"
    old.write_text("old\n")
    outputs.publish(out, CUT, [old], {"old.csv": "1"})
    new = tmp_path / "new.csv"
    new.write_text("new\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(outputs.os, "replace", broken_replace)
    with pytest.raises(OSError):
        outputs.publish(out, CUT, [new], {"new.csv": "2"})
    assert (out / CUT / "old.csv").read_text() == "old\n"
    assert not (out / CUT / "new.csv").exists()


def test_a_second_run_of_a_cut_being_written_is_refused_clearly(small_drop_master, tmp_path):
    """While one run holds a cut (here the test holds its lock), another run of the
    same cut into the same folder exits 1 at once, saying why, and touches nothing;
    once the lock is free the same command runs."""
    out = tmp_path / "out"
    with outputs.cut_lock(out, CUT):
        blocked = _cli("run", "--data", str(small_drop_master), "--cut", CUT, "--out", str(out))
        assert blocked.wait(timeout=120) == 1
        assert f"data cut {CUT} is being written to {out} by process" in blocked.stderr.read()
        assert not (out / CUT).exists() and not (out / ".work").exists()
    free = _cli("run", "--data", str(small_drop_master), "--cut", CUT, "--out", str(out))
    assert free.wait(timeout=900) in OK, free.stderr.read()
    _complete_and_consistent(out / CUT)


def test_the_dagster_instances_queue_one_run_per_cut(tmp_path):
    """Both instance files (laptop and production) give the run queue a limit of one
    in-progress run per value of the ``dagster/partition`` tag (the data cut)."""
    import dagster as dg

    per_cut = {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    for source in (ROOT / "dagster.yaml", ROOT / "deploy" / "dagster-postgres.yaml"):
        text = source.read_text()
        if "postgres" in source.name:  # only the queue settings: no database needed here
            text = text[text.index("run_coordinator:") :]
        home = tmp_path / source.stem
        home.mkdir()
        (home / "dagster.yaml").write_text(text)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            queue = instance.get_concurrency_config().run_queue_config
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            assert per_cut in queue.tag_concurrency_limits, source.name
            if "postgres" in source.name:
                assert queue.max_concurrent_runs == 4


def test_an_interrupted_run_says_so_and_leaves_the_previous_outputs(small_drop_master, tmp_path):
    """Ctrl-C (SIGINT) while the steps run: exit 130, one line saying nothing was
    published (no stack trace), the earlier outputs of the cut as they were, and
    the cut's lock free for the next run."""
    out = tmp_path / "out"
    first = _cli("run", "--data", str(small_drop_master), "--cut", CUT, "--out", str(out))
    assert first.wait(timeout=900) in OK
    before = _complete_and_consistent(out / CUT)
    run = _cli("run", "--data", str(small_drop_master), "--cut", CUT, "--out", str(out))
    marker = out / ".storage" / "adsl"  # ADSL written again: the run is past its start, mid-way
    stamp = max((p.stat().st_mtime_ns for p in marker.iterdir()), default=0)
    deadline = time.monotonic() + 300
    while not any(p.stat().st_mtime_ns > stamp for p in marker.iterdir()) and run.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=120) == 130
    err = run.stderr.read()
    assert "INTERRUPTED; nothing was published" in err and "Traceback" not in err and "Stack Trace" not in err
    assert _complete_and_consistent(out / CUT) == before
    with outputs.cut_lock(out, CUT):
        pass
