"""ADaM Y/N flags from polars booleans (data-contract.md: flags use Y/N)."""

from __future__ import annotations

import polars as pl

_YN = {True: "Y", False: "N"}


def yn_flag(condition: pl.Expr) -> pl.Expr:
    """A derived flag: Y where ``condition`` holds, N otherwise (null included)."""
    return pl.when(condition).then(pl.lit("Y")).otherwise(pl.lit("N"))


def yn_value(value: pl.Expr) -> pl.Expr:
    """A recorded Y/N value recoded from Boolean; null (unknown) stays null."""
    return value.replace_strict(_YN, default=None, return_dtype=pl.String)
