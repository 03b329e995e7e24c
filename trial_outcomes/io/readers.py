"""Read one file of a data drop into the raw layer.

The raw layer is every source row as text, exactly as the file holds it
(values are only stripped of surrounding blanks), plus three provenance
columns: ``_source_file``, ``_source_row`` and ``_source_sha256``.

``_source_row`` is the row as the user sees it: the line number in a CSV file
and the row number in an XLSX sheet (the header is row 1 in both), and the
1-based record number in a Parquet file (which has no header row).

Structural faults (missing, empty or non-regular file, undecodable bytes, a
quote never closed, a line with the wrong number of fields, a missing or
reserved column, an XLSX formula without a cached value, a file past a size
limit) raise ``DataDropError`` naming the file and, where there is one, the
row. Cell values are checked later, against the schema, by ``io.parse``.

Columns outside the data contract (a name, a date of birth, a hospital
number) are dropped here, before anything is stored, previewed or logged;
``RawFile.dropped_columns`` names them so the run can warn.

Limits (README, "What is refused"): ``MAX_FILE_BYTES`` on disk for any file,
``MAX_XLSX_XML_BYTES`` of XML inside an XLSX (checked from the zip directory
before anything is parsed), ``MAX_ROWS`` rows per file (a Parquet file's declared rows,
and a CSV's lines up to twice the limit, counted before its values are read), and the schema's
``MAX_TEXT_LENGTH`` characters per cell (``MAX_ID_LENGTH`` for identifiers,
checked by ``io.parse``).
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import hashlib
import io
import re
import stat
import subprocess
import sys
import tomllib
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

import polars as pl
from polars.exceptions import PanicException

from trial_outcomes.errors import DataDropError, Problem
from trial_outcomes.schema import DROP_INFO_FILE, SCHEMAS, Column, RecordSchema
from trial_outcomes.text import char_name, first_of, header_key, lookalike_of, printable

#: the encodings a CSV drop may be in (``drop_info.toml``'s ``encoding``; UTF-8 unless it says)
UTF8, GB18030 = "utf-8", "gb18030"

EXTENSIONS = ("csv", "xlsx", "parquet")
PROVENANCE = ("_source_file", "_source_row", "_source_sha256")

MAX_FILE_BYTES = 4 * 1024**3
MAX_XLSX_XML_BYTES = 512 * 1024**2
MAX_ROWS = 50_000_000

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
#: the namespaces of a workbook saved as "Strict Open XML Spreadsheet"
_NS_STRICT = "{http://purl.oclc.org/ooxml/"


@dataclass(frozen=True)
class RawFile:
    """One file read into the raw layer, with what is known about the file."""

    frame: pl.DataFrame
    file: str
    sha256: str
    size: int
    encoding: str
    absent_columns: tuple[str, ...] = ()  # optional contract columns the file does not have
    dropped_columns: tuple[str, ...] = ()  # columns outside the contract, dropped unread

    @property
    def facts(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "bytes": self.size,
            "encoding": self.encoding,
            "rows": self.frame.height,
        }


def _refuse(
    file: str,
    rule: str,
    row: int | None = None,
    column: str | None = None,
    value: str | None = None,
    subject: str | None = None,
) -> DataDropError:
    return DataDropError(Problem(file, row, column, value, rule, subject))


def _subject_on_line(line: str, header: list[str]) -> str | None:
    """The subject of a CSV line that cannot be parsed (a quote never closed, a wrong
    number of fields), when its ``subject_id`` field comes before anything quoted:
    the data manager's query can then name the subject."""
    names = [normalise_name(h) for h in header]
    if "subject_id" not in names:
        return None
    fields = line.split(",")
    position = names.index("subject_id")
    if position >= len(fields) or any('"' in f for f in fields[: position + 1]):
        return None
    return fields[position].strip() or None


def _open_quote_column(line: str, header: list[str]) -> str | None:
    """The column whose quoted field opens on ``line`` and is still open at its end
    (CSV's rules: a quote opens a field only at its start, ``""`` inside is one quote),
    or None when the line ends outside quotes (the field opened on a later line)."""
    field, quoted, at_start, i = 0, False, True, 0
    while i < len(line):
        c = line[i]
        if quoted:
            if c == '"' and line[i + 1 : i + 2] == '"':
                i += 1
            elif c == '"':
                quoted = False
        elif c == ",":
            field, at_start = field + 1, True
            i += 1
            continue
        elif c == '"' and at_start:
            quoted = True
        at_start = False
        i += 1
    return header[field] if quoted and field < len(header) else None


def find_file(data_dir: Path, schema: RecordSchema) -> Path | None:
    """The one file of ``schema.record`` in ``data_dir``, or None if optional and absent.

    A name that exists but is not a regular file (a folder, a device, a link to
    ``/dev/zero``, a broken link) is refused, not taken for absent."""
    wanted = {f"{schema.record}.{ext}" for ext in EXTENSIONS}
    present = sorted(p for p in data_dir.iterdir() if p.name in wanted) if data_dir.is_dir() else []
    other_case = sorted(
        p.name
        for p in (data_dir.iterdir() if data_dir.is_dir() else [])
        if p.name.lower() in wanted and p.name not in wanted
    )
    if other_case:  # CRS_Monitoring.csv: the report said the drop had no crs_monitoring file
        raise _refuse(
            other_case[0],
            f"file name differs from {schema.record}.{other_case[0].rsplit('.', 1)[-1].lower()} only in letter case: "
            "rename it (file names are matched exactly)",
        )
    for path in present:
        try:
            mode = path.stat().st_mode
        except OSError as exc:  # a loop was called "a link to nothing" (a red team's)
            why = {
                errno.ELOOP: "is a symbolic link in a loop (it leads back to itself)",
                errno.EACCES: "cannot be read: permission denied on the file or a folder on its way",
            }.get(exc.errno or 0, "is a link to nothing (broken symbolic link)")
            raise _refuse(path.name, why) from None
        if not stat.S_ISREG(mode):
            raise _refuse(
                path.name, "is not a regular file (a folder, a device or a link to one); a drop holds plain files"
            )
        other = _another_records_file(data_dir, path)
        if other:  # a red team's followup.csv linked to adverse_events.csv was refused for its columns
            raise _refuse(
                path.name,
                f"is a link to {other}, the file of another record: each record needs its own file",
            )
    if len(present) > 1:
        names = ", ".join(p.name for p in present)
        raise _refuse(str(data_dir), f"more than one file for {schema.record!r}: {names}; keep one")
    if not present:
        if schema.required_file:
            raise _refuse(
                f"{schema.record}.csv", f"required file is missing (looked for {schema.record}.csv, .xlsx or .parquet)"
            )
        return None
    return present[0]


def _another_records_file(data_dir: Path, path: Path) -> str | None:
    """The name of the contract file in ``data_dir`` that ``path`` (a link) resolves to,
    when it is not ``path``'s own name: a record read from another's file."""
    if not path.is_symlink():
        return None
    target = path.resolve()
    names = {f"{record}.{ext}" for record in SCHEMAS for ext in EXTENSIONS}
    if target.parent == data_dir.resolve() and target.name in names and target.name != path.name:
        return target.name
    return None


def empty_raw_frame(schema: RecordSchema) -> pl.DataFrame:
    """The raw layer of an optional file that the drop does not have."""
    cols: dict[str, pl.DataType] = {c: pl.String() for c in schema.column_names}
    cols.update({"_source_file": pl.Categorical(), "_source_row": pl.Int64(), "_source_sha256": pl.Categorical()})
    return pl.DataFrame(schema=cols)


def read_raw(path: Path, schema: RecordSchema) -> RawFile:
    """Read ``path`` into the raw layer."""
    name = path.name
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _refuse(name, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if _blank(data):
        raise _refuse(name, "file is empty: it needs a header row naming the columns")
    ext = path.suffix.lower().lstrip(".")
    header_row: int | None = 1  # a Parquet file has no header row: its row 1 is its first record
    if ext == "csv":
        _refuse_too_many_lines(data, name)
        _refuse_lines_above_the_header(data, name, schema)
        frame, encoding = _read_csv(data, name, path.parent)
    elif ext == "xlsx":
        textual = [c.name for c in schema.columns if c.kind in ("id", "text", "code")]
        (frame, header_row), encoding = _read_xlsx(data, name, schema.column_names, textual), "xlsx"
    else:
        frame, encoding, header_row = _read_parquet(data, name, schema.column_names), "parquet", None
    if frame.height > MAX_ROWS:
        raise _refuse(name, f"file has {frame.height:,} rows; the limit is {MAX_ROWS:,}")
    frame, absent, dropped = _normalise_columns(frame, name, schema, header_row)
    if frame.height < schema.min_rows:
        raise _refuse(name, f"file has a header but no data rows; {schema.record} needs at least {schema.min_rows}")
    frame = frame.with_columns(
        # one value for every row: categorical, 4 bytes a row rather than a 16-byte text view
        # (19 million checklist rows at a million subjects)
        pl.lit(name).cast(pl.Categorical).alias("_source_file"),
        pl.col("_source_row").cast(pl.Int64),
        pl.lit(sha).cast(pl.Categorical).alias("_source_sha256"),
    )
    frame = frame.select([*schema.column_names, *PROVENANCE])
    return RawFile(frame, name, sha, len(data), encoding, absent, dropped)


# --- CSV ---------------------------------------------------------------------------------------


#: how many lines a CSV file's header is looked for in when its first line is none
HEADER_SEARCH_LINES = 10


def _refuse_lines_above_the_header(data: bytes, name: str, schema: RecordSchema) -> None:
    """A first line naming none of the record's columns, with a line below it (among the
    first ``HEADER_SEARCH_LINES``) naming most of them, is refused as lines above the
    header: a blank line, Excel's ``sep=,`` line or a title. A red team's three such files
    were refused as "line has 5 fields but the header has 1", which sent the data manager
    to line 2, not line 1."""
    head = data[:65_536].decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()[:HEADER_SEARCH_LINES]
    wanted = {normalise_name(c) for c in schema.column_names}

    def named(line: str) -> int:
        return len(wanted & {normalise_name(cell) for cell in line.split(",")})

    if not head or named(head[0]):
        return
    below = next((i for i, line in enumerate(head[1:], start=2) if 2 * named(line) >= len(wanted)), None)
    if below is not None:
        first = head[0].strip()
        excel = first.lower().startswith("sep=")
        what = "a blank line" if not first else "Excel's separator line" if excel else "a title"
        raise _refuse(
            name,
            f"the header (the column names) is on line {below}, not line 1: delete the line(s) above it ({what} "
            "first); an export has its header on its first line",
            row=1,
            value=first or None,
        )


def _refuse_too_many_lines(data: bytes, name: str) -> None:
    """Refuse a CSV file with more than twice ``MAX_ROWS`` lines after its header, from its
    bytes, before it is parsed. The limit itself is on rows, counted once the file is read
    (blank lines and a quoted value over several lines are lines but no row); this bound
    keeps such a file from being parsed at all: counted after the parse only, 200 MB of
    one-character lines (100 million) took 3.4 GB to be refused, and a 4 GB file of them
    would have taken the machine's memory first."""
    newline = b"\n" if b"\n" in data else b"\r"  # classic Mac line endings: CR only
    lines = data.count(newline) + (0 if data.endswith(newline) else 1) - 1
    if lines > 2 * MAX_ROWS:
        raise _refuse(
            name,
            f"file has {lines:,} lines after its header, more than twice the limit of {MAX_ROWS:,} rows: "
            "refused before it is read",
        )


def _blank(data: bytes, probe: int = 1 << 16) -> bool:
    """Whether ``data`` is only blanks (``bytes.strip``'s): the first bytes decide for any
    file that starts with a value; only a file that starts blank is stripped whole (a
    stripped copy of each file was 0.25 s for the 255 MB of labs at 100,000 subjects)."""
    return not data[:probe].strip() and not data.strip()


def decode_text(data: bytes, name: str, declared: Callable[[], str] | None = None) -> tuple[str, str]:
    """The text of a CSV file: UTF-8 (with or without BOM), else GB18030/GBK when the
    drop declares it (``declared()``: ``drop_info.toml``'s ``encoding``, asked only for a
    file that is not UTF-8).

    The whole file is decoded strictly. GB18030 is taken only when declared, the bytes
    round-trip and every non-ASCII character is in GB2312, the simplified Chinese set a
    Chinese-locale Excel export uses: a Windows-1252 file ("Décès" as bytes 44 E9 63 E8
    73) also decodes as GB18030, but into rare traditional characters outside GB2312
    ("D閏鑣"), and is refused rather than read as mojibake. Until 2026-12-07 GB18030 was
    taken undeclared: a red team's Korean export (CP949, as Korean Excel saves a CSV), an
    EUC-JP one and a Windows-1252 "Conceição" each decode as GB18030 into common simplified
    characters, and were published as Chinese gibberish without a word; no test of the
    bytes tells those from Chinese. Undeclared, such a file is refused, showing the text a
    GB18030 reading would give, so that a Chinese site's statistician declares it."""
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise _refuse(
            name,
            "file holds NUL bytes: not a text CSV (UTF-16, or a binary file renamed .csv?); export it as UTF-8 CSV",
            row=line,
        )
    body, bom = (data[3:], True) if data.startswith(b"\xef\xbb\xbf") else (data, False)
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as utf8_error:
        first_bad = utf8_error.start
    refusal = "text is neither UTF-8 nor GB18030/GBK Chinese; export the file as UTF-8 CSV"
    try:
        text = body.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    chinese = text is not None and text.encode("gb18030") == body and all(c.isascii() or _in_gb2312(c) for c in text)
    is_declared = declared is not None and declared() == GB18030
    if chinese and not is_declared:
        line, column, subject = _place(body, first_bad)
        start = body.rfind(b"\n", 0, first_bad) + 1
        end = body.find(b"\n", first_bad)
        read_as = body[start : len(body) if end < 0 else end].rstrip(b"\r").decode("gb18030")
        raise _refuse(
            name,
            "text is not UTF-8; it would read as GB18030 (Chinese) only if the drop says so, and such bytes "
            f"are also Korean, Japanese or Windows-1252 text (as GB18030 the line reads {read_as!r}): if it is "
            f'Chinese, add encoding = "{GB18030}" to {DROP_INFO_FILE}; else export the file as UTF-8 CSV' + _AS_1252,
            row=line,
            column=column,
            value=_as_1252(body, first_bad),
            subject=subject,
        )
    # undeclared, or a file that is UTF-8 up to a line that is not (its other lines read as
    # GB18030 garble the good ones: a re-verifier's "Neutropénie fébrile" published as
    # "Neutrop茅nie f茅brile"), the first byte that is not UTF-8 is the one to name (a
    # re-verifier's mixed file was refused at a good UTF-8 line read as GB18030)
    mixed = _utf8_before(body, first_bad)
    if text is None or text.encode("gb18030") != body or not is_declared or mixed:
        line, column, subject = _place(body, first_bad)
        said = (
            refusal
            if not mixed
            else "text is UTF-8 up to this line, which is not (a file of one encoding is needed: another export's "
            "rows pasted in?); export the file as UTF-8 CSV"
        )
        raise _refuse(name, said + _AS_1252, row=line, column=column, value=_as_1252(body, first_bad), subject=subject)
    for offset, char in enumerate(text):
        if ord(char) > 0x7F and not _in_gb2312(char):
            at = len(text[:offset].encode("gb18030"))
            line, column, subject = _place(body, at)
            raise _refuse(
                name,
                refusal + f" (bytes that would decode as the unusual character {char!r} "
                "look like another encoding, such as Windows-1252)" + _AS_1252,
                row=line,
                column=column,
                value=_as_1252(body, at),
                subject=subject,
            )
    return text, "gb18030"


_AS_1252 = "; the value is shown as Windows-1252 would read it"


def _utf8_before(body: bytes, first_bad: int) -> bool:
    """Whether ``body`` holds, on lines before the one of ``first_bad`` (its first byte that
    is not UTF-8), UTF-8 letters beyond ASCII that are Latin ("é", "ç"): a UTF-8 file with
    another encoding's lines in it. Chinese GB18030 text rarely reads as UTF-8 at all, and
    then seldom as Latin letters, nor a whole line before its first byte that does not."""
    line_start = body.rfind(b"\n", 0, first_bad) + 1
    before = body[:line_start].decode("utf-8", errors="replace")
    found = [c for c in before if not c.isascii()]
    return bool(found) and all(0xC0 <= ord(c) <= 0x24F and c.isalpha() for c in found)


def _as_1252(body: bytes, offset: int) -> str:
    """The cell holding the byte at ``offset`` (the line's text around it where a quote
    comes first) as Windows-1252 reads it: 'Sepsisé', which a data manager finds in the
    file, not '\\xe9\\n' (a red team's)."""
    start = body.rfind(b"\n", 0, offset) + 1
    end = body.find(b"\n", offset)
    line = body[start : len(body) if end < 0 else end].rstrip(b"\r")
    at = offset - start
    if b'"' not in line[:at]:
        left = line.rfind(b",", 0, at) + 1
        right = line.find(b",", at)
        line = line[left : len(line) if right < 0 else right]
    else:
        line = line[max(0, at - 20) : at + 20]
    return line.decode("cp1252", "replace")


def _place(body: bytes, offset: int) -> tuple[int, str | None, str | None]:
    """The line of the byte at ``offset`` in a CSV file's bytes and, on a data line
    with no quote before it, the column it is in and the line's subject: a data
    manager's query can then name the cell."""
    row = body[:offset].count(b"\n") + 1
    if row == 1:
        return row, None, None
    header = body[: body.index(b"\n")].decode("utf-8", "replace").rstrip("\r").split(",")
    start = body.rfind(b"\n", 0, offset) + 1
    end = body.find(b"\n", offset)
    line = body[start : len(body) if end < 0 else end].decode("utf-8", "replace").rstrip("\r")
    before = body[start:offset]
    index = before.count(b",")
    column = header[index].strip() if b'"' not in before and index < len(header) else None
    return row, column or None, _subject_on_line(line, header)


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _read_csv(data: bytes, name: str, folder: Path | None = None) -> tuple[pl.DataFrame, str]:
    body, encoding = _utf8_body(data, name, folder)
    if b"\r" in body and b"\n" not in body:
        body = body.replace(b"\r", b"\n")  # classic Mac line endings (CR only): one line per record, as written
    fast = _read_simple_csv(body, name)
    if fast is None:
        fast = _read_well_quoted_csv(body, name)
    return (fast if fast is not None else _read_quoted_csv(body.decode("utf-8"), name)), encoding


def _utf8_body(data: bytes, name: str, folder: Path | None = None) -> tuple[bytes, str]:
    """The file's text as UTF-8 bytes without a BOM, and the encoding it was read in
    (``decode_text``'s rules, with the encoding ``folder``'s ``drop_info.toml`` declares).
    An ASCII file, the usual export, is its own bytes: it is never held a second and
    third time as text (a million subjects' AEs are 0.4 GB)."""
    if b"\x00" not in data and data.isascii():
        return data, "utf-8"
    text, encoding = decode_text(data, name, None if folder is None else lambda: read_drop_info(folder).encoding)
    if encoding == "gb18030":
        return text.encode("utf-8"), encoding
    return (data[3:] if encoding == "utf-8-sig" else data), encoding


BLANK_HEADER = "__blank_header_"
#: a header cell that is a value: a date, a number, or an id such as BR-001
LOOKS_LIKE_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}.*|[-+]?\d+(\.\d+)?|[A-Za-z]{1,6}-?\d{2,}")


def _header_names(header: list[str]) -> list[str]:
    """The header with a placeholder for each blank name (a spreadsheet's trailing
    empty columns), so that the blanks are not "a column named twice"."""
    return [col if col.strip() else f"{BLANK_HEADER}{i}" for i, col in enumerate(header)]


def _blank_header_columns(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Drop a column without a header and without values (Excel's trailing empty
    columns); refuse one that holds values, naming its first."""
    for column in [c for c in frame.columns if c.startswith(BLANK_HEADER)]:
        filled = frame.filter(pl.col(column).is_not_null() & (pl.col(column).str.strip_chars() != ""))
        if filled.height:
            position = int(column.removeprefix(BLANK_HEADER)) + 1
            raise _refuse(
                name,
                f"column {position} has values but no header",
                row=int(filled["_source_row"][0]),
                column=f"(blank header, column {position})",
                value=filled[column][0],
            )
        frame = frame.drop(column)
    return frame


def normalise_name(column: str) -> str:
    """Column names match case-insensitively (NFKC, case folded), without surrounding
    blanks or a BOM, a run of spaces, hyphens or underscores one underscore
    (``text.header_key``: "Subject ID" is ``subject_id``)."""
    return header_key(column)


def _refuse_reserved(columns: list[str], name: str) -> None:
    for col in columns:
        if normalise_name(col).startswith("_"):
            raise _refuse(
                name, "column name is reserved (names starting with '_' mark provenance); rename it", row=1, column=col
            )


#: separators a European-locale Excel or a database export uses instead of commas
OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _refuse_other_delimiter(header: list[str], name: str, row: int) -> None:
    """A header separated by another character than commas (Excel in a locale with
    decimal commas saves CSV with semicolons): the other separator is at least as
    frequent as the fields the commas make. Refused here, on the header, before any
    line is counted (a value with a comma, "1,1", would otherwise make the first
    refusal a line's field count) and before every required column is named missing."""
    line = ",".join(header)
    for sep, called in OTHER_DELIMITERS.items():
        if line.count(sep) >= len(header):
            raise _refuse(
                name,
                f"the header is separated by {called}, not commas: a drop file must be comma-separated "
                "(in Excel: Save As, CSV UTF-8 (Comma delimited))",
                row=row,
                value=printable(line[:80]),
            )


def _check_header(header: list[str], name: str, row: int = 1) -> None:
    _refuse_other_delimiter(header, name, row)
    _refuse_reserved(header, name)
    seen: set[str] = set()
    for col in header:
        if not col.strip() or col.startswith(BLANK_HEADER):
            continue  # blank names: _blank_header_columns
        norm = normalise_name(col)
        if norm in seen:
            raise _refuse(name, "column appears twice in the header", row=row, column=printable(col))
        seen.add(norm)


#: lines of a CSV file split into fields at a time (the working memory of the split path)
CSV_BLOCK_LINES = 1_000_000


def _lines(body: bytes) -> pl.LazyFrame:
    """A file's lines as text, one row each (a blank line as null), scanned by polars: a
    line split at nothing (no quote, ``\\x1f`` as the separator, which no fast path takes)."""
    return pl.scan_csv(
        body,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        infer_schema=False,
        new_columns=["line"],
        raise_if_empty=False,
    )


def _read_simple_csv(body: bytes, name: str) -> pl.DataFrame | None:
    """The fast path, vectorized in polars, for a file without quotes (the usual EDC
    export; ``body`` is its UTF-8 bytes): each line is one record, so its line number
    is exact. None: use the quote-aware reader.

    Each line's fields are counted first, streaming over the lines (a line with the
    wrong number is refused). A file with no blank line and no stray carriage return
    is then read by polars' own CSV reader, line ``i + 2`` being row ``i``; any other
    is split line by line, a block of lines at a time."""
    if b'"' in body or b"\x1f" in body or _blank(body):
        return None
    lines = _lines(body)
    # the row index is added to the collected counts, not in the streamed query: under
    # load, a row index in polars' streaming engine once failed a fuzz test with a
    # DuplicateError that the same bytes did not repeat (polars issue 28015's kind)
    shape = (
        lines.select(
            (pl.col("line").str.count_matches(",", literal=True) + 1).alias("n"),
            pl.col("line").str.contains(r"^\s*$").fill_null(True).alias("blank"),
        )
        .collect(engine="streaming")
        .with_row_index("_source_row", offset=1)
    )
    header = (lines.head(1).collect()["line"][0] or "").removesuffix("\r").split(",")
    _check_header(header, name)
    header = _header_names(header)
    width = len(header)
    body_shape = shape.slice(1)
    ragged = body_shape.filter(~pl.col("blank") & (pl.col("n") != width))
    if ragged.height:
        row, n, _ = ragged.row(0)
        line = lines.slice(row - 1, 1).collect()["line"][0].removesuffix("\r")
        raise _refuse(
            name, f"line has {n} fields but the header has {width}", row=row, subject=_subject_on_line(line, header)
        )
    names = [f"__f{i}" for i in range(width)]
    frame = None
    if not body_shape["blank"].any() and _line_ends_alike(body):
        frame = _fields_by_polars(body, names, body_shape.height)
    if frame is None:
        frame = _fields_by_split(body, names)
    return _named(frame, names, header)


def _line_ends_alike(body: bytes) -> bool:
    """Whether every carriage return of a file ends a line (CRLF), none standing alone."""
    return b"\r" not in body or body.count(b"\r") == body.count(b"\r\n")


def _named(frame: pl.DataFrame, names: list[str], header: list[str]) -> pl.DataFrame:
    """A fast path's fields (``names``) under the file's ``header``, then ``_source_row``."""
    renamed = frame.rename(dict(zip(names, header, strict=True)))
    # each column taken by its name as written: select("*") or select("^...$") would read a
    # header as polars' wildcard or a regular expression (a header "*" took every column)
    return pl.DataFrame([renamed.get_column(c) for c in [*header, "_source_row"]])


#: a field of a line whose quotes are all well formed: unquoted without a quote, or quoted
#: whole with its quotes doubled inside, on one line (Python's csv reads both so in strict mode)
_WELL_QUOTED_FIELD = r'(?:[^",\r\n]*|"(?:[^"\r\n]|"")*")'


def _read_well_quoted_csv(body: bytes, name: str) -> pl.DataFrame | None:
    """The fast path for a file with quotes (R's ``write.csv`` quotes every text, as do
    many EDC exports) when every line is one record whose quotes are well formed
    (``_WELL_QUOTED_FIELD``, as many fields as the header): polars' reader then reads
    what Python's csv module reads, line ``i + 2`` being row ``i``. None (the
    quote-aware reader decides, and names any fault) for anything else: a quoted field
    over two lines, a blank line, a stray quote or carriage return, a file of one column.
    Python's reader took 35.7 s and 6.1 GB for the labs of 100,000 subjects quoted (7.6
    million rows); this path 4.2 s and 1.7 GB."""
    if b'"' not in body or b"\x1f" in body or _blank(body):
        return None
    if not _line_ends_alike(body):
        return None
    first = body.split(b"\n", 1)[0].removesuffix(b"\r").decode("utf-8")
    if not re.fullmatch(f"{_WELL_QUOTED_FIELD}(?:,{_WELL_QUOTED_FIELD})*", first):
        return None
    header = next(csv.reader([first], strict=True))
    if len(header) < 2:  # one field: the quote-aware reader skips a record that is one blank value
        return None
    _check_header(header, name)
    names = [f"__f{i}" for i in range(len(header))]
    line = f"^{_WELL_QUOTED_FIELD}(?:,{_WELL_QUOTED_FIELD}){{{len(header) - 1}}}\r?$"
    lines = _lines(body).slice(1)
    well_formed = pl.col("line").str.contains(line) & ~pl.col("line").str.contains(r"^\s*$")  # a blank: no record
    shape = lines.select(pl.len().alias("rows"), well_formed.fill_null(False).all().alias("ok"))
    rows, ok = shape.collect(engine="streaming").row(0)
    if not ok:
        return None
    frame = _fields_by_polars(body, names, rows, quote_char='"')
    if frame is None:
        return None
    return _named(frame, names, _header_names(header))


def _fields_by_polars(body: bytes, names: list[str], rows: int, quote_char: str | None = None) -> pl.DataFrame | None:
    """The fields of every line after the header, read by polars' CSV reader (no quotes
    unless ``quote_char``, empty fields as empty text); None if it does not find one row
    per line."""
    start = body.find(b"\n") + 1
    if start and body[start : start + 3] == b"\xef\xbb\xbf":
        return None  # polars drops a byte-order mark that starts the first line it reads: a value's own
    try:
        frame = pl.read_csv(
            body,
            has_header=False,
            skip_lines=1,
            new_columns=names,
            schema=dict.fromkeys(names, pl.String),
            quote_char=quote_char,
            empty_string_is_null=False,
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, PanicException):
        return None  # the line-by-line split decides
    if frame.height != rows:
        return None
    return frame.with_columns(pl.int_range(2, rows + 2, dtype=pl.Int64).alias("_source_row"))


def _fields_by_split(body: bytes, names: list[str]) -> pl.DataFrame:
    """The fields of every non-blank line after the header, each line split at its commas,
    ``CSV_BLOCK_LINES`` lines at a time."""
    lines = pl.read_csv(
        body, has_header=False, separator="\x1f", quote_char=None, infer_schema=False, new_columns=["line"]
    ).with_row_index("_source_row", offset=1)
    fields = pl.col("line").str.split_exact(",", len(names) - 1).struct.rename_fields(names)
    blocks = [pl.DataFrame(schema={"_source_row": pl.Int64(), **dict.fromkeys(names, pl.String())})]
    for start in range(1, lines.height, CSV_BLOCK_LINES):
        block = lines.slice(start, CSV_BLOCK_LINES).with_columns(
            pl.col("line").str.strip_suffix("\r").fill_null(""), pl.col("_source_row").cast(pl.Int64)
        )
        block = block.filter(pl.col("line").str.strip_chars() != "")
        blocks.append(block.select("_source_row", fields.alias("_fields")).unnest("_fields"))
    return pl.concat(blocks, rechunk=False)


def _line(text: str, number: int) -> str:
    """Line ``number`` (1-based) of a file's text, or '' past its end."""
    lines = text.split("\n")
    return lines[number - 1].rstrip("\r") if 0 < number <= len(lines) else ""


def _read_quoted_csv(text: str, name: str) -> pl.DataFrame:
    """Quote-aware reading with Python's csv module in strict mode: a quote that is
    never closed (which the default mode silently turns into one field holding the
    rest of the file) is an error naming the line where the field opened."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise _refuse(name, "file is empty: it needs a header row") from None
    except csv.Error as exc:
        raise _refuse(name, f"malformed CSV header: {exc}", row=1) from None
    _check_header(header, name)
    header = _header_names(header)
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    started = reader.line_num + 1
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                started = reader.line_num + 1
                continue  # a blank line holds no record
            if len(row) != width:
                raise _refuse(
                    name,
                    f"line has {len(row)} fields but the header has {width}",
                    row=started,
                    subject=_subject_on_line(_line(text, started), header),
                )
            rows.append(row)
            lines.append(started)
            started = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise _refuse(
                name,
                "a quoted field that opens on this line is never closed: the file ends inside "
                'quotes (a missing closing ")',
                row=started,
                column=_open_quote_column(_line(text, started), header),
                subject=_subject_on_line(_line(text, started), header),
            ) from None
        raise _refuse(
            name, f"malformed CSV: {exc}", row=started, subject=_subject_on_line(_line(text, started), header)
        ) from None
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    frame = pl.DataFrame({col: pl.Series(values, dtype=pl.String) for col, values in zip(header, columns, strict=True)})
    return frame.with_columns(pl.Series("_source_row", lines, dtype=pl.Int64))


# --- XLSX --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Workbook:
    """What the workbook's XML says before any cell is read."""

    sheets: list[tuple[str, str]]  # (name, state: visible / hidden / veryHidden)
    sheet_xml: bytes | None  # the first sheet's XML
    recalculate_on_open: bool  # calcPr fullCalcOnLoad: the writer never computed its formulas
    percent_styles: frozenset[int] = frozenset()  # cell styles that show a number as a percentage
    #: cell styles that show a number as a date without its day (``mmm-yyyy``): their format code
    partial_date_styles: dict[int, str] = field(default_factory=dict)
    #: cell styles that show a number with text or leading zeros it does not hold (``"BR-"000``)
    decorated_styles: dict[int, str] = field(default_factory=dict)


def _read_xlsx(
    data: bytes, name: str, known: Sequence[str] = (), textual: Sequence[str] = ()
) -> tuple[pl.DataFrame, int]:
    """One XLSX policy (issue 21): the workbook holds one sheet; its first row with a
    value is the header, named by its Excel row; no formula without a computed value
    (nor any formula in a workbook that asks Excel to recalculate on opening, whose
    cached values are placeholders), no Excel error value (#N/A read as blank), no
    merged cell (one value shown for several rows), no column named twice; a column
    with neither header nor values (Excel's trailing empty columns) is ignored. Each
    row keeps its Excel row number."""
    book = _inspect_xlsx(data, name)
    if len(book.sheets) > 1:
        shown = ", ".join(f"{n!r}" + ("" if state == "visible" else f" ({state})") for n, state in book.sheets)
        raise _refuse(
            name,
            f"the workbook holds {len(book.sheets)} sheets ({shown}); a drop file is one table on one sheet "
            "(a hidden or stale sheet could be read instead of the one you see): delete the others",
        )
    header_row, first_column, formatted = 1, 0, _FormattedCells([], [])
    if book.sheet_xml is not None:
        header_row, first_column, formatted = _check_sheet_cells(
            book.sheet_xml,
            name,
            book.recalculate_on_open,
            book.percent_styles,
            book.partial_date_styles,
            book.decorated_styles,
        )
    try:
        frame = pl.read_excel(
            io.BytesIO(data),
            sheet_id=1,
            has_header=False,
            infer_schema_length=0,
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
        )
    except (Exception, PanicException) as exc:  # the engine's own error types vary; a corrupt file may panic
        raise _refuse(name, f"cannot read the first sheet as a table: {_short(exc)}") from None
    if frame.height == 0:
        raise _refuse(name, "the sheet is empty: it needs a header row naming the columns")
    frame = frame.select(pl.all().cast(pl.String))
    header = ["" if v is None else str(v).strip() for v in frame.row(0)]
    body = frame.slice(1)
    keep = []
    for i, (column, title) in enumerate(zip(frame.columns, header, strict=True)):
        has_values = body[column].drop_nulls().str.strip_chars().str.len_chars().gt(0).any()
        if not title:
            if has_values:
                letter = _excel_column(i + first_column)
                filled = body[column].str.strip_chars().str.len_chars().fill_null(0) > 0
                first = header_row + 1 + int(filled.arg_true()[0])
                raise _refuse(
                    name,
                    f"column {letter} has values but no header (row {header_row}, the first row holding a value, "
                    "is read as the header)",
                    row=first,
                    column=f"{letter} (Excel column)",
                    value=body[column][first - header_row - 1],
                )
            continue  # Excel's trailing empty columns: nothing in them
        keep.append((column, title))
    _check_header([title for _, title in keep], name, row=header_row)
    _refuse_formatted(
        formatted, name, {_excel_column(i + first_column): t for i, t in enumerate(header)}, known, textual
    )
    body = body.select([pl.col(c).alias(t) for c, t in keep]).with_row_index("_source_row", offset=header_row + 1)
    values = [pl.col(t).is_not_null() & (pl.col(t).str.strip_chars() != "") for _, t in keep]
    body = body.filter(pl.any_horizontal(values)) if values else body.clear()
    # Excel dates arrive as 'YYYY-MM-DD 00:00:00': keep the date part only.
    body = body.with_columns(pl.exclude("_source_row").str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00(\.0+)?$", "$1"))
    return body.with_columns(pl.col("_source_row").cast(pl.Int64)), header_row


def _excel_column(index: int) -> str:
    """0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


#: what reading a member of a damaged zip raises: a bad CRC or header, a corrupt stream, a
#: compression method zipfile lacks (NotImplementedError) or an "encrypted" flag bit
#: (RuntimeError), both one flipped bit away from a real workbook (the fuzz test)
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)


def _inspect_xlsx(data: bytes, name: str) -> _Workbook:
    """Refuse a workbook whose XML would expand past ``MAX_XLSX_XML_BYTES`` (a zip bomb)
    from the zip directory alone, before any XML is parsed; return its sheets, the
    first sheet's XML and whether it asks to be recalculated on opening."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _refuse(name, "not a readable XLSX file (not a zip archive)") from None
    except _ZIP_ERRORS as exc:  # a zip "version needed" no reader has (NotImplementedError)
        raise _refuse(name, f"not a readable XLSX file ({_short(exc)})") from None
    with archive:
        expanded = sum(info.file_size for info in archive.infolist())
        if expanded > MAX_XLSX_XML_BYTES:
            raise _refuse(
                name,
                f"the workbook expands to {expanded:,} bytes of XML; the limit is "
                f"{MAX_XLSX_XML_BYTES:,} (a compressed 'zip bomb', or a sheet far larger than a drop)",
            )
        try:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        except (KeyError, ElementTree.ParseError):
            # its checks (one sheet, merged cells, formulas, ...) could not be made: refused,
            # never read unchecked
            raise _refuse(
                name, "not a readable XLSX workbook: xl/workbook.xml or its relationships are missing or not XML"
            ) from None
        except _ZIP_ERRORS as exc:
            raise _refuse(name, f"not a readable XLSX file ({_short(exc)})") from None
        if workbook.tag.startswith(_NS_STRICT):
            # Excel's "Strict Open XML Spreadsheet": other names for the same XML, under which a
            # red team's hidden stale sheet, merged cells and percentages were read unchecked
            raise _refuse(
                name,
                "the workbook is saved as 'Strict Open XML Spreadsheet', which this reader does not check: "
                "save it as 'Excel Workbook (.xlsx)'",
            )
        sheets = workbook.findall(f"{_NS_MAIN}sheets/{_NS_MAIN}sheet")
        listed = [(s.get("name", "?"), s.get("state", "visible")) for s in sheets]
        calc = workbook.find(f"{_NS_MAIN}calcPr")
        recalc = calc is not None and calc.get("fullCalcOnLoad") in ("1", "true")
        try:
            percent, partial, decorated = _number_styles(archive)
        except _ZIP_ERRORS as exc:
            raise _refuse(name, f"not a readable XLSX file ({_short(exc)})") from None
        if not sheets:
            raise _refuse(name, "not a readable XLSX workbook: it lists no sheet")
        path = _sheet_path(rels, sheets[0].get(f"{_NS_REL}id"))
        try:
            xml = archive.read(path) if path is not None else None
        except KeyError:
            xml = None
        except _ZIP_ERRORS as exc:
            raise _refuse(name, f"not a readable XLSX file ({_short(exc)})") from None
        return _Workbook(listed, xml, recalc, percent, partial, decorated)


#: Excel's built-in number formats ``d-mmm`` and ``mmm-yy``: a date shown without its year,
#: and without its day
_BUILTIN_PARTIAL_DATES = {16: "d-mmm", 17: "mmm-yy"}


def _date_part_missing(code: str) -> str | None:
    """The part of a date a number format does not show: "day" (``mmm-yyyy``, ``yyyy``,
    ``mmmm yyyy``: a year and no day), "year" (``d-mmm``, ``dd/mm``, ``mmm d``, ``mm``: a
    day or a month and no year), else None (a full date, a time, a number, ``General``).
    Quoted text, escapes, ``[...]`` parts (a locale, a colour) and the word General are set
    aside. A year is ``y``, or an era's: ``e`` (with ``g``, Japan's) and ``b``/``bbbb``
    (Thailand's Buddhist era): a red team's ``dd/mm/bbbb`` was refused as yearless. A code
    with digit placeholders (``0.00E+00``) is a number's, and a time (``h``, ``s``) is no
    date; its ``m`` is minutes."""
    plain = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code).lower().split(";")[0].replace("general", "")
    if any(ch in plain for ch in "0#?"):
        return None
    year = any(ch in plain for ch in "yeb")
    if year:
        return None if "d" in plain else "day"
    if "h" in plain or "s" in plain:
        return None
    return "year" if "d" in plain or "m" in plain else None


#: a format's sections: split on the semicolons outside quoted text ("BR;"000 is one section)
_SECTIONS = re.compile(r';(?=(?:[^"]*"[^"]*")*[^"]*$)')
#: text a format shows beside the value: quoted, an escaped character, or a currency's
#: symbol (``[$BR-]``; ``[$-409]`` is a locale alone)
_LITERAL = re.compile(r'"[^"]+"|\\[^ ,.]|\[\$[^\]-]+')


def _decorates(code: str) -> bool:
    """Whether a format shows a value with text or leading zeros the cell does not hold:
    a number's format (its first section with digit placeholders ``0``, ``#``, ``?``) with
    literal text (``"BR-"000``, ``\\B\\R-000``, ``[$BR-]#000``, ``"BR;"000``) or two or
    more zeros before its decimal point (``000``, ``#000``: 1 shows as 001), or a text
    format (``@``) with literal text (``"BR-"@``: the text 001 shows as BR-001). ``0.00``,
    ``#,##0``, ``@`` and a date's format (``dd"/"mm"/"yyyy``: no digit placeholder) do
    not. A third red team's ``#000``, ``[$BR-]-#000``, ``"BR;"000`` and ``"BR-"@`` passed
    the first version."""
    sections = _SECTIONS.split(code)
    text = next((section for section in sections if "@" in re.sub(r'"[^"]*"|\\.', "", section)), None)
    if text is not None and _LITERAL.search(text):
        return True
    first = sections[0]
    plain = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", first).lower().replace("general", "")
    if not any(ch in plain for ch in "0#?"):
        return False
    padded = re.search(r"0{2,}", plain.split(".")[0]) is not None
    return _LITERAL.search(first) is not None or padded


def _number_styles(archive: zipfile.ZipFile) -> tuple[frozenset[int], dict[int, str], dict[int, str]]:
    """The cell styles (indexes into ``cellXfs``) whose number format is a percentage (the
    built-in formats 9 and 10, ``0%`` and ``0.00%``, and any custom one with ``%``), those
    whose format is a date without its day, and those whose format shows text or leading
    zeros (``_decorates``), with their format code."""
    try:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except (KeyError, ElementTree.ParseError):
        return frozenset(), {}, {}
    percent_ids = {9, 10}
    partial_ids = dict(_BUILTIN_PARTIAL_DATES)
    decorated_ids: dict[int, str] = {}
    for fmt in styles.iter(f"{_NS_MAIN}numFmt"):
        code = fmt.get("formatCode", "")
        if "%" in code.replace("\\%", "").replace('"%"', ""):
            percent_ids.add(int(fmt.get("numFmtId", "-1")))
        if _date_part_missing(code):
            partial_ids[int(fmt.get("numFmtId", "-1"))] = code
        if _decorates(code):
            decorated_ids[int(fmt.get("numFmtId", "-1"))] = code
    xfs = styles.find(f"{_NS_MAIN}cellXfs")
    if xfs is None:
        return frozenset(), {}, {}
    formats = [int(xf.get("numFmtId", "0")) for xf in xfs.findall(f"{_NS_MAIN}xf")]
    return (
        frozenset(i for i, f in enumerate(formats) if f in percent_ids),
        {i: partial_ids[f] for i, f in enumerate(formats) if f in partial_ids},
        {i: decorated_ids[f] for i, f in enumerate(formats) if f in decorated_ids},
    )


def _sheet_path(rels: ElementTree.Element, rel_id: str | None) -> str | None:
    for rel in rels.iter(f"{_NS_PKG_REL}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    return None


def _where(ref: str) -> dict[str, Any]:
    """A cell reference (``L5``) as the row and column of a message: row 5, column L."""
    letters = "".join(ch for ch in ref if ch.isalpha())
    digits = "".join(ch for ch in ref if ch.isdigit())
    return {"row": int(digits) if digits else None, "column": f"{letters} (Excel column)" if letters else None}


def _cells(refs: list[str]) -> str:
    return first_of(refs, 10)


@dataclass(frozen=True)
class _FormattedCells:
    """Number cells whose format shows other than what is stored: (cell, value) shown as a
    percentage, and (cell, format) shown as a date without its day."""

    percent: list[tuple[str, str]]
    partial: list[tuple[str, str]]
    #: (cell, value, format) shown with text or leading zeros the number does not hold
    decorated: list[tuple[str, str, str]] = field(default_factory=list)


def _refuse_formatted(
    cells: _FormattedCells,
    name: str,
    columns: Mapping[str, str],
    known: Sequence[str],
    textual: Sequence[str] = (),
) -> None:
    """Refuse a percentage or a day-less date in a column of the contract (``columns``: the
    Excel column letter of each header), and a number shown with text or leading zeros it
    does not hold in one of its text columns (``textual``: ids, texts and codes); a column
    outside it is dropped unread, whatever its format (a reviewer's ``diagnosis_month``
    formatted mmm-yyyy refused the file)."""

    def column_of(ref: str) -> str:
        return normalise_name(columns.get("".join(ch for ch in ref if ch.isalpha()), ""))

    def ours(ref: str) -> bool:
        return column_of(ref) in known

    decorated = [(r, v, c) for r, v, c in cells.decorated if column_of(r) in textual]
    if decorated:
        ref, value, code = decorated[0]
        raise _refuse(
            name,
            f"cell(s) formatted to show text or leading zeros they do not hold ({code}): "
            f"{_cells([r for r, _, _ in decorated])}; Excel shows the value through the format, but the cell "
            "stores the value alone, which would be read (an id shown as BR-001 read as 1): enter the text as "
            "shown, in cells formatted as text",
            **_where(ref),
            value=value or None,
        )

    percent = [(r, v) for r, v in cells.percent if ours(r)]
    partial = [(r, c) for r, c in cells.partial if ours(r)]
    if percent:
        ref, value = percent[0]
        raise _refuse(
            name,
            f"cell(s) formatted as a percentage: {_cells([r for r, _ in percent])}; Excel shows {value} as "
            f"{float(value) * 100:g}% but stores {value}, which would be read (a value 100 times too small in a "
            "% column): format the cells as plain numbers holding the value shown",
            **_where(ref),
            value=value,
        )
    if partial:
        ref, code = partial[0]
        missing = _date_part_missing(code)
        if missing == "year":
            why = (
                "Excel stores a date typed without its year (5-Mar) in the year it was typed, which may not be "
                "the year meant (a relapse in March 2023 typed in January 2024 would read as March 2024): enter "
                "the full date and format it with its year"
            )
        else:
            why = (
                "Excel stores a date typed without its day (a month and year, or a year) as the 1st, a partial "
                "date the data contract refuses (a death in November would read as 1 November): enter the full "
                "date and format it with its day"
            )
        raise _refuse(
            name,
            f"date cell(s) formatted without a {missing} ({code}): {_cells([r for r, _ in partial])}; {why}",
            **_where(ref),
        )


def _check_sheet_cells(
    sheet_xml: bytes,
    name: str,
    recalculate_on_open: bool,
    percent_styles: frozenset[int] = frozenset(),
    partial_date_styles: Mapping[int, str] | None = None,
    decorated_styles: Mapping[int, str] | None = None,
) -> tuple[int, int, _FormattedCells]:
    """Refuse what the cell engine would read silently wrong, naming the cells; return
    the Excel row of the header (the first row holding a value), the index of the first
    column holding one (the table's column A, as the cell engine reads it) and the cells
    whose number format hides their value (refused in a contract column only:
    ``_refuse_formatted``)."""
    partial_date_styles = partial_date_styles or {}
    decorated_styles = decorated_styles or {}
    decorated: list[tuple[str, str, str]] = []
    partial: list[tuple[str, str]] = []
    percent: list[tuple[str, str]] = []
    uncomputed: list[str] = []
    formulas: list[str] = []
    errors: list[tuple[str, str]] = []
    merged: list[str] = []
    header_row: int | None = None
    # the rows and the column indexes holding a value (kept apart, not a pair a cell: a
    # sheet of 100,000 rows and 22 columns held 2.2 million pairs)
    valued_rows: set[int] = set()
    valued_columns: set[int] = set()
    hidden_rows: list[int] = []
    hidden_columns: list[tuple[int, int]] = []  # (first, last) column index, 0-based
    try:
        for _, element in ElementTree.iterparse(io.BytesIO(sheet_xml), events=("end",)):
            if element.tag == f"{_NS_MAIN}c":
                ref = element.get("r", "?")
                formula = element.find(f"{_NS_MAIN}f")
                value = element.find(f"{_NS_MAIN}v")
                text = (value.text or "").strip() if value is not None else ""
                inline = element.find(f"{_NS_MAIN}is")
                if formula is not None:
                    formulas.append(ref)
                    if not text:
                        uncomputed.append(ref)
                if element.get("t") == "e":
                    errors.append((ref, text or "#error"))
                elif text and element.get("t") in (None, "n") and int(element.get("s", "0")) in percent_styles:
                    percent.append((ref, text))
                elif text and element.get("t") in (None, "n") and int(element.get("s", "0")) in partial_date_styles:
                    partial.append((ref, partial_date_styles[int(element.get("s", "0"))]))
                elif (text or inline is not None) and int(element.get("s", "0")) in decorated_styles:
                    shown = text if element.get("t") in (None, "n") else ""  # a text cell's is a string index
                    decorated.append((ref, shown, decorated_styles[int(element.get("s", "0"))]))
                if text or inline is not None:
                    letters = ref.rstrip("0123456789")  # a reference: its column's letters, then its row
                    digits = ref[len(letters) :]
                    if not (letters.isalpha() and letters.isascii()):  # any other: its letters and digits
                        letters = "".join(ch for ch in ref if ch.isalpha())
                        digits = "".join(ch for ch in ref if ch.isdigit())
                    if header_row is None:
                        header_row = int(digits) if digits else 1
                    if digits:
                        valued_rows.add(int(digits))
                        valued_columns.add(_column_index(letters))
                element.clear()
            elif element.tag == f"{_NS_MAIN}row" and _unseen(element, "ht"):
                hidden_rows.append(int(element.get("r", "0")))
            elif element.tag == f"{_NS_MAIN}col" and _unseen(element, "width"):
                hidden_columns.append((int(element.get("min", "1")) - 1, int(element.get("max", "1")) - 1))
            elif element.tag == f"{_NS_MAIN}mergeCell":
                merged.append(element.get("ref", "?"))
    except ElementTree.ParseError as exc:
        raise _refuse(name, f"the first sheet is not readable XML ({exc})") from None
    if errors:
        ref, value = errors[0]
        raise _refuse(
            name,
            f"cell(s) holding an Excel error value: {_cells([f'{r} {v}' for r, v in errors])}; an error is "
            "not a value (#N/A would read as blank): correct the formula or enter the value",
            **_where(ref),
            value=value,
        )
    if uncomputed:
        raise _refuse(
            name,
            f"formula cell(s) without a computed value: {_cells(uncomputed)}; open the workbook in Excel, "
            "let it calculate and save, or export values only",
            **_where(uncomputed[0]),
        )
    if formulas and recalculate_on_open:
        raise _refuse(
            name,
            f"formula cell(s) {_cells(formulas)} in a workbook that asks Excel to recalculate when opened: "
            "their stored values were never computed (a program wrote 0 as a placeholder); open it in Excel, "
            "let it calculate and save, or export values only",
            **_where(formulas[0]),
        )
    if merged:
        raise _refuse(
            name,
            f"merged cells {_cells(merged)}: a merged cell shows one value for several rows or columns and "
            "reads as a value and blanks; unmerge them and fill every cell",
            **_where(merged[0].split(":")[0]),
        )
    rows = sorted(valued_rows.intersection(hidden_rows))
    columns = sorted(c for c in valued_columns if any(lo <= c <= hi for lo, hi in hidden_columns))
    if rows or columns:
        shown = [f"row {r}" for r in rows] + [f"column {_excel_column(c)}" for c in columns]
        raise _refuse(
            name,
            f"hidden {'rows' if rows else 'columns'} holding values: {_cells(shown)}; a hidden row or column is "
            "read like any other (a record someone meant to leave out, or one nobody sees, as with a hidden "
            "sheet): unhide it and keep it, or delete it",
            row=rows[0] if rows else None,
            column=None if rows else f"{_excel_column(columns[0])} (Excel column)",
        )
    first_column = min(valued_columns, default=0)
    return header_row or 1, first_column, _FormattedCells(percent, partial, decorated)


def _unseen(element: ElementTree.Element, size: str) -> bool:
    """A row or column Excel does not show: hidden, or given a height or width of 0
    (which Excel and LibreOffice show as hidden, without the attribute)."""
    if element.get("hidden") in ("1", "true"):
        return True
    try:
        return float(element.get(size, "1")) == 0
    except ValueError:
        return False


def _column_index(letters: str) -> int:
    """A -> 0, AA -> 26 (``_excel_column``'s inverse)."""
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index - 1


# --- Parquet -----------------------------------------------------------------------------------


#: read in a child process: a corrupt Parquet file can abort the process that reads it. The
#: rows its footer declares are counted first, and a file over the limit is not read there
#: either (``{limit}``: ``MAX_ROWS`` when it runs)
_PARQUET_PROBE = (
    "import io, sys, polars; b = io.BytesIO(sys.stdin.buffer.read()); "
    "polars.scan_parquet(b).select(polars.len()).collect().item() > {limit} or polars.read_parquet(b)"
)


def _refuse_too_many_declared_rows(data: bytes, name: str) -> None:
    """Refuse a Parquet file whose footer declares more than ``MAX_ROWS`` rows, read
    without its values: an 80 KB file can declare 200 million rows of one repeated value,
    which took 4 GB to read and refuse (a file ten times as long would have taken the
    machine's memory)."""
    try:
        rows = pl.scan_parquet(io.BytesIO(data)).select(pl.len()).collect().item()
    except (Exception, PanicException) as exc:
        raise _refuse(name, f"not a readable Parquet file: {_short(exc)}") from None
    if rows > MAX_ROWS:
        raise _refuse(name, f"file has {rows:,} rows; the limit is {MAX_ROWS:,}")


def _reader_crash(data: bytes, probe: str | None = None) -> str | None:
    """How the Parquet reader dies on ``data`` in a child process, or None if it does
    not. A corrupt length in a Parquet file (2**61 bytes) makes polars' Rust reader
    ask for that much memory and abort the process, which no ``except`` catches: the
    run would end with no word of the file. The child reads it first; only a death by
    signal is reported here (an ordinary error is raised by the read in this process)."""
    probe = _PARQUET_PROBE.format(limit=MAX_ROWS) if probe is None else probe
    child = subprocess.run([sys.executable, "-c", probe], input=data, capture_output=True, check=False)
    if child.returncode >= 0:
        return None
    said = [line for line in child.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return f"the reader crashed on it (signal {-child.returncode}{': ' + said[0][:200] if said else ''})"


def _read_parquet(data: bytes, name: str, known: Sequence[str]) -> pl.DataFrame:
    """A Parquet file as text columns; ``known``: the contract's columns. A column outside
    the contract keeps its name (its header is checked and it is named as dropped) but not
    its values, whatever their type: a duration or a nested column outside the contract
    once stopped the run with a stack trace, or refused the file."""
    crash = _reader_crash(data)
    if crash is not None:
        raise _refuse(name, f"not a readable Parquet file, corrupt: {crash}")
    _refuse_too_many_declared_rows(data, name)
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except (Exception, PanicException) as exc:  # a corrupt file can make the Rust reader panic
        raise _refuse(name, f"not a readable Parquet file: {_short(exc)}") from None
    _refuse_reserved(frame.columns, name)
    frame = pl.DataFrame(
        [
            column if normalise_name(column.name) in known else pl.Series(column.name, [None] * frame.height, pl.String)
            for column in frame.get_columns()
        ]
    )
    for column, dtype in frame.schema.items():
        if dtype.is_nested():
            raise _refuse(
                name, f"column holds nested values ({dtype}); a drop file needs one plain value per cell", column=column
            )
        if dtype in (pl.Binary, pl.Object):
            raise _refuse(name, f"column holds {dtype} values, not text, numbers or dates", column=column)

    # a zoned date-time keeps its offset (UTC as +0000), so that a date column holding one is
    # refused by the parser, named by row and value (its day depends on the zone), and a
    # column outside the contract (an audit timestamp) is dropped unread like any other
    # Series by name, never pl.col(name): a column named "*" or "^...$" is a wildcard there
    frame = pl.DataFrame(
        [
            (
                column.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
                if column.dtype.time_zone is not None
                else column.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(r" 00:00:00$", "")
            )
            if isinstance(column.dtype, pl.Datetime)
            else _whole(column)
            for column in frame.get_columns()
        ]
    )
    for column, dtype in frame.schema.items():
        try:
            frame = frame.with_columns(frame.get_column(column).cast(pl.String))
        except (pl.exceptions.PolarsError, PanicException):
            raise _refuse(name, f"column holds {dtype} values, not text, numbers or dates", column=column) from None
    return frame.with_row_index("_source_row", offset=1)


def _whole(column: pl.Series) -> pl.Series:
    """A float column whose values are all whole numbers as integers: pandas writes a 0/1
    or a count with a blank as floats, and ``1.0`` is not a Y/N value (an XLSX cell's 1.0
    reads as 1 too)."""
    if column.dtype.is_decimal():  # a decimal(5, 2) Y/N column holds 1.00
        column = column.cast(pl.Float64)
    if not column.dtype.is_float():
        return column
    values = column.drop_nulls()
    largest = values.abs().max() if values.len() else None
    whole = values.is_finite().all() and (values == values.round(0)).all()
    if isinstance(largest, float | int) and largest < 2**53 and whole:
        return column.cast(pl.Int64)
    return column


def _short(exc: BaseException) -> str:
    """The first line of an engine's error, without its backtrace."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


# --- columns -----------------------------------------------------------------------------------


def _normalise_columns(
    frame: pl.DataFrame, name: str, schema: RecordSchema, header_row: int | None = 1
) -> tuple[pl.DataFrame, tuple[str, ...], tuple[str, ...]]:
    """Match column names case-insensitively without surrounding blanks; require the
    schema's required columns, add its optional ones as blank when absent, and drop
    every other column unread. ``header_row``: the header's row in the file, named by a
    fault of the header (an XLSX table may start below row 1; a Parquet file has none)."""
    header = [c for c in frame.columns if c != "_source_row"]
    if not any(normalise_name(c) in schema.column_names for c in header):
        values = [c for c in header if LOOKS_LIKE_VALUE.fullmatch(c.strip())]
        if values:
            raise _refuse(
                name,
                f"the file has no header row: its first line holds values (such as {values[0]!r}), not "
                f"column names; add the header ({', '.join(schema.required_columns)}, ...)",
                row=header_row,
            )
    frame = _blank_header_columns(frame, name)
    renamed: dict[str, str] = {}
    seen: dict[str, str] = {}
    dropped: list[str] = []
    for col in frame.columns:
        if col == "_source_row":
            continue
        norm = normalise_name(col)
        if norm in seen:
            raise _refuse(name, f"column appears twice (also as {seen[norm]!r})", row=header_row, column=col)
        seen[norm] = col
        if norm in schema.column_names:
            renamed[col] = norm
            continue
        twin = lookalike_of(col, schema.column_names)
        if twin is not None:
            known, odd = twin
            raise _refuse(
                name,
                f"column header looks like {known!r} but holds {char_name(odd)}; retype the header "
                "(a look-alike header would be dropped as unknown)",
                row=header_row,
                column=printable(col),
            )
        dropped.append(printable(col.strip()) or "(blank header)")
    missing = [c for c in schema.required_columns if c not in renamed.values()]
    if missing:
        raise DataDropError(
            [Problem(name, header_row, c, None, "required column is missing from the header") for c in missing]
        )
    keep = [*renamed, "_source_row"]
    frame = frame.select(keep).rename(renamed)
    absent = tuple(c for c in schema.column_names if c not in frame.columns)
    values = [c for c in frame.columns if c != "_source_row"]
    # a blank at either end (``strip_chars``' whitespace), found without a stripped copy of the column
    edge = r"^\s|\s$"
    padded = frame.select(pl.col(c).str.contains(edge).any().alias(c) for c in values) if values else None
    frame = frame.with_columns(
        # only the columns with a value to strip are rewritten (the others are shared, not copied)
        *[pl.col(c).str.strip_chars() for c in values if padded is not None and padded[c].item()],
        *[pl.lit(None, dtype=pl.String).alias(c) for c in absent],
    )
    return frame, absent, tuple(dropped)


# --- the drop as a whole ------------------------------------------------------------------------


@dataclass(frozen=True)
class DropInfo:
    """``drop_info.toml``: what the exporter states about the drop (data-contract.md):
    ``empty_files``, the required files that have no rows on purpose (for example
    ``["adverse_events"]`` before the first adverse event), and ``extracted_on``,
    the day the EDC export was taken (a cut after it is refused)."""

    empty_files: tuple[str, ...] = field(default_factory=tuple)
    extracted_on: dt.date | None = None
    #: the CSV files' encoding when not UTF-8: GB18030 (a Chinese-locale Excel's), declared
    encoding: str = UTF8


DROP_INFO_KEYS = ("empty_files", "extracted_on", "encoding")
#: ``encoding``'s spellings: UTF-8, and GB18030 with the older GB sets it extends
ENCODINGS = {"utf-8": UTF8, "utf8": UTF8, "gb18030": GB18030, "gbk": GB18030, "gb2312": GB18030}


def read_drop_info(data_dir: Path) -> DropInfo:
    path = data_dir / DROP_INFO_FILE
    if not (path.is_symlink() or path.exists()):
        return DropInfo()
    if not path.is_file():
        raise _refuse(DROP_INFO_FILE, "is not a regular file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM (Notepad) is no TOML error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _refuse(DROP_INFO_FILE, f"not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(DROP_INFO_KEYS))
    if unknown:  # each named (a red team's two misspelt keys were named one at a time)
        named = "unknown key" + (f"s, also {', '.join(unknown[1:])}" if len(unknown) > 1 else "")
        raise _refuse(DROP_INFO_FILE, f"{named}; the keys are {', '.join(DROP_INFO_KEYS)}", column=unknown[0])
    empty = raw.get("empty_files", [])
    if not isinstance(empty, list) or not all(isinstance(x, str) for x in empty):
        raise _refuse(DROP_INFO_FILE, "empty_files must be a list of record names", column="empty_files")
    bad = [x for x in empty if x not in SCHEMAS or x == "enrolment"]
    if bad:
        may = ", ".join(sorted(r for r in SCHEMAS if r != "enrolment"))
        raise _refuse(
            DROP_INFO_FILE,
            f"not a record that may be empty (enrolment never may; the records are {may})",
            column="empty_files",
            value=bad[0],
        )
    encoding = raw.get("encoding", UTF8)
    if not isinstance(encoding, str) or encoding.strip().lower() not in ENCODINGS:
        raise _refuse(
            DROP_INFO_FILE,
            f'encoding must be "{UTF8}" or "{GB18030}" (a Chinese-locale export; also written GBK or GB2312)',
            column="encoding",
            value=str(encoding),
        )
    return DropInfo(tuple(empty), _extraction_date(raw.get("extracted_on")), ENCODINGS[encoding.strip().lower()])


def _extraction_date(value: object) -> dt.date | None:
    """``extracted_on``: a TOML date (``2024-04-02``) or the same as text; never a
    date-time, and never after today."""
    from trial_outcomes.dates import today

    if value is None:
        return None
    written = value
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            value = None
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise _refuse(
            DROP_INFO_FILE, "extracted_on must be a date, YYYY-MM-DD", column="extracted_on", value=str(written)
        )
    if value > today():
        raise _refuse(DROP_INFO_FILE, "extracted_on is after today", column="extracted_on", value=value.isoformat())
    return value


def latest_date_in_drop(data_dir: Path, latest_allowed: dt.date | None = None) -> dt.date | None:
    """The latest valid date of any record in the drop: the default data cut.
    Only files with date columns are read, and only those columns typed (by the
    schema's own rule). Dates after ``latest_allowed`` (today) are implausible
    and never move the cut (the schema checks of the run refuse them).
    Structural faults raise ``DataDropError``; invalid values are skipped here."""
    from dataclasses import replace

    from trial_outcomes.dates import today
    from trial_outcomes.io.parse import parse_records

    ceiling = latest_allowed or today()
    latest = []
    for schema in SCHEMAS.values():
        dates = replace(schema, columns=tuple(c for c in schema.columns if c.kind == "date"), key=())
        path = find_file(data_dir, schema) if dates.columns else None
        if path is None:
            continue
        value = _latest_date_fast(path, dates, ceiling)
        if value is _NO_FAST_PATH:
            raw = read_raw(path, schema).frame
            typed = parse_records(raw, dates)[0]
            value = typed.select(
                pl.max_horizontal(pl.col(c.name).filter(pl.col(c.name) <= ceiling).max() for c in dates.columns)
            ).item()
        if value is not None:
            latest.append(value)
    return max(latest, default=None)


_NO_FAST_PATH: Any = object()


def _latest_date_fast(path: Path, dates: RecordSchema, ceiling: dt.date) -> Any:
    """The latest date of ``dates``' columns read straight by polars (only those
    columns), for the usual file: UTF-8 CSV without BOM or quotes, with every
    column in its header. Anything else: ``_NO_FAST_PATH``, and the full reader
    (which names any fault) decides."""
    from trial_outcomes.io.parse import few_distinct, typed_value

    if path.suffix.lower() != ".csv" or not _plain_bytes(path):
        return _NO_FAST_PATH
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
        header = first.decode("utf-8").rstrip("\r\n").split(",")
        names = {normalise_name(name): name for name in header}
        if len(names) != len(header) or any(c.name not in names for c in dates.columns):
            return _NO_FAST_PATH
        # only the date columns, streamed from the file: the file is never held in memory
        frame = pl.scan_csv(path, quote_char=None, infer_schema=False).select(
            pl.col(names[c.name]).alias(c.name) for c in dates.columns
        )
        # where the dates repeat, each is typed once (7.6 million lab rows hold 1,397 dates:
        # 1.6 s typed row by row, 0.8 s by value with this count); dates nearly all distinct (a
        # time of day to the second) are typed row by row, as holding them all cost 3 times the
        # memory and twice the time (a red team's 7 million time stamps)
        counts = frame.select(pl.len(), *(pl.col(c.name).approx_n_unique() for c in dates.columns))
        rows, *distinct = counts.collect(engine="streaming").row(0)

        def latest(c: Column) -> pl.Expr:
            return typed_value(c).filter(typed_value(c) <= ceiling).max()

        if not all(few_distinct(n, rows) for n in distinct):
            return frame.select(pl.max_horizontal(latest(c) for c in dates.columns)).collect(engine="streaming").item()
        values = frame.select(pl.col(c.name).unique().implode() for c in dates.columns).collect(engine="streaming")
        found = [values.select(pl.col(c.name).explode()).select(latest(c)).item() for c in dates.columns]
        return max((day for day in found if day is not None), default=None)
    except (UnicodeDecodeError, pl.exceptions.PolarsError, PanicException):
        return _NO_FAST_PATH


def _plain_bytes(path: Path, block: int = 1 << 24) -> bool:
    """The file has no BOM, no quote and no NUL byte (read a block at a time)."""
    with open(path, "rb") as handle:
        head = handle.read(3)
        if head == b"\xef\xbb\xbf":
            return False
        data = head
        while data:
            if b'"' in data or b"\x00" in data:
                return False
            data = handle.read(block)
    return True
