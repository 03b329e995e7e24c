"""Type the raw layer by its schema, and list every value that breaks a rule.

``parse_records`` never drops a row: a value that cannot be typed becomes
null in the typed frame and a row in the problems frame
(``file, row, column, value, rule``), which the schema check reports.
"""

from __future__ import annotations

import polars as pl

from trial_outcomes.schema import NO_VALUES, YES_VALUES, Column, RecordSchema

PROBLEM_SCHEMA = {"file": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String, "rule": pl.String}
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def empty_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=PROBLEM_SCHEMA)


def typed_value(col: Column) -> pl.Expr:
    """The typed value of one column; null where blank or invalid."""
    raw = pl.col(col.name).str.strip_chars()
    raw = pl.when(raw == "").then(None).otherwise(raw)
    if col.kind == "text":
        return raw
    if col.kind == "date":
        return pl.when(raw.str.contains(ISO_DATE)).then(raw.str.to_date("%Y-%m-%d", strict=False))
    if col.kind == "number":
        num = raw.cast(pl.Float64, strict=False)
        return pl.when(num.is_finite()).then(num)
    if col.kind == "integer":
        num = raw.cast(pl.Float64, strict=False)
        return pl.when(num.is_finite() & (num == num.round(0))).then(num).cast(pl.Int64)
    if col.kind == "code":
        mapping = {code.lower(): code for code in col.codes}
        return raw.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.String)
    if col.kind == "yn":
        mapping = {**dict.fromkeys(YES_VALUES, True), **dict.fromkeys(NO_VALUES, False)}
        return raw.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.Boolean)
    raise ValueError(col.kind)


def _type_rule(col: Column) -> str:
    return {
        "date": "not a valid date (YYYY-MM-DD, a real calendar day)",
        "number": "not a number",
        "integer": "not a whole number",
        "code": "unknown code; allowed: " + ", ".join(col.codes),
        "yn": "not a Y/N value (Y/N, Yes/No, 1/0, true/false)",
    }.get(col.kind, "invalid")


def _column_problems(col: Column) -> list[tuple[pl.Expr, str]]:
    """(condition on the raw and typed values, rule) for each rule of a column."""
    raw = pl.col(col.name).str.strip_chars()
    blank = raw.is_null() | (raw == "")
    typed = pl.col(f"__typed_{col.name}")
    checks: list[tuple[pl.Expr, str]] = []
    if not col.nullable:
        checks.append((blank, "required value is blank"))
    if col.kind != "text":
        checks.append((~blank & typed.is_null(), _type_rule(col)))
    if col.kind in ("number", "integer") and (col.low is not None or col.high is not None):
        bad = pl.lit(False)
        if col.low is not None:
            bad = bad | ((typed <= col.low) if col.low_exclusive else (typed < col.low))
        if col.high is not None:
            bad = bad | (typed > col.high)
        checks.append((typed.is_not_null() & bad, f"out of range: must be {col.range_text()}"))
    return checks


def parse_records(raw: pl.DataFrame, schema: RecordSchema) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (typed frame, problems frame) for a raw-layer frame.

    The typed frame has the schema's columns typed (dates as Date, Y/N as
    Boolean, codes in their canonical spelling) plus ``_source_file`` and
    ``_source_row``; values breaking a range stay in it, and are reported.
    """
    work = raw.with_columns(typed_value(c).alias(f"__typed_{c.name}") for c in schema.columns)
    problem_frames = []
    for col in schema.columns:
        for condition, rule in _column_problems(col):
            found = work.filter(condition)
            if found.height:
                problem_frames.append(
                    found.select(
                        pl.col("_source_file").alias("file"),
                        pl.col("_source_row").alias("row"),
                        pl.lit(col.name).alias("column"),
                        pl.col(col.name).alias("value"),
                        pl.lit(rule).alias("rule"),
                    )
                )
    problems = pl.concat(problem_frames) if problem_frames else empty_problems()
    typed = work.select(
        *[pl.col(f"__typed_{c.name}").alias(c.name) for c in schema.columns],
        "_source_file",
        "_source_row",
    )
    return typed, problems.sort("row", "column")
