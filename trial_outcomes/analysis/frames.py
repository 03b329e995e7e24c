"""Small helpers every derivation uses: the columns it needs, asserted up front
(admiral's habit: a derivation names the missing column instead of failing
somewhere inside polars)."""

from __future__ import annotations

import polars as pl


class MissingColumnsError(ValueError):
    """A derivation was given a dataset without a column it needs."""


def require(frame: pl.DataFrame, dataset: str, *columns: str) -> pl.DataFrame:
    """``frame`` itself when it has every one of ``columns``; else a clear error."""
    missing = [c for c in columns if c not in frame.columns]
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
