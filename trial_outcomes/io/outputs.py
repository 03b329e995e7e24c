"""The one writer of a cut's published files. An asset returns its value together
with the files it publishes (``ToPublish``); the IO manager stores the value for
the steps after it and hands the files to ``write_published``, which writes each
table from its declared contract (``contracts.py``): the columns in the declared
order, CSV neutralised against formulas or Parquet, and the SAS transport file
(XPT) of an ADaM dataset. No asset writes a file itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dataframely as dy
import polars as pl

from trial_outcomes.contracts import ADAM_BY_OUTPUT
from trial_outcomes.io.writers import atomic_write_bytes, write_csv, write_parquet
from trial_outcomes.io.xpt import write_xpt


@dataclass(frozen=True)
class Table:
    """A published table, its contract, and what breaks the contract (empty: it holds).
    A table that breaks its contract is still written, as it is, for the reader of the
    failed run; the blocking contract check keeps it from being published."""

    frame: pl.DataFrame
    schema: type[dy.Schema]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToPublish:
    """What an asset returns when it publishes files with the cut: ``value`` is what the
    steps after it receive; ``tables`` (file name -> table) and ``files`` (file name,
    relative to the cut's folder -> bytes: figures, the report) go to the cut's folder."""

    value: Any
    tables: dict[str, Table] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def write_table(folder: Path, file: str, table: Table, cut: dt.date) -> list[Path]:
    """``folder/file`` and, for an ADaM dataset that meets its contract, its XPT."""
    frame = table.frame if table.problems else table.frame.select(table.schema.column_names())
    path = folder / file
    (write_parquet if file.endswith(".parquet") else write_csv)(frame, path)
    written = [path]
    adam = ADAM_BY_OUTPUT.get(file)
    if adam is not None and not table.problems:
        ordered = frame if adam.in_key_order else sorted_by_keys(frame, adam.keys)
        write_xpt(ordered, table.schema, adam.name, adam.label, path.with_name(adam.xpt), cut)
        written.append(path.with_name(adam.xpt))
    return written


def sorted_by_keys(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """``frame`` sorted by ``keys`` as the XPT's reader sorts them: a coded column held as
    a category by its text, not by its codes' order of arrival (ADTTE's PARAMCD)."""
    coded = (pl.Categorical, pl.Enum)
    by = [pl.col(k).cast(pl.String) if isinstance(frame.schema[k], coded) else pl.col(k) for k in keys]
    return frame.sort(by, maintain_order=True)


def write_published(folder: Path, bundle: ToPublish, cut: dt.date) -> list[Path]:
    """Every file of ``bundle`` into ``folder`` (a run's working folder)."""
    written: list[Path] = []
    for file, table in bundle.tables.items():
        written += write_table(folder, file, table, cut)
    for name, data in bundle.files.items():
        written.append(atomic_write_bytes(folder / name, data))
    return written
