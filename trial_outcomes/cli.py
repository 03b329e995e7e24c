"""`trial-outcomes`: run the pipeline on a drop, write a synthetic drop, open the UI,
open a published report.

Exit status: 0 done; 1 the run failed (named checks, rows, subjects); 2 a usage
error (a bad option, plan, folder or database); 3 the run succeeded but a
stopping boundary was crossed; 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from trial_outcomes.dates import cut_in_the_future, parse_cut
from trial_outcomes.errors import UsageError, disk_full
from trial_outcomes.text import first_of, printable

if TYPE_CHECKING:
    from trial_outcomes.pipelines.runner import RunOutcome
    from trial_outcomes.plan import AnalysisPlan

INTERRUPTED = 130  # the shell's code for a command stopped by SIGINT
BOUNDARY_CROSSED = 3
QC_DISAGREES = 5
QC_FAILED = 6


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fail(message: str) -> int:
    print(f"trial-outcomes: error: {printable(message)}", file=sys.stderr)
    return 2


def writable_folder(path: Path, option: str) -> Path:
    """``path`` as an output folder: made if missing; refused, in one line, when it is a
    file or cannot be written (a read-only file system)."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {path} cannot be written ({exc.strerror or exc})") from None
    return path


def _check_run_arguments(args: argparse.Namespace) -> tuple[dt.date | None, AnalysisPlan]:
    """The run's arguments checked before anything runs, with the cut parsed and the
    plan read: the run takes both as they are (the run specification is made from
    them once)."""
    from trial_outcomes.plan import load_plan
    from trial_outcomes.runspec import comparison_refusal

    if Path(args.data).is_file():
        raise UsageError(f"--data {args.data} is a file, not a folder: give the folder that holds the drop's files")
    if not Path(args.data).is_dir():
        raise UsageError(f"--data {args.data}: no such folder")
    cut = None
    if args.cut:
        try:
            cut = parse_cut(args.cut)
        except ValueError as exc:
            raise UsageError(f"--cut: {exc}") from None
        future = cut_in_the_future(cut)  # no drop can show it: said before anything runs
        if future:
            raise UsageError(f"--cut: {future}")
    writable_folder(Path(args.out), "--out")
    plan = load_plan(args.plan or None)
    if args.compare not in ("", "auto", "none"):
        try:
            parse_cut(args.compare)
        except ValueError as exc:
            raise UsageError(f"--compare: {exc}") from None
    refusal = comparison_refusal(cut, args.compare, plan.previous_cut) if cut is not None else None
    if refusal:
        raise UsageError(refusal)
    if args.compare not in ("", "auto", "none"):
        from trial_outcomes.io.publishing import published_cuts

        published = published_cuts(Path(args.out))
        if args.compare not in published:
            shown = ", ".join(published[-5:]) or "none"
            raise UsageError(
                f"--compare {args.compare}: no cut {args.compare} is published in {args.out} (published: {shown})"
            )
    return cut, plan


def cmd_run(args: argparse.Namespace) -> int:
    from trial_outcomes.plan import PlanError

    args.plan = args.plan or os.environ.get("TRIAL_PLAN", "")
    try:
        cut, plan = _check_run_arguments(args)
    except (UsageError, PlanError) as exc:
        return _fail(str(exc))
    from trial_outcomes.pipelines.runner import run_pipeline, stdout_progress

    started = time.perf_counter()
    print(f"running drop {args.data} (cut {args.cut or 'the latest date in the drop'}) into {args.out}", flush=True)
    try:
        outcome = run_pipeline(
            Path(args.data),
            Path(args.out),
            cut or "",
            plan=plan,
            supersede=args.supersede,
            previous_cut=args.compare,
            progress=None if args.quiet else stdout_progress,
        )
    except KeyboardInterrupt:
        outcome = None
    except UsageError as exc:
        return _fail(str(exc))
    except Exception as exc:  # the machine, not the drop: a full disk stops the run anywhere
        said = disk_full(exc)
        if said is None:
            raise
        print(
            f"trial-outcomes run FAILED: the disk is full ({printable(said)}). Free space and run again. A cut "
            f"is published whole in one rename, so {args.out} holds its earlier versions, or this one whole, "
            "never part of one.",
            file=sys.stderr,
        )
        return 1
    # the run is over, published or not: an interrupt now would only cut short what is said of
    # it (a re-verifier's Ctrl-C after "done" ended a published run by the signal, without a word)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return _tell(outcome, args, started)
    finally:
        signal.signal(signal.SIGINT, previous)


def _tell(outcome: RunOutcome | None, args: argparse.Namespace, started: float) -> int:
    """What a finished run says, and its exit status."""
    if outcome is None or outcome.interrupted:
        print("trial-outcomes run INTERRUPTED; nothing was published, earlier outputs are untouched.", file=sys.stderr)
        return INTERRUPTED
    for line in outcome.warnings:
        print(f"warning: {printable(line)}", file=sys.stderr)
    if not outcome.success:
        if outcome.published:  # a step failed after the cut was published: both are said
            print(
                f"trial-outcomes run FAILED after data cut {outcome.cut} was published in {outcome.published} "
                f"({outcome.publication or 'see its manifest.json'}); what failed came after it.",
                file=sys.stderr,
            )
        else:
            print("trial-outcomes run FAILED; nothing was published, earlier outputs are untouched.", file=sys.stderr)
        for line in outcome.failures:
            print(f"\n{printable(line)}", file=sys.stderr)
        # a boundary crossed by the published cut before a failure's 1, as ``portfolio run`` says it
        return BOUNDARY_CROSSED if _say_boundaries(outcome) else 1
    print(f"data cut {outcome.cut}: outputs in {outcome.published}")
    if outcome.publication:
        print(f"  {outcome.publication}")
    print(f"  report: {Path(outcome.published or '').absolute() / 'report.pdf'}")
    total = time.perf_counter() - started
    print(f"done in {total:.1f} s, peak RSS {_peak_rss_mb():.0f} MB")
    if args.timings:
        print("seconds by step (the rest is starting up and Dagster's own bookkeeping):")
        for step, seconds in sorted(outcome.timings.items(), key=lambda kv: -kv[1]):
            print(f"  {seconds:7.2f}  {step}")
        print(f"  {total - sum(outcome.timings.values()):7.2f}  (the rest)")
    for line in outcome.qc_disagreements:
        print(f"\nINDEPENDENT QC DISAGREES (see qc_report.csv and page 1): {printable(line)}", file=sys.stderr)
    for line in outcome.qc_failures:
        print(f"\nINDEPENDENT QC FAILED TO FINISH (page 1 says why): {printable(line)}", file=sys.stderr)
    if _say_boundaries(outcome):
        return BOUNDARY_CROSSED
    return QC_DISAGREES if outcome.qc_disagreements else QC_FAILED if outcome.qc_failures else 0


def _say_boundaries(outcome: RunOutcome) -> bool:
    """Say a published cut's crossed stopping boundaries and who was told; whether any was."""
    if not outcome.boundaries or not outcome.published:
        return False
    print("\nSTOPPING BOUNDARY CROSSED (see report.pdf, page 1):", file=sys.stderr)
    for line in outcome.boundaries:
        print(f"  {printable(line)}", file=sys.stderr)
    for line in outcome.announcements:
        print(f"  {printable(line)}", file=sys.stderr)
    return True


def _drop_files(folder: Path) -> list[str]:
    """The files of a drop's records (any format) and its ``drop_info.toml`` in ``folder``."""
    from trial_outcomes.io.readers import EXTENSIONS
    from trial_outcomes.schema import DROP_INFO_FILE, RECORDS

    names = {f"{r}.{ext}" for r in RECORDS for ext in EXTENSIONS} | {DROP_INFO_FILE}
    return sorted(p.name for p in folder.iterdir() if p.name in names) if folder.is_dir() else []


def cmd_synth(args: argparse.Namespace) -> int:
    from trial_outcomes.synth.generator import generate

    if args.subjects < 1:
        return _fail("--subjects must be at least 1")
    try:
        writable_folder(Path(args.out), "--out")
    except UsageError as exc:
        return _fail(str(exc))
    out = Path(args.out)
    held = (
        _drop_files(out)
        if not args.portfolio
        else [p.name for p in (out / "portfolio.toml", out / "drops") if p.exists()]
    )
    if held and not args.overwrite:
        # a newcomer's synth into data/sample replaced the sample without a word; into a folder of
        # xlsx files it left followup.csv beside followup.xlsx (2026-12-07): an EDC export at --out
        # would be lost the same way
        shown = ", ".join(held[:4]) + (f" and {len(held) - 4} more" if len(held) > 4 else "")
        return _fail(
            f"--out {args.out} already holds a drop's files ({shown}): a synthetic drop would replace or mix with "
            "them; give another folder, or --overwrite to replace them"
        )
    if args.overwrite and not args.portfolio:  # a portfolio's files are written over where they are
        for name in held:
            (out / name).unlink()
    started = time.perf_counter()
    if args.portfolio:
        from trial_outcomes.synth.portfolio import write_portfolio

        if args.portfolio < 1:
            return _fail("--portfolio must be at least 1 trial")
        path = write_portfolio(Path(args.out), args.portfolio, args.seed, executor=args.executor)
        print(f"synthetic portfolio of {args.portfolio} trials (seed {args.seed}): {path}")
        print(f"done in {time.perf_counter() - started:.1f} s")
        return 0
    counts = generate(
        Path(args.out),
        args.subjects,
        args.seed,
        args.format,
        progress=not args.quiet,
        without_dsmb_files=args.without_dsmb_files,
    )
    print(f"synthetic drop of {args.subjects} subjects (seed {args.seed}) in {args.out}")
    for record, n in counts.items():
        print(f"  {record}.{args.format}: {n} rows")
    print(f"done in {time.perf_counter() - started:.1f} s, peak RSS {_peak_rss_mb():.0f} MB")
    return 0


def ui_commands(args: argparse.Namespace, home: Path) -> tuple[list[list[str]], dict[str, str]]:
    """The web server and the daemon, started from this interpreter (no PATH needed),
    with the project-local home shared with ``run``."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TRIAL_DATA_DIR": str(Path(args.data).resolve()),
        "TRIAL_OUT_DIR": str(Path(args.out).resolve()),
    }
    plan = args.plan or os.environ.get("TRIAL_PLAN", "")
    if plan:
        env["TRIAL_PLAN"] = str(Path(plan).resolve())
    if getattr(args, "files_port", 0):
        from trial_outcomes.io.file_server import FILES_URL_ENV

        env[FILES_URL_ENV] = f"http://{args.host}:{args.files_port}"
    workspace = home / "workspace.yaml"  # one code location, named as in pyproject.toml's [tool.dagster]
    from trial_outcomes.pipelines.definitions import CODE_LOCATION, DEFINITIONS_MODULE

    module, location = DEFINITIONS_MODULE, CODE_LOCATION
    if getattr(args, "portfolio", ""):  # the portfolio's trial x cut grid and pooled analysis instead
        from trial_outcomes.io.file_server import FILES_ROOT_ENV
        from trial_outcomes.pipelines.portfolio import PORTFOLIO_ENV

        env[PORTFOLIO_ENV] = str(Path(args.portfolio).resolve())
        env[FILES_ROOT_ENV] = str(Path(args.portfolio).resolve().parent)  # the folder `ui` serves
        module, location = "trial_outcomes.pipelines.portfolio_location", "trial_outcomes_portfolio"
    workspace.write_text(
        f"load_from:\n  - python_module:\n      module_name: {module}\n      location_name: {location}\n"
    )
    # quiet by default (warnings and errors: ~2,100 DEBUG lines a run otherwise); --verbose shows Dagster's own
    level = "debug" if getattr(args, "verbose", False) else "warning"
    webserver = [
        sys.executable,
        "-m",
        "dagster_webserver",
        "-w",
        str(workspace),
        "-h",
        args.host,
        "-p",
        str(args.port),
        "--dagster-log-level",
        level,
        "--code-server-log-level",
        level,
    ]
    daemon = [sys.executable, "-m", "dagster._daemon", "run", "-w", str(workspace), "--log-level", level]
    return [webserver, daemon], env


def prepare_storage() -> None:
    """Open the instance once, here, so that its storage's tables are made by one process:
    the web server and the daemon, started at once on a new home, both made them, and the
    loser exited ("table asset_daemon_asset_evaluations already exists", in a fresh
    clone's suite)."""
    import dagster as dg

    from trial_outcomes.pipelines.instance import open_instance

    with open_instance() as instance:  # each storage used once: runs, schedules and sensors, events
        instance.get_runs(limit=1)
        instance.all_instigator_state()
        instance.get_latest_materialization_event(dg.AssetKey("adsl"))


def cmd_ui(args: argparse.Namespace) -> int:
    from trial_outcomes.pipelines.instance import home as dagster_home

    try:
        home = dagster_home()
    except UsageError as exc:
        return _fail(str(exc))
    from trial_outcomes.io.file_server import serve_outputs

    if args.portfolio:
        from trial_outcomes.portfolio import PortfolioError, load_portfolio

        try:
            portfolio = load_portfolio(args.portfolio)
        except PortfolioError as exc:
            return _fail(str(exc))
        served = portfolio.path.parent  # its trials' outputs and the pooled ones, not the drops beside them
        folders = [t.out for t in portfolio.trials] + [portfolio.pooled.out]
    else:
        served = Path(args.out).resolve()
        folders = [served]
    try:
        files = serve_outputs(served, args.host, args.files_port, folders)
    except OSError as exc:
        return _fail(
            f"cannot serve the outputs on {args.host}:{args.files_port} ({exc.strerror or exc}): "
            "choose another --files-port"
        )
    args.files_port = files.server_address[1]
    try:
        prepare_storage()
    except Exception as exc:  # a database that cannot be opened: said before anything starts
        return _fail(f"the Dagster instance in {home} cannot be opened: {exc}")
    commands, env = ui_commands(args, home)
    print(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={home}); Ctrl-C stops it", flush=True)
    print(f"published reports on http://{args.host}:{args.files_port}/ (linked from each cut's asset page)", flush=True)
    # run from the home folder: Dagster then finds no second dagster.yaml to warn about
    processes = [subprocess.Popen(cmd, env=env, cwd=home) for cmd in commands]

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (kill, a service manager) stops the UI as Ctrl-C does

    # without it a `kill` of this process left the webserver, the daemon and its code servers running
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        files.shutdown()
        files.server_close()
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in processes:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


def _portfolio(path: str) -> Any:
    from trial_outcomes.portfolio import load_portfolio

    return load_portfolio(path)


def cmd_portfolio_run(args: argparse.Namespace) -> int:
    """Every (trial, cut) asked for, then the pooled analysis; a line per run."""
    from trial_outcomes.pipelines.portfolio_runner import run_portfolio
    from trial_outcomes.portfolio import PortfolioError

    try:
        portfolio = _portfolio(args.portfolio)
        if not args.cut and not args.pooled_only:
            raise UsageError("give at least one --cut (or --pooled-only)")
        if args.pooled_only and (args.cut or args.trial or args.no_pooled):
            # a red team's --pooled-only --no-pooled ran nothing and said "0 of 0 runs published", exit 0
            raise UsageError(
                "--pooled-only runs the pooled analysis alone, of what is published: it takes no --cut, --trial "
                "or --no-pooled (the portfolio file's [pooled] cuts name the cuts it pools)"
            )
        started = time.perf_counter()
        runs = run_portfolio(portfolio, [] if args.pooled_only else args.cut, args.trial or None, not args.no_pooled)
    except (UsageError, PortfolioError, ValueError) as exc:
        return _fail(str(exc))
    for r in runs:
        what = f"trial {r.trial} at {r.cut}" if r.trial else "pooled analysis"
        state = (
            "published"
            if r.success
            else f"FAILED after publishing its cut ({r.error or 'see the run in the UI'})"
            if r.published
            else f"FAILED ({r.error or 'see the run in the UI'})"
        )
        print(f"  {what}: {state} (run {r.run_id[:8]})")
    failed = [r for r in runs if not r.success]
    published = [r for r in runs if r.success or r.published]  # a run may fail after publishing its cut
    retried = [r for r in failed if not r.published]  # such a run has nothing to retry
    if failed and not args.no_pooled and all(r.trial for r in runs):  # the pool never follows a failed run
        print(
            "  pooled analysis: not run, as a trial's run failed: the published pooled analysis, if any, is of the "
            "trials' earlier publications (portfolio run --pooled-only once they are published)"
        )
    print(
        f"{len(published)} of {len(runs)} runs published with the {portfolio.execution.executor} executor "
        f"in {time.perf_counter() - started:.1f} s"
        + (f", {len(failed)} failed" if failed else "")
        + (
            f"; retry a failed run with: trial-outcomes portfolio retry RUN_ID --portfolio {args.portfolio}"
            if retried
            else ""
        )
    )
    return _portfolio_boundaries(runs) or (1 if failed else 0)


def _portfolio_boundaries(runs: Any) -> int:
    """Say each trial's crossed stopping boundaries and who was told; ``BOUNDARY_CROSSED``
    if any was crossed (before a failure's 1: the board must hear of it first), else 0."""
    crossed = [r for r in runs if r.boundaries]
    for r in crossed:
        print(
            f"\nSTOPPING BOUNDARY CROSSED in trial {r.trial} at {r.cut} (see its report.pdf, page 1):", file=sys.stderr
        )
        for line in (*r.boundaries, *r.announcements):
            print(f"  {printable(line)}", file=sys.stderr)
    return BOUNDARY_CROSSED if crossed else 0


def cmd_portfolio_retry(args: argparse.Namespace) -> int:
    from trial_outcomes.pipelines.portfolio_runner import retry_run
    from trial_outcomes.portfolio import PortfolioError

    try:
        run = retry_run(_portfolio(args.portfolio), args.run_id)
    except (UsageError, PortfolioError) as exc:
        return _fail(str(exc))
    what = f"trial {run.trial} at {run.cut}" if run.trial else "pooled analysis"
    state = "published" if run.success else ("FAILED after publishing its cut (" if run.published else "FAILED (")
    print(f"  {what}: {state}{'' if run.success else run.error + ')'} (run {run.run_id[:8]})")
    return _portfolio_boundaries([run]) or (0 if run.success else 1)


def cmd_portfolio_release(args: argparse.Namespace) -> int:
    from trial_outcomes.pipelines.portfolio_runner import release_cut
    from trial_outcomes.portfolio import PortfolioError

    try:
        print(release_cut(_portfolio(args.portfolio), args.trial, args.cut))
    except (UsageError, PortfolioError, ValueError) as exc:
        return _fail(str(exc))
    return 0


def celery_worker_command(
    portfolio: Any, name: str, concurrency: int, config_dir: Path
) -> tuple[list[str], dict[str, str]]:
    """The celery worker of ``portfolio``'s broker and queue (the command and its
    environment): it runs the steps sent to that queue, one at a time per process. A step
    of ``portfolio run`` names its portfolio file (``reconstructable_job``); a step of a
    run launched from the UI names the code location, which reads ``TRIAL_PORTFOLIO``."""
    from trial_outcomes.pipelines.portfolio import CELERY_CONFIG_SOURCE, PORTFOLIO_ENV

    lines = [
        f"broker_url = {portfolio.execution.broker!r}",
        f"result_backend = {portfolio.execution.backend!r}",
        *(f"{key} = {value!r}" for key, value in CELERY_CONFIG_SOURCE.items()),
        f"task_default_queue = {portfolio.execution.queue!r}",
    ]
    (config_dir / "dagster_celery_config.py").write_text("\n".join(lines) + "\n")
    env = {
        **os.environ,
        PORTFOLIO_ENV: str(portfolio.path),
        "PYTHONPATH": os.pathsep.join(p for p in (str(config_dir), os.environ.get("PYTHONPATH", "")) if p),
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "dagster_celery.app",
        "worker",
        "-Q",
        portfolio.execution.queue,
        "-n",
        f"{name}@%h",
        "-c",
        str(concurrency),
        "--prefetch-multiplier=1",
        "--loglevel=WARNING",
    ]
    return command, env


def cmd_portfolio_worker(args: argparse.Namespace) -> int:
    from trial_outcomes.portfolio import PortfolioError

    try:
        portfolio = _portfolio(args.portfolio)
    except PortfolioError as exc:
        return _fail(str(exc))
    if args.concurrency < 1:
        return _fail("--concurrency must be at least 1")
    config_dir = Path(tempfile.mkdtemp(prefix="trial-celery-"))
    command, env = celery_worker_command(portfolio, args.name, args.concurrency, config_dir)
    print(f"celery worker {args.name} on {portfolio.execution.broker} for {portfolio.path}", flush=True)
    os.execve(sys.executable, command, env)  # the worker replaces this process: signals reach celery itself


def _published_cut(out: Path, cut: str) -> str:
    """``cut``, or the latest published cut when empty; a usage error when not published."""
    from trial_outcomes.io.publishing import published_cuts

    cuts = published_cuts(out)
    if not cuts:
        raise UsageError(f"no published cut in {out}")
    chosen = cut or cuts[-1]
    if chosen not in cuts:
        raise UsageError(f"cut {chosen} is not published in {out}; published: {', '.join(cuts)}")
    return chosen


def cmd_open(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        cut = _published_cut(out, args.cut)
    except UsageError as exc:
        return _fail(str(exc))
    report = (out / cut / f"report.{args.format}").absolute()
    print(report)
    if not args.print_only and (os.environ.get("DISPLAY") or sys.platform == "darwin" or shutil.which("xdg-open")):
        webbrowser.open(report.as_uri())
    return 0


def cmd_qc(args: argparse.Namespace) -> int:
    from trial_outcomes.io.qc import AGREE, DISAGREE, qc_parameters, report_refusal, run_qc
    from trial_outcomes.io.records import drop_files
    from trial_outcomes.provenance import changed_since_publication

    out = Path(args.out)
    try:
        cut = _published_cut(out, args.cut)
    except UsageError as exc:
        return _fail(str(exc))
    folder = (out / cut).resolve()
    refused = report_refusal(Path(args.report), Path(args.data)) if args.report else None
    if refused is not None:
        return _fail(refused)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        published_from, outputs = manifest["data_drop"]["files"], manifest["outputs"]
        seen = manifest["data_drop"].get("seen_to")  # a cut published before 2026-12-01 has none: the cut
        parameters = qc_parameters(manifest["analysis_plan"]["parameters"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        print(
            f"published files changed since publication: {folder / 'manifest.json'} is missing or unreadable "
            f"({type(exc).__name__}), so the cut's files cannot be checked; re-publish the cut "
            "(trial-outcomes run --supersede REASON), never edit it",
            file=sys.stderr,
        )
        return 1
    drop: Path | None = Path(args.data)
    if drop is not None and (not drop.is_dir() or drop_files(drop) != published_from):
        why = f"no such folder: {drop.resolve()}" if not drop.is_dir() else "its files differ from the manifest's"
        print(
            f"note: {drop} is not the drop cut {cut} was published from ({why}); OS and EFS of every subject are "
            "not re-derived from the raw records: give the drop with --data DROP",
            file=sys.stderr,
        )
        drop = None
    changed = changed_since_publication(folder, outputs)
    if changed:  # the R QC checks the key numbers; the manifest's hashes check every byte
        shown = first_of(changed, 8)
        print(
            f"published files changed since publication: {len(changed)} of the {len(outputs)} files "
            f"manifest.json recorded are edited, deleted or (+) added ({shown}); re-publish the cut, never edit it",
            file=sys.stderr,
        )
    report = Path(args.report) if args.report else out / ".qc" / f"{cut}-{folder.name}.csv"
    report.parent.mkdir(parents=True, exist_ok=True)
    result = run_qc(folder, parse_cut(cut), drop, report, parameters, parse_cut(seen) if seen else None)
    print(result.summary)
    if result.ran:
        print(f"report: {report.absolute()}")
    if changed:
        return 1
    return {AGREE: 0, DISAGREE: 1}.get(result.status, 4)


QC_HELP = """examples:
  trial-outcomes qc                        the latest published cut, against the sample drop
  trial-outcomes qc 2024-03-31 --data /drops/2024-04 --out /dsmb/outputs --report qc.csv

exit statuses:
  0    every number agrees, and every published file has the bytes its manifest recorded
  1    a number disagrees (the report lists each one), or a published file was changed after publication
  2    a usage error (no such published cut)
  4    the QC could not run (no Rscript with survival and cmprsk, or R failed)"""


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each option's default, where it has one worth showing (not empty, off or none);
    the examples and exit statuses of the epilog as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in ("", None, False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """argparse, with a did-you-mean for a mistyped option (``--dta`` -> ``--data``)."""

    def error(self, message: str) -> NoReturn:
        if "unrecognized arguments:" in message:
            parsers = [self]
            for action in self._actions:
                if isinstance(action, argparse._SubParsersAction):
                    parsers += list(action.choices.values())
            known = sorted({o for p in parsers for o in p._option_string_actions if o.startswith("--")})
            for token in message.split("unrecognized arguments:", 1)[1].split():
                close = difflib.get_close_matches(token.split("=", 1)[0], known, n=1, cutoff=0.6)
                if close:
                    message += f" (did you mean {close[0]}?)"
                    break
        super().error(message)


EXIT_STATUSES = """exit statuses:
  0    published (or already published with the same outputs)
  1    refused or failed: nothing was published, earlier outputs are untouched (unless the run says it
       failed after publishing the cut: then the cut is published, and a crossed boundary makes it 3)
  2    a usage error (an option, a folder, the analysis plan)
  3    published, and a stopping boundary was crossed (see page 1 of the report)
  5    published, and the independent QC in R disagrees with a number (qc_report.csv)
  6    published, but the independent QC in R failed to finish (page 1 says why; R not installed is 0)
  130  interrupted: nothing was published"""

RUN_EXAMPLES = f"""examples:
  trial-outcomes run                                  the sample drop at its latest date
  trial-outcomes run --data /drops/2024-04 --cut 2024-03-31 --out /dsmb/outputs
  trial-outcomes run --cut 2024-03-31 --supersede "corrected export of 5 April"
  trial-outcomes run --plan plan.toml --compare 2023-12-31 --timings

{EXIT_STATUSES}"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="trial-outcomes",
        description="Outcomes pipeline of NCT04325841",
        formatter_class=_Help,
        epilog="examples:\n  trial-outcomes run\n  trial-outcomes ui\n  trial-outcomes open --format html\n"
        "  trial-outcomes qc 2024-03-31\n"
        "  trial-outcomes synth --subjects 120 --seed 7 --out data/sample --overwrite\n\n" + EXIT_STATUSES,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = _Help
    run = sub.add_parser(
        "run", help="materialize every asset for one drop and one data cut", formatter_class=fmt, epilog=RUN_EXAMPLES
    )
    run.add_argument("--data", default="data/sample", help="folder of the data drop")
    run.add_argument("--cut", default="", help="data cut YYYY-MM-DD (empty: the latest date in the drop)")
    run.add_argument("--out", default="outputs", help="output folder")
    run.add_argument("--plan", default="", help="analysis plan TOML (empty: TRIAL_PLAN, else the packaged plan)")
    run.add_argument(
        "--supersede",
        default="",
        metavar="REASON",
        help="publish this drop for a cut already published from another drop, for this reason "
        "(the earlier version is kept)",
    )
    run.add_argument(
        "--compare",
        default="",
        metavar="CUT",
        help="the published cut to compare with: a date, auto or none (empty: the plan's choice)",
    )
    run.add_argument("--timings", action="store_true", help="print the seconds spent in each step")
    run.add_argument("--quiet", action="store_true", help="no line per finished step")
    run.set_defaults(func=cmd_run)
    synth = sub.add_parser(
        "synth",
        help="write a synthetic drop, realistic for this trial",
        formatter_class=fmt,
        epilog="example:\n  trial-outcomes synth --subjects 2000 --seed 3 --format parquet --out /tmp/drop\n\n"
        "exit statuses:\n  0    written\n  2    a usage error",
    )
    synth.add_argument("--subjects", type=int, default=120, help="number of subjects")
    synth.add_argument("--seed", type=int, default=20201, help="random seed: the same seed gives the same bytes")
    synth.add_argument("--out", required=True, help="folder to write the drop into")
    synth.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv", help="file format")
    synth.add_argument("--quiet", action="store_true", help="no progress line on the terminal")
    synth.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the drop files already in --out (refused without it: an export there would be lost)",
    )
    synth.add_argument(
        "--without-dsmb-files",
        action="store_true",
        help="no apheresis, labs or long-term follow-up file (the other files are unchanged)",
    )
    synth.add_argument(
        "--portfolio",
        type=int,
        default=0,
        metavar="TRIALS",
        help="write a portfolio of this many trials of different sizes (drops/, portfolio.toml) instead of one drop",
    )
    synth.add_argument(
        "--executor", choices=("in_process", "celery"), default="in_process", help="the portfolio's executor"
    )
    synth.set_defaults(func=cmd_synth)
    ui = sub.add_parser(
        "ui",
        help="open the Dagster UI (web server and daemon) on the project-local home",
        formatter_class=fmt,
        epilog="example:\n  trial-outcomes ui --port 3001 --plan plan.toml\n\n"
        "exit statuses:\n  0    stopped by Ctrl-C\n  2    a usage error",
    )
    ui.add_argument("--data", default="data/sample", help="folder of the data drop")
    ui.add_argument("--out", default="outputs", help="output folder")
    ui.add_argument("--plan", default="", help="analysis plan TOML")
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback by default)")
    ui.add_argument("--port", type=int, default=3000, help="port")
    ui.add_argument(
        "--files-port",
        type=int,
        default=3080,
        help="port serving the published reports and figures, read-only, for the UI's links (0: any free port)",
    )
    ui.add_argument("--verbose", action="store_true", help="Dagster's info and debug lines on the console")
    ui.add_argument(
        "--portfolio", default="", help="a portfolio file: its trial x cut grid and pooled analysis (not one drop)"
    )
    ui.set_defaults(func=cmd_ui)
    opener = sub.add_parser(
        "open",
        help="open a published report (print its path)",
        formatter_class=fmt,
        epilog="examples:\n  trial-outcomes open\n  trial-outcomes open 2023-12-31 --format html --print-only\n\n"
        "exit statuses:\n  0    the report's path printed (and opened)\n  2    no such published cut",
    )
    opener.add_argument("cut", nargs="?", default="", help="data cut (default: the latest published)")
    opener.add_argument("--out", default="outputs", help="output folder")
    opener.add_argument("--format", choices=("pdf", "html"), default="pdf", help="which report")
    opener.add_argument("--print-only", action="store_true", help="only print the path")
    opener.set_defaults(func=cmd_open)
    qc = sub.add_parser(
        "qc",
        help="re-derive a published cut's key numbers in R (independent double programming)",
        formatter_class=fmt,
        epilog=QC_HELP,
    )
    qc.add_argument("cut", nargs="?", default="", help="data cut (default: the latest published)")
    qc.add_argument("--out", default="outputs", help="output folder")
    qc.add_argument("--data", default="data/sample", help="the drop the cut was published from (its raw records)")
    qc.add_argument("--report", default="", help="the QC report CSV (empty: <out>/.qc/<cut>-<version>.csv)")
    qc.set_defaults(func=cmd_qc)
    _portfolio_parsers(sub, fmt)
    return parser


def _portfolio_parsers(sub: Any, fmt: Any) -> None:
    portfolio = sub.add_parser(
        "portfolio",
        help="several trials from one portfolio file: their cuts, the pooled analysis, celery workers",
        formatter_class=fmt,
        epilog="examples:\n  trial-outcomes synth --portfolio 4 --out /tmp/pf\n"
        "  trial-outcomes portfolio run --portfolio /tmp/pf/portfolio.toml --cut 2023-12-31 --cut 2024-03-31\n"
        "  trial-outcomes portfolio worker --portfolio /tmp/pf/portfolio.toml --name w1   # with executor = celery",
    )
    verbs = portfolio.add_subparsers(dest="portfolio_command", required=True)
    run = verbs.add_parser(
        "run",
        help="run each trial at each cut, then the pooled analysis",
        formatter_class=fmt,
        epilog="exit statuses:\n  0    every run published\n  1    a run failed (retry it)\n  2    a usage error\n"
        "  3    a published cut crossed a stopping boundary (named on stderr; 3 even when another run failed)",
    )
    run.add_argument("--portfolio", required=True, help="the portfolio file (portfolio.toml)")
    run.add_argument("--cut", action="append", default=[], help="data cut YYYY-MM-DD (repeat for several)")
    run.add_argument("--trial", action="append", default=[], help="only this trial (repeat; default: every trial)")
    run.add_argument("--no-pooled", action="store_true", help="no pooled analysis after the trials' runs")
    run.add_argument("--pooled-only", action="store_true", help="only the pooled analysis, of what is published")
    run.set_defaults(func=cmd_portfolio_run)
    retry = verbs.add_parser(
        "retry",
        help="re-execute a failed run from its failure",
        formatter_class=fmt,
        epilog="exit statuses:\n  0    published\n  1    failed again\n  2    a usage error (a run that "
        "published its cut before it failed has nothing to retry)\n"
        "  3    published, and a stopping boundary was crossed",
    )
    retry.add_argument("run_id", help="the failed run's id (printed by portfolio run, shown in the UI)")
    retry.add_argument("--portfolio", required=True, help="the portfolio file")
    retry.set_defaults(func=cmd_portfolio_retry)
    release = verbs.add_parser(
        "release",
        help="free a trial's cut held by a run whose process died without ending (marks that run failed)",
        formatter_class=fmt,
        epilog="Only for a run that is not running: a run marked failed while its steps still write would "
        "leave a half-written working folder (never a half-published cut).",
    )
    release.add_argument("trial", help="the trial's id")
    release.add_argument("cut", help="the data cut YYYY-MM-DD")
    release.add_argument("--portfolio", required=True, help="the portfolio file")
    release.set_defaults(func=cmd_portfolio_release)
    worker = verbs.add_parser(
        "worker",
        help="a celery worker for the portfolio's broker (executor = celery)",
        formatter_class=fmt,
        epilog="The worker runs until stopped (SIGTERM lets its current step finish).",
    )
    worker.add_argument("--portfolio", required=True, help="the portfolio file")
    worker.add_argument("--name", default="worker", help="the worker's name (unique per host)")
    worker.add_argument("--concurrency", type=int, default=1, help="steps at once (processes)")
    worker.set_defaults(func=cmd_portfolio_worker)


def main(argv: list[str] | None = None) -> int:
    """The command's exit status. An interrupt before a command's own handling (Ctrl-C while
    the run loads its plan and its libraries: a re-verifier's 30-50 lines of traceback from
    numpy's import) is one line and 130; a run catches its own from the start of its steps."""
    words = sys.argv[1:] if argv is None else argv
    command = next((w for w in words if not w.startswith("-")), "")
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except KeyboardInterrupt:
        said = "; nothing was published, earlier outputs are untouched" if command == "run" else ""
        print(f"{f'trial-outcomes {command}'.strip()} INTERRUPTED{said}.", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
