"""The published outputs over HTTP, read-only, for the UI's links (issue 22: the report
one click from the asset page). The browser will not follow a ``file://`` link from
the Dagster UI's ``http://`` page, so ``trial-outcomes ui`` serves the output folder
on a second loopback port beside it and the assets link to
``<TRIAL_FILES_URL>/<cut>/report.pdf``.

GET and HEAD only. Served: a path whose decoded parts are none hidden (``.versions``,
``.locks``, ``.work``, ``.storage``: ``/%2eversions/`` is ``/.versions/``) and whose
real place, links followed, is inside one of the output folders (a cut's link into its
``.versions`` folder is; a link to ``/`` placed in the outputs is not). In a portfolio
only the trials' and the pooled analysis's output folders are served, never the drops
beside them. The server stops with the UI."""

from __future__ import annotations

import html
import io
import os
import threading
from collections.abc import Sequence
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

#: the environment variable that tells the assets where the outputs are served
FILES_URL_ENV = "TRIAL_FILES_URL"
#: the folder the file server serves, when it is above the output folder (a portfolio's folder)
FILES_ROOT_ENV = "TRIAL_FILES_ROOT"


class _ReadOnly(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, folders: Sequence[Path] = (), **kwargs: Any) -> None:
        self.folders = tuple(folders)  # real paths of the output folders served
        super().__init__(*args, **kwargs)

    def _refused(self) -> bool:
        """A hidden part once decoded (the URL's ``%2e`` is a dot), or a real place, links
        followed, outside the output folders (it was: a red team's ``/%2estorage/...``
        served the raw enrolment records, and a link to ``/`` in the outputs served
        ``/etc``)."""
        path = unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        if any(part.startswith(".") for part in path.replace("\\", "/").split("/") if part):
            return True
        real = Path(os.path.realpath(self.translate_path(self.path)))
        return not any(real == folder or real.is_relative_to(folder) for folder in self.folders)

    def list_directory(self, path: str | os.PathLike[str]) -> io.BytesIO | None:
        """A folder's entries, its hidden ones (``.versions``, ``.storage``) left out: the
        standard listing named them (a red team read the names at the root)."""
        try:
            entries = sorted((p for p in Path(path).iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
        except OSError:
            self.send_error(404, "not served")
            return None
        shown = unquote(self.path.split("?", 1)[0])
        items = "".join(
            f'<li><a href="{quote(p.name)}{"/" if p.is_dir() else ""}">{html.escape(p.name)}</a></li>' for p in entries
        )
        body = f"<!doctype html><title>{html.escape(shown)}</title><h1>{html.escape(shown)}</h1><ul>{items}</ul>"
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        return io.BytesIO(data)

    def do_GET(self) -> None:
        if self._refused():
            self.send_error(404, "not served")
            return
        super().do_GET()

    def do_HEAD(self) -> None:
        if self._refused():
            self.send_error(404, "not served")
            return
        super().do_HEAD()

    def log_message(self, format: str, *args: object) -> None:
        return  # a quiet console, as the UI's


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that closes the connection mid-file (it had enough of a PDF) is not
        an error for the console: other errors keep the standard library's report."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


def serve_outputs(
    root: Path, host: str = "127.0.0.1", port: int = 0, folders: Sequence[Path] = ()
) -> ThreadingHTTPServer:
    """Serve ``root`` on ``host:port`` (0: any free port) from a daemon thread; call
    ``shutdown()`` to stop it. ``folders``: the output folders under ``root`` that are
    served (a portfolio's trials and pooled analysis); by default ``root`` itself."""
    root.mkdir(parents=True, exist_ok=True)
    served = [Path(os.path.realpath(f)) for f in (folders or (root,))]
    server = _QuietServer((host, port), partial(_ReadOnly, directory=str(root), folders=served))
    threading.Thread(target=server.serve_forever, name="trial-outcomes files", daemon=True).start()
    return server


def file_url(cut: str, name: str, out_dir: Path | None = None) -> str | None:
    """The served address of a published file of ``cut``, or None when no server runs
    (a CLI run: the path is shown instead). Where the server serves a folder above the
    output folder (a portfolio's: ``TRIAL_FILES_ROOT``), ``out_dir``'s place in it
    comes first."""
    base = os.environ.get(FILES_URL_ENV, "").rstrip("/")
    if not base:
        return None
    root = os.environ.get(FILES_ROOT_ENV, "")
    if root and out_dir is not None:
        if not out_dir.resolve().is_relative_to(Path(root).resolve()):
            return None  # outside the served folder: no link (it pointed at the served root's cut)
        for part in out_dir.resolve().relative_to(Path(root).resolve()).parts:
            base += "/" + quote(part)
    return f"{base}/{quote(cut)}/{quote(name)}"
