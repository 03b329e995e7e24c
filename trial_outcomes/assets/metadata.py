"""Metadata helpers: what a statistician sees first on an asset in the UI."""

from __future__ import annotations

import dagster as dg
import polars as pl

PREVIEW_ROWS = 10


def markdown_table(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """A Markdown table of the first ``rows`` rows; cell text is escaped."""
    head = frame.head(rows)

    def cell(value) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")

    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.iter_rows()]
    if frame.height > rows:
        lines.append(f"\n_{frame.height - rows} more rows_")
    return "\n".join(lines)


def table_metadata(frame: pl.DataFrame) -> dict:
    return {
        "dagster/row_count": dg.MetadataValue.int(frame.height),
        "preview": dg.MetadataValue.md(markdown_table(frame)),
    }


def problems_check(check_name: str, problems: pl.DataFrame, what: str) -> dg.AssetCheckResult:
    """Pass when ``problems`` is empty; otherwise name each file, row, column, value and rule."""
    lines = [
        f"{r['file']}, row {r['row']}, column {r['column']}, value {r['value']!r}: {r['rule']}"
        for r in problems.head(20).iter_rows(named=True)
    ]
    if problems.height > 20:
        lines.append(f"... and {problems.height - 20} more")
    description = (
        f"{what}: passed" if problems.is_empty() else f"{what}: {problems.height} problem(s)\n" + "\n".join(lines)
    )
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=problems.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "problems": dg.MetadataValue.int(problems.height),
            "first problems": dg.MetadataValue.md(markdown_table(problems, 50)),
        },
    )


def listing_check(check_name: str, listing: pl.DataFrame, description: str) -> dg.AssetCheckResult:
    """A warning (non-blocking) check that passes when ``listing`` has no rows and
    shows the rows when it has."""
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=listing.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "rows": dg.MetadataValue.int(listing.height),
            "listing": dg.MetadataValue.md(markdown_table(listing, 50)),
        },
    )
