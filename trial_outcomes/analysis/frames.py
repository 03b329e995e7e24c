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
    whole. Records held in memory are queried where they are."""
    lazy = getattr(records, "scan", None)
    return lazy(name) if callable(lazy) else records[name].lazy()
