"""Lay the report's content model out as a self-contained HTML file (Jinja2) and as
a PDF typeset by Typst (the ``typst`` wheel carries the compiler: no browser, no
system library). Both read the same ``Document``; neither formats a number.

The PDF is reproducible: the document has no date (``date: none``) and only the
fonts shipped with the packages are used (Typst's own and matplotlib's DejaVu
Sans, the figures' font), never the machine's, so the same content gives the
same bytes everywhere. The one exception: a drop with Chinese, Japanese or
Korean text takes the machine's CJK font (``cjk_font_dir``), or says on page 1
that it has none.
"""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path
from typing import Any

from trial_outcomes.reporting.content import Document
from trial_outcomes.reporting.fonts import CJK, NO_CJK_FONT, cjk_font_dir

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


def font_paths(cjk: bool = False) -> list[str]:
    """matplotlib's own fonts (DejaVu Sans): the same on every machine with the package;
    with ``cjk``, the machine's CJK font folder too (``cjk_font_dir``)."""
    import matplotlib

    paths = [str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")]
    folder = cjk_font_dir() if cjk else None
    return paths + ([folder] if folder else [])


def pdf_content(doc: Document) -> tuple[dict[str, Any], bool]:
    """The content the PDF template reads, and whether it holds CJK text; with CJK
    text and no CJK font, ``font_warning`` for page 1."""
    data = doc.as_dict()
    cjk = bool(CJK.search(json.dumps(data, ensure_ascii=False)))
    if cjk and cjk_font_dir() is None:
        data["font_warning"] = NO_CJK_FONT
    return data, cjk


def render_pdf(doc: Document, figures: dict[str, bytes]) -> bytes:
    """The PDF, with ``figures`` (file name -> SVG) as the report's ``plots/``. Text in
    Chinese, Japanese or Korean is set in the machine's CJK font when there is one;
    without one, page 1 says so in red (the characters would otherwise be silent empty
    boxes). Typst reads the figures from a private temporary folder, gone afterwards."""
    import typst

    data, cjk = pdf_content(doc)
    content = json.dumps(data, ensure_ascii=False, sort_keys=True)
    with tempfile.TemporaryDirectory(prefix="trial-report-") as root:
        plots = Path(root) / "plots"
        plots.mkdir()
        for name, svg in figures.items():
            (plots / name).write_bytes(svg)
        # the stub types the template, the root and the font folders with one TypeVar: bytes and str differ
        pdf: bytes = typst.compile(  # type: ignore[misc]
            (TEMPLATES / "report.typ").read_bytes(),
            root=root,
            font_paths=font_paths(cjk),
            ignore_system_fonts=True,
            sys_inputs={"content": content},
        )
    return pdf
