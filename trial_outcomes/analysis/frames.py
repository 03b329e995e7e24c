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
