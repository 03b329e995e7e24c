"""The portfolio on a real distributed executor (issue 27): two celery workers started
here against the machine's RabbitMQ (127.0.0.1:5672) and a fresh PostgreSQL database
(127.0.0.1:5432) as the Dagster instance.

1. Four trials x two cuts and the pooled analysis through the workers; every
   published file equals the in-process run's, byte for byte; steps of different
   runs overlapped in time, on both workers.
2. A worker's pool process killed (SIGKILL) while it renders a report: that run fails,
   nothing of its cut is published, the cut's lease is free; a retry from the
   failure publishes the cut, equal to the in-process run of it.
3. A whole worker killed (main process and pool, as a lost pod) while it renders a
   report: the executor's pings go unanswered, the run fails the same way, and the
   retry publishes on the worker left.

QC in R is off here (``TRIAL_RSCRIPT``): it has its own tests, and costs a minute.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from trial_outcomes.io.publishing import lease_holder, published_cuts
from trial_outcomes.pipelines.portfolio import build_portfolio_definitions
from trial_outcomes.synth.portfolio import write_portfolio

pytestmark = pytest.mark.slow

CUTS = ("2023-12-31", "2024-03-31")
KILL_CUT = "2024-01-31"
SIZES = (40, 30, 50, 24)
#: published, or published with a stopping boundary crossed: trials 3 and 4 cross Simon's
#: futility boundary at both cuts, which `portfolio run` now says with exit 3 (it said 0)
PUBLISHED = (0, 3)
TRIALS = [f"trial-{k}" for k in range(1, 5)]


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _psql(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    if not (_reachable(5672) and _reachable(5432)):
        pytest.fail("RabbitMQ (127.0.0.1:5672) and PostgreSQL (127.0.0.1:5432) run on every machine, CI's included")
    name = f"trial_celery_{uuid.uuid4().hex[:10]}"
    _psql(f"CREATE DATABASE {name}")
    yield name
    _psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    _psql(f"DROP DATABASE IF EXISTS {name}")


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(home), "TRIAL_RSCRIPT": str(home / "no-rscript")}


def _cli(*args: str, home: Path, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trial_outcomes.cli", *args],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def portfolios(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[dict[str, Any]]:
    """The same four trials twice (the same seeds give the same drops): one portfolio on
    celery with PostgreSQL, one in process with SQLite; two workers for the first."""
    root = tmp_path_factory.mktemp("portfolio")
    # a queue of its own: no other user of the broker runs these steps, nor these workers theirs
    celery = write_portfolio(root / "celery", 4, sizes=SIZES, executor="celery", queue=f"test-{uuid.uuid4().hex[:8]}")
    in_process = write_portfolio(root / "in_process", 4, sizes=SIZES)
    celery_home, process_home = root / "home-celery", root / "home-in-process"
    celery_home.mkdir()
    process_home.mkdir()
    (celery_home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_db:\n      hostname: 127.0.0.1\n      port: 5432\n"
        f"      db_name: {database}\n      username: postgres\n      password: ''\n"
        "telemetry:\n  enabled: false\n"
    )
    (process_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # names of their own too: a worker is the broker's ``name@host``, and a second worker of one
    # name on the broker (another checkout's suite, a reviewer's) is refused its control queue
    tag = uuid.uuid4().hex[:6]
    names = (f"w1-{tag}", f"w2-{tag}")
    logs = [open(root / f"{name}.log", "w") for name in names]  # noqa: SIM115 - closed below
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trial_outcomes.cli",
                "portfolio",
                "worker",
                "--portfolio",
                str(celery),
                "--name",
                name,
            ],
            env=_env(celery_home),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name, log in zip(names, logs, strict=True)
    ]
    try:
        time.sleep(8)  # the workers connect to the broker
        assert all(w.poll() is None for w in workers), (root / f"{names[0]}.log").read_text()[-2000:]
        yield {
            "celery": celery,
            "in_process": in_process,
            "celery_home": celery_home,
            "process_home": process_home,
            "workers": {names[0]: workers[0].pid, names[1]: workers[1].pid},
        }
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait()
        for log in logs:
            log.close()


def _published(folder: Path) -> dict[str, str]:
    """Every file under a published cut (through its link), by relative path: its SHA-256."""
    shown = folder.resolve()
    return {
        p.relative_to(shown).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(shown.rglob("*"))
        if p.is_file()
    }


def _same_tree(a: Path, b: Path) -> None:
    left, right = _published(a), _published(b)
    assert left, f"nothing published in {a}"
    assert left.keys() == right.keys(), sorted(set(left) ^ set(right))
    differ = [name for name in left if left[name] != right[name]]
    assert not differ, f"{a} and {b} differ in {differ}"


def _step_records(home: Path) -> list[tuple[str, str, float, float, str]]:
    """(run, step, start, end, worker) of every step the instance recorded."""
    out = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            start, end, worker = {}, {}, {}
            for record in instance.all_logs(run.run_id):
                event = record.dagster_event
                if event is None or event.step_key is None:
                    continue
                if event.event_type_value == "STEP_START":
                    start[event.step_key] = record.timestamp
                elif event.event_type_value == "STEP_SUCCESS":
                    end[event.step_key] = record.timestamp
                elif event.event_type_value == "ENGINE_EVENT" and "in celery worker" in (event.message or ""):
                    metadata = event.event_specific_data.metadata  # type: ignore[union-attr]
                    worker[event.step_key] = str(metadata["Celery worker"].value)
            out += [(run.run_id, k, start[k], end[k], worker.get(k, "")) for k in end if k in start]
    return out


def test_four_trials_two_cuts_and_the_pool_on_celery_equal_the_in_process_run(portfolios: dict[str, Any]) -> None:
    cuts = [arg for cut in CUTS for arg in ("--cut", cut)]
    started = time.perf_counter()
    done = _cli("portfolio", "run", "--portfolio", str(portfolios["celery"]), *cuts, home=portfolios["celery_home"])
    celery_seconds = time.perf_counter() - started
    assert done.returncode in PUBLISHED, done.stdout + done.stderr[-3000:]
    assert "9 of 9 runs published with the celery executor" in done.stdout, done.stdout
    started = time.perf_counter()
    here = _cli(
        "portfolio", "run", "--portfolio", str(portfolios["in_process"]), *cuts, home=portfolios["process_home"]
    )
    assert here.returncode in PUBLISHED, here.stdout + here.stderr[-3000:]
    print(f"celery {celery_seconds:.0f} s, in process {time.perf_counter() - started:.0f} s")

    celery_out, process_out = portfolios["celery"].parent / "published", portfolios["in_process"].parent / "published"
    for trial in TRIALS:
        assert published_cuts(celery_out / trial) == list(CUTS)
        for cut in CUTS:
            _same_tree(celery_out / trial / cut, process_out / trial / cut)
    _same_tree(celery_out / "pooled" / "pooled", process_out / "pooled" / "pooled")
    # the pooled sensor reads a real pooled publication as current (its own test builds the
    # manifests by hand): the manifest's inputs are each trial's ``pooled_input`` now
    for portfolio in (portfolios["celery"], portfolios["in_process"]):
        defs = build_portfolio_definitions(portfolio)
        sensor = defs.resolve_sensor_def("pooled_inputs_sensor")
        with dg.instance_for_test() as instance:
            tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
        assert not tick.run_requests
        assert tick.skip_message == "the published pooled analysis is of the trials' current publications"

    # steps ran on both workers, and steps of different runs at the same time
    steps = _step_records(portfolios["celery_home"])
    assert {w.split("@")[0] for *_, w in steps} >= set(portfolios["workers"])
    overlapping = any(a[0] != b[0] and a[2] < b[3] and b[2] < a[3] for i, a in enumerate(steps) for b in steps[i + 1 :])
    assert overlapping, "no two steps of different runs overlapped in time"


def test_a_second_run_of_a_cut_being_written_says_which_run_writes_it(portfolios: dict[str, Any]) -> None:
    """Two runs of one (trial, cut) at once: one publishes, the other fails at its first
    step naming the run that writes the cut (a red team's loser said only "Error executing
    resource_fn on ResourceDefinition output_store": celery drops the cause, which the
    worker records in the instance, ``instance.resource_failure``)."""
    args = ["--trial", "trial-4", "--cut", "2023-11-30", "--no-pooled"]
    command = [sys.executable, "-m", "trial_outcomes.cli", "portfolio", "run", "--portfolio", str(portfolios["celery"])]
    env = _env(portfolios["celery_home"])
    first = subprocess.Popen([*command, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    second = subprocess.Popen([*command, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said = [process.communicate(timeout=900) for process in (first, second)]
    codes = [process.returncode for process in (first, second)]
    outputs = [out + err[-2000:] for out, err in said]
    # one published (trial-4 crosses its futility boundary: 3), the other failed (1)
    assert sorted(c in PUBLISHED for c in codes) == [False, True] and 1 in codes, outputs
    [lost] = [out for (out, _), code in zip(said, codes, strict=True) if code == 1]
    assert "trial trial-4 at 2023-11-30: FAILED (" in lost, outputs
    assert "data cut 2023-11-30 is being written to" in lost and "by run " in lost, outputs
    assert published_cuts(portfolios["celery"].parent / "published" / "trial-4")[0] == "2023-11-30"


def _pool_child(worker_pid: int) -> int:
    children = subprocess.run(["pgrep", "-P", str(worker_pid)], capture_output=True, text=True, check=False)
    pids = [int(p) for p in children.stdout.split()]
    assert len(pids) == 1, f"worker {worker_pid} has pool processes {pids}"
    return pids[0]


def _run_and_kill_during_report(portfolios: dict[str, Any], trial: str, kill) -> tuple[str, str, int, str]:
    """Start ``trial`` at KILL_CUT on celery; when its report step runs on a worker, call
    ``kill(worker name)``. Returns (the run's id, the worker, the command's exit status, its output)."""
    celery_home = portfolios["celery_home"]
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trial_outcomes.cli",
            "portfolio",
            "run",
            "--portfolio",
            str(portfolios["celery"]),
            "--trial",
            trial,
            "--cut",
            KILL_CUT,
            "--no-pooled",
        ],
        env=_env(celery_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = None
    deadline = time.monotonic() + 600
    tags = {"dagster/partition/cut": KILL_CUT, "dagster/partition/trial": trial}
    with dg.DagsterInstance.from_config(str(celery_home)) as instance:
        while killed is None and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.5)
            runs = instance.get_runs(filters=dg.RunsFilter(tags=tags), limit=1)
            if not runs:
                continue
            records = instance.all_logs(runs[0].run_id)
            finished = {
                r.dagster_event.step_key
                for r in records
                if r.dagster_event is not None and r.dagster_event.event_type_value == "STEP_SUCCESS"
            }
            for record in records:
                event = record.dagster_event
                if (
                    event is not None
                    and event.step_key == "report"
                    and "in celery worker" in (event.message or "")
                    and "report" not in finished
                ):
                    metadata = event.event_specific_data.metadata  # type: ignore[union-attr]
                    host = str(metadata["Celery worker"].value).split("@")[0]
                    kill(host)
                    killed = (runs[0].run_id, host)
                    break
    stdout, stderr = run.communicate(timeout=600)
    assert killed is not None, "the report step was never seen running: " + stdout + stderr[-2000:]
    return killed[0], killed[1], run.returncode, stdout + stderr[-2000:]


def _failed_cleanly_then_retried(portfolios: dict[str, Any], trial: str, failed_run: str) -> None:
    """The run failed, nothing of its cut was published, its lease is held by an ended run
    (free); a retry from the failure publishes the cut, equal to the in-process run of it."""
    celery_home = portfolios["celery_home"]
    out = portfolios["celery"].parent / "published" / trial
    with dg.DagsterInstance.from_config(str(celery_home)) as instance:
        status = instance.get_run_by_id(failed_run).status  # type: ignore[union-attr]
    assert status == dg.DagsterRunStatus.FAILURE
    assert KILL_CUT not in published_cuts(out) and not (out / KILL_CUT).exists()  # nothing half-published
    assert lease_holder(out, KILL_CUT) == failed_run  # held by a run that ended: free for the next run

    retry = _cli("portfolio", "retry", failed_run, "--portfolio", str(portfolios["celery"]), home=celery_home)
    assert retry.returncode in PUBLISHED, retry.stdout + retry.stderr[-3000:]
    assert lease_holder(out, KILL_CUT) is None  # publishing gave the lease back
    here = _cli(
        "portfolio",
        "run",
        "--portfolio",
        str(portfolios["in_process"]),
        "--trial",
        trial,
        "--cut",
        KILL_CUT,
        "--no-pooled",
        home=portfolios["process_home"],
    )
    assert here.returncode in PUBLISHED, here.stdout + here.stderr[-3000:]
    _same_tree(out / KILL_CUT, portfolios["in_process"].parent / "published" / trial / KILL_CUT)


def test_a_worker_killed_mid_step_fails_the_run_cleanly_and_a_retry_publishes(portfolios: dict[str, Any]) -> None:
    """The worker's pool process (the one running the step) is killed: celery reports
    WorkerLostError, and the step fails at once."""
    workers = portfolios["workers"]
    failed_run, _, status, output = _run_and_kill_during_report(
        portfolios, "trial-1", lambda host: os.kill(_pool_child(workers[host]), signal.SIGKILL)
    )
    assert status == 1, output
    assert "WorkerLostError" in output, output
    _failed_cleanly_then_retried(portfolios, "trial-1", failed_run)


def test_a_whole_worker_lost_fails_its_step_and_the_other_worker_retries(portfolios: dict[str, Any]) -> None:
    """The whole worker (its main process and its pool) is killed, as a lost pod: no result
    ever comes; the executor's pings go unanswered and the step fails (about a minute).
    The retry runs on the worker left."""
    workers = portfolios["workers"]
    failed_run, host, status, output = _run_and_kill_during_report(
        portfolios, "trial-2", lambda host: os.killpg(workers[host], signal.SIGKILL)
    )
    assert status == 1, output
    assert f"{host}@" in output and "stopped answering" in output, output
    _failed_cleanly_then_retried(portfolios, "trial-2", failed_run)


def test_a_pooled_run_whose_trial_cut_is_superseded_while_it_runs_publishes_nothing(
    portfolios: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pooled asset's own wiring of the check under the pooled lock (a578a0f; its store's
    hook has a test of its own, tests/io/test_pooled_store.py): a red team's pooled run read
    a trial's v001, was held while v002 superseded it, then published v001's numbers as the
    current pooled analysis. Here trial-1's latest cut is superseded (a copy of its version
    published as the next one) while the pooled run draws its PDF, in process: the run
    fails naming the cut that moved, and the pooled publication stays as it was; the next
    pooled run pools the new version. Last in this file: it leaves trial-1's cut superseded."""
    from trial_outcomes.io.pooled import published_pooled
    from trial_outcomes.io.publishing import current, publish
    from trial_outcomes.pipelines.portfolio_runner import run_portfolio
    from trial_outcomes.reporting import render

    home, path = portfolios["process_home"], portfolios["in_process"]
    published, trial_out = path.parent / "published", path.parent / "published" / "trial-1"
    if published_pooled(published / "pooled", "pooled") is None:  # this test run alone
        first = _cli("portfolio", "run", "--portfolio", str(path), "--cut", CUTS[-1], home=home)
        assert first.returncode in PUBLISHED, first.stdout + first.stderr[-3000:]
    pooled_before = _published(published / "pooled" / "pooled")
    cut = published_cuts(trial_out)[-1]
    shown = current(trial_out, cut)
    assert shown is not None
    read = shown.folder.name
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("TRIAL_RSCRIPT", str(home / "no-rscript"))
    real_render = render.render_pdf  # the pooled asset imports it when it runs

    def render_while_superseded(*args: Any, **kwargs: Any) -> bytes:
        pdf = real_render(*args, **kwargs)
        if current(trial_out, cut).folder.name == read:  # type: ignore[union-attr]
            copy = sorted(shown.folder.iterdir())
            publish(trial_out, cut, copy, {"superseded by": "this test"})
        return pdf

    monkeypatch.setattr(render, "render_pdf", render_while_superseded)
    [refused] = run_portfolio(path, [], pooled=True)
    assert not refused.success
    assert "changed while this run pooled them" in refused.error, refused.error
    now = current(trial_out, cut).folder.name  # type: ignore[union-attr]
    assert now != read
    assert f"trial trial-1: cut {cut} is now version {now} (read: {read})" in refused.error, refused.error
    assert _published(published / "pooled" / "pooled") == pooled_before  # nothing published

    [pooled] = run_portfolio(path, [], pooled=True)  # the superseding version is now what is read
    assert pooled.success, pooled.error
    trials = {t["trial"]: t for t in published_pooled(published / "pooled", "pooled")["trials"]}  # type: ignore[index]
    assert trials["trial-1"]["version"] == now
