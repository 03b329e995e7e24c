"""SAS transport (XPT version 5) of the ADaM datasets, beside their Parquet.

``pyreadstat`` (ReadStat) writes the file: dataset name and label, variable labels,
``DATE9.`` on every date (a SAS date: days since 1960-01-01), character lengths from
the data. What version 5 cannot hold is handled here, never by the writer in silence:

- a name above 8 characters or a label above 40 is refused (the contracts keep to both,
  ``tests/test_contracts.py``);
- text is stored in at most 200 bytes: a longer value is cut there on a character
  boundary, and ``write_xpt`` returns what it cut, which define.xml states (the Parquet
  keeps the whole text);
- a missing text is an empty string (SAS has no missing character value); integers are
  SAS numerics (8-byte floats);
- the headers' created and modified stamps are the data cut's date at midnight, not the
  clock's: the same drop, cut and code give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import dataframely as dy
import polars as pl

from trial_outcomes.io.writers import atomic_write_bytes, make_dirs

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


def _fit_text(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Truncation]]:
    """Text columns null-free and at most 200 bytes; what was cut."""
    cuts: list[Truncation] = []
    fitted = []
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        values = frame[name].fill_null("")
        lengths = values.str.len_bytes()
        over = int((lengths > MAX_TEXT_BYTES).sum())
        if over:
            cuts.append(Truncation(name, over, longest_bytes(frame[name])))
            values = values.map_elements(
                lambda v: v.encode()[:MAX_TEXT_BYTES].decode(errors="ignore"), return_dtype=pl.String
            )
        fitted.append(values.alias(name))
    return frame.with_columns(fitted), cuts


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
    data, cuts = _fit_text(frame)
    data = data.with_columns(pl.col(pl.Boolean).cast(pl.Int8))
    formats = {name: DATE_FORMAT for name, dtype in data.schema.items() if dtype == pl.Date}
    make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:  # ReadStat writes a file by name; its bytes are stamped, then written whole in place
        import pyreadstat  # 90 ms with its dependencies: loaded when a file is written, not with the definitions

        pyreadstat.write_xport(
            data,
            tmp,
            file_label=label,
            column_labels=labels,
            table_name=dataset,
            file_format_version=5,
            variable_format=formats,
        )
        content = Path(tmp).read_bytes()
    finally:
        Path(tmp).unlink(missing_ok=True)
    atomic_write_bytes(path, stamped(content, cut))
    return cuts


def read_xpt(path: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """An XPT file as polars and its variable labels (pyreadstat's reader: the tests read
    the published files back with it, and with R's)."""
    import pyreadstat

    data, meta = pyreadstat.read_xport(str(path), output_format="polars")
    labels = {k: v or "" for k, v in meta.column_names_to_labels.items()}
    return data, labels
