"""Lay the report content out as HTML and PDF from one Jinja2 template.

HTML is one self-contained file (styles inline, figures as data URIs, no
network); the PDF is the same template with ``pdf=True`` rendered by
xhtml2pdf (pure Python on ReportLab, so no browser or system library is
needed), with ReportLab's invariant mode so the bytes carry no date."""

from __future__ import annotations

import io
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")


def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2")


def render_html(context: dict, pdf: bool = False) -> str:
    """Every value from the data is escaped (autoescape): '<script>' shows as text."""
    return _template().render(**context, pdf=pdf)


def render_pdf(context: dict) -> bytes:
    import logging

    from reportlab import rl_config

    rl_config.invariant = 1  # no creation date, fixed document id: same input, same bytes
    rl_config.useA85 = 0  # binary image streams: smaller, and no slow pure-Python ASCII85 pass
    from xhtml2pdf import pisa

    logging.getLogger("xhtml2pdf").setLevel(logging.ERROR)
    buffer = io.BytesIO()
    status = pisa.CreatePDF(render_html(context, pdf=True), dest=buffer, encoding="utf-8")
    if status.err:
        raise RuntimeError(f"PDF rendering failed with {status.err} error(s)")
    return buffer.getvalue()
