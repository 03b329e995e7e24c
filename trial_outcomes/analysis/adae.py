"""ADAE and per-subject CRS/ICANS details (endpoints.md, Adverse events)."""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.adsl import study_day, treatment_dates
from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.flags import yn_flag, yn_value
from trial_outcomes.schema import CRS_TERM, ICANS_TERM


def treatment_emergent(onset: pl.Expr, ld_start: pl.Expr) -> pl.Expr:
    """Treatment-emergent: onset on or after the first lymphodepletion day."""
    return (onset >= ld_start).fill_null(False)


def ae_duration_days(onset: pl.Expr, resolution: pl.Expr) -> pl.Expr:
    """Duration in days counting both the onset and the resolution day
    (onset day 3, resolved day 5: 3 days); empty while ongoing."""
    return (resolution - onset).dt.total_days() + 1


def derive_adae(records: Records) -> pl.DataFrame:
    """One row per AE known at the cut: study day of onset (day 0 = infusion),
    ``TRTEMFL``, ``CRSFL``/``ICANSFL``, duration, and ``WORSTFL`` marking one row with
    the subject's worst grade of that term (the earliest such onset)."""
    dates = treatment_dates(records)
    ae = records["adverse_events"].join(dates, on="subject_id", how="left")
    out = ae.select(
        pl.col("subject_id").alias("USUBJID"),
        pl.col("ae_id").alias("AESPID"),
        pl.col("term").alias("AEDECOD"),
        pl.col("onset_date").alias("ASTDT"),
        pl.col("resolution_date").alias("AENDT"),
        study_day(pl.col("onset_date")).alias("ASTDY"),
        ae_duration_days(pl.col("onset_date"), pl.col("resolution_date")).alias("ADURN"),
        yn_flag(pl.col("resolution_date").is_null()).alias("AEONGO"),
        pl.col("grade").alias("AETOXGR"),
        yn_value(pl.col("serious")).alias("AESER"),
        yn_value(pl.col("related")).alias("AEREL"),
        yn_value(pl.col("tocilizumab")).alias("AETOCI"),
        yn_value(pl.col("corticosteroids")).alias("AESTER"),
        yn_flag(treatment_emergent(pl.col("onset_date"), pl.col("LDSTDT"))).alias("TRTEMFL"),
        yn_flag(pl.col("term") == CRS_TERM).alias("CRSFL"),
        yn_flag(pl.col("term") == ICANS_TERM).alias("ICANSFL"),
    ).sort("USUBJID", "AEDECOD", "AETOXGR", "ASTDT", "AESPID", descending=[False, False, True, False, False])
    worst = pl.int_range(pl.len()).over("USUBJID", "AEDECOD", "TRTEMFL") == 0
    return out.with_columns(yn_flag(worst).alias("WORSTFL")).sort("USUBJID", "ASTDT", "AESPID")


def syndrome_details(adae: pl.DataFrame, flag: str, prefix: str) -> pl.DataFrame:
    """Per subject with the syndrome (``flag`` = CRSFL or ICANSFL), treatment-emergent:
    worst grade, onset day of the first episode, total duration (empty if any
    episode is ongoing), tocilizumab and corticosteroid use."""
    rows = adae.filter((pl.col(flag) == "Y") & (pl.col("TRTEMFL") == "Y"))
    return rows.group_by("USUBJID").agg(
        pl.col("AETOXGR").max().alias(f"{prefix}GR"),
        pl.col("ASTDY").min().alias(f"{prefix}ONDY"),
        pl.when((pl.col("AEONGO") == "N").all()).then(pl.col("ADURN").sum()).alias(f"{prefix}DUR"),
        yn_flag((pl.col("AETOCI") == "Y").any()).alias(f"{prefix}TOCI"),
        yn_flag((pl.col("AESTER") == "Y").any()).alias(f"{prefix}STER"),
    )


def worst_grade_by_term(adae: pl.DataFrame) -> pl.DataFrame:
    """Worst grade per subject and term among treatment-emergent AEs."""
    return (
        adae.filter(pl.col("TRTEMFL") == "Y")
        .group_by("USUBJID", "AEDECOD")
        .agg(pl.col("AETOXGR").max().alias("WORSTGR"))
    )
