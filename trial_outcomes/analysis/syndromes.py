"""CRS and ICANS per subject: the investigator's grade, the grade derived from daily
monitoring, and the adjudicated grade (endpoints.md: "the higher of the
investigator's grade and the derived grade. Tables show both; stopping rules
use the adjudicated grade. Every disagreement is listed.")."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from trial_outcomes.analysis.crs import astct_daily_grade, crs_treated_subjects, derived_grade, grade_discrepancies
from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.deaths import death_details
from trial_outcomes.analysis.flags import yn_flag
from trial_outcomes.analysis.icans import icans_daily_grade


@dataclass(frozen=True)
class SyndromeGrading:
    """The grading of one syndrome (``CRS`` or ``ICANS``) at a cut."""

    syndrome: str
    daily: pl.DataFrame  # subject_id, obs_date, ..., ASTCT_GRADE
    derived: pl.DataFrame  # subject_id, <syndrome>GRDRV: worst derived grade per monitored subject
    discrepancies: pl.DataFrame  # USUBJID, <syndrome>GR_REPORTED, <syndrome>GR_DERIVED
    monitored: bool  # the drop has the monitoring file

    @property
    def flag(self) -> str:
        return f"{self.syndrome}FL"


def reported_grade(adae: pl.DataFrame, flag: str, name: str) -> pl.DataFrame:
    """Worst treatment-emergent grade reported for the syndrome, per subject."""
    return (
        adae.filter((pl.col(flag) == "Y") & (pl.col("TRTEMFL") == "Y"))
        .group_by("USUBJID")
        .agg(pl.col("AETOXGR").max().cast(pl.Int8).alias(name))
        .rename({"USUBJID": "subject_id"})
    )


def _grading(
    syndrome: str, daily: pl.DataFrame, adae: pl.DataFrame, deaths: pl.DataFrame, monitored: bool
) -> SyndromeGrading:
    derived = derived_grade(daily, deaths, syndrome, f"{syndrome}GRDRV")
    reported = reported_grade(adae, f"{syndrome}FL", f"{syndrome}GR")
    return SyndromeGrading(syndrome, daily, derived, grade_discrepancies(reported, derived, f"{syndrome}GR"), monitored)


def grade_crs(records: Records, adae: pl.DataFrame, monitored: bool = True) -> SyndromeGrading:
    """ASTCT CRS grade by day and subject from ``crs_monitoring`` (``analysis.crs``);
    grade 5 for a death whose cause category is CRS."""
    daily = astct_daily_grade(records["crs_monitoring"], crs_treated_subjects(records["adverse_events"]))
    return _grading("CRS", daily, adae, death_details(records), monitored)


def grade_icans(records: Records, adae: pl.DataFrame, monitored: bool = True) -> SyndromeGrading:
    """ASTCT ICANS grade by day and subject from ``icans_monitoring`` (``analysis.icans``);
    grade 5 for a death whose cause category is ICANS."""
    daily = icans_daily_grade(records["icans_monitoring"], records["enrolment"])
    return _grading("ICANS", daily, adae, death_details(records), monitored)


def syndrome_details(adae: pl.DataFrame, flag: str, prefix: str) -> pl.DataFrame:
    """Per subject with the syndrome (``flag`` = CRSFL or ICANSFL), treatment-emergent:
    reported worst grade, onset day of the first episode, total duration (empty if
    any episode is ongoing), tocilizumab and corticosteroid use."""
    rows = adae.filter((pl.col(flag) == "Y") & (pl.col("TRTEMFL") == "Y"))
    return rows.group_by("USUBJID").agg(
        pl.col("AETOXGR").max().cast(pl.Int64).alias(f"{prefix}GR"),
        pl.col("ASTDY").min().alias(f"{prefix}ONDY"),
        pl.when((pl.col("AEONGO") == "N").all()).then(pl.col("ADURN").sum()).alias(f"{prefix}DUR"),
        yn_flag((pl.col("AETOCI") == "Y").any()).alias(f"{prefix}TOCI"),
        yn_flag((pl.col("AESTER") == "Y").any()).alias(f"{prefix}STER"),
    )


def adjudicated(reported: pl.Expr, derived: pl.Expr) -> pl.Expr:
    """The higher of the reported and the derived grade; empty when neither shows the syndrome."""
    worst = pl.max_horizontal(reported.fill_null(0), derived.fill_null(0))
    return pl.when(worst > 0).then(worst).cast(pl.Int64)


def syndrome_variables(adae: pl.DataFrame, gradings: tuple[SyndromeGrading, ...]) -> pl.DataFrame:
    """Per subject with ADAE rows or monitoring: for CRS and ICANS the reported grade
    (``CRSGR``), onset, duration, drugs, the derived grade (``CRSGRDRV``, 0 for a
    monitored subject whose days never met the syndrome) and the adjudicated grade
    (``CRSGRADJ``)."""
    subjects = pl.concat(
        [adae.select("USUBJID"), *[g.derived.select(pl.col("subject_id").alias("USUBJID")) for g in gradings]]
    ).unique()
    out = subjects
    for grading in gradings:
        prefix = grading.syndrome
        details = syndrome_details(adae, grading.flag, prefix)
        derived = grading.derived.rename({"subject_id": "USUBJID"}).with_columns(
            pl.col(f"{prefix}GRDRV").cast(pl.Int64)
        )
        out = (
            out.join(details, on="USUBJID", how="left")
            .join(derived, on="USUBJID", how="left")
            .with_columns(adjudicated(pl.col(f"{prefix}GR"), pl.col(f"{prefix}GRDRV")).alias(f"{prefix}GRADJ"))
        )
    return out.sort("USUBJID")
