"""CRS and ICANS per subject: the investigator's grade, the grade derived from daily
monitoring, and the adjudicated grade (endpoints.md: "the higher of the
investigator's grade and the derived grade. Tables show both; stopping rules
use the adjudicated grade. Every disagreement is listed.").

Grading windows (endpoints.md v3, replacing version 2's grading of every
monitoring day): the derived grade uses only monitoring days from the first infusion
(day 0: the syndromes are the cells') to the day before the first HSCT or new therapy,
and a death from the syndrome is grade 5 only inside the treatment-emergent window
(from the first lymphodepletion day, ``adae.treatment_emergent``). A CRS-like episode
on day 74 after a transplant, or a septic shock during lymphodepletion, is listed
apart (``SyndromeGrading.outside``) and never reaches the adjudicated grade or a
stopping rule: until 2026-12-05 a monitoring day of the lymphodepletion, 39.2 C on
several vasopressors three days before the infusion, was a derived CRS grade 4 that
the safety rule counted (a red team's)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from trial_outcomes.analysis.adae import treatment_emergent
from trial_outcomes.analysis.crs import (
    astct_daily_grade,
    crs_treated_episodes,
    derived_grade,
    grade_discrepancies,
    support_without_fever,
)
from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.deaths import death_details
from trial_outcomes.analysis.flags import yn_flag
from trial_outcomes.analysis.icans import icans_daily_grade
from trial_outcomes.analysis.timeline import attribution_end, followup_dates, treatment_dates
from trial_outcomes.text import first_of


@dataclass(frozen=True)
class SyndromeGrading:
    """The grading of one syndrome (``CRS`` or ``ICANS``) at a cut."""

    syndrome: str
    daily: pl.DataFrame  # subject_id, obs_date, ..., ASTCT_GRADE
    derived: pl.DataFrame  # subject_id, <syndrome>GRDRV: worst derived grade per monitored subject
    discrepancies: pl.DataFrame  # USUBJID, <syndrome>GR_REPORTED, <syndrome>GR_DERIVED
    monitored: bool  # the drop has the monitoring file
    #: monitoring days outside the grading window, listed apart, with the grade each would have
    #: (``ASTCT_GRADE``; ``outside_queried``)
    outside: pl.DataFrame | None = None
    #: graded days that are a data query, never a grade (CRS: organ support without fever,
    #: ``crs.support_without_fever``); None for a syndrome without such a query
    queried: pl.DataFrame | None = None

    @property
    def flag(self) -> str:
        return f"{self.syndrome}FL"


#: the ADAE columns a grading reads (``reported_grade``)
REPORTED_COLUMNS = ("USUBJID", "TRTEMFL", "ASTDY", "AETOXGR", "CRSFL", "ICANSFL")


def counted_syndrome(flag: str) -> pl.Expr:
    """An AE of the syndrome (``flag`` = CRSFL or ICANSFL) that its grades count:
    treatment-emergent, and on or after the first infusion (day 0: the syndromes are the
    infused cells', as for the monitoring days graded). A red team's grade-4 ICANS
    reported on day -3, during lymphodepletion, counted in the safety rule; such an AE
    stays in ADAE and is a warning (``before_infusion``)."""
    return (pl.col(flag) == "Y") & (pl.col("TRTEMFL") == "Y") & (pl.col("ASTDY") >= 0)


def before_infusion(adae: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The treatment-emergent CRS and ICANS AEs with onset before the first infusion
    (during lymphodepletion), which no grade counts (``counted_syndrome``): ``USUBJID,
    AESPID, AETERM, ASTDY, AETOXGR``, by subject and day."""
    syndrome = (pl.col("CRSFL") == "Y") | (pl.col("ICANSFL") == "Y")
    return (
        adae.lazy()
        .filter(syndrome & (pl.col("TRTEMFL") == "Y") & (pl.col("ASTDY") < 0))
        .select("USUBJID", "AESPID", "AETERM", "ASTDY", "AETOXGR")
        .sort("USUBJID", "ASTDY", "AESPID")
        .collect()
    )


def reported_grade(adae: pl.DataFrame, flag: str, name: str) -> pl.DataFrame:
    """Worst grade reported for the syndrome, per subject, over the AEs its grades count
    (``counted_syndrome``)."""
    return (
        adae.filter(counted_syndrome(flag))
        .group_by("USUBJID")
        .agg(pl.col("AETOXGR").max().cast(pl.Int8).alias(name))
        .rename({"USUBJID": "subject_id"})
    )


def treatment_window(records: Records) -> pl.DataFrame:
    """Per infused subject: ``LDSTDT`` (first lymphodepletion day) and ``ATTRENDT``
    (first HSCT or new therapy, null without one): the treatment-emergent window; and
    ``TRTSDT`` (the first infusion), where the grading of monitoring days starts."""
    window = treatment_dates(records).select("subject_id", "LDSTDT", "TRTSDT")
    end = attribution_end(followup_dates(records)).select("subject_id", "ATTRENDT")
    return window.join(end, on="subject_id", how="left")


def _by_window(frame: pl.DataFrame, date: str, window: pl.DataFrame, rule: pl.Expr) -> pl.Series:
    """``rule`` on each row of ``frame`` (``subject_id`` and the date column ``date``)
    beside its subject's window (``treatment_window``); false without one."""
    joined = frame.select("subject_id", date).join(window, on="subject_id", how="left", maintain_order="left")
    return joined.select(rule.fill_null(False)).to_series()


def in_treatment_window(frame: pl.DataFrame, date: str, window: pl.DataFrame) -> pl.Series:
    """Whether each row of ``frame`` (``subject_id`` and the date column ``date``) lies
    inside its subject's treatment-emergent window."""
    return _by_window(frame, date, window, treatment_emergent(pl.col(date), pl.col("LDSTDT"), pl.col("ATTRENDT")))


def in_grading_window(frame: pl.DataFrame, date: str, window: pl.DataFrame) -> pl.Series:
    """Whether each monitoring day of ``frame`` is graded: inside the treatment-emergent
    window and on or after the first infusion (day 0)."""
    emergent = treatment_emergent(pl.col(date), pl.col("LDSTDT"), pl.col("ATTRENDT"))
    return _by_window(frame, date, window, emergent & (pl.col(date) >= pl.col("TRTSDT")))


def _grading(
    syndrome: str, monitoring: pl.DataFrame, daily_grade: Any, adae: pl.DataFrame, records: Records, monitored: bool
) -> SyndromeGrading:
    window = treatment_window(records)
    inside = in_grading_window(monitoring, "obs_date", window)
    daily = daily_grade(monitoring.filter(inside))
    outside = _outside(daily_grade(monitoring.filter(~inside)), window, records["infusion"])
    deaths = death_details(records)
    deaths = deaths.filter(in_treatment_window(deaths, "DTHDT", window))
    derived = derived_grade(daily, deaths, syndrome, f"{syndrome}GRDRV")
    reported = reported_grade(adae, f"{syndrome}FL", f"{syndrome}GR")
    discrepancies = grade_discrepancies(reported, derived, f"{syndrome}GR")
    return SyndromeGrading(syndrome, daily, derived, discrepancies, monitored, outside)


def _outside(graded: pl.DataFrame, window: pl.DataFrame, infusions: pl.DataFrame) -> pl.DataFrame:
    """Monitoring days outside the grading window, graded as if inside it: ``subject_id``,
    ``obs_date``, ``ADY`` (from the first infusion; null without one), ``INFDY`` (from the
    latest infusion on or before the day, a re-infusion's too), ``ASTCT_GRADE`` and
    ``WHERE`` (no infusion, before the first infusion, or from the first HSCT or new
    therapy on), then the daily grade's other columns."""
    latest = (
        infusions.select("subject_id", pl.col("infusion_date").alias("_infused"))
        .drop_nulls()
        .unique()
        .sort("subject_id", "_infused")
    )
    joined = (
        graded.with_row_index("_order")
        .sort("subject_id", "obs_date")
        # both sorted by subject then date just above: polars cannot check that with ``by`` and
        # warned on every run (to a user's terminal, until 2026-12-06)
        .join_asof(
            latest,
            left_on="obs_date",
            right_on="_infused",
            by="subject_id",
            strategy="backward",
            check_sortedness=False,
        )
        .sort("_order")
        .join(window.select("subject_id", "TRTSDT"), on="subject_id", how="left", maintain_order="left")
    )
    day = (pl.col("obs_date") - pl.col("TRTSDT")).dt.total_days()
    where = (
        pl.when(pl.col("TRTSDT").is_null())
        .then(pl.lit(NOT_INFUSED))
        .when(day < 0)
        .then(pl.lit(BEFORE_INFUSION))
        .otherwise(pl.lit(AFTER_OTHER_THERAPY))
    )
    since = (pl.col("obs_date") - pl.col("_infused")).dt.total_days().alias("INFDY")
    shown: list[pl.Expr] = [day.alias("ADY"), since, pl.col("ASTCT_GRADE"), where.alias("WHERE")]
    rest = [c for c in graded.columns if c not in ("subject_id", "obs_date", "ASTCT_GRADE")]
    return joined.select("subject_id", "obs_date", *shown, *rest)


#: why a monitoring day is outside the grading window (``SyndromeGrading.outside``)
NOT_INFUSED, BEFORE_INFUSION, AFTER_OTHER_THERAPY = (
    "no infusion recorded",
    "before the first infusion",
    "on or after the first HSCT or new therapy",
)
#: the grade from which a monitoring day outside the grading window is a data query
OUTSIDE_QUERIED_FROM_GRADE = 3
#: the check (of ``crs_grading`` and ``icans_grading``) that queries those days; page 1 names it
OUTSIDE_CHECK = "no_severe_day_outside_grading"


def outside_queried(grading: SyndromeGrading, rule_days: int) -> pl.DataFrame:
    """The monitoring days outside the grading window that would grade
    ``OUTSIDE_QUERIED_FROM_GRADE`` or more: of a subject with no infusion, before the
    first infusion, or from the first HSCT or new therapy on up to ``rule_days`` (the
    safety rule's window) after the latest infusion (a re-infusion after a new therapy
    starts its own days: a third red team's grade-4 CRS two days after a re-infusion on
    day 92 was neither graded nor queried). No grade and no stopping rule counts them, as the grading
    window says (endpoints.md), but such a day is more often a date or a record wrong
    than a syndrome of another cause: a red team's grade-4 CRS and ICANS days of a subject
    with no infusion row, a grade-4 CRS on days 26-27 after a new therapy dated day 25,
    and one on day -1 were each left out of the safety rule without a word, where the
    same syndrome reported as an AE is queried. Worked example (rule_days 30): grade 4
    on day -1, grade 3 on day 20 after an HSCT on day 18, grade 4 of a subject not
    infused: queried; grade 2 on day -1, grade 4 on day 45 after the HSCT: not."""
    outside = grading.outside
    if outside is None:
        return pl.DataFrame()
    late = (pl.col("WHERE") == AFTER_OTHER_THERAPY) & (pl.col("INFDY") > rule_days)
    severe = pl.col("ASTCT_GRADE") >= OUTSIDE_QUERIED_FROM_GRADE
    if "SUPPORT" in outside.columns:  # CRS: organ support without fever, as inside (``crs.support_without_fever``)
        severe = severe | pl.col("SUPPORT")
    return (
        outside.filter(severe & ~late)
        .select("subject_id", "obs_date", "ADY", "INFDY", "ASTCT_GRADE", "WHERE")
        .sort("subject_id", "obs_date")
    )


def outside_counts(days: pl.DataFrame) -> str:
    """``outside_queried``'s days by why each is outside, most first: "3 on or after the first
    HSCT or new therapy, 1 before the first infusion"."""
    counts = days["WHERE"].value_counts().sort("count", "WHERE", descending=[True, False]).iter_rows()
    return ", ".join(f"{n} {where}" for where, n in counts)


def outside_finding(days: pl.DataFrame, syndrome: str) -> str:
    """What check ``no_severe_day_outside_grading`` says of ``outside_queried``'s days:
    how many, in how many subjects, by why each is outside (most first), and the first
    five by subject and date, each with its grade (or "organ support without fever", a
    day queried below grade 3) and why it is outside: "3 monitoring day(s) in 2 subject(s)
    ... (2 before the first infusion, 1 no infusion recorded) ...: BR-043 2021-06-20 grade 4
    (no infusion recorded), ..." (until 2026-12-06 the days followed the last count, as if
    all were of it, and a day of support without fever read "grade 0"; a red team's)."""
    if not days.height:
        return (
            f"no monitoring day outside the grading window would grade {OUTSIDE_QUERIED_FROM_GRADE} or more, nor "
            "needs organ support without fever"
        )
    named = [
        f"{r['subject_id']} {r['obs_date']} "
        + (
            f"grade {r['ASTCT_GRADE']}"
            if r["ASTCT_GRADE"] >= OUTSIDE_QUERIED_FROM_GRADE
            else "organ support without fever"
        )
        + f" ({r['WHERE']})"
        for r in days.iter_rows(named=True)
    ]
    return (
        f"{days.height} monitoring day(s) in {days['subject_id'].n_unique()} subject(s) outside the grading window "
        f"would grade {OUTSIDE_QUERIED_FROM_GRADE} or more, or need organ support without fever "
        f"({outside_counts(days)}): no {syndrome} grade and no stopping rule counts them "
        f"({first_of(named, 5)}). Query the infusion, HSCT and new-therapy dates and the days' dates with the data "
        "manager"
    )


def grade_crs(records: Records, adae: pl.DataFrame, monitored: bool = True) -> SyndromeGrading:
    """ASTCT CRS grade by day and subject from ``crs_monitoring`` (``analysis.crs``)
    inside the treatment-emergent window; grade 5 for a death there whose cause
    category is CRS. Fever is taken as masked only for a subject treated for a CRS
    whose onset is inside that window too: tocilizumab for a CRS after a transplant
    made every afebrile day after the first fever of the CAR-T window a CRS day (a red
    team's drop graded a grade-2 CRS 4, and the safety rule counted it)."""
    events = records["adverse_events"]
    treated = crs_treated_episodes(events.filter(in_treatment_window(events, "onset_date", treatment_window(records))))
    grading = _grading(
        "CRS", records["crs_monitoring"], lambda days: astct_daily_grade(days, treated), adae, records, monitored
    )
    outside = grading.outside
    if outside is not None:  # the same query on the days outside (a third red team's masked fever)
        support = support_without_fever(outside).select("subject_id", "obs_date", pl.lit(True).alias("SUPPORT"))
        outside = outside.join(support.unique(), on=["subject_id", "obs_date"], how="left", maintain_order="left")
        outside = outside.with_columns(pl.col("SUPPORT").fill_null(False))
    return replace(grading, queried=support_without_fever(grading.daily), outside=outside)


def grade_icans(records: Records, adae: pl.DataFrame, monitored: bool = True) -> SyndromeGrading:
    """ASTCT ICANS grade by day and subject from ``icans_monitoring`` (``analysis.icans``)
    inside the treatment-emergent window; grade 5 for a death there whose cause
    category is ICANS."""
    enrolment = records["enrolment"]
    return _grading(
        "ICANS",
        records["icans_monitoring"],
        lambda days: icans_daily_grade(days, enrolment),
        adae,
        records,
        monitored,
    )


#: the ADAE columns ``syndrome_variables`` reads (ADSL's per-syndrome variables)
DETAIL_COLUMNS = (*REPORTED_COLUMNS, "AEONGO", "ADURN", "AETOCI", "AESTER")


def syndrome_details(adae: pl.DataFrame, flag: str, prefix: str) -> pl.DataFrame:
    """Per subject with the syndrome (``flag`` = CRSFL or ICANSFL) in an AE its grades
    count (``counted_syndrome``): reported worst grade, onset day of the first episode, total duration (empty if
    any episode is ongoing), tocilizumab and corticosteroid use.

    The duration counts each day once: the days of the union of the episodes (days 2-9
    and a copy of it are 8 days, not 16, as a red team's duplicated CRS row made them;
    days 2-9 and 6-12 are 11)."""
    rows = adae.filter(counted_syndrome(flag))
    end = (pl.col("ASTDY") + pl.col("ADURN") - 1).alias("_end")
    ordered = rows.with_columns(end).sort("USUBJID", "ASTDY", "_end")
    # the latest day an earlier episode covers, a column of its own: written inside the block's
    # window, a window within a window, it took 43 s for the 827,000 CRS rows of a million
    # subjects (0.6 s so)
    reached = ordered.with_columns(pl.col("_end").cum_max().shift(1).over("USUBJID").alias("_reached"))
    starts = pl.col("_reached").is_null() | (pl.col("ASTDY") > pl.col("_reached"))
    blocks = reached.with_columns(starts.cast(pl.Int32).cum_sum().over("USUBJID").alias("_block"))
    days = blocks.group_by("USUBJID", "_block").agg((pl.col("_end").max() - pl.col("ASTDY").min() + 1).alias("_days"))
    covered = days.group_by("USUBJID").agg(pl.col("_days").sum().alias("_covered"))
    return (
        rows.group_by("USUBJID")
        .agg(
            pl.col("AETOXGR").max().cast(pl.Int64).alias(f"{prefix}GR"),
            pl.col("ASTDY").min().alias(f"{prefix}ONDY"),
            (pl.col("AEONGO") == "N").all().alias("_resolved"),
            yn_flag((pl.col("AETOCI") == "Y").any()).alias(f"{prefix}TOCI"),
            yn_flag((pl.col("AESTER") == "Y").any()).alias(f"{prefix}STER"),
        )
        .join(covered, on="USUBJID", how="left")
        .select(
            "USUBJID",
            f"{prefix}GR",
            f"{prefix}ONDY",
            pl.when(pl.col("_resolved")).then(pl.col("_covered")).cast(pl.Int64).alias(f"{prefix}DUR"),
            f"{prefix}TOCI",
            f"{prefix}STER",
        )
    )


def adjudicated(reported: pl.Expr, derived: pl.Expr) -> pl.Expr:
    """The higher of the reported and the derived grade; empty when neither shows the syndrome."""
    worst = pl.max_horizontal(reported.fill_null(0), derived.fill_null(0))
    return pl.when(worst > 0).then(worst).cast(pl.Int64)


#: ADSL's name stem of each syndrome's variables (ADaM names have at most 8 characters)
ADSL_STEM = {"CRS": "CRS", "ICANS": "ICAN"}
#: ADSL's suffix of each per-syndrome variable, by its working suffix
ADSL_SUFFIX = {
    "GR": "GR",
    "ONDY": "ONDY",
    "DUR": "DUR",
    "TOCI": "TOCI",
    "STER": "STER",
    "GRDRV": "GRDV",
    "GRADJ": "GRAJ",
}


def adsl_variable(syndrome: str, suffix: str) -> str:
    """ADSL's name of a syndrome's variable: ``adsl_variable("ICANS", "GRADJ")`` is ``ICANGRAJ``."""
    return ADSL_STEM[syndrome] + ADSL_SUFFIX[suffix]


def syndrome_variables(adae: pl.DataFrame, gradings: tuple[SyndromeGrading, ...]) -> pl.DataFrame:
    """Per subject with ADAE rows or monitoring: for CRS and ICANS the reported grade
    (``CRSGR``), onset, duration, drugs, the derived grade (``CRSGRDV``, 0 for a
    monitored subject whose days never met the syndrome) and the adjudicated grade
    (``CRSGRAJ``), named by ``adsl_variable``."""
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
            .rename({f"{prefix}{suffix}": adsl_variable(prefix, suffix) for suffix in ADSL_SUFFIX})
        )
    return out.sort("USUBJID")
