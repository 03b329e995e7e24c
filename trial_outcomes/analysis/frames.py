"""Small helpers every derivation uses: the columns it needs, asserted up front
(admiral's habit: a derivation names the missing column instead of failing
somewhere inside polars)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import polars as pl

AnyFrame = TypeVar("AnyFrame", pl.DataFrame, pl.LazyFrame)


class MissingColumnsError(ValueError):
    """A derivation was given a dataset without a column it needs."""


def require(frame: AnyFrame, dataset: str, *columns: str) -> AnyFrame:
    """``frame`` itself when it has every one of ``columns``; else a clear error."""
    names = frame.collect_schema().names()
    missing = [c for c in columns if c not in names]
    if missing:
        raise MissingColumnsError(f"{dataset} lacks the column(s) {', '.join(missing)} that this derivation needs")
    return frame


def streamed(query: pl.LazyFrame) -> pl.DataFrame:
    """``query`` run by polars' streaming engine, batch by batch: a per-subject aggregate
    of millions of record rows (the last date known alive over 20 million dated rows at a
    million subjects) holds its groups, not the rows (1.5 GB -> 30 MB). For
    aggregations whose result does not depend on the rows' order (min, max, count, or
    first after a sort without ties): the groups come in no set order, as in the
    in-memory engine."""
    return query.collect(engine="streaming")


def scan(records: Mapping[str, pl.DataFrame], name: str) -> pl.LazyFrame:
    """The record type ``name`` as a lazy query. Records a step loaded from the run's
    store (``io.records.Frames``) are scanned from their stored file, so that a query
    reads the columns it selects and, run by ``streamed``, a batch at a time: the last
    date known alive reads two of the adverse events' columns, not the record type
    whole. Records held in memory are queried where they are. Collect the query before
    the records are let go (``Frames.scan``): a derivation returns frames, not queries."""
    lazy = getattr(records, "scan", None)
    return lazy(name) if callable(lazy) else records[name].lazy()


def stacked(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """``pl.concat(parts)`` as one contiguous frame (a Parquet file's row groups follow a
    frame's chunks), made a column at a time: each column is copied into one piece and
    dropped from the parts, so the parts and the result are never held whole together
    (ADTTE's 8 million rows at a million subjects held twice were 3.5 GB). Empties
    ``parts``; the parts have the same columns in the same order."""
    if not parts:
        raise ValueError("no parts to stack")
    columns = []
    for name in parts[0].columns:
        columns.append(pl.concat([part.get_column(name) for part in parts], rechunk=True))
        for i, part in enumerate(parts):  # in place: the caller's list holds the parts too
            parts[i] = part.drop(name)
    parts.clear()
    return pl.DataFrame(columns)


def sorted_taking(parts: list[pl.DataFrame], *by: str, nulls_last: bool = False) -> pl.DataFrame:
    """The one frame in ``parts`` sorted by ``by``, as ``frame.sort(*by, nulls_last=...,
    maintain_order=True)`` (rows that tie keep their order), made a column at a time from
    the rows' order, each column dropped from the frame once it is copied: the frame and
    its sorted copy are never held whole together (ADAE's 4 million rows at a million
    subjects). Empties ``parts``, the frame's only holder."""
    (frame,) = parts
    parts.clear()
    order = frame.select(pl.arg_sort_by(*by, nulls_last=nulls_last, maintain_order=True)).to_series()
    columns = []
    for name in frame.columns:
        columns.append(frame.get_column(name).gather(order))
        frame = frame.drop(name)
    return pl.DataFrame(columns)


def beside(parts: list[pl.DataFrame], on: str) -> pl.DataFrame:
    """The first frame in ``parts`` with the columns of each other one beside it, matched
    on ``on`` as by a left join (each part has at most one row per key; a row without
    a match has nulls), the first frame's rows in their order. Each part is aligned to
    the first frame's keys on its own and the columns are put side by side, not copied:
    a chain of left joins copies the growing frame at each join (ADSL's 87 columns at a
    million subjects, nine times). Empties ``parts``."""
    first = parts[0]
    keys = first.select(on)
    columns = [first]
    for i in range(1, len(parts)):
        aligned = keys.join(parts[i], on=on, how="left", maintain_order="left")
        parts[i] = keys.head(0)  # the part leaves memory once aligned
        if aligned.height != keys.height:
            raise ValueError(f"a part of the frame has more than one row for some {on}")
        columns.append(aligned.drop(on))
    parts.clear()
    return pl.concat(columns, how="horizontal")
