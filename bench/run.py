"""Benchmark: speed and memory at scale, printed as a table (issue: robustness).

    .venv/bin/python bench/run.py [--sizes 1000 10000 100000] [--km 1000000] [--with-qc] [--scale-only] [--reuse]
    .venv/bin/python bench/run.py --portfolio 10   # 10 trials x 2 cuts: celery workers against in process

For each size it writes a synthetic drop with `trial-outcomes synth` (timed),
reads its files with bare polars (the floor), runs `trial-outcomes run` end to
end (wall time and peak RSS of that process), and prints the ratio of the two;
then the scaling exponent between the two largest sizes, Kaplan-Meier on a
million subjects (ours, and R's survfit when Rscript is installed), and the
time to load the Dagster definitions against `import dagster` alone; on the
120-subject sample, the report and figures steps (`run --timings`, median of
three runs) and a run launched the UI's way (through the instance's run
launcher, a new process per run) against the same cut from the CLI.
Drops and outputs go to bench/data/ (ignored by git). The runs skip the
independent R QC unless ``--with-qc`` (the QC is R's time, not the pipeline's; at
10,000 subjects it took two minutes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
PY = sys.executable

MEASURE = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "rc": done.returncode, "err": done.stderr[-2000:], "out": done.stdout[-6000:]}))
"""


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Wall time and peak RSS of one command, measured in a fresh parent process."""
    out = subprocess.run(
        [PY, "-c", MEASURE, *cmd],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bare_read_seconds(drop: Path) -> float:
    code = (
        "import time, polars as pl, pathlib\n"
        f"files = sorted(pathlib.Path({str(drop)!r}).glob('*.csv'))\n"
        "t = time.perf_counter()\n"
        "for f in files: pl.read_csv(f, infer_schema=False)\n"
        "print(time.perf_counter() - t)\n"
    )
    best = min(
        float(subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(3)
    )
    return best


def import_seconds(modules: tuple[str, ...], repeats: int = 9) -> list[float]:
    """Best of ``repeats`` fresh-process import times of each module, taken in turn
    so that load on the machine falls on both alike."""
    best = [float("inf")] * len(modules)
    for _ in range(repeats):
        for i, module in enumerate(modules):
            code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
            out = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
            best[i] = min(best[i], float(out))
    return best


def km_million(n: int) -> tuple[float, float | None]:
    import numpy as np

    from trial_outcomes.analysis.km import fit_km

    rng = np.random.default_rng(1)
    time_ = np.ceil(rng.exponential(500, n))
    censor = np.ceil(rng.uniform(1, 1500, n))
    event = (time_ <= censor).astype(int)
    t_obs = np.minimum(time_, censor)
    start = time.perf_counter()
    fit = fit_km(t_obs, event)
    fit.median()
    ours = time.perf_counter() - start
    if not shutil.which("Rscript"):
        return ours, None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "km.csv"
        np.savetxt(csv, np.column_stack([t_obs, event]), delimiter=",", fmt="%d", header="time,status", comments="")
        script = (
            f"suppressMessages(library(survival)); d <- read.csv('{csv}'); "
            "t <- system.time({f <- survfit(Surv(time, status) ~ 1, data = d, conf.type = 'log-log'); "
            "q <- quantile(f, 0.5)}); cat(t[['elapsed']])"
        )
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
        return ours, float(out.stdout.strip()) if out.returncode == 0 else None


def sample_report_seconds(repeats: int = 3) -> list[float]:
    """Seconds of the figures and report steps together on data/sample, per run."""
    totals = []
    for i in range(repeats):
        out = DATA / f"out_sample_{i}"
        shutil.rmtree(out, ignore_errors=True)
        with tempfile.TemporaryDirectory() as home:
            run = subprocess.run(
                [
                    PY,
                    "-m",
                    "trial_outcomes.cli",
                    "run",
                    "--data",
                    str(ROOT / "data" / "sample"),
                    "--out",
                    str(out),
                    "--timings",
                    "--quiet",
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, "DAGSTER_HOME": home},
                check=False,
            )
        steps = {}
        for line in run.stdout.split("seconds by step", 1)[-1].splitlines()[1:]:
            seconds, _, step = line.strip().partition("  ")
            steps[step.strip()] = float(seconds)
        totals.append(steps.get("figures", float("nan")) + steps.get("report", float("nan")))
    return totals


LAUNCHED_YAML = """telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""


def ui_launch_vs_cli(cut: str = "2024-04-01") -> tuple[float, float]:
    """Wall seconds of the same cut of data/sample launched as the UI launches it (the
    instance's run launcher: a new `dagster api execute_run` process loading the code
    location), and run from the CLI (`trial-outcomes run`, in process)."""
    import dagster as dg

    sample = ROOT / "data" / "sample"
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text(LAUNCHED_YAML)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "TRIAL_DATA_DIR": str(sample),
            "TRIAL_OUT_DIR": str(Path(tmp) / "out_ui"),
        }
        os.environ["DAGSTER_HOME"] = str(home)
        with dg.DagsterInstance.get() as instance:
            instance.add_dynamic_partitions("data_cut", [cut])
        subprocess.run(
            [
                PY,
                "-m",
                "dagster",
                "job",
                "launch",
                "-m",
                "trial_outcomes.pipelines.definitions",
                "-j",
                "all_outcomes",
                "--tags",
                json.dumps({"dagster/partition": cut}),
            ],
            env=env,
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        with dg.DagsterInstance.get() as instance:
            while not any(r.dagster_run.is_finished for r in instance.get_run_records(limit=1)):
                time.sleep(0.2)
            record = instance.get_run_records(limit=1)[0]
            # from the run's creation (the click in the UI) to its end, as the instance recorded them
            ui = (record.end_time or time.time()) - record.create_timestamp.timestamp()
        cli = measure(
            [
                PY,
                "-m",
                "trial_outcomes.cli",
                "run",
                "--data",
                str(sample),
                "--out",
                str(Path(tmp) / "out_cli"),
                "--cut",
                cut,
                "--quiet",
            ]
        )["wall"]
    return ui, cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--km", type=int, default=1_000_000)
    parser.add_argument(
        "--with-qc",
        action="store_true",
        help="run the independent R QC in each run (off by default: it is R's time, not the pipeline's)",
    )
    parser.add_argument("--scale-only", action="store_true", help="only the table by size (and the scaling exponent)")
    parser.add_argument("--reuse", action="store_true", help="reuse a drop already in bench/data (synth not timed)")
    parser.add_argument(
        "--without-dsmb-files",
        action="store_true",
        help="drops without the optional DSMB files (labs: ~75 rows a subject), as before they existed",
    )
    parser.add_argument(
        "--portfolio",
        type=int,
        default=0,
        metavar="TRIALS",
        help="instead: a portfolio of TRIALS trials x 2 cuts on two celery workers against the in-process "
        "executor (bench/portfolio.py)",
    )
    args = parser.parse_args()
    if args.portfolio:
        subprocess.run([PY, str(HERE / "portfolio.py"), "--trials", str(args.portfolio)], cwd=ROOT, check=True)
        return
    run_env = {} if args.with_qc else {"TRIAL_RSCRIPT": str(DATA / "no-rscript")}
    DATA.mkdir(exist_ok=True)
    rows = []
    for n in args.sizes:
        suffix = "_core" if args.without_dsmb_files else ""
        drop, out = DATA / f"drop_{n}{suffix}", DATA / f"out_{n}{suffix}"
        shutil.rmtree(out, ignore_errors=True)
        if args.reuse and (drop / "enrolment.csv").is_file():
            synth = {"wall": float("nan"), "rss_mb": float("nan")}
        else:
            synth = measure(
                [
                    PY,
                    "-m",
                    "trial_outcomes.cli",
                    "synth",
                    "--subjects",
                    str(n),
                    "--seed",
                    "1",
                    "--out",
                    str(drop),
                    "--overwrite",
                ]
                + (["--without-dsmb-files"] if args.without_dsmb_files else [])
            )
        bare = bare_read_seconds(drop)
        with tempfile.TemporaryDirectory() as home:
            run = measure(
                [PY, "-m", "trial_outcomes.cli", "run", "--data", str(drop), "--out", str(out), "--timings"],
                env={**run_env, "DAGSTER_HOME": home},
            )
        if run["rc"] not in (0, 3):
            print(f"run failed for {n} subjects:\n{run['err']}", file=sys.stderr)
        rows.append({"n": n, "synth": synth, "bare": bare, "run": run})
        print(f"  {n} subjects done: run {run['wall']:.1f} s", file=sys.stderr)

    print("\n| subjects | synth s | synth RSS MB | bare polars read s | run s | run peak RSS MB | run / bare read |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['synth']['wall']:.1f} | {r['synth']['rss_mb']:.0f} | {r['bare']:.2f} | "
            f"{r['run']['wall']:.1f} | {r['run']['rss_mb']:.0f} | {r['run']['wall'] / r['bare']:.0f}x |"
        )
    largest = rows[-1]
    steps = largest["run"]["out"].split("seconds by step", 1)
    if len(steps) == 2:
        print(f"\nWhere the {largest['n']:,}-subject run spends its time (`trial-outcomes run --timings`):")
        print("\n| seconds | step |\n|---:|---|")
        for line in steps[1].splitlines()[1:]:
            seconds, _, step = line.strip().partition("  ")
            print(f"| {seconds} | {step.strip()} |")
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        exponent = math.log(b["run"]["wall"] / a["run"]["wall"]) / math.log(b["n"] / a["n"])
        print(f"\nscaling exponent of run time, {a['n']:,} -> {b['n']:,} subjects: {exponent:.2f}")
    if args.scale_only:
        return
    ours, r_time = km_million(args.km)
    print(
        f"\nKaplan-Meier with log-log CI and median, {args.km:,} subjects: ours {ours:.2f} s; "
        + (f"R survfit {r_time:.2f} s" if r_time is not None else "R not installed (column skipped)")
    )
    dagster_s, defs_s = import_seconds(("dagster", "trial_outcomes.pipelines.definitions"))
    print(f"\nimport dagster: {dagster_s:.2f} s; load the definitions: {defs_s:.2f} s ({defs_s / dagster_s:.2f}x)")
    report = sorted(sample_report_seconds())
    print(
        f"\nfigures + report steps on the sample (run --timings, 3 runs): median {report[1]:.2f} s "
        f"({', '.join(f'{x:.2f}' for x in report)}); target under 1.5 s"
    )
    ui, cli = ui_launch_vs_cli()
    print(
        f"\none cut of the sample launched the UI's way: {ui:.1f} s; from the CLI: {cli:.1f} s "
        f"({ui / cli:.2f}x; target within 1.5x)"
    )


if __name__ == "__main__":
    main()
