"""ADAE: one row per adverse event known at the cut (endpoints.md, Adverse events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from trial_outcomes.analysis.aesi import PROLONGED_DAYS, aesi_category, prolonged_cytopenia
from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.flags import yn_flag, yn_value
from trial_outcomes.analysis.frames import AnyFrame, require, scan, sorted_taking
from trial_outcomes.analysis.terms import decoded_term, is_crs, is_icans
from trial_outcomes.analysis.timeline import attribution_end, followup_dates, study_day, treatment_dates
from trial_outcomes.contracts import with_study

NOT_CODED = "Not coded"


def treatment_emergent(onset: pl.Expr, ld_start: pl.Expr, window_end: pl.Expr) -> pl.Expr:
    """Treatment-emergent: onset on or after the first lymphodepletion day and before
    the first HSCT or new anti-leukemia therapy (``ATTRENDT``). Version 1 never closed
    the window, so GVHD on day 173 after a transplant counted as a CAR-T toxicity."""
    return ((onset >= ld_start) & (window_end.is_null() | (onset < window_end))).fill_null(False)


def not_emergent_reason(onset: pl.Expr) -> pl.Expr:
    """``TRTEMRSN``: why an AE is not treatment-emergent (null when it is): "On or after
    the first consolidative HSCT", the therapy's name in lower case mid-sentence unless it
    begins with an acronym (until 2026-12-04 "the first Consolidative HSCT")."""
    therapy = pl.col("ATTRENRS")
    mid_sentence = (
        pl.when(therapy.str.contains(r"^[A-Z][a-z]"))
        .then(pl.concat_str(therapy.str.slice(0, 1).str.to_lowercase(), therapy.str.slice(1)))
        .otherwise(therapy)
    )
    return (
        pl.when(pl.col("LDSTDT").is_null())
        .then(pl.lit("Subject not infused"))
        .when(onset < pl.col("LDSTDT"))
        .then(pl.lit("Before lymphodepletion"))
        .when(pl.col("ATTRENDT").is_not_null() & (onset >= pl.col("ATTRENDT")))
        .then(pl.concat_str(pl.lit("On or after the first "), mid_sentence))
    )


def ae_duration_days(onset: pl.Expr, resolution: pl.Expr) -> pl.Expr:
    """Duration in days counting both the onset and the resolution day
    (onset day 3, resolved day 5: 3 days); empty while ongoing."""
    return (resolution - onset).dt.total_days() + 1


def derive_adae(
    records: Records,
    cut: dt.date,
    spellings: Mapping[str, Mapping[str, str]] | None = None,
    seen_to: dt.date | None = None,
) -> pl.DataFrame:
    """One row per AE known at the cut: the verbatim term (``AETERM``) and the
    decoded one (``AEDECOD``: the preferred term for CRS and ICANS however the
    export spells them, ``analysis.terms``; any other term under the one spelling the
    drop's other spellings of it are counted under, ``spellings`` from
    ``terms.counted_spellings`` of the whole drop), SOC (``AESOC``, "Not coded" without a
    coded SOC; MedDRA's spelling of it), study days of onset and resolution (day 0 = infusion), duration,
    ``TRTEMFL`` with ``TRTEMRSN``, ``CRSFL``/``ICANSFL``, ``AESIFL``/``AESICAT``,
    ``CYTO28FL``/``CYTO90FL`` (grade >= 3 cytopenia unresolved at day 28 / 90, a day the
    subject was seen: by the cut, or the last day the drop shows (``seen_to``: a stale drop's
    latest record; a red team's unresolved neutropenia of day 2 was "prolonged" at a planned cut
    45 days past a drop that reached day 9), alive, not withdrawn or lost), and
    ``WORSTFL`` marking one row with the subject's worst grade of that term among
    treatment-emergent AEs (the earliest such onset)."""
    # the record is scanned, joined and derived in one query: neither the record whole nor its
    # join with the dates is held beside ADAE (5 million AEs at a million subjects)
    ae = require(
        scan(records, "adverse_events"),
        "adverse_events",
        "subject_id",
        "ae_id",
        "term",
        "soc",
        "onset_date",
        "resolution_date",
        "grade",
        "serious",
        "related",
        "tocilizumab",
        "corticosteroids",
    )
    # the last day the subject was seen to be followed: a death, withdrawal or loss before
    # day 28 leaves that day unseen (a red team's child who died on day 9 had a cytopenia
    # "unresolved at day 90")
    left = (
        scan(records, "followup")
        .filter(pl.col("event").is_in(["DEATH", "WITHDRAWAL", "LOST"]))
        .group_by("subject_id")
        .agg(pl.col("event_date").min().alias("_left"))
        .collect()
    )
    dates = (
        treatment_dates(records)
        .join(
            attribution_end(followup_dates(records)).select("subject_id", "ATTRENDT", "ATTRENRS"),
            on="subject_id",
            how="left",
        )
        .join(left, on="subject_id", how="left")
    )
    emergent = treatment_emergent(pl.col("onset_date"), pl.col("LDSTDT"), pl.col("ATTRENDT"))
    spellings = spellings or {}
    # a term or SOC written several ways is counted under one spelling: "FEBRILE NEUTROPENIA"
    # was a row of its own in the AE table, and an SOC in capitals lost the infections AESI
    term = pl.col("term").replace(dict(spellings.get("adverse_events.term", {})))
    soc = pl.col("soc").replace(dict(spellings.get("adverse_events.soc", {})))
    base = (
        ae.join(dates.lazy(), on="subject_id", how="left")
        .select(
            pl.col("subject_id").alias("USUBJID"),
            pl.col("ae_id").alias("AESPID"),
            pl.col("term").alias("AETERM"),
            decoded_term(term).alias("AEDECOD"),
            soc.fill_null(NOT_CODED).alias("AESOC"),
            soc.alias("AESOCRAW"),
            pl.col("onset_date").alias("ASTDT"),
            pl.col("resolution_date").alias("AENDT"),
            study_day(pl.col("onset_date")).alias("ASTDY"),
            study_day(pl.col("resolution_date")).alias("AENDY"),
            ae_duration_days(pl.col("onset_date"), pl.col("resolution_date")).alias("ADURN"),
            yn_flag(pl.col("resolution_date").is_null()).alias("AEONGO"),
            pl.col("grade").alias("AETOXGR"),
            yn_value(pl.col("serious")).alias("AESER"),
            yn_value(pl.col("related")).alias("AEREL"),
            yn_value(pl.col("tocilizumab")).alias("AETOCI"),
            yn_value(pl.col("corticosteroids")).alias("AESTER"),
            yn_flag(emergent).alias("TRTEMFL"),
            pl.when(~emergent).then(not_emergent_reason(pl.col("onset_date"))).alias("TRTEMRSN"),
            yn_flag(is_crs(pl.col("term"))).alias("CRSFL"),
            yn_flag(is_icans(pl.col("term"))).alias("ICANSFL"),
            study_day(pl.min_horizontal(pl.lit(min(cut, seen_to or cut)), pl.col("_left"))).alias("_seen_day"),
        )
        .collect()
    )
    seen_day = pl.col("_seen_day")
    out = (
        base.with_columns(
            aesi_category(seen_day).alias("AESICAT"),
            yn_flag(prolonged_cytopenia(PROLONGED_DAYS[0], seen_day).fill_null(False)).alias("CYTO28FL"),
            yn_flag(prolonged_cytopenia(PROLONGED_DAYS[1], seen_day).fill_null(False)).alias("CYTO90FL"),
        )
        .with_columns(yn_flag(pl.col("AESICAT").is_not_null()).alias("AESIFL"))
        .drop("AESOCRAW", "_seen_day")
    )
    # the first row of each subject, term and window by worst grade, then earliest onset (and
    # its id): found within each group, without sorting the whole of ADAE for it
    row = pl.col("_row")
    first = row.sort_by("AETOXGR", "ASTDT", "AESPID", descending=[True, False, False]).first()
    worst = (row == first.over("USUBJID", "AEDECOD", "TRTEMFL")) & (pl.col("TRTEMFL") == "Y")
    flagged = [out.with_row_index("_row").with_columns(yn_flag(worst).alias("WORSTFL")).drop("_row")]
    del out, base
    # validation makes (subject, AE id) a key: this order has no ties
    return with_study(sorted_taking(flagged, "USUBJID", "ASTDT", "AESPID"))


def worst_grade(adae: AnyFrame, *by: str) -> AnyFrame:
    """``WORSTGR``: the worst grade per subject and ``by`` (a term, or a SOC and a
    term) among treatment-emergent AEs: each subject counts once, at that grade."""
    return adae.filter(pl.col("TRTEMFL") == "Y").group_by("USUBJID", *by).agg(pl.col("AETOXGR").max().alias("WORSTGR"))
