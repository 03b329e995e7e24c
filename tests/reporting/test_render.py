"""The report template: escaping, self-containment, PDF without dates."""

from __future__ import annotations

import re

from trial_outcomes.reporting.content import Figure, Paragraph, Section, Table
from trial_outcomes.reporting.figures.survival import _pyplot, png_bytes
from trial_outcomes.reporting.render import render_html, render_pdf


def _context(cell: str) -> dict:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    figure = Figure(png_bytes(fig, 50), "a figure")
    sections = [Section("Deaths", "deaths", [Paragraph(cell), Table(["Cause"], [[cell]], "Deaths"), figure])]
    return {
        "title": "T",
        "subtitle": "S",
        "cut": "2024-01-01",
        "code_version": "abc",
        "title_facts": [("Drop", cell)],
        "sections": sections,
    }


def test_free_text_is_escaped_in_html():
    html = render_html(_context('<script>alert("x")</script>'))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_html_is_self_contained():
    html = render_html(_context("x"))
    external = re.findall(r'(?:src|href)="(?!data:|#)([^"]*)"', html)
    assert external == []
    assert "<style>" in html and "data:image/png;base64," in html


def test_pdf_carries_no_creation_date_and_is_stable():
    a, b = render_pdf(_context("x")), render_pdf(_context("x"))
    assert a == b
    assert a.startswith(b"%PDF")
    assert b"D:20000101000000" in a  # ReportLab's invariant date, not today's
