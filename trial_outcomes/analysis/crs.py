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


def _within_treated_episode(days: pl.DataFrame, crs_treated: pl.DataFrame) -> pl.Series:
    """Whether each monitoring day (``days``: ``subject_id``, ``obs_date``, sorted by
    both) lies within one of its subject's treated CRS episodes (``crs_treated``:
    ``subject_id``, ``onset_date``, ``resolution_date``, null while ongoing), both ends
    counted. Each episode start is joined to the latest end of the episodes begun by
    then, so overlapping episodes cover their union."""
    ongoing = pl.date(9999, 12, 31)
    episodes = (
        crs_treated.select("subject_id", "onset_date", pl.col("resolution_date").fill_null(ongoing).alias("_end"))
        .sort("subject_id", "onset_date")
        .with_columns(pl.col("_end").cum_max().over("subject_id").alias("_until"))
        .select("subject_id", "onset_date", "_until")
    )
    joined = days.select("subject_id", "obs_date").join_asof(
        episodes, left_on="obs_date", right_on="onset_date", by="subject_id", check_sortedness=False
    )
    return joined.select((pl.col("obs_date") <= pl.col("_until")).fill_null(False)).to_series()


def astct_daily_grade(monitoring: pl.DataFrame, crs_treated: pl.DataFrame) -> pl.DataFrame:
    """Grade 0-4 per subject and day. ``crs_treated`` lists the spans of CRS episodes in
    which fever is masked by treatment (``subject_id``, ``onset_date``, ``resolution_date``,
    null while ongoing: ``crs_treated_episodes``): a day without fever inside one still
    counts as CRS, the CRS reported by the investigator attesting the fever that its
    diagnosis needs (ASTCT: once treated, fever is no longer needed to grade it). Until
    2026-12-05 the fever had also to be seen on an earlier monitoring day of the subject:
    a treated CRS grade 3 whose monitoring began after the fever (37.4 C on several
    vasopressors) was derived grade 0, and the same day was grade 4 in a subject whose
    unrelated febrile neutropenia four days before supplied the fever (a red team's).
    Outside such a span the fever is needed: until 2026-12-04 the masking never ended,
    so a septic shock on several vasopressors on day 25, after a treated CRS resolved on
    day 6, was graded a CRS grade 4, which the safety stopping rule counts.

    Worked examples: 38.0 C alone is grade 1; 37.9 C with fluids is grade 0
    untreated; FLUIDS + HIGH_FLOW is grade 3.
    """
    require(monitoring, "crs_monitoring", "subject_id", "obs_date", "max_temp_c", "hypotension", "oxygen")
    require(crs_treated, "treated CRS episodes", "subject_id", "onset_date", "resolution_date")
    fever = pl.col("max_temp_c") >= FEVER_C
    days = monitoring.sort("subject_id", "obs_date")  # the days in order for the as-of join
    days = days.with_columns(_within_treated_episode(days, crs_treated).alias("_treated"))
    return (
        days.with_columns(
            (fever | pl.col("_treated")).alias("CRS_DAY"),
            pl.max_horizontal(
                pl.col("hypotension").replace_strict(HYPOTENSION_GRADE, return_dtype=pl.Int8),
                pl.col("oxygen").replace_strict(OXYGEN_GRADE, return_dtype=pl.Int8),
            ).alias("_organ"),
        )
        .with_columns(pl.when(pl.col("CRS_DAY")).then(pl.col("_organ")).otherwise(0).cast(pl.Int8).alias("ASTCT_GRADE"))
        .select("subject_id", "obs_date", "max_temp_c", "hypotension", "oxygen", "CRS_DAY", "ASTCT_GRADE")
    )


#: organ support that, with fever, is a CRS grade 3 or more
SUPPORT_QUERIED_FROM = 3


def support_without_fever(daily: pl.DataFrame) -> pl.DataFrame:
    """The graded monitoring days (``astct_daily_grade``) that needed a vasopressor,
    high-flow oxygen or more, graded 0 for want of fever outside a treated CRS: ASTCT
    also grades a CRS whose fever antipyretics mask, which the monitoring cannot show. A
    red team's day on several vasopressors and positive pressure at 37.7 C, inside an
    untreated grade-1 CRS, left the derived grade 1 and the safety rule without it. A
    query (the adverse event's grade is the investigator's), never a grade: ``subject_id,
    obs_date, max_temp_c, hypotension, oxygen``."""
    organ = pl.max_horizontal(
        pl.col("hypotension").replace_strict(HYPOTENSION_GRADE, return_dtype=pl.Int8),
        pl.col("oxygen").replace_strict(OXYGEN_GRADE, return_dtype=pl.Int8),
    )
    return daily.filter(~pl.col("CRS_DAY") & (organ >= SUPPORT_QUERIED_FROM)).select(
        "subject_id", "obs_date", "max_temp_c", "hypotension", "oxygen"
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


def crs_treated_episodes(adverse_events: pl.DataFrame) -> pl.DataFrame:
    """The spans of CRS episodes in which fever is masked by treatment: ``subject_id``,
    ``onset_date`` (where the masking starts), ``resolution_date`` (where it ends, null
    while ongoing). A CRS treated with tocilizumab or corticosteroids is masked from its
    onset to its end. Another adverse event so treated (dexamethasone for ICANS, the usual
    case) masks a CRS only when it began during the CRS, the treatment then given during
    it, and only while both are open: from its onset to the earlier of the two ends.
    Until 2026-12-05 only the CRS's own row counted: a CRS on several vasopressors
    without fever, under dexamethasone recorded against the ICANS, was no CRS day, and a
    derived grade 4 was missed by the safety rule (a red team's); in that day's first
    version, a rash on corticosteroids from before the CRS, or a one-day transfusion
    reaction, masked a grade-1 CRS to its end and made it a grade 4 (a second red team's).

    Worked example: CRS days 2-6 untreated, ICANS days 3-8 on corticosteroids: masked on
    days 3-6; ICANS days 3-4: days 3-4; the same CRS treated itself: days 2-6; an event on
    corticosteroids from day 1 (before the CRS) or from day 7 (after it): no span."""
    treatment = pl.col("tocilizumab") | pl.col("corticosteroids")
    crs = is_crs(pl.col("term"))
    episodes = adverse_events.filter(crs).select("subject_id", "onset_date", "resolution_date", treatment.alias("_own"))
    others = adverse_events.filter(~crs & treatment).select(
        "subject_id", pl.col("onset_date").alias("_from"), pl.col("resolution_date").alias("_to")
    )
    during = episodes.join(others, on="subject_id").filter(
        (pl.col("_from") >= pl.col("onset_date"))
        & (pl.col("resolution_date").is_null() | (pl.col("_from") <= pl.col("resolution_date")))
    )
    return (
        pl.concat(
            [
                episodes.filter(pl.col("_own")).select("subject_id", "onset_date", "resolution_date"),
                during.select(
                    "subject_id",
                    pl.col("_from").alias("onset_date"),
                    pl.min_horizontal("resolution_date", "_to").alias("resolution_date"),
                ),
            ]
        )
        .unique()
        .sort("subject_id", "onset_date", "resolution_date", nulls_last=True)
    )
