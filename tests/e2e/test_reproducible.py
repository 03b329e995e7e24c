"""Reproducibility of a cut (issue: DSMB report): two runs in two processes give
byte-identical outputs; free text is escaped; the HTML makes no request."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import polars as pl
import pytest

from tests.browser import launch
from tests.helpers import ROOT, cli, file_hashes
from trial_outcomes.io.records import drop_fingerprint

pytestmark = pytest.mark.slow
CUT = "2023-12-31"


@pytest.fixture(scope="module")
def two_runs(small_drop_master, tmp_path_factory):
    base = tmp_path_factory.mktemp("repro")
    drop = base / "drop"
    drop.mkdir()
    for f in small_drop_master.iterdir():
        (drop / f.name).write_bytes(f.read_bytes())
    fu = pl.read_csv(drop / "followup.csv", infer_schema=False)
    fu = fu.with_columns(
        pl.when(pl.col("event") == "DEATH")
        .then(pl.lit('<script>alert("dsmb")</script> relapse'))
        .otherwise(pl.col("detail"))
        .alias("detail")
    )
    fu.write_csv(drop / "followup.csv")
    outs = []
    for i in range(2):
        out = base / f"out{i}"
        env = {"PYTHONHASHSEED": str(i + 1), "TRIAL_FIGURE_WORKERS": str(i + 1)}  # one, then two figure workers
        result = cli(
            "run",
            "--data",
            str(drop),
            "--cut",
            CUT,
            "--out",
            str(out),
            "--quiet",
            home=base / f"home{i}",
            env=env,
            timeout=900,
        )
        assert result.returncode in (0, 3), result.stderr
        outs.append(out / CUT)
    return outs


def test_two_runs_give_identical_bytes(two_runs):
    first, second = (file_hashes(folder) for folder in two_runs)
    assert first == second
    for name in (
        "adsl.parquet",
        "adtte.parquet",
        "survival_summary.csv",
        "km_curves.parquet",
        "report.html",
        "report.pdf",
        "manifest.json",
        "plots/OS_primary_all.svg",
    ):
        assert name in first


def test_manifest_records_inputs_code_plan_and_every_output(two_runs):
    folder = two_runs[0]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["data_cut"] == CUT
    drop = folder.parents[1] / "drop"
    read = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in drop.iterdir()}
    assert manifest["data_drop"]["files"] == read  # every file of the drop, with its hash
    assert manifest["data_drop"]["sha256"] == drop_fingerprint(read)
    assert manifest["code"]["git_commit"] and "dirty" in manifest["code"]
    assert manifest["environment"]["packages"]["polars"]
    assert len(manifest["analysis_plan"]["sha256"]) == 64
    on_disk = file_hashes(folder)
    on_disk.pop("manifest.json")
    assert manifest["outputs"] == on_disk
    assert str(ROOT) not in (folder / "manifest.json").read_text()


def test_free_text_from_the_data_is_escaped(two_runs):
    html = (two_runs[0] / "report.html").read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;dsmb&#34;)&lt;/script&gt; relapse" in html


def test_html_opens_in_chromium_without_any_request_leaving_the_file(two_runs, tmp_path):
    from playwright.sync_api import sync_playwright

    page_url = (two_runs[0] / "report.html").resolve().as_uri()
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_url)
        assert page.title().startswith("NCT04325841")
        images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        page.screenshot(path=str(tmp_path / "report.png"))
        browser.close()
    assert images and all(w > 0 for w in images)
    assert all(u == page_url or u.startswith("data:") for u in requests), requests


def test_outputs_hold_no_absolute_path_or_host_name(two_runs, small_drop_master):
    folder = two_runs[0]
    secrets = [str(small_drop_master), str(folder.parents[1]), str(ROOT), socket.gethostname(), str(Path.home())]
    secrets = [s.encode() for s in secrets if len(s) > 3]
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json", ".html", ".pdf"):
            data = path.read_bytes()
            assert not [s for s in secrets if s in data], path.name


def test_the_pdf_is_typeset_by_typst_and_opens_on_the_executive_summary(two_runs):
    from pypdf import PdfReader

    reader = PdfReader(two_runs[0] / "report.pdf")
    assert reader.metadata.creator.startswith("Typst")
    first = reader.pages[0].extract_text()
    assert "Executive summary" in first and "stopping boundary" in first.lower() and "CR/CRi by day 28" in first
    assert len(reader.pages) > 20
