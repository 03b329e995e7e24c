"""Rates with exact confidence intervals: response and adverse-event summaries."""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.adtte import SUBGROUP_COLUMNS


def clopper_pearson(x: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Exact binomial CI: lower = Beta(a/2; x, n-x+1), upper = Beta(1-a/2; x+1, n-x),
    with 0 and 1 at the edges. Example: 8/10 gives (0.443905, 0.974789)."""
    if n == 0:
        return None, None
    from scipy.stats import beta

    alpha = 1 - level
    lower = 0.0 if x == 0 else float(beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(beta.ppf(1 - alpha / 2, x + 1, n - x))
    return lower, upper


RESPONSE_PARAMETERS = {
    "CR/CRi by day 28": pl.col("BOR28").is_in(["CR", "CRi"]),
    "CR by day 28": pl.col("BOR28") == "CR",
    "MRD-negative CR/CRi by day 28": pl.col("MRDNEGFL") == "Y",
}


def _groups(adsl: pl.DataFrame, subgroups: tuple[str, ...]):
    yield "all", "all", adsl
    for var in subgroups:
        for (level,), part in sorted(adsl.group_by(var), key=lambda kv: str(kv[0][0])):
            yield var, "" if level is None else str(level), part


def response_summary(adsl: pl.DataFrame, subgroups: tuple[str, ...] = SUBGROUP_COLUMNS) -> pl.DataFrame:
    """Day-28 response rates over the efficacy set (no assessment = non-responder),
    overall and by subgroup, with Clopper-Pearson 95 % CIs. ``n_window_open`` counts
    subjects whose day-28 window had not closed at the cut (counted as non-responders)."""
    eff = adsl.filter(pl.col("EFFFL") == "Y")
    rows = []
    for parameter, responder in RESPONSE_PARAMETERS.items():
        for var, level, part in _groups(eff, subgroups):
            n = part.height
            x = int(part.select(responder.fill_null(False).sum()).item())
            lcl, ucl = clopper_pearson(x, n)
            rows.append(
                {
                    "parameter": parameter,
                    "population": "EFFFL",
                    "group_var": var,
                    "group": level,
                    "n": n,
                    "responders": x,
                    "rate": x / n if n else None,
                    "rate_lcl": lcl,
                    "rate_ucl": ucl,
                    "n_window_open": int((part["WINOPEN"] == "Y").sum()),
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "parameter": pl.String,
            "population": pl.String,
            "group_var": pl.String,
            "group": pl.String,
            "n": pl.Int64,
            "responders": pl.Int64,
            "rate": pl.Float64,
            "rate_lcl": pl.Float64,
            "rate_ucl": pl.Float64,
            "n_window_open": pl.Int64,
        },
    )


def ae_summary(worst: pl.DataFrame, n_safety: int) -> pl.DataFrame:
    """Subjects by term and worst grade among treatment-emergent AEs, over the
    safety set: any grade, grade 3+, and each worst grade 1-5, with percentages.
    The first row, ``Any adverse event``, counts each subject once."""
    any_term = (
        worst.group_by("USUBJID")
        .agg(pl.col("WORSTGR").max())
        .with_columns(pl.lit("Any adverse event").alias("AEDECOD"))
    )
    both = pl.concat([any_term.select("USUBJID", "AEDECOD", "WORSTGR"), worst.select("USUBJID", "AEDECOD", "WORSTGR")])
    grade_counts = [(pl.col("WORSTGR") == g).sum().cast(pl.Int64).alias(f"n_grade{g}") for g in range(1, 6)]
    table = both.group_by("AEDECOD").agg(
        pl.len().cast(pl.Int64).alias("n_any"),
        (pl.col("WORSTGR") >= 3).sum().cast(pl.Int64).alias("n_grade3plus"),
        *grade_counts,
    )
    pct = lambda c: (pl.col(c) / n_safety * 100).round(1) if n_safety else pl.lit(None, dtype=pl.Float64)  # noqa: E731
    table = table.with_columns(
        pl.lit(n_safety, dtype=pl.Int64).alias("n_safety"),
        pct("n_any").alias("pct_any"),
        pct("n_grade3plus").alias("pct_grade3plus"),
        (pl.col("AEDECOD") == "Any adverse event").alias("_first"),
    ).sort(["_first", "n_any", "AEDECOD"], descending=[True, True, False])
    return table.select(
        pl.col("AEDECOD").alias("term"),
        "n_safety",
        "n_any",
        "pct_any",
        "n_grade3plus",
        "pct_grade3plus",
        *[f"n_grade{g}" for g in range(1, 6)],
    )
