"""ASTCT consensus grading of CRS from daily monitoring (Lee et al., BBMT 2019).

endpoints.md: CRS needs fever >= 38.0 C (or fever masked by antipyretic or
anticytokine therapy). Grade 1: fever only. Grade 2: hypotension not needing
vasopressors and/or low-flow oxygen (<= 6 L/min). Grade 3: one vasopressor
and/or high-flow oxygen. Grade 4: several vasopressors and/or positive
pressure. The more severe of hypotension and hypoxia sets the grade. Death
from CRS is grade 5. Worked examples: tests/analysis/test_adae_rules.py.
"""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.frames import require
from trial_outcomes.analysis.terms import is_crs

FEVER_C = 38.0
HYPOTENSION_GRADE = {"NONE": 1, "FLUIDS": 2, "ONE_VASOPRESSOR": 3, "MULTI_VASOPRESSOR": 4}
OXYGEN_GRADE = {"NONE": 1, "LOW_FLOW": 2, "HIGH_FLOW": 3, "POSITIVE_PRESSURE": 4}


def astct_daily_grade(monitoring: pl.DataFrame, crs_treated: pl.DataFrame) -> pl.DataFrame:
    """Grade 0-4 per subject and day. ``crs_treated`` lists subjects (``subject_id``)
    given tocilizumab or corticosteroids for CRS: after their first febrile day,
    a day without fever still counts as CRS (fever masked by treatment).

    Worked examples: 38.0 C alone is grade 1; 37.9 C with fluids is grade 0
    untreated; FLUIDS + HIGH_FLOW is grade 3.
    """
    require(monitoring, "crs_monitoring", "subject_id", "obs_date", "max_temp_c", "hypotension", "oxygen")
    treated = crs_treated.select("subject_id").unique().with_columns(pl.lit(True).alias("_treated"))
    fever = pl.col("max_temp_c") >= FEVER_C
    return (
        monitoring.sort("subject_id", "obs_date")
        .join(treated, on="subject_id", how="left", maintain_order="left")  # the days in order for cum_max
        .with_columns(fever.cum_max().over("subject_id").alias("_had_fever"))
        .with_columns(
            (fever | (pl.col("_treated").fill_null(False) & pl.col("_had_fever"))).alias("CRS_DAY"),
            pl.max_horizontal(
                pl.col("hypotension").replace_strict(HYPOTENSION_GRADE, return_dtype=pl.Int8),
                pl.col("oxygen").replace_strict(OXYGEN_GRADE, return_dtype=pl.Int8),
            ).alias("_organ"),
        )
        .with_columns(pl.when(pl.col("CRS_DAY")).then(pl.col("_organ")).otherwise(0).cast(pl.Int8).alias("ASTCT_GRADE"))
        .select("subject_id", "obs_date", "max_temp_c", "hypotension", "oxygen", "CRS_DAY", "ASTCT_GRADE")
    )


def derived_grade(daily: pl.DataFrame, deaths: pl.DataFrame, death_category: str, name: str) -> pl.DataFrame:
    """Worst derived grade per monitored subject; 5 when the subject died of the
    syndrome (``deaths``: ``subject_id, DTHCAT`` with ``death_category``), monitored or
    not: ASTCT's grade 5 is the death itself. Before, a death from CRS of a subject
    without monitoring days was no derived grade, so the adjudicated grade stayed at
    the AE's (a red team's grade 3), and the safety rule missed it."""
    worst = daily.group_by("subject_id").agg(pl.col("ASTCT_GRADE").max().cast(pl.Int8).alias(name))
    died = deaths.filter(pl.col("DTHCAT") == death_category).select("subject_id").unique()
    unmonitored = died.join(worst, on="subject_id", how="anti").with_columns(pl.lit(None, pl.Int8).alias(name))
    return pl.concat([worst, unmonitored]).with_columns(
        pl.when(pl.col("subject_id").is_in(died["subject_id"].implode()))
        .then(5)
        .otherwise(pl.col(name))
        .cast(pl.Int8)
        .alias(name)
    )


def grade_discrepancies(reported: pl.DataFrame, derived: pl.DataFrame, prefix: str) -> pl.DataFrame:
    """Monitored subjects whose reported worst grade (``<prefix>_REPORTED``, 0 when none
    was reported) differs from the grade derived from monitoring (``<prefix>_DERIVED``)."""
    rep, der = f"{prefix}_REPORTED", f"{prefix}_DERIVED"
    both = (
        derived.rename({derived.columns[1]: der})
        .join(reported.rename({reported.columns[1]: rep}), on="subject_id", how="left")
        .with_columns(pl.col(rep).fill_null(0).cast(pl.Int8), pl.col(der).cast(pl.Int8))
    )
    return (
        both.filter(pl.col(rep) != pl.col(der)).select(pl.col("subject_id").alias("USUBJID"), rep, der).sort("USUBJID")
    )


def crs_treated_subjects(adverse_events: pl.DataFrame) -> pl.DataFrame:
    return (
        adverse_events.filter(is_crs(pl.col("term")) & (pl.col("tocilizumab") | pl.col("corticosteroids")))
        .select("subject_id")
        .unique()
    )
