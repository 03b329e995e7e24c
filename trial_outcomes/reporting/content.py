"""The content of the DSMB report as plain data: numbered tables (rows of text) and
figures, grouped in sections. Every number is formatted by
``trial_outcomes.formatting``, once; the HTML and
the PDF only lay this model out (``render.py``), so the two can never
show different numbers."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

SUBJECT_COLUMN = "Subject"
OPEN_SUFFIX = " - OPEN REPORT"  # one line with the subtitle: page 1 is one page
CLOSED_ONLY = "Subject-level listings, narratives and figures are in the closed report only."


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    population: str = ""
    method: str = ""
    notes: list[str] = field(default_factory=list)
    align: list[str] = field(default_factory=list)  # "left" / "right" per column; numbers right
    bold_rows: list[int] = field(default_factory=list)
    number: int = 0
    kind: str = "table"
    subject_level: bool = False  # closed report only (a table with a Subject column is, always)
    #: the open report's rows, where they differ from the closed report's (the data queries'
    #: findings without their file rows, which a holder of the drop could trace to a subject)
    open_rows: list[list[str]] | None = None

    def __post_init__(self) -> None:
        if not self.align:
            self.align = ["left"] + ["right"] * (len(self.columns) - 1)
        self.subject_level = self.subject_level or SUBJECT_COLUMN in self.columns


@dataclass
class Figure:
    file: str  # "plots/<name>.svg"
    title: str
    footnote: str = ""
    width: int = 100  # % of the text width
    number: int = 0
    kind: str = "figure"
    subject_level: bool = False  # shows subjects (a swimmer plot): closed report only


@dataclass
class Paragraph:
    text: str
    style: Literal["normal", "alert", "ok", "note"] = "normal"
    kind: str = "paragraph"
    subject_level: bool = False  # about one subject (a narrative): closed report only


@dataclass
class Facts:
    """A two-column list of key facts (the executive summary's headline numbers)."""

    title: str
    rows: list[tuple[str, str, str]]  # label, value, style ("normal", "alert", "ok")
    kind: str = "facts"


Block = Table | Figure | Paragraph | Facts


def searchable(subject: str) -> bool:
    """Whether an identifier can be searched for in a report's text without finding a
    number or a word of the report: three characters or more, with a letter and a digit
    (``BR-001``, ``S101``). ``1001`` or ``ALPHA`` is not: a count, a year or a word."""
    return len(subject) >= 3 and any(c.isalpha() for c in subject) and any(c.isdigit() for c in subject)


_DATA_URI = re.compile(r"data:([a-z]+/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=]+)")


def readable_text(html: str) -> str:
    """A rendered report's text as a reader sees it: each embedded image decoded (an SVG
    figure's labels are text, and a subject named in one is named), any other image left
    out (base64 is not text, and a short identifier could appear in it by chance)."""

    def decoded(match: re.Match[str]) -> str:
        if match.group(1) != "image/svg+xml":
            return " "
        return " " + base64.b64decode(match.group(2)).decode("utf-8", errors="replace") + " "

    return _DATA_URI.sub(decoded, html)


def subjects_named(text: str, subjects: Iterable[str]) -> list[str]:
    """The ``subjects`` (those ``searchable``) whose identifier appears in ``text`` as a
    word of its own (letters, digits and ``-_./`` runs): the open report's last guard,
    whatever block put it there (a reviewer found the new subjects of the changes table
    in it). Linear in the text and the subjects, for a million of them."""
    word = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]*")
    words = set(word.findall(text))
    words |= {w.rstrip(".-/") for w in words}  # an identifier that ends a sentence
    # an identifier that is not such a word (a space, a letter outside ASCII) is searched as text
    return sorted(s for s in set(subjects) if searchable(s) and (s in words if word.fullmatch(s) else s in text))


def _opened(block: Block) -> Block:
    """A copy of ``block`` as the open report shows it: a table with its open rows."""
    if isinstance(block, Table) and block.open_rows is not None:
        return replace(block, rows=block.open_rows, open_rows=None)
    return replace(block)


def _subject_level(block: Block) -> bool:
    return isinstance(block, Table | Figure | Paragraph) and block.subject_level


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    new_page: bool = False  # start on a new page in the PDF


@dataclass
class Document:
    title: str
    subtitle: str
    cut: str
    code_version: str
    sections: list[Section]
    #: the running header of every PDF page
    header: str = "NCT04325841 interim analysis"

    def number(self) -> Document:
        """Number tables and figures in reading order (Table 1..n, Figure 1..n)."""
        tables = figures = 0
        for section in self.sections:
            for block in section.blocks:
                if isinstance(block, Table):
                    tables += 1
                    block.number = tables
                elif isinstance(block, Figure):
                    figures += 1
                    block.number = figures
        return self

    def open_report(self) -> Document:
        """The open report from the same content: every subject-level table, figure and
        paragraph left out (a section left empty says where they are), renumbered."""
        sections = []
        for section in self.sections:
            kept: list[Block] = [_opened(b) for b in section.blocks if not _subject_level(b)]
            if len(kept) < len(section.blocks) and not any(isinstance(b, Table | Figure | Facts) for b in kept):
                kept.append(Paragraph(CLOSED_ONLY, "note"))
            sections.append(replace(section, blocks=kept))
        return replace(self, subtitle=self.subtitle + OPEN_SUFFIX, sections=sections).number()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]
