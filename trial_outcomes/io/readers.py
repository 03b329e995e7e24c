"""Read one file of a data drop into the raw layer.

The raw layer is every source row as text, exactly as the file holds it
(values are only stripped of surrounding blanks), plus three provenance
columns: ``_source_file``, ``_source_row`` and ``_source_sha256``.

``_source_row`` is the row as the user sees it: the line number in a CSV file
and the row number in an XLSX sheet (the header is row 1 in both), and the
1-based record number in a Parquet file (which has no header row).

Structural faults (missing or empty file, undecodable bytes, a line with the
wrong number of fields, a missing required column) raise ``DataDropError``
naming the file and, where there is one, the row. Cell values are checked
later, against the schema, by ``analysis.parse``.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import polars as pl
from polars.exceptions import PanicException

from trial_outcomes.errors import DataDropError, Problem
from trial_outcomes.schema import RecordSchema

EXTENSIONS = ("csv", "xlsx", "parquet")
PROVENANCE = ("_source_file", "_source_row", "_source_sha256")


def find_file(data_dir: Path, schema: RecordSchema) -> Path | None:
    """The one file of ``schema.record`` in ``data_dir``, or None if optional and absent."""
    found = [data_dir / f"{schema.record}.{ext}" for ext in EXTENSIONS]
    found = [p for p in found if p.is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataDropError(
            Problem(str(data_dir), None, None, None, f"more than one file for {schema.record!r}: {names}; keep one")
        )
    if not found:
        if schema.required_file:
            raise DataDropError(
                Problem(
                    str(data_dir / f"{schema.record}.csv"),
                    None,
                    None,
                    None,
                    f"required file is missing (looked for {schema.record}.csv, .xlsx or .parquet)",
                )
            )
        return None
    return found[0]


def empty_raw_frame(schema: RecordSchema) -> pl.DataFrame:
    """The raw layer of an optional file that the drop does not have."""
    cols = dict.fromkeys(schema.column_names, pl.String)
    cols.update({"_source_file": pl.String, "_source_row": pl.Int64, "_source_sha256": pl.String})
    return pl.DataFrame(schema=cols)


def read_raw(path: Path, schema: RecordSchema) -> tuple[pl.DataFrame, dict]:
    """Read ``path`` into the raw layer; return the frame and facts about the file."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    name = path.name
    if not data.strip():
        raise DataDropError(Problem(name, None, None, None, "file is empty: it needs a header row naming the columns"))
    ext = path.suffix.lower().lstrip(".")
    if ext == "csv":
        frame, encoding = _read_csv(data, name)
    elif ext == "xlsx":
        frame, encoding = _read_xlsx(data, name), "xlsx"
    else:
        frame, encoding = _read_parquet(data, name), "parquet"
    frame = _normalise_columns(frame, name, schema)
    if frame.height < schema.min_rows:
        raise DataDropError(
            Problem(
                name,
                None,
                None,
                None,
                f"file has a header but no data rows; {schema.record} needs at least {schema.min_rows}",
            )
        )
    frame = frame.with_columns(
        pl.lit(name).alias("_source_file"),
        pl.col("_source_row").cast(pl.Int64),
        pl.lit(sha).alias("_source_sha256"),
    )
    ordered = (
        schema.column_names
        + [c for c in frame.columns if c not in schema.column_names and c not in PROVENANCE]
        + list(PROVENANCE)
    )
    facts = {"file": name, "sha256": sha, "bytes": len(data), "encoding": encoding, "rows": frame.height}
    return frame.select(ordered), facts


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data, bom = data[3:], True
    else:
        bom = False
    try:
        return data.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            line = data[: utf8_error.start].count(b"\n") + 1
            raise DataDropError(
                Problem(
                    name,
                    line,
                    None,
                    repr(data[utf8_error.start : utf8_error.start + 4])[2:-1],
                    "text is neither UTF-8 nor GB18030/GBK; export the file as UTF-8 CSV",
                )
            ) from None


def _read_csv(data: bytes, name: str) -> tuple[pl.DataFrame, str]:
    text, encoding = _decode(data, name)
    fast = _read_simple_csv(text, name)
    if fast is not None:
        return fast, encoding
    return _read_quoted_csv(text, name), encoding


def normalise_name(column: str) -> str:
    """Column names match case-insensitively, without surrounding blanks or a BOM."""
    return column.strip().lower().lstrip("\ufeff")


def _check_header(header: list[str], name: str) -> None:
    seen: set[str] = set()
    for col in header:
        norm = normalise_name(col)
        if norm in seen:
            raise DataDropError(Problem(name, 1, col, None, "column appears twice in the header"))
        seen.add(norm)


def _read_simple_csv(text: str, name: str) -> pl.DataFrame | None:
    """The fast path, vectorized in polars, for a file without quotes (the usual EDC
    export): each line is one record, so its line number is exact. None: use the
    quote-aware reader."""
    if '"' in text or "\x1f" in text or not text.strip():
        return None
    lines = pl.read_csv(
        text.encode("utf-8"),
        has_header=False,
        separator="\x1f",
        quote_char=None,
        infer_schema=False,
        new_columns=["line"],
        raise_if_empty=False,
    )
    lines = lines.with_row_index("_source_row", offset=1).with_columns(
        pl.col("line").str.strip_suffix("\r").fill_null(""), pl.col("_source_row").cast(pl.Int64)
    )
    header = lines["line"][0].split(",")
    _check_header(header, name)
    width = len(header)
    body = lines.slice(1).filter(pl.col("line").str.strip_chars() != "")
    counts = body.select("_source_row", (pl.col("line").str.count_matches(",", literal=True) + 1).alias("n"))
    ragged = counts.filter(pl.col("n") != width)
    if ragged.height:
        row, n = ragged.row(0)
        raise DataDropError(Problem(name, row, None, None, f"line has {n} fields but the header has {width}"))
    fields = pl.col("line").str.split_exact(",", width - 1).struct.rename_fields([f"__f{i}" for i in range(width)])
    frame = body.select("_source_row", fields.alias("_fields")).unnest("_fields")
    return frame.rename({f"__f{i}": col for i, col in enumerate(header)}).select(*header, "_source_row")


def _read_quoted_csv(text: str, name: str) -> pl.DataFrame:
    """Quote-aware reading with Python's csv module, for files with quoted fields."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DataDropError(Problem(name, None, None, None, "file is empty: it needs a header row")) from None
    _check_header(header, name)
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line holds no record
            if len(row) != width:
                raise DataDropError(
                    Problem(name, reader.line_num, None, None, f"line has {len(row)} fields but the header has {width}")
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataDropError(Problem(name, reader.line_num, None, None, f"malformed CSV: {exc}")) from None
    columns = list(zip(*rows)) if rows else [() for _ in header]
    frame = pl.DataFrame({col: pl.Series(values, dtype=pl.String) for col, values in zip(header, columns)})
    return frame.with_columns(pl.Series("_source_row", lines, dtype=pl.Int64))


def _read_xlsx(data: bytes, name: str) -> pl.DataFrame:
    try:
        frame = pl.read_excel(io.BytesIO(data), sheet_id=1, infer_schema_length=0)
    except (Exception, PanicException) as exc:  # the engine's own error types vary; a corrupt file may panic
        raise DataDropError(
            Problem(name, None, None, None, f"cannot read the first sheet as a table: {_short(exc)}")
        ) from None
    # Excel dates arrive as 'YYYY-MM-DD 00:00:00': keep the date part only.
    frame = frame.with_columns(pl.all().str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "$1"))
    return frame.with_row_index("_source_row", offset=2)


def _read_parquet(data: bytes, name: str) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except (Exception, PanicException) as exc:  # a corrupt file can make the Rust reader panic
        raise DataDropError(Problem(name, None, None, None, f"not a readable Parquet file: {_short(exc)}")) from None
    nested = [c for c, t in frame.schema.items() if t.is_nested()]
    if nested:
        raise DataDropError(
            Problem(
                name,
                None,
                nested[0],
                None,
                f"column holds nested values ({frame.schema[nested[0]]}); a drop file needs one plain value per cell",
            )
        )
    frame = frame.with_columns(pl.all().cast(pl.String))
    return frame.with_row_index("_source_row", offset=1)


def _short(exc: BaseException) -> str:
    """The first line of an engine's error, without its backtrace."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _normalise_columns(frame: pl.DataFrame, name: str, schema: RecordSchema) -> pl.DataFrame:
    """Match column names case-insensitively without surrounding blanks; require the schema's."""
    renamed: dict[str, str] = {}
    seen: dict[str, str] = {}
    for col in frame.columns:
        if col == "_source_row":
            continue
        norm = normalise_name(col)
        if norm in seen:
            raise DataDropError(Problem(name, 1, col, None, f"column appears twice (also as {seen[norm]!r})"))
        seen[norm] = col
        renamed[col] = norm
    frame = frame.rename(renamed)
    missing = [c for c in schema.column_names if c not in frame.columns]
    if missing:
        raise DataDropError([Problem(name, 1, c, None, "required column is missing from the header") for c in missing])
    return frame.with_columns(pl.col(c).str.strip_chars() for c in frame.columns if c != "_source_row")


def latest_date_in_drop(data_dir: Path):
    """The latest valid date of any record in the drop: the default data cut.
    Only files with date columns are read, and only those columns typed (by the
    schema's own rule). Structural faults raise ``DataDropError``; invalid values
    are skipped here (the schema checks of the run report them)."""
    from dataclasses import replace

    from trial_outcomes.io.parse import parse_records
    from trial_outcomes.schema import SCHEMAS

    latest = []
    for schema in SCHEMAS.values():
        dates = replace(schema, columns=tuple(c for c in schema.columns if c.kind == "date"), key=())
        path = find_file(data_dir, schema) if dates.columns else None
        if path is None:
            continue
        value = _latest_date_fast(path, dates)
        if value is _NO_FAST_PATH:
            raw, _ = read_raw(path, schema)
            typed = parse_records(raw, dates)[0]
            value = typed.select(pl.max_horizontal(pl.col(c.name).max() for c in dates.columns)).item()
        if value is not None:
            latest.append(value)
    return max(latest, default=None)


_NO_FAST_PATH = object()


def _latest_date_fast(path: Path, dates: RecordSchema):
    """The latest date of ``dates``' columns read straight by polars (only those
    columns), for the usual file: UTF-8 CSV without BOM or quotes, with every
    column in its header. Anything else: ``_NO_FAST_PATH``, and the full reader
    (which names any fault) decides."""
    from trial_outcomes.io.parse import typed_value

    if path.suffix.lower() != ".csv":
        return _NO_FAST_PATH
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf") or b'"' in data:
        return _NO_FAST_PATH
    try:
        header = data[: data.find(b"\n") if b"\n" in data else len(data)].decode("utf-8").rstrip("\r").split(",")
        names = {normalise_name(name): name for name in header}
        if len(names) != len(header) or any(c.name not in names for c in dates.columns):
            return _NO_FAST_PATH
        frame = pl.read_csv(data, columns=[names[c.name] for c in dates.columns], quote_char=None, infer_schema=False)
        frame = frame.rename({names[c.name]: c.name for c in dates.columns})
        return frame.select(pl.max_horizontal(typed_value(c).max() for c in dates.columns)).item()
    except (UnicodeDecodeError, pl.exceptions.PolarsError, PanicException):
        return _NO_FAST_PATH
