"""`trial-outcomes`: run the pipeline on a drop, write a synthetic drop, open the UI."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
import warnings
from pathlib import Path

INTERRUPTED = 130  # the shell's code for a command stopped by SIGINT


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fail(message: str) -> int:
    print(f"trial-outcomes: error: {message}", file=sys.stderr)
    return 2


def cmd_run(args: argparse.Namespace) -> int:
    from trial_outcomes.dates import parse_cut

    data = Path(args.data)
    if not data.is_dir():
        return _fail(f"--data {data}: no such folder")
    if args.cut:
        try:
            parse_cut(args.cut)
        except ValueError as exc:
            return _fail(f"--cut: {exc}")
    warnings.filterwarnings("ignore")
    from trial_outcomes.pipelines.runner import run_pipeline

    started = time.perf_counter()
    try:
        outcome = run_pipeline(data, Path(args.out), args.cut or "")
    except KeyboardInterrupt:
        outcome = None
    if outcome is None or outcome.interrupted:
        print("trial-outcomes run INTERRUPTED; nothing was published, earlier outputs are untouched.", file=sys.stderr)
        return INTERRUPTED
    for line in outcome.warnings:
        print(f"warning: {line}", file=sys.stderr)
    if not outcome.success:
        print("trial-outcomes run FAILED; nothing was published, earlier outputs are untouched.", file=sys.stderr)
        for line in outcome.failures:
            print(f"\n{line}", file=sys.stderr)
        return 1
    print(f"data cut {outcome.cut}: outputs in {outcome.published}")
    for path in sorted(Path(outcome.published).iterdir()):
        print(f"  {path}")
    total = time.perf_counter() - started
    print(f"done in {total:.1f} s, peak RSS {_peak_rss_mb():.0f} MB")
    if args.timings:
        print("seconds by step (the rest is starting up and Dagster's own bookkeeping):")
        for step, seconds in sorted(outcome.timings.items(), key=lambda kv: -kv[1]):
            print(f"  {seconds:7.2f}  {step}")
        print(f"  {total - sum(outcome.timings.values()):7.2f}  (the rest)")
    if outcome.boundaries:
        print("\nSTOPPING BOUNDARY CROSSED (see report.html, section Stopping rules):", file=sys.stderr)
        for line in outcome.boundaries:
            print(f"  {line}", file=sys.stderr)
        return 3
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from trial_outcomes.synth.generator import generate

    if args.subjects < 1:
        return _fail("--subjects must be at least 1")
    started = time.perf_counter()
    counts = generate(Path(args.out), args.subjects, args.seed, args.format)
    print(f"synthetic drop of {args.subjects} subjects (seed {args.seed}) in {args.out}")
    for record, n in counts.items():
        print(f"  {record}.{args.format}: {n} rows")
    print(f"done in {time.perf_counter() - started:.1f} s, peak RSS {_peak_rss_mb():.0f} MB")
    return 0


def ui_command(args: argparse.Namespace) -> tuple[list[str], dict]:
    """`dagster dev` on the project's definitions, with a project-local SQLite home,
    bound to ``--host`` (127.0.0.1 unless told otherwise)."""
    home = Path(os.environ.get("DAGSTER_HOME", ".dagster_home")).resolve()
    env = {**os.environ, "DAGSTER_HOME": str(home), "TRIAL_DATA_DIR": args.data, "TRIAL_OUT_DIR": args.out}
    exe = shutil.which("dagster") or "dagster"
    return [exe, "dev", "-m", "trial_outcomes.pipelines.definitions", "-h", args.host, "-p", str(args.port)], env


def cmd_ui(args: argparse.Namespace) -> int:
    cmd, env = ui_command(args)
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists() and Path("dagster.yaml").exists():
        shutil.copyfile("dagster.yaml", home / "dagster.yaml")
    print(f"DAGSTER_HOME={home}\n{' '.join(cmd)}")
    os.execve(cmd[0], cmd, env)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trial-outcomes", description="Outcomes pipeline of NCT04325841")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize every asset for one drop and one data cut")
    run.add_argument("--data", default="data/sample", help="folder of the data drop (default data/sample)")
    run.add_argument("--cut", default="", help="data cut YYYY-MM-DD (default: latest date in the drop)")
    run.add_argument("--out", default="outputs", help="output folder (default outputs)")
    run.add_argument("--timings", action="store_true", help="print the seconds spent in each step")
    run.set_defaults(func=cmd_run)
    synth = sub.add_parser("synth", help="write a synthetic drop, realistic for this trial")
    synth.add_argument("--subjects", type=int, default=120)
    synth.add_argument("--seed", type=int, default=20201)
    synth.add_argument("--out", required=True)
    synth.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv")
    synth.set_defaults(func=cmd_synth)
    ui = sub.add_parser("ui", help="open the Dagster UI (dagster dev) with a project-local home")
    ui.add_argument("--data", default="data/sample")
    ui.add_argument("--out", default="outputs")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
