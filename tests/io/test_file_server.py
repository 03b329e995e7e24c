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
    assert file_url("2024-03-31", "report.pdf", Path("/elsewhere")) == "http://127.0.0.1:3080/2024-03-31/report.pdf"
