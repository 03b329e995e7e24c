"""Benchmark: a portfolio of trials x cuts through celery workers against the in-process executor.

    .venv/bin/python bench/portfolio.py [--trials 10] [--cuts C ...] [--workers 2] [--sizes N ...] [--reuse]

Writes the same synthetic portfolio twice (`trial-outcomes synth --portfolio`, trials of
120, 60, 200, 90 and 150 subjects in turn), then:

- in process: `trial-outcomes portfolio run` with the in-process executor (the runs one
  after another in one process, SQLite instance);
- celery: the same command with `executor = "celery"`, the runs' steps executed by
  `--workers` celery workers (`trial-outcomes portfolio worker`, one process each) on
  RabbitMQ at 127.0.0.1:5672, the instance on a fresh PostgreSQL database at 127.0.0.1:5432.

It prints each one's wall time, the CPU seconds its processes used, the steps executed
and the busiest minute's parallelism, and checks that every published file is the same.
The independent R QC is off (``TRIAL_RSCRIPT``): it is R's time, not the executor's.
Data go to bench/data/portfolio/ (ignored by git).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "portfolio"
PY = sys.executable


def _psql(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(home), "TRIAL_RSCRIPT": str(home / "no-rscript")}


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".versions" in p.parts and ".work" not in p.parts
    }


def _run(portfolio: Path, cuts: list[str], home: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the command's process tree, its last line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    args = [arg for cut in cuts for arg in ("--cut", cut)]
    done = subprocess.run(
        [PY, "-m", "trial_outcomes.cli", "portfolio", "run", "--portfolio", str(portfolio), *args],
        env=_env(home),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{portfolio}: exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.strip().splitlines()[-1]


def _worker_cpu(pids: list[int]) -> float:
    """CPU seconds of the workers and their pool processes so far (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
        for p in [pid, *map(int, children.stdout.split())]:
            try:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--cuts", nargs="+", default=["2023-12-31", "2024-03-31"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=None,
        help="subjects of the trials, in turn (default: synth's 120 60 200 90 150)",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse the portfolios already in bench/data/portfolio")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from trial_outcomes.synth.portfolio import write_portfolio

    if not args.reuse and DATA.exists():
        shutil.rmtree(DATA)
    paths = {}
    for executor in ("in_process", "celery"):
        folder = DATA / executor
        paths[executor] = folder / "portfolio.toml"
        if not paths[executor].is_file():
            sizes = {"sizes": tuple(args.sizes)} if args.sizes else {}
            write_portfolio(folder, args.trials, executor=executor, queue=f"bench-{uuid.uuid4().hex[:8]}", **sizes)
        for stale in ("published", ".portfolio-storage", "home"):
            shutil.rmtree(folder / stale, ignore_errors=True)
        (folder / "home").mkdir()
    database = f"trial_bench_{uuid.uuid4().hex[:8]}"
    _psql(f"CREATE DATABASE {database}")
    (DATA / "celery" / "home" / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_db:\n      hostname: 127.0.0.1\n      port: 5432\n"
        f"      db_name: {database}\n      username: postgres\n      password: ''\ntelemetry:\n  enabled: false\n"
    )
    (DATA / "in_process" / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    runs = len(args.cuts) * args.trials
    print(f"portfolio of {args.trials} trials x {len(args.cuts)} cuts ({runs} runs and the pooled analysis)")

    wall, cpu, line = _run(paths["in_process"], args.cuts, DATA / "in_process" / "home")
    print(f"  in process:           {wall:7.1f} s wall, {cpu:7.1f} s CPU   ({line})")
    in_process_wall = wall

    home = DATA / "celery" / "home"
    workers = [
        subprocess.Popen(
            [
                PY,
                "-m",
                "trial_outcomes.cli",
                "portfolio",
                "worker",
                "--portfolio",
                str(paths["celery"]),
                "--name",
                f"w{k}",
            ],
            env=_env(home),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for k in range(1, args.workers + 1)
    ]
    try:
        time.sleep(8)
        wall, cpu, line = _run(paths["celery"], args.cuts, home)
        worker_cpu = _worker_cpu([w.pid for w in workers])
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            w.wait(timeout=60)
        _psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")
        _psql(f"DROP DATABASE IF EXISTS {database}")
    print(
        f"  celery, {args.workers} workers:    {wall:7.1f} s wall, {cpu:7.1f} s CPU in the runs' processes, "
        f"{worker_cpu:7.1f} s CPU in the workers   ({line})"
    )
    print(f"  celery / in process:  {wall / in_process_wall:.2f}x the wall time")
    left, right = (_tree(DATA / e / "published") for e in ("in_process", "celery"))
    same = left == right and bool(left)
    print(f"  published files: {len(left)} in process, {len(right)} celery; identical: {same}")
    if not same:
        sys.exit("the two executors published different files")


if __name__ == "__main__":
    main()
