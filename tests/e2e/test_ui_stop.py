"""`trial-outcomes ui` stopped by SIGTERM (a `kill`, a service manager) stops what it
started: the web server, the daemon and their code servers. Before, only Ctrl-C did; a
`kill` of the CLI left five Dagster processes running (seen by hand, 2026-11-29)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.test_dagster_ui import _free_port, _wait_for, start_ui

pytestmark = pytest.mark.slow


def _group(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(entry.name))
    return alive


def test_sigterm_stops_the_web_server_and_the_daemon(tmp_path):
    root = Path(__file__).resolve().parents[2]
    port = _free_port()
    console = tmp_path / "console.txt"
    with console.open("w") as out:
        ui = start_ui(tmp_path, out, port, "--data", str(root / "data" / "sample"), "--out", "out")
        try:
            _wait_for(f"http://127.0.0.1:{port}", ui, console)
            assert len(_group(ui.pid)) >= 3  # the CLI, the web server, the daemon
            ui.send_signal(signal.SIGTERM)  # the CLI alone, as `kill PID` does
            assert ui.wait(timeout=60) == 0
            deadline = time.monotonic() + 30
            while _group(ui.pid) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert _group(ui.pid) == [], console.read_text()
        finally:
            if ui.poll() is None or _group(ui.pid):
                os.killpg(ui.pid, signal.SIGKILL)
