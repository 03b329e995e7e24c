"""Helpers the tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import pytest

from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, DropSettings
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions
from trial_outcomes.pipelines.runner import default_cut
from trial_outcomes.plan import DEFAULT_PLAN

ROOT = Path(__file__).resolve().parents[1]
#: survival_summary.csv's columns as the data contract lists them (docs/data-contract.md, section 3)
SURVIVAL_SUMMARY_COLUMNS = [
    "endpoint",
    "analysis",
    "population",
    "group_var",
    "group",
    "n",
    "n_events",
    "n_censored",
    "median_days",
    "median_lcl_days",
    "median_ucl_days",
    "rate_6m",
    "rate_6m_lcl",
    "rate_6m_ucl",
    "rate_12m",
    "rate_12m_lcl",
    "rate_12m_ucl",
    "rate_24m",
    "rate_24m_lcl",
    "rate_24m_ucl",
    "logrank_chisq",
    "logrank_p",
]


def materialize_cut(
    data_dir: Path, out_dir: Path, cut: str | None = None, instance: dg.DagsterInstance | None = None, **settings: str
) -> tuple[dg.ExecuteInProcessResult, str]:
    """Run the whole job for one cut (the drop's latest date by default), in process."""
    cut = cut or default_cut(data_dir).isoformat()
    defs = build_definitions(DropSettings(data_dir=str(data_dir), out_dir=str(out_dir), **settings))
    instance = instance or dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [cut])
    result = defs.resolve_job_def(ALL_JOB).execute_in_process(
        instance=instance, partition_key=cut, raise_on_error=False
    )
    return result, cut


def cli(
    *args: str, home: Path, env: dict[str, str] | None = None, timeout: int = 600, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """``trial-outcomes`` as a user runs it, with its own Dagster home (tests never share
    the project's .dagster_home)."""
    full_env = {**os.environ, "DAGSTER_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "trial_outcomes.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def finish(process: subprocess.Popen[str], timeout: float) -> int:
    """Wait for a ``cli_process``, reading its output (kept as ``.output`` and
    ``.errors``) so that its pipes are closed; its exit status."""
    out, err = process.communicate(timeout=timeout)
    process.output, process.errors = out, err  # type: ignore[attr-defined]
    return process.returncode


def cli_process(*args: str, home: Path, own_group: bool = False) -> subprocess.Popen[str]:
    """The CLI as a user runs it; ``own_group``: in a process group of its own (a terminal's
    job), which a test can sweep as a terminal does."""
    return subprocess.Popen(
        [sys.executable, "-m", "trial_outcomes.cli", *args],
        cwd=ROOT,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=own_group,
    )


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.received.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def webhook_server() -> Iterator[tuple[str, list[dict]]]:
    """A webhook receiver on 127.0.0.1 while the block runs: its URL and every JSON
    body posted to it."""
    with webhook_server_on(0) as served:
        yield served


@contextmanager
def webhook_server_on(port: int) -> Iterator[tuple[str, list[dict]]]:
    """``webhook_server`` on a given port (0: any free one)."""
    server = HTTPServer(("127.0.0.1", port), _WebhookHandler)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def plan_with_notify(path: Path, webhook_url: str, smtp_port: int | None = None) -> Path:
    """The packaged analysis plan, with [notify] pointing at the test's servers."""
    text = DEFAULT_PLAN.read_text().replace('webhook_url = ""', f'webhook_url = "{webhook_url}"')
    if smtp_port is not None:
        text = (
            text.replace('smtp_host = ""', 'smtp_host = "127.0.0.1"')
            .replace("smtp_port = 25", f"smtp_port = {smtp_port}")
            .replace('smtp_from = ""', 'smtp_from = "pipeline@trial.example"')
            .replace("smtp_to = []", 'smtp_to = ["dsmb-statistician@trial.example"]')
        )
    path.write_text(text)
    return path


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below ``folder``, by relative path: a published cut's
    bytes, to show that a refused run left it as it was."""
    import hashlib

    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def derive_sample(cut: str = "2024-03-31", subgroups: tuple[str, ...] = ("SEX", "PRHSCTFL", "DISSTAT", "AGEGR1")):
    """The sample drop's analysis datasets at ``cut``, derived in-process (no Dagster)."""
    import datetime as dt

    from trial_outcomes.analysis.derive import derive_all
    from trial_outcomes.io.parse import parse_records
    from trial_outcomes.io.readers import read_raw
    from trial_outcomes.schema import SCHEMAS

    records = {}
    for record, schema in SCHEMAS.items():
        path = ROOT / "data" / "sample" / f"{record}.csv"
        if path.exists():
            typed, problems = parse_records(read_raw(path, schema).frame, schema)
            assert problems.is_empty(), (record, problems.head())
            records[record] = typed
    return derive_all(records, dt.date.fromisoformat(cut), subgroups)


def needs_r() -> None:
    """Skip where ``Rscript`` is absent; where ``TRIAL_REQUIRE_R`` is set (``.ci/run`` sets
    it, after installing R with survival and cmprsk) its absence fails instead."""
    from trial_outcomes.io.qc import rscript

    if rscript() is None:
        if os.environ.get("TRIAL_REQUIRE_R"):
            pytest.fail("Rscript not found, and TRIAL_REQUIRE_R is set")
        pytest.skip("Rscript not found (R with survival and cmprsk: apt-get install r-base-core r-cran-survival ...)")


def qc_disagreements(folder: Path) -> list[tuple[str, ...]]:
    """The numbers the independent R QC found to disagree in a published cut (none
    expected), failing when the QC did not run on it (no ``qc_report.csv``)."""
    needs_r()
    import polars as pl

    report = pl.read_csv(folder / "qc_report.csv", infer_schema_length=0)
    assert report.filter(pl.col("agrees") == "yes").height > 0, "the QC compared nothing"
    return report.filter(pl.col("agrees") == "no").rows()


#: set by ``conftest.pytest_configure`` when the run is the fast tier (``-m "not slow"``)
FAST_TIER_ENV = "TRIAL_FAST_TIER"


def examples(n: int) -> int:
    """A property test's number of examples: ``n`` in the whole suite (CI's command), a
    quarter of it (at least 5) in the fast tier, which must stay under two minutes."""
    return max(5, n // 4) if os.environ.get(FAST_TIER_ENV) else n
