"""ADRS: response by visit, best overall response by day 28 and ORR3M (endpoints.md, Response)."""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.conduct import scheduled_visit
from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.flags import yn_flag
from trial_outcomes.analysis.frames import require, scan, sorted_taking, stacked
from trial_outcomes.analysis.response import PENDING, attributable_assessments, mrd_negative
from trial_outcomes.contracts import with_study

#: the ADSL columns ADRS reads
ADSL_COLUMNS = (
    "USUBJID",
    "SAFFL",
    "TRTSDT",
    "STRATUM",
    "ATTRENDT",
    "BOR28",
    "BORDT",
    "BORDY",
    "BORMRD",
    "CRFL",
    "MRDNEGFL",
    "ORR3MFL",
    "ORR3MDT",
    "ORR3MPFL",
)


def derive_adrs(records: Records, adsl: pl.DataFrame) -> pl.DataFrame:
    """ADRS from the records at the cut and ADSL (infused subjects):

    * ``OVRLRESP``: every assessment with its study day, MRD, ``ANL01FL`` (Y: before
      the first HSCT or new therapy, so it counts toward a CAR-T response) and
      ``CRFL`` (a CAR-T remission at that assessment);
    * ``BOR28``: one row per infused subject, ``AVALC`` the best response by day 28
      (or ``PENDING``), ``CRFL`` remission, ``MRDNEGFL`` MRD-negative remission;
    * ``ORR3M``: one row per infused subject, ``AVALC`` ``Y``/``N`` (CR/CRi within 3
      months, maintained 28 days) or ``PENDING``.
    """
    require(adsl, "ADSL", *ADSL_COLUMNS)
    infused = adsl.filter(pl.col("SAFFL") == "Y")
    subjects = infused.select(pl.col("USUBJID").alias("subject_id"), "TRTSDT", "STRATUM", "ATTRENDT")
    visits = _visits(records, subjects)
    best = infused.select(
        "USUBJID",
        pl.lit("BOR28").alias("PARAMCD"),
        pl.lit("Best overall response by day 28 (day 21-42)").alias("PARAM"),
        pl.lit("D28").alias("AVISIT"),
        pl.col("BORDT").alias("ADT"),
        pl.col("BORDY").alias("ADY"),
        pl.col("BOR28").alias("AVALC"),
        pl.col("BORMRD").alias("MRDPCT"),
        "MRDNEGFL",
        "CRFL",
        pl.lit("Y").alias("ANL01FL"),
    )
    orr3m = infused.select(
        "USUBJID",
        pl.lit("ORR3M").alias("PARAMCD"),
        pl.lit("CR/CRi within 3 months, maintained 28 days").alias("PARAM"),
        pl.lit("M3").alias("AVISIT"),
        pl.col("ORR3MDT").alias("ADT"),
        (pl.col("ORR3MDT") - pl.col("TRTSDT")).dt.total_days().alias("ADY"),
        pl.when(pl.col("ORR3MPFL") == "Y").then(pl.lit(PENDING)).otherwise(pl.col("ORR3MFL")).alias("AVALC"),
        pl.lit(None, dtype=pl.Float64).alias("MRDPCT"),
        pl.lit(None, dtype=pl.String).alias("MRDNEGFL"),
        pl.col("ORR3MFL").alias("CRFL"),
        pl.lit("Y").alias("ANL01FL"),
    )
    # one frame, then in order, a column at a time: 7.8 million rows at a million subjects
    parts = [visits, best, orr3m]
    del visits, best, orr3m
    schema = pl.concat([part.head(0) for part in parts], how="vertical_relaxed").schema
    parts = [part.cast(dict(schema)) for part in parts]  # type: ignore[arg-type]
    ordered = sorted_taking([stacked(parts)], "USUBJID", "PARAMCD", "ADT", nulls_last=True)
    sequence = pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("USUBJID").alias("ASEQ")
    return with_study(ordered.with_columns(sequence).select("USUBJID", "ASEQ", pl.exclude("USUBJID", "ASEQ")))


def _visits(records: Records, subjects: pl.DataFrame) -> pl.DataFrame:
    """The ``OVRLRESP`` rows: every assessment of ``subjects``, read from the records without
    the columns ADRS does not carry (the relapse's site and CD19, the provenance), and
    with the intermediate columns gone when this returns (5.8 million assessments at a
    million subjects)."""
    assessments = scan(records, "assessments").drop(
        "relapse_site", "cd19_at_relapse", "_source_file", "_source_row", strict=False
    )
    # one query from the records to the rows (the records, then the assessments joined from
    # them, then the rows, were three copies)
    assessed = attributable_assessments(assessments, subjects)
    return assessed.select(
        pl.col("subject_id").alias("USUBJID"),
        pl.lit("OVRLRESP").alias("PARAMCD"),
        pl.lit("Overall response by visit").alias("PARAM"),
        scheduled_visit(pl.col("visit")).alias("AVISIT"),
        pl.col("assessment_date").alias("ADT"),
        "ADY",
        pl.col("response").alias("AVALC"),
        pl.col("mrd_pct").alias("MRDPCT"),
        pl.when(pl.col("mrd_pct").is_not_null()).then(yn_flag(mrd_negative(pl.col("mrd_pct")))).alias("MRDNEGFL"),
        yn_flag(pl.col("REMISSION") & pl.col("_attributable")).alias("CRFL"),
        "ANL01FL",
    ).collect()
