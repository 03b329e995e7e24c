"""Lay the report's content model out as a self-contained HTML file (Jinja2) and as
a PDF typeset by Typst (the ``typst`` wheel carries the compiler: no browser, no
system library). Both read the same ``Document``; neither formats a number.

The PDF is reproducible: the document has no date (``date: none``) and only the
fonts shipped with the packages are used (Typst's own and matplotlib's DejaVu
Sans, the figures' font), never the machine's, so the same content gives the
same bytes everywhere.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from trial_outcomes.reporting.content import Document

TEMPLATES = Path(__file__).with_name("templates")


def render_html(doc: Document, images: dict[str, bytes]) -> str:
    """Every value from the data is escaped (autoescape): '<script>' shows as text.
    Figures are inlined as data URIs: the file makes no request."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    uris = {
        f"plots/{name}": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        for name, svg in images.items()
    }
    return env.get_template("report.html.j2").render(doc=doc.as_dict(), images=uris)


def font_paths() -> list[str]:
    """matplotlib's own fonts (DejaVu Sans): the same on every machine with the package."""
    import matplotlib

    return [str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")]


def render_pdf(doc: Document, root: Path) -> bytes:
    """The PDF, with the figures read from ``root/plots/``."""
    import typst

    content = json.dumps(doc.as_dict(), ensure_ascii=False, sort_keys=True)
    # the stub types the template, the root and the font folders with one TypeVar: bytes and str differ
    pdf: bytes = typst.compile(  # type: ignore[misc]
        (TEMPLATES / "report.typ").read_bytes(),
        root=str(root),
        font_paths=font_paths(),
        ignore_system_fonts=True,
        sys_inputs={"content": content},
    )
    return pdf
