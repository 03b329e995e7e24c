"""ADSL: one row per enrolled subject (endpoints.md, Time and populations).

Each derivation is one named function taking the cut records and returning
one row per subject with the variables it derives; ``derive_adsl`` joins
them. Dates are those known at the cut (``analysis.cut.apply_cut`` first).
"""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.flags import yn_flag, yn_value

REMISSION = ("CR", "CRi")
WINDOW_FIRST_DAY, WINDOW_LAST_DAY = 21, 42  # day-28 response window


def treatment_dates(records: Records) -> pl.DataFrame:
    """``TRTSDT``: the first infusion (day 0); ``LDSTDT``: the first lymphodepletion start."""
    return (
        records["infusion"]
        .group_by("subject_id")
        .agg(
            pl.col("infusion_date").min().alias("TRTSDT"),
            pl.col("ld_start_date").min().alias("LDSTDT"),
            pl.len().alias("N_INFUSIONS"),
        )
    )


def study_day(date: pl.Expr, day0: pl.Expr = pl.col("TRTSDT")) -> pl.Expr:
    """Days from the first infusion (``TRTSDT``, day 0) to ``date``: the day after
    infusion is day 1, the day before is day -1 (endpoints.md: day 0 = infusion)."""
    return (date - day0).dt.total_days()


def first_remission_date(records: Records) -> pl.DataFrame:
    """``FRMDT``: "the earliest CR/CRi assessment date" (endpoints.md, Response)."""
    return (
        records["assessments"]
        .filter(pl.col("response").is_in(REMISSION))
        .group_by("subject_id")
        .agg(pl.col("assessment_date").min().alias("FRMDT"))
    )


def relapse_date(records: Records) -> pl.DataFrame:
    """``RELDT``: the first ``RELAPSE`` assessment after the first remission, with its
    site and CD19 status. MRD reappearance alone is not relapse."""
    frm = first_remission_date(records)
    return (
        records["assessments"]
        .filter(pl.col("response") == "RELAPSE")
        .join(frm, on="subject_id", how="inner")
        .filter(pl.col("assessment_date") > pl.col("FRMDT"))
        .sort("subject_id", "assessment_date")
        .group_by("subject_id", maintain_order=True)
        .first()
        .select(
            "subject_id",
            pl.col("assessment_date").alias("RELDT"),
            pl.col("relapse_site").alias("RELSITE"),
            pl.col("cd19_at_relapse").alias("RELCD19"),
        )
    )


def followup_dates(records: Records) -> pl.DataFrame:
    """``DTHDT``/``DTHCAUS`` (death), ``HSCTDT`` (first consolidative HSCT), ``NTHERDT``
    (first new anti-leukemia therapy), ``WDDT`` (withdrawal) and ``LOSTDT`` (lost)."""
    fu = records["followup"]

    def first(event: str, name: str) -> pl.Expr:
        return pl.col("event_date").filter(pl.col("event") == event).min().alias(name)

    return fu.group_by("subject_id").agg(
        first("DEATH", "DTHDT"),
        pl.col("detail").filter(pl.col("event") == "DEATH").first().alias("DTHCAUS"),
        first("HSCT", "HSCTDT"),
        first("NEW_THERAPY", "NTHERDT"),
        first("WITHDRAWAL", "WDDT"),
        pl.col("detail").filter(pl.col("event") == "WITHDRAWAL").first().alias("WDREAS"),
        first("LOST", "LOSTDT"),
    )


def last_known_alive_date(records: Records) -> pl.DataFrame:
    """``LSTALVDT``: "the latest date, up to the cut, of any record that shows the
    subject alive (infusion, assessment, CONTACT, HSCT, NEW_THERAPY, AE onset or
    resolution), never after a death". Enrolment counts too, so that a subject
    never infused has one. A date after a death is not taken (validation forbids
    them; the filter keeps this rule whole on its own)."""
    fu = records["followup"]
    alive = pl.concat(
        [
            records["enrolment"].select("subject_id", pl.col("enrol_date").alias("d")),
            records["infusion"].select("subject_id", pl.col("infusion_date").alias("d")),
            records["assessments"].select("subject_id", pl.col("assessment_date").alias("d")),
            fu.filter(pl.col("event").is_in(["CONTACT", "HSCT", "NEW_THERAPY"])).select(
                "subject_id", pl.col("event_date").alias("d")
            ),
            records["adverse_events"].select("subject_id", pl.col("onset_date").alias("d")),
            records["adverse_events"].select("subject_id", pl.col("resolution_date").alias("d")).drop_nulls(),
        ]
    )
    deaths = fu.filter(pl.col("event") == "DEATH").group_by("subject_id").agg(pl.col("event_date").min().alias("_dth"))
    return (
        alive.join(deaths, on="subject_id", how="left")
        .filter(pl.col("_dth").is_null() | (pl.col("d") <= pl.col("_dth")))
        .group_by("subject_id")
        .agg(pl.col("d").max().alias("LSTALVDT"))
    )


def last_disease_assessments(records: Records) -> pl.DataFrame:
    """``LSTASDT``: the last disease assessment; ``LSTREMDT``: the last assessment
    that showed remission (CR/CRi), the DFS censoring date."""
    a = records["assessments"]
    return a.group_by("subject_id").agg(
        pl.col("assessment_date").max().alias("LSTASDT"),
        pl.col("assessment_date").filter(pl.col("response").is_in(REMISSION)).max().alias("LSTREMDT"),
    )


def populations(adsl: pl.DataFrame) -> pl.DataFrame:
    """``ENRLFL`` enrolled; ``SAFFL`` infused; ``EFFFL`` infused unless withdrawn before
    any assessment; ``PPROTFL`` infused and meeting every computable criterion."""
    infused = pl.col("TRTSDT").is_not_null()
    withdrawn_first = pl.col("WDDT").is_not_null() & (pl.col("FASDT").is_null() | (pl.col("WDDT") < pl.col("FASDT")))
    return adsl.with_columns(
        yn_flag(pl.lit(True)).alias("ENRLFL"),
        yn_flag(infused).alias("SAFFL"),
        yn_flag(infused & ~withdrawn_first).alias("EFFFL"),
        yn_flag(infused & pl.col("eligible_computed").fill_null(False)).alias("PPROTFL"),
    )


def disposition(adsl: pl.DataFrame) -> pl.DataFrame:
    """``DISPSTAT`` at the cut: DIED, WITHDRAWN, LOST, or ONGOING; ``NINFREAS``: why an
    enrolled subject was not infused (the withdrawal or death detail, else pending)."""
    status = (
        pl.when(pl.col("DTHDT").is_not_null())
        .then(pl.lit("DIED"))
        .when(pl.col("WDDT").is_not_null())
        .then(pl.lit("WITHDRAWN"))
        .when(pl.col("LOSTDT").is_not_null())
        .then(pl.lit("LOST"))
        .otherwise(pl.lit("ONGOING"))
    )
    not_infused = (
        pl.when(pl.col("TRTSDT").is_not_null())
        .then(None)
        .when(pl.col("DTHDT").is_not_null())
        .then(pl.concat_str(pl.lit("Died before infusion: "), pl.col("DTHCAUS").fill_null("cause not given")))
        .when(pl.col("WDDT").is_not_null())
        .then(pl.col("WDREAS").fill_null("Withdrawn before infusion"))
        .when(pl.col("LOSTDT").is_not_null())
        .then(pl.lit("Lost before infusion"))
        .otherwise(pl.lit("Awaiting infusion at the cut"))
    )
    return adsl.with_columns(status.alias("DISPSTAT"), not_infused.alias("NINFREAS"))


def early_death_flags(adsl: pl.DataFrame) -> pl.DataFrame:
    """``DTH30FL``/``DTH100FL``: death within 30/100 days of infusion (day <= 30/100);
    ``NRMFL``: non-relapse mortality, a death without prior relapse in a subject
    whose day-28 response was not PR or NR (refractory disease is not NRM)."""
    day = study_day(pl.col("DTHDT"))
    died = pl.col("DTHDT").is_not_null() & pl.col("TRTSDT").is_not_null()
    nrm = died & pl.col("RELDT").is_null() & ~pl.col("BOR28").is_in(["PR", "NR"]).fill_null(False)
    return adsl.with_columns(
        pl.when(died).then(day).alias("DTHDY"),
        yn_flag(died & (day <= 30)).alias("DTH30FL"),
        yn_flag(died & (day <= 100)).alias("DTH100FL"),
        yn_flag(nrm).alias("NRMFL"),
    )


def age_group(age: pl.Expr) -> pl.Expr:
    """``age_group``: ``<10`` or ``>=10`` years (data-contract.md section 3)."""
    return pl.when(age < 10).then(pl.lit("<10")).otherwise(pl.lit(">=10"))


def derive_adsl(records: Records, eligibility: pl.DataFrame, bor: pl.DataFrame) -> pl.DataFrame:
    """ADSL from the cut records, per-subject eligibility (``analysis.eligibility.
    subject_eligibility``) and the day-28 best response (``analysis.adrs.best_response_day28``)."""
    enrol = (
        records["enrolment"]
        .with_columns(
            yn_value(pl.col("prior_hsct")),
            yn_value(pl.col("emd")),
            age_group(pl.col("age_years")).alias("age_group"),
        )
        .drop("_source_file", "_source_row")
    )
    first_assessment = records["assessments"].group_by("subject_id").agg(pl.col("assessment_date").min().alias("FASDT"))
    adsl = enrol
    for part in (
        treatment_dates(records),
        first_remission_date(records),
        relapse_date(records),
        followup_dates(records),
        last_known_alive_date(records),
        last_disease_assessments(records),
        first_assessment,
        eligibility,
        bor,
    ):
        adsl = adsl.join(part, on="subject_id", how="left")
    adsl = early_death_flags(disposition(populations(adsl)))
    adsl = adsl.with_columns(
        yn_flag(pl.col("eligibility_deviation")).alias("ELIGDVFL"),
    ).drop("eligibility_deviation", "eligible_computed")
    return adsl.rename({"subject_id": "USUBJID"}).sort("USUBJID")
