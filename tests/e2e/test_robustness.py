"""Faults: a run killed at any moment leaves the previous outputs of its cut intact
and readable, a re-run is idempotent, two cuts run at the same time do not
interfere, and a failed publish keeps the previous version."""

from __future__ import annotations

import contextlib
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

from tests.helpers import cli_process, finish
from trial_outcomes.io import publishing as outputs

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
CUT = "2023-12-31"
OK = (0, 3)  # done, or done with a stopping boundary crossed


def _cli(*args: str) -> subprocess.Popen:
    return cli_process(*args, "--quiet", home=Path(os.environ["DAGSTER_HOME"]), own_group=True)


def _complete_and_consistent(folder: Path) -> dict:
    """Every file the manifest names is there with its hash; the tables load."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for name, sha in manifest["outputs"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha, name
    pl.read_parquet(folder / "adtte.parquet")
    pl.read_csv(folder / "survival_summary.csv")
    return manifest["outputs"]


def _children(pid: int) -> list[int]:
    """The run's own child processes (its figure workers), not Dagster's compute-log mirror
    (``tail -F``, which Dagster's watcher ends, ``_sweep``)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the process ended meanwhile
            found += [int(c) for c in (task / "children").read_text().split()]
    return [c for c in found if _command(c) != "tail"]


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _sweep(run: subprocess.Popen) -> None:
    """End what is left of a killed run's process group, as a terminal ends a job: Dagster
    mirrors a step's output through ``tail -F``, babysat by a watcher started just after
    it, and a SIGKILL landing between the two starts leaves the tail holding the run's
    pipes for ever (seen once in CI under load: the wait for the pipes timed out)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(run.pid, signal.SIGKILL)


def _all_gone(pids: list[int], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)]
        if not alive:
            return True
        time.sleep(0.2)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1]
    except (OSError, IndexError):
        return "Z"


def test_killed_runs_leave_the_previous_outputs_intact_and_a_rerun_is_idempotent(small_drop_master, tmp_path):
    drop, out = tmp_path / "drop", tmp_path / "out"
    shutil.copytree(small_drop_master, drop)
    first = _cli("run", "--data", str(drop), "--cut", CUT, "--out", str(out))
    assert finish(first, 900) in OK, first.errors
    before = _complete_and_consistent(out / CUT)

    # new data: a later export with one more contact (it supersedes the cut); kill runs of it at several moments
    with (drop / "followup.csv").open("a") as handle:
        handle.write("BR-001,2023-12-30,CONTACT,,\n")
    supersede = ["--supersede", "later export with a corrected contact"]
    seen = []
    for delay in (1, 3, 5):  # a run takes about 7 s here: killed while starting, deriving, drawing
        run = _cli("run", "--data", str(drop), "--cut", CUT, "--out", str(out), *supersede)
        time.sleep(delay)
        workers = _children(run.pid)  # the figure workers start with the run
        run.send_signal(signal.SIGKILL)
        run.wait(60)
        assert _all_gone(workers), "a killed run left processes behind"
        _sweep(run)
        finish(run, 60)
        seen.append(_complete_and_consistent(out / CUT))

    rerun = _cli("run", "--data", str(drop), "--cut", CUT, "--out", str(out), *supersede)
    assert finish(rerun, 900) in OK
    after = _complete_and_consistent(out / CUT)
    # after each kill the cut was the earlier version, whole, or (killed after publishing) the new one, whole
    assert all(now in (before, after) for now in seen)
    again = _cli("run", "--data", str(drop), "--cut", CUT, "--out", str(out), *supersede)
    assert finish(again, 900) in OK
    assert _complete_and_consistent(out / CUT) == after != before  # idempotent
    versions = sorted(p.name for p in (out / ".versions" / CUT).iterdir())
    assert versions[0] == "v001" and all(v.startswith("v") for v in versions)  # kept; no half-copied version
    assert (out / ".versions" / CUT / "v001" / "manifest.json").is_file()


def test_two_cuts_at_the_same_time_do_not_interfere(small_drop_master, tmp_path):
    cuts = ("2022-06-30", "2023-06-30")
    together = tmp_path / "together"
    runs = [_cli("run", "--data", str(small_drop_master), "--cut", c, "--out", str(together)) for c in cuts]
    for run in runs:
        assert finish(run, 900) in OK, run.errors
    for cut in cuts:
        alone = tmp_path / f"alone_{cut}"
        solo = _cli("run", "--data", str(small_drop_master), "--cut", cut, "--out", str(alone))
        assert finish(solo, 900) in OK
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
        assert finish(blocked, 120) == 1
        assert f"data cut {CUT} is being written to {out} by process" in blocked.errors
        assert not (out / CUT).exists() and not (out / ".work").exists()
    free = _cli("run", "--data", str(small_drop_master), "--cut", CUT, "--out", str(out))
    assert finish(free, 900) in OK, free.errors
    _complete_and_consistent(out / CUT)


def test_the_dagster_instances_queue_one_run_per_cut(tmp_path):
    """Both instance files (laptop and production) give the run queue a limit of one
    in-progress run per value of the ``dagster/partition`` tag (the data cut), and
    check the cut at submission."""
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
            # Dagster's queue, with the data cut checked at submission (pipelines/coordinator.py)
            from dagster._core.run_coordinator import QueuedRunCoordinator

            from trial_outcomes.pipelines.coordinator import CutCheckingRunCoordinator

            assert isinstance(instance.run_coordinator, CutCheckingRunCoordinator)
            assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
            assert per_cut in queue.tag_concurrency_limits, source.name
            per_folder = {**per_cut, "key": "trial/output_folder"}  # a backfill's cuts, one after another
            assert per_folder in queue.tag_concurrency_limits, source.name
            if "postgres" in source.name:
                assert queue.max_concurrent_runs == 4


def test_an_interrupt_as_the_cut_is_published_is_said_as_published(toxic_drop, tmp_path, webhook):
    """A red team sent SIGINT the moment ``<out>/<cut>`` moved to its new version: the run
    said "INTERRUPTED; nothing was published" (exit 130) of a cut that showed it, a
    crossed boundary among its outputs, and no alert went out. Publishing and saying so
    are now one act: the same interrupt gives the run's publication line, the boundary
    (exit 3) and its alert."""
    from tests.helpers import plan_with_notify

    url, posts = webhook
    plan = plan_with_notify(tmp_path / "plan.toml", url)
    out = tmp_path / "out"
    run = _cli("run", "--data", str(toxic_drop), "--cut", CUT, "--out", str(out), "--plan", str(plan))
    link = out / CUT
    deadline = time.monotonic() + 600
    while not link.is_symlink() and run.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    run.send_signal(signal.SIGINT)
    status = finish(run, 300)
    assert status == 3, run.errors
    assert "nothing was published" not in run.errors
    assert f"data cut {CUT}: outputs in" in run.output and "published v001" in run.output
    assert "STOPPING BOUNDARY CROSSED" in run.errors and len(posts) == 1
    _complete_and_consistent(link)


def test_an_interrupted_run_says_so_and_leaves_the_previous_outputs(small_drop_master, tmp_path):
    """Ctrl-C (SIGINT to the run's process group, as a terminal sends it) while the steps
    run: exit 130, one line saying nothing was published (no stack trace: Dagster's
    watchers of its output capture printed two, until the CLI's run stopped capturing),
    the earlier outputs of the cut as they were, and the cut's lock free for the next run."""
    out = tmp_path / "out"
    first = _cli("run", "--data", str(small_drop_master), "--cut", CUT, "--out", str(out))
    assert finish(first, 900) in OK
    before = _complete_and_consistent(out / CUT)
    run = _cli("run", "--data", str(small_drop_master), "--cut", CUT, "--out", str(out))
    marker = out / ".storage" / "adsl"  # ADSL written again: the run is past its start, mid-way
    stamp = max((p.stat().st_mtime_ns for p in marker.iterdir()), default=0)
    deadline = time.monotonic() + 300
    while not any(p.stat().st_mtime_ns > stamp for p in marker.iterdir()) and run.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGINT)
    assert finish(run, 120) == 130
    err = run.errors
    assert "INTERRUPTED; nothing was published" in err and "Traceback" not in err and "Stack Trace" not in err
    assert _complete_and_consistent(out / CUT) == before
    with outputs.cut_lock(out, CUT):
        pass
