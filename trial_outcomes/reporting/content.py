"""The content of the DSMB report as plain data: numbered tables (rows of text) and
figures, grouped in sections. Every number is formatted here, once; the HTML and
the PDF only lay this model out (``render.py``), so the two can never
show different numbers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from trial_outcomes.dates import DAYS_PER_MONTH


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

    def __post_init__(self) -> None:
        if not self.align:
            self.align = ["left"] + ["right"] * (len(self.columns) - 1)


@dataclass
class Figure:
    file: str  # "plots/<name>.svg"
    title: str
    footnote: str = ""
    width: int = 100  # % of the text width
    number: int = 0
    kind: str = "figure"


@dataclass
class Paragraph:
    text: str
    style: Literal["normal", "alert", "ok", "note"] = "normal"
    kind: str = "paragraph"


@dataclass
class Facts:
    """A two-column list of key facts (the executive summary's headline numbers)."""

    title: str
    rows: list[tuple[str, str, str]]  # label, value, style ("normal", "alert", "ok")
    kind: str = "facts"


Block = Table | Figure | Paragraph | Facts


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]


# --- formatting: every number of the report goes through these ---------------------------------


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "NE"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def count_pct(n: int, total: int) -> str:
    return f"{n} ({100 * n / total:.1f}%)" if total else f"{n}"


def pct_ci(rate: float | None, lcl: float | None, ucl: float | None, digits: int = 1) -> str:
    """``56.0% (45.1-66.3)``; NE where not estimable."""
    if rate is None:
        return "NE"

    def p(v: float | None) -> str:
        return "NE" if v is None else f"{100 * v:.{digits}f}"

    return f"{100 * rate:.{digits}f}% ({p(lcl)}-{p(ucl)})"


def months(days: float | None) -> str:
    return "NE" if days is None else f"{days / DAYS_PER_MONTH:.1f}"


def median_months_days(median: float | None, lcl: float | None, ucl: float | None) -> str:
    """``13.3 mo (405 d); 95% CI 10.1-NE mo``; NR (not reached) when the median is not estimable."""
    if median is None:
        lower = "" if lcl is None else f"; 95% CI {months(lcl)}-NE mo"
        return "NR" + lower
    return f"{months(median)} mo ({median:.0f} d); 95% CI {months(lcl)}-{months(ucl)} mo"


def median_ci_months(median: float | None, lcl: float | None, ucl: float | None) -> str:
    """``13.3 (10.1-NE)`` in months; ``NR (24.2-NE)`` when not reached."""
    return f"{'NR' if median is None else months(median)} ({months(lcl)}-{months(ucl)})"


def pct_ci_short(rate: float | None, lcl: float | None, ucl: float | None) -> str:
    """``56.0 (45.1-66.3)``: a percentage and its CI, the % in the column header."""
    if rate is None:
        return "NE"

    def p(v: float | None) -> str:
        return "NE" if v is None else f"{100 * v:.1f}"

    return f"{p(rate)} ({p(lcl)}-{p(ucl)})"
