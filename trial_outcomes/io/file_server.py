"""The published outputs over HTTP, read-only, for the UI's links (issue 22: the report
one click from the asset page). The browser will not follow a ``file://`` link from
the Dagster UI's ``http://`` page, so ``trial-outcomes ui`` serves the output folder
on a second loopback port beside it and the assets link to
``<TRIAL_FILES_URL>/<cut>/report.pdf``.

GET and HEAD only; a path outside the folder is refused (the standard library's
handler maps the URL inside ``directory``); hidden entries (``.versions``,
``.locks``, ``.work``) are not served. The server stops with the UI."""

from __future__ import annotations

import os
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

#: the environment variable that tells the assets where the outputs are served
FILES_URL_ENV = "TRIAL_FILES_URL"
#: the folder the file server serves, when it is above the output folder (a portfolio's folder)
FILES_ROOT_ENV = "TRIAL_FILES_ROOT"


class _ReadOnly(SimpleHTTPRequestHandler):
    def _hidden(self) -> bool:
        return any(part.startswith(".") for part in self.path.split("?", 1)[0].split("/") if part)

    def do_GET(self) -> None:
        if self._hidden():
            self.send_error(404, "not served")
            return
        super().do_GET()

    def do_HEAD(self) -> None:
        if self._hidden():
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


def serve_outputs(root: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Serve ``root`` on ``host:port`` (0: any free port) from a daemon thread; call
    ``shutdown()`` to stop it."""
    root.mkdir(parents=True, exist_ok=True)
    server = _QuietServer((host, port), partial(_ReadOnly, directory=str(root)))
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
    if root and out_dir is not None and out_dir.resolve().is_relative_to(Path(root).resolve()):
        for part in out_dir.resolve().relative_to(Path(root).resolve()).parts:
            base += "/" + quote(part)
    return f"{base}/{quote(cut)}/{quote(name)}"
