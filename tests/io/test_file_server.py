"""The published outputs served read-only for the UI's links (issue 22: the report one
click from the asset page)."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from trial_outcomes.io.file_server import FILES_URL_ENV, file_url, serve_outputs


def test_the_outputs_are_served_read_only_on_loopback_and_hidden_folders_are_not(tmp_path):
    (tmp_path / "2024-03-31").mkdir()
    (tmp_path / "2024-03-31" / "report.pdf").write_bytes(b"%PDF-1.7 test")
    (tmp_path / ".versions").mkdir()
    (tmp_path / ".versions" / "secret.txt").write_text("work in progress")
    (tmp_path.parent / "outside.txt").write_text("not the outputs")
    server = serve_outputs(tmp_path)
    host, port = server.server_address[:2]
    try:
        assert host == "127.0.0.1"
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/2024-03-31/report.pdf", timeout=5) as response:
            assert response.read() == b"%PDF-1.7 test"
        for path in ("/.versions/secret.txt", "/../outside.txt", "/%2e%2e/outside.txt"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base + path, timeout=5)
            assert refused.value.code == 404
            refused.value.close()
        post = urllib.request.Request(f"{base}/2024-03-31/report.pdf", data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as not_allowed:
            urllib.request.urlopen(post, timeout=5)
        assert not_allowed.value.code == 501
        not_allowed.value.close()
    finally:
        server.shutdown()
        server.server_close()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        refused.close()
        return refused.code


def test_an_encoded_hidden_folder_and_a_link_out_of_the_outputs_are_not_served(tmp_path):
    """A red team's ``/%2estorage/raw/enrolment/...`` served the drop's raw enrolment
    records and ``/%2eversions/`` a superseded version (the hidden-folder test read the
    URL undecoded); a link ``2023-12-31 -> /`` placed in the outputs served
    ``/etc/hostname``. A cut's own link into its ``.versions`` folder is still served."""
    out = tmp_path / "out"
    (out / ".versions" / "2024-03-31" / "v001").mkdir(parents=True)
    (out / ".versions" / "2024-03-31" / "v001" / "report.pdf").write_bytes(b"%PDF current")
    (out / "2024-03-31").symlink_to(Path(".versions") / "2024-03-31" / "v001")
    (out / ".storage" / "raw").mkdir(parents=True)
    (out / ".storage" / "raw" / "enrolment.arrow").write_text("subject rows")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "hostname").write_text("host")
    (out / "2023-12-31").symlink_to(tmp_path / "secret")
    server = serve_outputs(out)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert _status(f"{base}/2024-03-31/report.pdf") == 200
        for path in (
            "/%2estorage/raw/enrolment.arrow",
            "/%2Estorage/raw/enrolment.arrow",
            "/%2eversions/2024-03-31/v001/report.pdf",
            "/2024-03-31/%2e%2e/%2estorage/raw/enrolment.arrow",
            "/2023-12-31/hostname",
            "/2023-12-31/",
        ):
            assert _status(base + path) == 404, path
        with urllib.request.urlopen(f"{base}/", timeout=5) as listing:
            names = listing.read().decode()
        assert "2024-03-31" in names and ".storage" not in names and ".versions" not in names
    finally:
        server.shutdown()
        server.server_close()


def test_a_portfolio_serves_its_output_folders_and_not_the_drops_beside_them(tmp_path, monkeypatch):
    """``ui --portfolio`` serves the portfolio's folder, which (as ``synth --portfolio``
    lays it out) holds ``drops/``: a red team read ``/drops/trial-1/enrolment.csv``. Only
    the trials' and the pooled analysis's output folders are served; a trial whose outputs
    are outside the portfolio's folder gets no link (it got one to the served root)."""
    from trial_outcomes.io.file_server import FILES_ROOT_ENV

    (tmp_path / "drops" / "trial-1").mkdir(parents=True)
    (tmp_path / "drops" / "trial-1" / "enrolment.csv").write_text("subject_id\nBR-001\n")
    trial = tmp_path / "published" / "trial-1" / "2024-03-31"
    trial.mkdir(parents=True)
    (trial / "report.pdf").write_bytes(b"%PDF trial")
    server = serve_outputs(tmp_path, folders=[tmp_path / "published" / "trial-1", tmp_path / "published" / "pooled"])
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert _status(f"{base}/published/trial-1/2024-03-31/report.pdf") == 200
        assert _status(f"{base}/drops/trial-1/enrolment.csv") == 404
        assert _status(f"{base}/") == 404
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.setenv(FILES_URL_ENV, "http://127.0.0.1:3080")
    monkeypatch.setenv(FILES_ROOT_ENV, str(tmp_path))
    assert file_url("2024-03-31", "report.pdf", Path("/elsewhere")) is None


def test_links_name_the_stable_cut_path_only_when_a_server_runs(monkeypatch):
    monkeypatch.delenv(FILES_URL_ENV, raising=False)
    assert file_url("2024-03-31", "report.pdf") is None
    monkeypatch.setenv(FILES_URL_ENV, "http://127.0.0.1:3080/")
    assert file_url("2024-03-31", "report.pdf") == "http://127.0.0.1:3080/2024-03-31/report.pdf"


def test_a_portfolio_link_names_the_trial_folder_under_the_served_one(monkeypatch, tmp_path):
    """``ui --portfolio`` serves the portfolio's folder: a trial's cut is under its output folder there."""
    from trial_outcomes.io.file_server import FILES_ROOT_ENV

    monkeypatch.setenv(FILES_URL_ENV, "http://127.0.0.1:3080")
    monkeypatch.setenv(FILES_ROOT_ENV, str(tmp_path))
    out = tmp_path / "published" / "trial 1"
    assert (
        file_url("2024-03-31", "report.pdf", out) == "http://127.0.0.1:3080/published/trial%201/2024-03-31/report.pdf"
    )
