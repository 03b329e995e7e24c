"""Adverse-event tables over the safety set (tern's AET01/AET02/AET04 in spirit):
by preferred term and worst grade, by system organ class and preferred term for
all, serious, related and fatal TEAEs, and adverse events of special interest.

Subjects are counted once per row at their worst grade; percentages are of the
safety set. Only treatment-emergent AEs (``TRTEMFL`` = Y) are tabulated.
"""

from __future__ import annotations

import dataframely as dy
import polars as pl

from trial_outcomes.analysis.adae import worst_grade
from trial_outcomes.analysis.aesi import CATEGORIES
from trial_outcomes.analysis.frames import streamed
from trial_outcomes.contracts import AesiSummary, AeSocSummary, AeSummary

ANY_AE, ANY_SOC, ANY_TERM = "Any adverse event", "Any SOC", "Any term"
#: table -> the TEAEs it counts
SOC_TABLES = {
    "All TEAEs": pl.lit(True),
    "Serious TEAEs": pl.col("AESER") == "Y",
    "Related TEAEs": pl.col("AEREL") == "Y",
    "Fatal TEAEs": pl.col("AETOXGR") == 5,
}


def _schema(schema: type[dy.Schema]) -> pl.Schema:
    return pl.Schema({name: col.dtype for name, col in schema.columns().items()})


def _pct(column: str, n_safety: int) -> pl.Expr:
    return (pl.col(column) / n_safety * 100).round(1) if n_safety else pl.lit(None, dtype=pl.Float64)


#: the ADAE columns the tables read (only these are copied)
TABLE_COLUMNS = ("USUBJID", "TRTEMFL", "AEDECOD", "AESOC", "AETOXGR", "AESER", "AEREL", "AESIFL", "AESICAT")
#: the ADSL columns the tables read: the safety set
SAFETY_COLUMNS = ("USUBJID", "SAFFL")


def teae_safety(adae: pl.DataFrame, adsl: pl.DataFrame) -> tuple[pl.LazyFrame, int]:
    """Treatment-emergent AEs of safety-set subjects (the columns the tables read), as a
    query that each table runs with its own filter and counts (``frames.streamed``: 4
    million AEs at a million subjects were copied for each of the six tables), and the
    safety-set N."""
    safety = adsl.filter(pl.col("SAFFL") == "Y").select("USUBJID")
    narrow = adae.lazy().select(c for c in TABLE_COLUMNS if c in adae.columns)
    teae = narrow.filter(pl.col("TRTEMFL") == "Y").join(safety.lazy(), on="USUBJID", how="semi")
    return teae, safety.height


def _or_zero_row(counts: pl.DataFrame, **labels: str) -> pl.DataFrame:
    """``counts``, or when no TEAE made a row, its first row alone with zero counts
    (an empty table still says there was no adverse event)."""
    if not counts.is_empty():
        return counts
    return pl.DataFrame([[labels.get(c, 0) for c in counts.columns]], schema=counts.schema, orient="row")


def ae_summary(adae: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """Subjects by preferred term and worst grade: any grade, grade 3+, and each worst
    grade 1-5. The first row, ``Any adverse event``, counts each subject once."""
    teae, n_safety = teae_safety(adae, adsl)
    worst = streamed(worst_grade(teae, "AEDECOD"))
    any_term = worst.group_by("USUBJID").agg(pl.col("WORSTGR").max()).with_columns(pl.lit(ANY_AE).alias("AEDECOD"))
    both = pl.concat([any_term.select("USUBJID", "AEDECOD", "WORSTGR"), worst.select("USUBJID", "AEDECOD", "WORSTGR")])
    table = both.group_by("AEDECOD").agg(
        pl.len().cast(pl.Int64).alias("n_any"),
        (pl.col("WORSTGR") >= 3).sum().cast(pl.Int64).alias("n_grade3plus"),
        *[(pl.col("WORSTGR") == g).sum().cast(pl.Int64).alias(f"n_grade{g}") for g in range(1, 6)],
    )
    table = (
        _or_zero_row(table, AEDECOD=ANY_AE)
        .with_columns(
            pl.lit(n_safety, dtype=pl.Int64).alias("n_safety"),
            _pct("n_any", n_safety).alias("pct_any"),
            _pct("n_grade3plus", n_safety).alias("pct_grade3plus"),
            (pl.col("AEDECOD") == ANY_AE).alias("_first"),
        )
        .sort(["_first", "n_any", "AEDECOD"], descending=[True, True, False])
    )
    return table.rename({"AEDECOD": "term"}).select(list(_schema(AeSummary))).cast(_schema(AeSummary))


def _soc_rows(teae: pl.LazyFrame, name: str, n_safety: int) -> pl.DataFrame:
    worst = streamed(worst_grade(teae, "AESOC", "AEDECOD")).lazy()
    levels = [
        worst.group_by("USUBJID")
        .agg(pl.col("WORSTGR").max())
        .with_columns(
            pl.lit(ANY_SOC).alias("soc"), pl.lit(ANY_TERM).alias("term"), pl.lit("overall").alias("row_type")
        ),
        worst.group_by("USUBJID", "AESOC")
        .agg(pl.col("WORSTGR").max())
        .rename({"AESOC": "soc"})
        .with_columns(pl.lit(ANY_TERM).alias("term"), pl.lit("soc").alias("row_type")),
        worst.rename({"AESOC": "soc", "AEDECOD": "term"}).with_columns(pl.lit("term").alias("row_type")),
    ]
    counts = streamed(
        pl.concat([lv.select("USUBJID", "soc", "term", "row_type", "WORSTGR") for lv in levels])
        .group_by("soc", "term", "row_type")
        .agg(
            pl.len().cast(pl.Int64).alias("n_any"),
            (pl.col("WORSTGR") >= 3).sum().cast(pl.Int64).alias("n_grade3plus"),
            (pl.col("WORSTGR") == 5).sum().cast(pl.Int64).alias("n_grade5"),
        )
    )
    counts = _or_zero_row(counts, soc=ANY_SOC, term=ANY_TERM, row_type="overall")
    soc_size = counts.filter(pl.col("row_type") == "soc").select("soc", pl.col("n_any").alias("_soc_n"))
    ordered = (
        counts.join(soc_size, on="soc", how="left")
        .with_columns(
            pl.col("row_type").replace_strict({"overall": 0, "soc": 1, "term": 2}, return_dtype=pl.Int8).alias("_rank"),
            pl.col("_soc_n").fill_null(0),
        )
        .with_columns(pl.when(pl.col("_rank") == 0).then(pl.lit(10**9)).otherwise(pl.col("_soc_n")).alias("_soc_n"))
    )
    ordered = ordered.sort(["_soc_n", "soc", "_rank", "n_any", "term"], descending=[True, False, False, True, False])
    return ordered.with_columns(
        pl.lit(name).alias("table"),
        pl.lit(n_safety, dtype=pl.Int64).alias("n_safety"),
        _pct("n_any", n_safety).alias("pct_any"),
        _pct("n_grade3plus", n_safety).alias("pct_grade3plus"),
        _pct("n_grade5", n_safety).alias("pct_grade5"),
    ).select(list(_schema(AeSocSummary)))


def ae_soc_summary(adae: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """``ae_soc_summary.csv``: one table per ``SOC_TABLES`` entry (the ``table`` column),
    each with the overall row, then each SOC (largest first) followed by its terms,
    subjects counted at their worst grade: any, >= 3, and 5. Without a coded SOC
    every term sits under "Not coded"."""
    teae, n_safety = teae_safety(adae, adsl)
    parts = [_soc_rows(teae.filter(condition), name, n_safety) for name, condition in SOC_TABLES.items()]
    return pl.concat(parts).cast(_schema(AeSocSummary))


def aesi_summary(adae: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """``aesi_summary.csv``: per AESI category, subjects with any such TEAE and with a
    worst grade >= 3, and the number of events; every category appears, with zeros
    when none occurred."""
    teae, n_safety = teae_safety(adae, adsl)
    aesi = teae.filter(pl.col("AESIFL") == "Y")
    counts = streamed(
        aesi.group_by("AESICAT")
        .agg(
            pl.col("USUBJID").n_unique().cast(pl.Int64).alias("n_any"),
            pl.col("USUBJID").filter(pl.col("AETOXGR") >= 3).n_unique().cast(pl.Int64).alias("n_grade3plus"),
            pl.len().cast(pl.Int64).alias("n_events"),
        )
        .rename({"AESICAT": "category"})
    )
    table = (
        pl.DataFrame({"category": list(CATEGORIES)})
        .join(counts, on="category", how="left", maintain_order="left")  # the rows in CATEGORIES' order
        .with_columns(
            pl.col("n_any", "n_grade3plus", "n_events").fill_null(0),
            pl.lit(n_safety, dtype=pl.Int64).alias("n_safety"),
        )
        .with_columns(_pct("n_any", n_safety).alias("pct_any"), _pct("n_grade3plus", n_safety).alias("pct_grade3plus"))
    )
    return table.select(list(_schema(AesiSummary))).cast(_schema(AesiSummary))
