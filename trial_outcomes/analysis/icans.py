"""ASTCT consensus grading of ICANS from daily neurological monitoring (Lee et al.,
BBMT 2019, tables for adults and for children under 12).

endpoints.md: ICE score for age >= 12 (7-9 grade 1, 3-6 grade 2, 0-2 grade 3,
0 and unarousable grade 4); CAPD for age < 12 (1-8 and awakens spontaneously
grade 1, 1-8 and awakens to voice grade 2, >= 9 grade 3, unable to perform
grade 4); depressed consciousness (awakens to voice 2, only to touch 3,
unarousable 4), seizures (rapidly resolving or non-convulsive resolving with
intervention 3, prolonged or repetitive 4), deep focal motor weakness 4, and
cerebral oedema (focal 3, diffuse 4). The grade is that of the most severe
domain. Death from ICANS is grade 5.

Two readings of the consensus table are choices made here: a CAPD of 0 is no
delirium (the table's grades start at 1), and ``AWAKE`` alone is no finding
(the data cannot tell a normal child from one who is drowsy but wakes
spontaneously; with a CAPD of 1-8 the day is grade 1 either way). The child's
age at the observation (age at enrolment plus the time since) decides ICE or
CAPD. Every ASTCT boundary has a test in tests/analysis/test_icans.py.
"""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.frames import require
from trial_outcomes.dates import ICE_FROM_AGE, age_bounds, written_in_completed_years

CONSCIOUSNESS_GRADE = {"AWAKE": 0, "VOICE": 2, "TACTILE": 3, "UNAROUSABLE": 4}
SEIZURE_GRADE = {"NONE": 0, "RESOLVED": 3, "PROLONGED": 4}
EDEMA_GRADE = {"NONE": 0, "FOCAL": 3, "DIFFUSE": 4}


def ice_grade(ice: pl.Expr) -> pl.Expr:
    """ICE 10: 0; 7-9: 1; 3-6: 2; 0-2: 3 (0 with an unarousable patient is grade 4 by
    the consciousness domain); not done: 0."""
    return (
        pl.when(ice.is_null())
        .then(0)
        .when(ice >= 10)
        .then(0)
        .when(ice >= 7)
        .then(1)
        .when(ice >= 3)
        .then(2)
        .otherwise(3)
    )


def capd_grade(capd: pl.Expr, unable: pl.Expr) -> pl.Expr:
    """Unable to perform the CAPD: 4; CAPD >= 9: 3; 1-8: 1 (2 when the child only
    awakens to voice, from the consciousness domain); 0 or not done: 0."""
    return (
        pl.when(unable.fill_null(False))
        .then(4)
        .when(capd.is_null())
        .then(0)
        .when(capd >= 9)
        .then(3)
        .when(capd >= 1)
        .then(1)
        .otherwise(0)
    )


def icans_daily_grade(monitoring: pl.DataFrame, enrolment: pl.DataFrame) -> pl.DataFrame:
    """Grade 0-4 per subject and day: the most severe of the ICE (age >= 12) or CAPD
    (age < 12) score, consciousness, seizure, motor weakness and cerebral oedema."""
    require(
        monitoring,
        "icans_monitoring",
        "subject_id",
        "obs_date",
        "ice_score",
        "capd_score",
        "unable_capd",
        "consciousness",
        "seizure",
        "motor_weakness",
        "cerebral_edema",
    )
    require(enrolment, "enrolment", "subject_id", "age_years", "enrol_date")
    age = pl.col("age_years") + (pl.col("obs_date") - pl.col("enrol_date")).dt.total_days() / 365.25
    completed = written_in_completed_years(enrolment["age_years"])
    youngest, oldest = age_bounds(pl.col("age_years"), pl.col("enrol_date"), pl.col("obs_date"), completed)
    with_age = monitoring.join(enrolment.select("subject_id", "age_years", "enrol_date"), on="subject_id", how="left")
    # the age decides the instrument; near the 12th birthday, within what the written age
    # tells, the instrument the site used does
    ice = (youngest >= ICE_FROM_AGE) | ((oldest >= ICE_FROM_AGE) & pl.col("ice_score").is_not_null())
    score = (
        pl.when(ice)
        .then(ice_grade(pl.col("ice_score")))
        .otherwise(capd_grade(pl.col("capd_score"), pl.col("unable_capd")))
    )
    domains = pl.max_horizontal(
        score,
        pl.col("consciousness").replace_strict(CONSCIOUSNESS_GRADE, return_dtype=pl.Int8),
        pl.col("seizure").replace_strict(SEIZURE_GRADE, return_dtype=pl.Int8),
        pl.when(pl.col("motor_weakness").fill_null(False)).then(4).otherwise(0),
        pl.col("cerebral_edema").replace_strict(EDEMA_GRADE, return_dtype=pl.Int8),
    )
    return (
        with_age.with_columns(age.alias("AGE_AT_OBS"), domains.cast(pl.Int8).alias("ASTCT_GRADE"))
        .sort("subject_id", "obs_date")
        .select(
            "subject_id",
            "obs_date",
            "AGE_AT_OBS",
            "ice_score",
            "capd_score",
            "unable_capd",
            "consciousness",
            "seizure",
            "motor_weakness",
            "cerebral_edema",
            "ASTCT_GRADE",
        )
    )
