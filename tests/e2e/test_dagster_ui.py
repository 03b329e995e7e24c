"""The Dagster UI in headless Chromium: the asset graph, the data-cut partitions,
the automation, and a Kaplan-Meier plot in asset metadata all render."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import dagster as dg
import pytest

from tests.browser import launch
from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions

pytestmark = pytest.mark.slow
CUT = "2023-12-31"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(small_drop_master, tmp_path_factory):
    home, out = tmp_path_factory.mktemp("dagster_home"), tmp_path_factory.mktemp("out")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    defs = build_definitions(DropSettings(data_dir=str(small_drop_master), out_dir=str(out)))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(DATA_CUTS.name, [CUT])
        assert defs.resolve_job_def(ALL_JOB).execute_in_process(instance=instance, partition_key=CUT).success
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "TRIAL_DATA_DIR": str(small_drop_master), "TRIAL_OUT_DIR": str(out)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-m",
            "trial_outcomes.pipelines.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url + "/server_info", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("dagster-webserver did not start on loopback")
            time.sleep(1)
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def page(webserver, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.set_default_timeout(30_000)
        yield page
        browser.close()


def _goto(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def _dismiss_community_popup(page) -> None:
    """The UI greets a new instance with a pop-up; it can appear a moment after load."""
    try:
        page.get_by_role("button", name="Skip").click(timeout=8_000)
    except Exception:  # no pop-up this time
        pass


def test_ui_shows_graph_partitions_automation_and_a_km_plot(page, webserver, tmp_path):
    """One browser session, checked in the order a statistician would look."""
    _goto(page, f"{webserver}/assets/survival_plots?view=lineage")
    _dismiss_community_popup(page)
    for name in ("survival_plots", "survival_analysis", "report"):
        page.get_by_text(name, exact=True).first.wait_for()
    page.screenshot(path=str(tmp_path / "lineage.png"))

    _goto(page, f"{webserver}/assets/adsl?view=partitions")
    page.get_by_text(CUT).first.wait_for()
    page.screenshot(path=str(tmp_path / "partitions.png"))

    _goto(page, f"{webserver}/automation")
    page.get_by_text("new_drop_sensor").first.wait_for()
    page.get_by_text("interim_schedule").first.wait_for()

    _goto(page, f"{webserver}/assets/survival_plots")
    page.get_by_text("[Show Markdown]").first.click()
    page.locator("img[src^='data:image/png']").first.wait_for()
    sizes = page.eval_on_selector_all("img[src^='data:image/png']", "els => els.map(e => e.naturalWidth)")
    page.screenshot(path=str(tmp_path / "km_metadata.png"))
    assert len(sizes) == 4 and all(w > 100 for w in sizes)
