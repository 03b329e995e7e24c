"""The statistician's day in the Dagster UI, in headless Chromium, as a newcomer walks it:

1. a cut is run from the CLI first (no DAGSTER_HOME: the project-local instance);
2. ``<venv>/bin/trial-outcomes ui`` starts with a bare PATH (no venv on it);
3. the CLI's run is in the UI's run list, tagged ``trial/trigger: cli``;
4. ``survival_analysis`` shows its rounded headline table;
5. every Kaplan-Meier / cumulative-incidence figure shows, one metadata entry per endpoint;
6. a new cut is added and launched from the UI (Materialize all, Add a partition);
7. the drop crosses the safety boundary: the run is tagged, the check says so, and the
   boundary sensor (in the daemon the UI started) posts to a webhook on 127.0.0.1.

Screenshots of each step are written to the test's folder (``TRIAL_UI_SHOTS`` keeps
them elsewhere) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import launch
from tests.helpers import plan_with_notify, webhook_server

pytestmark = pytest.mark.slow
CLI_CUT, UI_CUT = "2022-12-31", "2023-12-31"
BARE_PATH = "/usr/bin:/bin"


@dataclass
class Project:
    folder: Path
    url: str
    posts: list[dict]
    shots: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bare_env(folder: Path) -> dict[str, str]:
    """What a new terminal has: no venv on PATH, no DAGSTER_HOME, no TRIAL_* settings."""
    return {"PATH": BARE_PATH, "HOME": str(folder), "LANG": "C.UTF-8"}


@pytest.fixture(scope="module")
def project(toxic_drop, tmp_path_factory) -> Iterator[Project]:
    folder = tmp_path_factory.mktemp("project")
    shutil.copytree(toxic_drop, folder / "drop")
    shots = Path(os.environ.get("TRIAL_UI_SHOTS") or folder / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    cli = Path(sys.executable).parent / "trial-outcomes"  # the venv's script, as the README runs it
    with webhook_server() as (url, posts):
        plan_with_notify(folder / "plan.toml", url)
        ran = subprocess.run(
            [str(cli), "run", "--data", "drop", "--out", "out", "--cut", CLI_CUT, "--plan", "plan.toml", "--quiet"],
            cwd=folder,
            env=_bare_env(folder),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert ran.returncode == 3, ran.stderr  # published, and the safety boundary crossed
        assert (folder / ".dagster_home" / "dagster.yaml").is_file()  # the project-local instance
        assert [CLI_CUT in str(post) for post in posts] == [True]  # the CLI told the plan's webhook itself
        port = _free_port()
        console = (folder / "ui-console.txt").open("w")
        ui = subprocess.Popen(
            [
                str(cli),
                "ui",
                "--data",
                "drop",
                "--out",
                "out",
                "--plan",
                "plan.toml",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=folder,
            env=_bare_env(folder),
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(base, ui, folder / "ui-console.txt")
            yield Project(folder, base, posts, shots)
        finally:
            os.killpg(ui.pid, signal.SIGINT)  # what Ctrl-C does: the CLI stops the web server and the daemon
            try:
                ui.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(ui.pid, signal.SIGKILL)
                ui.wait()
            console.close()
            shutil.copy(folder / "ui-console.txt", shots / "ui-console.txt")


def _wait_for(base: str, ui: subprocess.Popen[bytes], console: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if ui.poll() is not None:
            pytest.fail(f"trial-outcomes ui exited: {console.read_text()}")
        try:
            urllib.request.urlopen(base + "/server_info", timeout=2)
            return
        except OSError:
            time.sleep(1)
    pytest.fail("the Dagster UI did not start on loopback within 3 minutes")


@pytest.fixture(scope="module")
def page(project):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def _goto(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def test_1_the_ui_started_without_the_venv_on_path_or_warnings(project):
    """Started from the CLI's own interpreter (no ``dagster`` on PATH), the current way
    (no 'superseded' notice, no second dagster.yaml to ignore), and quiet (issue 22: a
    heartbeat warning a minute and ~2,100 DEBUG lines a run): the console holds the
    UI's address and nothing to decode."""
    time.sleep(10)  # the daemon's first heartbeats and sensor ticks
    text = (project.folder / "ui-console.txt").read_text()
    assert "Dagster UI on http://127.0.0.1:" in text, text
    for noise in ("superseded", "will not be used", "Traceback", "Warning", "FileNotFoundError", "DEBUG", "heartbeat"):
        assert noise not in text, text


def test_2_the_cli_run_is_in_the_run_list(page, project):
    _goto(page, f"{project.url}/runs")
    page.get_by_text("trial/trigger: cli").first.wait_for()
    page.screenshot(path=str(project.shots / "1-runs-cli.png"))
    assert CLI_CUT in page.inner_text("body")


def test_3_survival_analysis_shows_the_headline_table(page, project):
    _goto(page, f"{project.url}/assets/survival_analysis")
    headline = page.get_by_text("median, mo").first
    headline.wait_for()
    headline.scroll_into_view_if_needed()
    body = page.inner_text("body")
    for endpoint in ("Overall survival", "Event-free survival", "Cumulative incidence of relapse"):
        assert endpoint in body
    assert "0.3604" not in body  # rounded for people, not raw floats
    page.screenshot(path=str(project.shots / "2-survival-headline.png"))


def test_4_every_km_figure_shows(page, project):
    """One metadata entry per endpoint: expanding each shows its curves, overall and by
    subgroup, readable (at least 600 px wide)."""
    _goto(page, f"{project.url}/assets/figures")
    buttons = page.get_by_text("[Show Markdown]")
    buttons.first.wait_for()
    n_entries = buttons.count()
    assert n_entries >= 6  # OS, EFS, DFS, CIR, NRM, DOR (and the forest plots)
    widths: list[int] = []
    for i in range(n_entries):
        page.get_by_text("[Show Markdown]").first.click()
        dialog = page.get_by_role("dialog")
        dialog.locator("img").first.wait_for()
        page.wait_for_timeout(500)  # the dialog fades in
        widths += dialog.locator("img").evaluate_all("els => els.map(e => e.naturalWidth)")
        if i == 0:
            page.screenshot(path=str(project.shots / "3-figures-os.png"))
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached")
    n_km = len(list((project.folder / "out" / CLI_CUT / "plots").glob("*.svg")))
    assert len(widths) >= 6 and all(w >= 600 for w in widths), widths
    assert n_km >= len(widths)


def test_5_a_new_cut_launched_from_the_ui_crosses_the_boundary_and_someone_is_told(page, project):
    _goto(page, f"{project.url}/locations/trial_outcomes/jobs/all_outcomes")
    page.get_by_text("YYYY-MM-DD").first.wait_for()  # the format of a partition key, beside the button
    page.get_by_role("button", name="Materialize all").first.click()
    page.get_by_text("Partition selection").wait_for()
    page.wait_for_load_state("networkidle")  # the dialog has read the partitions
    page.get_by_role("button", name="Add a partition").click()
    page.get_by_placeholder("name").fill(UI_CUT)
    page.get_by_role("button", name="Save").click()
    launch_button = page.get_by_role("button", name="Launch 1 run")
    try:
        launch_button.wait_for(timeout=15_000)
    except PlaywrightTimeout:  # the dialog sometimes adds the partition without selecting it: pick it
        page.get_by_text("Select a partition or create one").first.click()
        page.keyboard.type(UI_CUT)
        page.get_by_role("menuitem").filter(has_text=UI_CUT).filter(has_not_text="Select all").last.click()
        page.get_by_text("Launch runs to materialize").click()  # closes the list
    try:
        launch_button.wait_for()
    finally:
        page.screenshot(path=str(project.shots / "4-launch-new-cut.png"))
    launch_button.click()

    deadline = time.monotonic() + 600
    while not any(UI_CUT in str(post) for post in project.posts):
        assert time.monotonic() < deadline, "no notification within 10 minutes of the launch"
        time.sleep(3)
    post = next(p for p in project.posts if UI_CUT in str(p))
    assert post["text"].startswith(f"*[DSMB] Stopping boundary crossed at data cut {UI_CUT}*")
    assert "Safety (Bayesian beta-binomial): BOUNDARY CROSSED" in post["text"]
    assert (project.folder / "out" / UI_CUT / "report.pdf").is_file()

    _goto(page, f"{project.url}/runs")
    page.get_by_text("trial/stopping_boundary: BOUNDARY CROSSED: safety").first.wait_for()
    page.get_by_text("trial/trigger: ui").first.wait_for()  # a launchpad run names its launcher and drop
    page.screenshot(path=str(project.shots / "5-runs-crossed.png"))
    _goto(page, f"{project.url}/assets/stopping_rules?view=checks")
    page.get_by_text("safety_boundary").first.click()
    page.get_by_text(f"BOUNDARY CROSSED at cut {UI_CUT}").first.wait_for()  # the check's text, from its result
    page.wait_for_timeout(1000)
    page.screenshot(path=str(project.shots / "6-stopping-checks.png"))
