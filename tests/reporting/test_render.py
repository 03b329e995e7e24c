"""The report's two layouts of one content model: text from the data stays text (HTML
escaping, no Typst markup, no mathtext), the HTML makes no request, the PDF is
Typst's, numbered in reading order, and the same content gives the same bytes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from trial_outcomes.reporting.content import Document, Figure, Paragraph, Section, Table
from trial_outcomes.reporting.figures.style import figure_bytes, new_figure
from trial_outcomes.reporting.render import render_html, render_pdf

HOSTILE = '<script>alert("x")</script> #set page(width: 1cm) *bold* $x^2$ @ref \\ ] ['


def _document(cell: str) -> Document:
    sections = [
        Section(
            "Deaths",
            "deaths",
            [
                Paragraph(cell),
                Table(
                    "Deaths by cause",
                    ["Cause", "n"],
                    [[cell, "1"], ["Relapse", "2"]],
                    population="Infused",
                    method="Counts",
                    notes=[f"note {cell}"],
                ),
                Figure("plots/curve.svg", f"A figure {cell}"),
                Table("Second table", ["a"], [["1"]]),
            ],
        ),
    ]
    return Document(
        title="Interim report", subtitle=cell, cut="2024-01-01", code_version="abc", sections=sections
    ).number()


@pytest.fixture
def image_root(tmp_path) -> tuple[Path, dict[str, bytes]]:
    fig = new_figure(2, 1)
    fig.add_subplot().plot([0, 1], [0, 1])
    svg = figure_bytes(fig)
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "curve.svg").write_bytes(svg)
    return tmp_path, {"curve.svg": svg}


def test_numbering_follows_reading_order():
    doc = _document("x")
    tables = [b for b in doc.sections[0].blocks if isinstance(b, Table)]
    assert [t.number for t in tables] == [1, 2] and doc.figures[0].number == 1


def test_free_text_is_escaped_in_html(image_root):
    html = render_html(_document(HOSTILE), image_root[1])
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_html_is_self_contained(image_root):
    html = render_html(_document("x"), image_root[1])
    external = re.findall(r'(?:src|href)="(?!data:|#)([^"]*)"', html)
    assert external == []
    assert "<style>" in html and "data:image/svg+xml;base64," in html


def test_pdf_is_typst_numbered_literal_and_the_same_bytes_twice(image_root):
    from pypdf import PdfReader

    _, images = image_root
    first, second = render_pdf(_document(HOSTILE), images), render_pdf(_document(HOSTILE), images)
    assert first == second and first.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(first))
    assert "Typst" in (reader.metadata.creator or "")
    assert reader.metadata.get("/CreationDate") is None  # no date: the bytes do not depend on the day
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Table 1. Deaths by cause" in text and "Table 2. Second table" in text and "Figure 1." in text
    # the hostile text is shown as typed: not a page setting, not bold, not a formula
    assert "#set page(width: 1cm) *bold* $x^2$" in text
    assert reader.pages[0].mediabox.width > 500  # A4, the injected page width did nothing


def test_cjk_text_uses_a_cjk_font_or_says_on_page_1_that_there_is_none(image_root, monkeypatch, tmp_path):
    """Ids from a GB18030 export (患者-035) printed as empty boxes without a word. With
    the machine's CJK font (Debian's fonts-wqy-microhei in CI) the PDF embeds it; with
    none, page 1 says so in red."""
    from pypdf import PdfReader

    from trial_outcomes.reporting import fonts, render

    _, images = image_root
    doc = _document("患者-035 复发后死亡")
    empty = tmp_path / "no-fonts"
    empty.mkdir()
    monkeypatch.setattr(fonts, "CJK_FONT_DIRS", ())
    monkeypatch.setenv("TRIAL_CJK_FONT_DIR", str(empty))
    data, cjk = render.pdf_content(doc)
    assert cjk and data["font_warning"] == fonts.NO_CJK_FONT
    text = " ".join(PdfReader(io.BytesIO(render_pdf(doc, images))).pages[0].extract_text().split())
    assert "no CJK font was found on this machine" in text
    assert "font_warning" not in render.pdf_content(_document("plain"))[0]
    monkeypatch.undo()
    if fonts.cjk_font_dir() is None:
        pytest.skip("no CJK font on this machine (CI installs fonts-wqy-microhei)")
    pdf = PdfReader(io.BytesIO(render_pdf(doc, images)))
    fonts = {
        str(f["/BaseFont"])
        for page in pdf.pages
        for f in (page["/Resources"].get("/Font") or {}).values()
        if "/BaseFont" in f.get_object()
    }
    assert any("WenQuanYi" in f or "Noto" in f or "UMing" in f for f in fonts), fonts
    assert "患者-035" in " ".join(page.extract_text() for page in pdf.pages)


def _pages(doc: Document, image_root) -> list[str]:
    from pypdf import PdfReader

    pdf = render_pdf(doc.number(), image_root[1])
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def test_pdf_contents_follow_the_summary_whole_with_each_numbered_section_and_its_page(image_root):
    """The contents were a wrapped line at the foot of page 1 that ran onto page 2 and left
    it blank; then a page of their own, which a summary running a few lines over page 1 left
    nearly blank (page 2 its last lines, the contents page 3). Now they follow the summary,
    never split: a summary filling page 1 puts them at the top of page 2, every section after
    the summary numbered as the HTML's list numbers it (2, 3, ...), with the page its heading
    is on; a summary running over puts them under its last lines on page 2."""
    filler = [Paragraph(f"Line {i} of a long section.") for i in range(90)]

    def doc(summary_lines: int) -> Document:
        summary = [Paragraph(f"Summary line {i}.") for i in range(summary_lines)]
        sections = [
            Section("Executive summary", "summary", summary),
            Section("Disposition", "disposition", filler, new_page=True),
            Section("Deaths", "deaths", [Paragraph("No deaths.")]),
            Section("Stopping rules", "stopping", [Paragraph("Not crossed.")], new_page=True),
        ]
        return Document(title="Interim report", subtitle="s", cut="2024-01-01", code_version="abc", sections=sections)

    pages = _pages(doc(50), image_root)  # page 1 full: 50 lines of summary leave no room for the contents
    assert "Summary line 49." in pages[0] and "Contents" not in pages[0]
    assert pages[1].split("Data cut 2024-01-01 ")[1].startswith("Contents 1. Executive summary")
    listed = re.findall(r"(\d+)\. (Executive summary|Disposition|Deaths|Stopping rules) [. ]*(\d+)", pages[1])
    assert [(n, t) for n, t, _ in listed] == [
        ("1", "Executive summary"),
        ("2", "Disposition"),
        ("3", "Deaths"),
        ("4", "Stopping rules"),
    ]
    for number, title, page in listed:
        assert f"{number}. {title}" in pages[int(page) - 1]
    # the long section runs over a page: Deaths follows it, Stopping rules starts a page
    assert [int(p) for _, _, p in listed] == [1, 3, 4, 5]
    over = _pages(doc(70), image_root)  # 70 lines run onto page 2: the contents under them, whole
    assert "Summary line 69." in over[1] and over[1].index("Summary line 69.") < over[1].index("Contents")
    assert "4. Stopping rules" in over[1] and "Disposition Line 0" not in over[1]
