"""SAS transport (XPT version 5) of the ADaM datasets, beside their Parquet.

``pyreadstat`` (ReadStat) writes the file: dataset name and label, variable labels,
``DATE9.`` on every date (a SAS date: days since 1960-01-01), character lengths from
the data. What version 5 cannot hold is handled here, never by the writer in silence:

- a name above 8 characters or a label above 40 is refused (the contracts keep to both,
  ``tests/test_contracts.py``);
- text is stored in at most 200 bytes: a longer value is cut there on a character
  boundary (``write_xpt`` returns what it cut; define.xml states it, and the variable's
  length, from the same rule, ``xpt_length``); the Parquet keeps the whole text;
- a number is stored as itself only from 2**-260 to below 2**249 in size, or 0: any
  other, NaN or an infinity is refused (``_check_numbers``), never stored as 0 or as the
  largest IBM number;
- a missing text is an empty string (SAS has no missing character value); integers are
  SAS numerics (8-byte floats);
- the headers' created and modified stamps are the data cut's date at midnight, not the
  clock's: the same drop, cut and code give the same bytes.

ReadStat writes the headers; the observations are written here, from whole columns, in
blocks of rows. pyreadstat passes every value of a frame through Python one row at a
time: at 100,000 subjects its six datasets took 15 s of a 73 s run (issue 23). The bytes
are ReadStat's, bit for bit (``tests/io/test_xpt.py`` compares the two writers): each
record is the row's fields in order, a number as an 8-byte IBM float (ReadStat's
``ieee2xpt``, vectorised in ``ibm_floats``), a missing number as ``.`` and seven zero
bytes, a text as its UTF-8 bytes padded with blanks to the variable's length; the last
80-byte record is padded with blanks.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dataframely as dy
import numpy as np
import polars as pl

from trial_outcomes.contracts import held_as_categories, with_declared_text
from trial_outcomes.io.writers import atomic_write_pieces, make_dirs

#: the longest name, label and character value XPT version 5 holds
MAX_NAME, MAX_LABEL, MAX_TEXT_BYTES = 8, 40, 200
DATE_FORMAT = "DATE9."


#: a header's time stamp (ddMMMyy:hh:mm:ss) and where the headers end
_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
_DATA_START = b"HEADER RECORD*******OBS"


def stamped(content: bytes, on: dt.date) -> bytes:
    """``content`` with every header time stamp set to ``on`` at 00:00:00."""
    stamp = on.strftime("%d%b%y").upper().encode() + b":00:00:00"
    end = content.index(_DATA_START)
    return _STAMP.sub(stamp, content[:end]) + content[end:]


@dataclass(frozen=True)
class Truncation:
    """Values of ``variable`` cut to 200 bytes in the XPT: how many, and the longest."""

    variable: str
    values: int
    longest_bytes: int


#: the magnitudes the writer stores as themselves (``ibm_floats``, as ReadStat's and SAS's
#: routine): from 2**-260 (5.4e-79; below it, 0) to below 2**249 (9.0e74; from it, the
#: largest IBM number, 7.2e75, which pyreadstat reads back as infinity)
XPT_SMALLEST, XPT_ABOVE_LARGEST = 2.0**-260, 2.0**249


def _check_numbers(dataset: str, frame: pl.DataFrame) -> None:
    """A number the XPT would store as another is refused, naming the dataset, variable,
    value and its first subject: one beyond the writer's range (stored as the largest IBM
    number: a red team's transgene of 1e80 was 7.2e75 in the XPT, and the limit was
    2**249, not IBM's own 7.2e75, as another red team found), a nonzero one below it
    (stored as 0: a lab value of 1e-100 passed the drop's checks and read back 0), NaN or
    an infinity (SAS has neither: stored as the largest number, read back 7.2e75 by R).
    The drop's checks refuse such inputs first; this is the last guard."""
    for name, dtype in frame.schema.items():
        if dtype in (pl.Float32, pl.Float64):
            size = pl.col(name).abs()
            wrong = ~pl.col(name).is_finite() | (size >= XPT_ABOVE_LARGEST) | ((size > 0) & (size < XPT_SMALLEST))
            bad = frame.filter(wrong.fill_null(False))
            if bad.height:
                subject = f" (subject {bad['USUBJID'][0]})" if "USUBJID" in bad.columns else ""
                raise ValueError(
                    f"{dataset}.{name}: {bad.height} value(s) XPT cannot hold as they are, such as "
                    f"{bad[name][0]:.6g}{subject}: the XPT writer holds sizes from {XPT_SMALLEST:.3g} to below "
                    f"{XPT_ABOVE_LARGEST:.3g} (and 0), and no NaN or infinity; it would store another number"
                )


def _check_names(dataset: str, label: str, labels: dict[str, str | None]) -> None:
    problems = [f"dataset name {dataset!r} is longer than {MAX_NAME}"] if len(dataset) > MAX_NAME else []
    if len(label) > MAX_LABEL:
        problems.append(f"dataset label {label!r} is longer than {MAX_LABEL}")
    problems += [f"variable {n!r}: name longer than {MAX_NAME}" for n in labels if len(n) > MAX_NAME]
    problems += [
        f"variable {n}: label {t!r} longer than {MAX_LABEL}" for n, t in labels.items() if len(t or "") > MAX_LABEL
    ]
    if problems:
        raise ValueError(f"{dataset}: not writable as XPT version 5: " + "; ".join(problems))


def longest_bytes(values: pl.Series) -> int:
    """The longest text of ``values`` in UTF-8 bytes (0 when all are missing)."""
    longest = values.drop_nulls().str.len_bytes().max()
    return int(longest) if isinstance(longest, int) else 0


def _cut(value: str) -> str:
    """``value`` cut to at most 200 UTF-8 bytes on a character boundary."""
    return value.encode()[:MAX_TEXT_BYTES].decode(errors="ignore")


def xpt_length(values: pl.Series) -> int:
    """The length, in bytes, of the XPT variable holding ``values`` (at least 1): the
    longest text as stored, a text above 200 bytes cut on a character boundary, so 199
    when a 2-byte character straddles byte 200 (a red team's define.xml said 200 for a
    variable the XPT holds in 199)."""
    over = values.filter(values.str.len_bytes() > MAX_TEXT_BYTES)
    fitting = longest_bytes(values.filter(values.str.len_bytes() <= MAX_TEXT_BYTES))
    return max(1, fitting, *(len(_cut(v).encode()) for v in over.unique().to_list()))


def _texts(schema: pl.Schema) -> list[str]:
    """The text columns: text, or text held as categories (written as its text)."""
    held = held_as_categories(schema)
    return [name for name, dtype in schema.items() if dtype == pl.String or name in held]


def _text(name: str) -> pl.Expr:
    """Column ``name`` as text (a column held as categories, a block at a time)."""
    return pl.col(name).cast(pl.String)


def _text_facts(data: pl.DataFrame, facts: Callable[[str], list[pl.Expr]]) -> dict[str, Any]:
    """The aggregates ``facts(name)`` of every text column, each a fact that does not
    change with how often a value repeats (least, most, any, every): the text columns in
    one query (both cores), a column held as categories from its distinct values, a few
    texts (made text whole, ADTTE's 14 such columns held 4.3 GB at a million subjects)."""
    held = held_as_categories(data.schema)
    plain = [name for name, dtype in data.schema.items() if dtype == pl.String]
    found: dict[str, Any] = data.select(e for n in plain for e in facts(n)).row(0, named=True) if plain else {}
    for name in held:
        distinct = data.select(pl.col(name).unique(maintain_order=True).cast(pl.String))
        found.update(distinct.select(facts(name)).row(0, named=True))
    return found


def _fit_text(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Truncation]]:
    """Text columns at most 200 bytes; what was cut. A missing text stays missing here
    and is written blank (``_text_padding``, ``_written``): a blank copy of every text
    column with a missing value was 0.6 GB beside ADTTE's 8 million rows."""
    cuts: list[Truncation] = []
    fitted = []
    long = _text_facts(frame, lambda n: [(pl.col(n).str.len_bytes() > MAX_TEXT_BYTES).any().alias(n)])
    for name in (name for name in frame.columns if long.get(name)):  # in the frame's order
        values = frame[name].cast(pl.String)
        cuts.append(Truncation(name, int((values.str.len_bytes() > MAX_TEXT_BYTES).sum()), longest_bytes(values)))
        fitted.append(values.fill_null("").map_elements(_cut, return_dtype=pl.String).alias(name))
    return (frame.with_columns(fitted) if fitted else frame), cuts


#: rows of observations built and written at a time (bounded memory at any size)
BLOCK_ROWS = 65_536
#: days from 1960-01-01 (SAS) to 1970-01-01 (polars)
_SAS_EPOCH_DAYS = 3653
_MISSING_NUMBER = np.array([0x2E, 0, 0, 0, 0, 0, 0, 0], dtype=np.uint8)
_NUMERIC = (pl.Float32, pl.Float64, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)


def ibm_floats(values: np.ndarray) -> np.ndarray:
    """IEEE doubles as 8-byte IBM 370 floats, shape (n, 8): ReadStat's ``ieee2xpt`` (from
    SAS's published routine), vectorised. The IEEE fraction keeps every bit (the hex
    exponent needs at most a 3-bit shift, into 4 spare bits); an exponent beyond IBM's
    range gives the largest IBM number (with the sign), one below it gives 0.

    Worked example: 1.0 is IEEE 0x3FF0000000000000, binary exponent 0, shift 0; the
    fraction with its implied 1 is 0x00100000 00000000 and the IBM exponent
    (0 >> 2) + 65 = 0x41: 0x4110000000000000, that is 16**1 x 0x0.1 = 1."""
    ieee = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64).astype(np.int64, copy=False)
    high = (ieee >> 32) & 0xFFFFFFFF
    low = ieee & 0xFFFFFFFF
    exponent = (((high >> 16) & 0x7FF0) >> 4) - 1023
    zero = (high == 0) & (low == 0)
    exponent = np.where(zero, 0, exponent)
    shift = exponent & 3
    first = (high & 0x000FFFFF) | 0x00100000
    first = (first << shift) | ((((low >> 24) & 0xE0) >> (8 - shift)) & 0xFF)
    second = (low << shift) & 0xFFFFFFFF
    first = (first | ((((exponent >> 2) + 65) | ((high >> 24) & 0x80)) << 24)) & 0xFFFFFFFF
    out = (first.astype(np.uint64) << np.uint64(32)) | second.astype(np.uint64)
    out = np.where(zero, np.uint64(0), out)
    largest = ((0x7F | ((high >> 24) & 0x80)).astype(np.uint64) << np.uint64(56)) | np.uint64(0x00FFFFFFFFFFFFFF)
    out = np.where(exponent > 248, largest, out)
    out = np.where(exponent < -260, np.uint64(0), out)
    # ReadStat's own missing values (IEEE bytes FF FF ..): the tag byte, then zeros
    tagged = (high >> 16) == 0xFFFF
    if tagged.any():
        tag = (~(high >> 8)) & 0xFF
        tag = np.where(tag == 0xD2, 0x6D, tag)
        out = np.where(tagged, tag.astype(np.uint64) << np.uint64(56), out)
    return out.astype(">u8").view(np.uint8).reshape(-1, 8)


def _number_field(values: pl.Series) -> np.ndarray:
    """Each value as 8 bytes, shape (n, 8): an IBM float, a missing number as ``.`` and
    seven zeros. A whole-number column (integers, dates) whose values span fewer numbers
    than it has rows is converted once per number of that span and looked up by its
    offset: ADLB's study days, grades, sequence numbers and dates were converted row by
    row, 7.6 million rows each, at 100,000 subjects (issue 23)."""
    offset = 0
    if values.dtype == pl.Date:
        values, offset = values.cast(pl.Int64), _SAS_EPOCH_DAYS
    if values.dtype.is_integer():
        low, high = values.min(), values.max()
        if isinstance(low, int) and isinstance(high, int) and high - low < len(values):
            # whole numbers below 2**53 in size are exact as doubles, so the table holds
            # what the row-by-row conversion gives; its last entry is the missing number
            table = np.concatenate(
                [ibm_floats(np.arange(low, high + 1, dtype=np.int64).astype(np.float64) + offset), [_MISSING_NUMBER]]
            ).view(np.uint64)[:, 0]  # a number a row: looked up whole, not as 8 bytes
            codes = (values.cast(pl.Int64) - low).fill_null(high - low + 1)
            return table[codes.to_numpy()].view(np.uint8).reshape(-1, 8)
        values = values.cast(pl.Float64) + offset if offset else values
    floats = values.cast(pl.Float64).to_numpy(allow_copy=True)
    missing = values.is_null().to_numpy()
    field = ibm_floats(np.where(missing, 0.0, floats))
    field[missing] = _MISSING_NUMBER
    return field


def _text_padding(data: pl.DataFrame, widths: dict[str, int]) -> dict[str, pl.Expr]:
    """Per text column, the expression giving a block's texts as one text, each padded with
    blanks to its variable's ``widths`` in UTF-8 bytes (nulls are blank). Decided once for
    the whole column (per block it was a second of ADLB's XPT at 100,000 subjects): a column
    whose every text already fills the variable (flags, identifiers) is joined unpadded;
    text of one byte a character (ASCII, every text of the sample) is padded to a fixed
    width, 1.5 to 3 times faster than padding each text by its own count of bytes. Each
    block's texts come out the same either way: a text that fills its variable is not
    padded, and an ASCII text's count of bytes is its count of characters."""
    names = _texts(data.schema)
    if not names:
        return {}
    # as text, blank where missing: a block's column held as categories is made text here,
    # and the facts (whole columns, or the distinct texts already made text) cast nothing
    text = {name: _text(name).fill_null("") for name in names}
    shape = _text_facts(
        data,
        lambda n: [
            (text[n].str.len_bytes().min() == widths[n]).alias(f"full:{n}"),
            (text[n].str.len_bytes().sum() == text[n].str.len_chars().sum()).alias(f"ascii:{n}"),
        ],
    )
    joined = {}
    for n in names:
        if shape[f"full:{n}"]:
            padded = text[n]
        elif shape[f"ascii:{n}"]:
            padded = text[n].str.pad_end(widths[n])
        else:
            padded = text[n].str.pad_end(widths[n] - (text[n].str.len_bytes() - text[n].str.len_chars()).cast(pl.Int64))
        joined[n] = padded.str.join("").alias(n)
    return joined


def _vectorisable(data: pl.DataFrame) -> bool:
    """Whether every column is a type the block writer takes (else ReadStat writes it all):
    numbers, dates and text without a NUL byte (ReadStat stops a text at one). The text
    columns are searched in one query, as bytes: searched one by one as text, the eight of
    an ADLB-shaped frame of 7.6 million rows took 1.1-1.3 s, 0.4 s so."""
    texts = _texts(data.schema)
    if any(dtype not in (pl.Date, *_NUMERIC) and name not in texts for name, dtype in data.schema.items()):
        return False
    if not texts:
        return True
    nul = _text_facts(data, lambda n: [pl.col(n).cast(pl.Binary).bin.contains(b"\x00").any().alias(n)])
    return not any(nul.values())


def _observations(data: pl.DataFrame, widths: dict[str, int]) -> Iterator[memoryview]:
    """The observation records, ``BLOCK_ROWS`` rows at a time: each block a packed record
    array whose fields are the variables (its bytes are the records in order), handed on
    without a copy. Joining the fields as a 2-D array of bytes, then copying it out, was
    a third of ADLB's XPT at 100,000 subjects."""
    fields = [(name, f"S{widths[name]}" if name in widths else "V8") for name in data.columns]
    record = np.dtype(fields)  # packed: no bytes between fields
    padding = _text_padding(data, widths)
    for start in range(0, data.height, BLOCK_ROWS):
        block = data.slice(start, BLOCK_ROWS)
        records = np.empty(block.height, dtype=record)
        # every text column of the block padded and joined in one query (polars takes the
        # columns on both cores), each then encoded once
        texts = block.select(padding.values()).row(0, named=True) if padding else {}
        for name in block.columns:
            if name in widths:
                records[name] = np.frombuffer(texts[name].encode("utf-8"), dtype=f"S{widths[name]}")
            else:
                records[name] = _number_field(block[name]).view("V8").reshape(-1)
        yield records.data


def _readstat(data: pl.DataFrame, path: str, label: str, labels: dict[str, str | None], dataset: str) -> None:
    import pyreadstat  # 90 ms with its dependencies: loaded when a file is written, not with the definitions

    pyreadstat.write_xport(
        data,
        path,
        file_label=label,
        column_labels=labels,
        table_name=dataset,
        file_format_version=5,
        variable_format={name: DATE_FORMAT for name, dtype in data.schema.items() if dtype == pl.Date},
    )


def _longest_row(data: pl.DataFrame) -> pl.DataFrame:
    """One row holding each text column's longest value (in UTF-8 bytes), the first value
    of any other column: ReadStat gives each variable the length the whole column needs."""
    texts = _texts(data.schema)
    longest = _text_facts(
        data, lambda n: [pl.col(n).sort_by(pl.col(n).str.len_bytes(), descending=True, nulls_last=True).first()]
    )
    text_row = pl.DataFrame([pl.Series(n, [longest[n]], dtype=pl.String) for n in texts])
    return pl.concat([data.select(pl.exclude(texts).first()), text_row], how="horizontal").select(data.columns)


def _headers(longest: pl.DataFrame, label: str, labels: dict[str, str | None], dataset: str, folder: Path) -> bytes:
    """ReadStat's header records, up to and with the OBS record, written from ``longest``."""
    content = _written(longest, label, labels, dataset, folder)
    return content[: content.index(_DATA_START) + 80]


def _written(data: pl.DataFrame, label: str, labels: dict[str, str | None], dataset: str, folder: Path) -> bytes:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".xpt.", suffix=".tmp")
    os.close(fd)
    try:  # ReadStat writes a file by name; a missing text is blank (SAS has no missing character value)
        _readstat(
            with_declared_text(data).with_columns(pl.col(pl.String).fill_null("")),
            tmp,
            label,
            labels,
            dataset,
        )
        return Path(tmp).read_bytes()
    finally:
        Path(tmp).unlink(missing_ok=True)


def xpt_bytes(
    data: pl.DataFrame, labels: dict[str, str | None], dataset: str, label: str, folder: Path
) -> Iterator[bytes | memoryview]:
    """The XPT file of ``data`` (text already cut to fit, no booleans) in pieces: ReadStat's
    headers, then the observations from whole columns. A frame without rows, or with a
    column type the block writer does not take, is written by ReadStat alone."""
    if data.height == 0 or not _vectorisable(data):
        yield _written(data, label, labels, dataset, folder)
        return
    longest = _longest_row(data)
    widths = {name: max(1, longest_bytes(longest[name])) for name in _texts(data.schema)}
    yield _headers(longest, label, labels, dataset, folder)
    written = 0
    for block in _observations(data, widths):
        written += block.nbytes
        yield block
    if written % 80:
        yield b" " * (80 - written % 80)


def write_xpt(
    frame: pl.DataFrame, schema: type[dy.Schema], dataset: str, label: str, path: Path, cut: dt.date
) -> list[Truncation]:
    """``frame`` as ``path`` (XPT v5, dataset ``dataset`` labelled ``label``, stamped with
    the ``cut``), its variables labelled from ``schema``; written whole (a temporary file
    renamed)."""
    columns = schema.columns()
    labels: dict[str, str | None] = {
        name: (columns[name].description if name in columns else None) or name for name in frame.columns
    }
    _check_names(dataset, label, labels)
    _check_numbers(dataset, frame)
    data, cuts = _fit_text(frame)
    data = data.with_columns(pl.col(pl.Boolean).cast(pl.Int8))
    make_dirs(path.parent)
    pieces = xpt_bytes(data, labels, dataset, label, path.parent)
    first = stamped(bytes(next(pieces)), cut)  # the headers (the whole file when ReadStat wrote it)
    atomic_write_pieces(path, itertools.chain([first], pieces))
    return cuts


def read_xpt(path: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """An XPT file as polars and its variable labels (pyreadstat's reader: the tests read
    the published files back with it, and with R's)."""
    import pyreadstat

    data, meta = pyreadstat.read_xport(str(path), output_format="polars")
    labels = {k: v or "" for k, v in meta.column_names_to_labels.items()}
    return data, labels
