"""Metadata helpers: what a statistician sees first on an asset in the UI."""

from typing import Any

import dagster as dg
import dataframely as dy
import polars as pl

PREVIEW_ROWS = 10
_DTYPE_NAMES = {
    pl.String: "string",
    pl.Date: "date",
    pl.Float64: "float",
    pl.Int64: "int",
    pl.Int8: "int",
    pl.Boolean: "bool",
}


def _cell(value: object) -> str:
    text = "" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")[:120]


def markdown_table(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """A Markdown table of the first ``rows`` rows; cell text is escaped and cut short."""
    head = frame.head(rows)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in head.iter_rows()]
    if frame.height > rows:
        lines.append(f"\n_{frame.height - rows} more rows_")
    return "\n".join(lines)


def table_metadata(frame: pl.DataFrame) -> dict[str, Any]:
    return {
        "dagster/row_count": dg.MetadataValue.int(frame.height),
        "preview": dg.MetadataValue.md(markdown_table(frame)),
    }


def column_schema(schema: type[dy.Schema]) -> dg.TableSchema:
    """The UI's column schema (``dagster/column_schema``) from a declared contract,
    with each column's label (CDISC-style) as its description."""
    columns = []
    single_key = len(schema.primary_key()) == 1  # a column of a composite key is not unique on its own
    for name, column in schema.columns().items():
        dtype = _DTYPE_NAMES.get(type(column.dtype), str(column.dtype).lower())
        constraints = dg.TableColumnConstraints(nullable=column.nullable, unique=single_key and column.primary_key)
        columns.append(dg.TableColumn(name=name, type=dtype, description=column.description, constraints=constraints))
    return dg.TableSchema(columns=columns)


def records_table(rows: list[dict[str, Any]], columns: list[str]) -> dg.MetadataValue:
    """A small table shown as a table in the UI (``MetadataValue.table``), values as text."""
    schema = dg.TableSchema(columns=[dg.TableColumn(name=c, type="string") for c in columns])
    records = [dg.TableRecord({c: "" if r.get(c) is None else str(r[c]) for c in columns}) for r in rows]
    return dg.MetadataValue.table(records=records, schema=schema)


def problems_text(what: str, problems: pl.DataFrame) -> str:
    """``what``, the count, and the first 20 problems, each naming its file, row,
    column, value, subject and rule."""
    lines = []
    for r in problems.head(20).iter_rows(named=True):
        where = r["file"] + (f", row {r['row']}" if r["row"] is not None else "")
        where += f", column {r['column']}" if r["column"] is not None else ""
        where += f", value {_short(r['value'])!r}" if r["value"] is not None else ""
        where += f", subject {r['subject']}" if r.get("subject") else ""
        lines.append(f"{where}: {r['rule']}")
    if problems.height > 20:
        lines.append(f"... and {problems.height - 20} more")
    return f"{what}: {problems.height} problem(s)\n" + "\n".join(lines)


def problems_check(
    check_name: str, problems: pl.DataFrame, what: str, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> dg.AssetCheckResult:
    """Pass when ``problems`` is empty; otherwise name each file, row, column, value,
    subject and rule."""
    description = f"{what}: passed" if problems.is_empty() else problems_text(what, problems)
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=problems.is_empty(),
        severity=severity,
        description=description,
        metadata={
            "problems": dg.MetadataValue.int(problems.height),
            "first problems": dg.MetadataValue.md(markdown_table(problems, 50)),
        },
    )


def _short(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + f"... ({len(value):,} characters)"


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
