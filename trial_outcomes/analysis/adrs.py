"""ADRS: response by visit and best overall response by day 28 (endpoints.md, Response)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from trial_outcomes.analysis.adsl import REMISSION, WINDOW_FIRST_DAY, WINDOW_LAST_DAY, study_day, treatment_dates
from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.flags import yn_flag

#: best first; RELAPSE is not a day-28 response
RESPONSE_ORDER = ("CR", "CRi", "PR", "NR", "NE")
MRD_NEGATIVE_BELOW = 0.01  # % of nucleated cells


def mrd_negative(mrd: pl.Expr) -> pl.Expr:
    """MRD-negative: ``mrd_pct < 0.01`` (0.01 itself is positive); not done is not negative."""
    return (mrd < MRD_NEGATIVE_BELOW).fill_null(False)


def best_response_day28(records: Records, cut: dt.date) -> pl.DataFrame:
    """One row per infused subject: ``BOR28`` (best of CR > CRi > PR > NR > NE among
    assessments on day 21 to 42), ``BORDT``/``BORDY`` (the first assessment giving it),
    ``CRFL`` (CR/CRi), ``MRDNEGFL`` (MRD-negative CR/CRi at that assessment) and
    ``WINOPEN`` (Y when the window had not closed at the cut and no CR/CRi was seen yet).

    A subject with no assessment in the window has ``BOR28`` = NE and counts as a
    non-responder; the response assessment is the first one in the window with
    the best response.
    """
    day0 = treatment_dates(records).select("subject_id", "TRTSDT")
    rank = {r: i for i, r in enumerate(RESPONSE_ORDER)}
    in_window = (
        records["assessments"]
        .join(day0, on="subject_id", how="inner")
        .with_columns(study_day(pl.col("assessment_date")).alias("ADY"))
        .filter(pl.col("ADY").is_between(WINDOW_FIRST_DAY, WINDOW_LAST_DAY) & pl.col("response").is_in(RESPONSE_ORDER))
        .with_columns(pl.col("response").replace_strict(rank, return_dtype=pl.Int32).alias("_rank"))
        .sort("subject_id", "_rank", "assessment_date")
        .group_by("subject_id", maintain_order=True)
        .first()
    )
    out = day0.join(
        in_window.select("subject_id", "response", "assessment_date", "ADY", "mrd_pct"), on="subject_id", how="left"
    )
    responder = pl.col("BOR28").is_in(REMISSION)
    window_closes = pl.col("TRTSDT") + pl.duration(days=WINDOW_LAST_DAY)
    return (
        out.select(
            "subject_id",
            pl.col("response").fill_null("NE").alias("BOR28"),
            pl.col("assessment_date").alias("BORDT"),
            pl.col("ADY").alias("BORDY"),
            pl.col("mrd_pct").alias("BORMRD"),
        )
        .with_columns(
            yn_flag(responder).alias("CRFL"),
            yn_flag(responder & mrd_negative(pl.col("BORMRD"))).alias("MRDNEGFL"),
        )
        .join(day0, on="subject_id")
        .with_columns(
            yn_flag((window_closes > cut) & ~responder).alias("WINOPEN"),
        )
        .drop("TRTSDT")
    )


def derive_adrs(records: Records, bor: pl.DataFrame) -> pl.DataFrame:
    """ADRS: ``OVRLRESP`` rows (each assessment, with its study day and MRD) and one
    ``BOR28`` row per infused subject."""
    day0 = treatment_dates(records).select("subject_id", "TRTSDT")
    visits = (
        records["assessments"]
        .join(day0, on="subject_id", how="inner")
        .select(
            pl.col("subject_id").alias("USUBJID"),
            pl.lit("OVRLRESP").alias("PARAMCD"),
            pl.lit("Overall response by visit").alias("PARAM"),
            pl.col("visit").alias("AVISIT"),
            pl.col("assessment_date").alias("ADT"),
            study_day(pl.col("assessment_date")).alias("ADY"),
            pl.col("response").alias("AVALC"),
            pl.col("mrd_pct").alias("MRDPCT"),
            pl.when(pl.col("mrd_pct").is_not_null()).then(yn_flag(mrd_negative(pl.col("mrd_pct")))).alias("MRDNEGFL"),
            pl.lit(None, dtype=pl.String).alias("CRFL"),
        )
    )
    best = bor.select(
        pl.col("subject_id").alias("USUBJID"),
        pl.lit("BOR28").alias("PARAMCD"),
        pl.lit("Best overall response by day 28 (day 21-42)").alias("PARAM"),
        pl.lit("D28").alias("AVISIT"),
        pl.col("BORDT").alias("ADT"),
        pl.col("BORDY").alias("ADY"),
        pl.col("BOR28").alias("AVALC"),
        pl.col("BORMRD").alias("MRDPCT"),
        "MRDNEGFL",
        "CRFL",
    )
    return pl.concat([visits, best], how="vertical_relaxed").sort("USUBJID", "PARAMCD", "ADT", nulls_last=True)
