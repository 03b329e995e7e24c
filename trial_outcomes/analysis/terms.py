"""Which adverse-event terms are CRS and which are ICANS (issue 21, endpoints.md
Adverse events).

An EDC export spells the syndromes many ways: "Cytokine Release Syndrome",
"CRS", "cytokine-release syndrome", "Immune effector cell–associated
neurotoxicity syndrome", "ICANS", older protocols' "CRES". Matching one exact,
case-sensitive spelling once made an export that capitalised the words blind to
every CRS, and the safety stopping rule with it. Here a term is first
normalised (Unicode NFKC, case folded, every run of characters that are neither
letters nor digits made one space, trimmed) and then looked up among the
MedDRA preferred term, its usual synonyms and abbreviations below. The match is
exact after normalisation, never a substring: "CRS-like fever" or "history of
CRS" are not the syndrome, and are left for the data manager to code.

ADAE keeps the verbatim term (``AETERM``) and writes the canonical preferred
term in ``AEDECOD`` for the syndromes, so the tables count one term; the report
lists every verbatim spelling that was mapped (``mapped_terms``).
"""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.frames import streamed
from trial_outcomes.schema import CRS_TERM, ICANS_TERM

CRS_SPELLINGS = frozenset(
    {
        "cytokine release syndrome",
        "crs",
        "cytokine release syndrome crs",
        "crs cytokine release syndrome",
        "cytokine storm",
        "cytokine release",
    }
)
ICANS_SPELLINGS = frozenset(
    {
        "immune effector cell associated neurotoxicity syndrome",
        "immune effector cell associated neurotoxicity syndrome icans",
        "icans immune effector cell associated neurotoxicity syndrome",
        "immune effector cell associated neurotoxicity",
        "immune effector cell neurotoxicity syndrome",
        "icans",
        "car t cell related encephalopathy syndrome",
        "car t related encephalopathy syndrome",
        "cres",
    }
)


def normalised(term: pl.Expr) -> pl.Expr:
    """NFKC, lower case, non-alphanumeric runs as one space, trimmed."""
    return term.str.normalize("NFKC").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()


def _syndrome_of(term: pl.Expr) -> pl.Expr:
    key = normalised(term)
    return (
        pl.when(key.is_in(list(CRS_SPELLINGS)))
        .then(pl.lit("CRS"))
        .when(key.is_in(list(ICANS_SPELLINGS)))
        .then(pl.lit("ICANS"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def _each_distinct(values: pl.Series) -> pl.Series:
    """``_syndrome_of`` each distinct term once, given back to every row in order."""
    distinct = pl.DataFrame({"term": values.unique()})
    found = distinct.with_columns(_syndrome_of(pl.col("term")).alias("syndrome"))
    rows = pl.DataFrame({"term": values}).join(found, on="term", how="left", nulls_equal=True, maintain_order="left")
    return rows["syndrome"]


def syndrome(term: pl.Expr) -> pl.Expr:
    """``CRS``, ``ICANS`` or null for an AE term. Each distinct term is normalised once:
    an export has a few dozen terms over millions of AE rows (the normalisation of every
    row, three times per ADAE, was half of ADAE's time at a million subjects)."""
    return term.map_batches(_each_distinct, return_dtype=pl.String, is_elementwise=True)


def is_crs(term: pl.Expr) -> pl.Expr:
    return (syndrome(term) == "CRS").fill_null(False)


def is_icans(term: pl.Expr) -> pl.Expr:
    return (syndrome(term) == "ICANS").fill_null(False)


def decoded_term(term: pl.Expr) -> pl.Expr:
    """The canonical preferred term for the syndromes; any other term as written."""
    found = syndrome(term)
    return (
        pl.when(found == "CRS").then(pl.lit(CRS_TERM)).when(found == "ICANS").then(pl.lit(ICANS_TERM)).otherwise(term)
    )


def mapped_terms(adverse_events: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Every verbatim spelling identified as CRS or ICANS, with its number of AE rows:
    ``syndrome, term, n``, sorted. ``adverse_events`` may be a scan of the record: its
    terms are counted a batch at a time (the AEs of a million subjects were read whole
    beside ADAE for this)."""
    counted = (
        adverse_events.lazy()
        .select(pl.col("term"), syndrome(pl.col("term")).alias("syndrome"))
        .filter(pl.col("syndrome").is_not_null())
        .group_by("syndrome", "term")
        .agg(pl.len().cast(pl.Int64).alias("n"))
    )
    return streamed(counted).sort("syndrome", "term")
