"""Adverse events: ADAE, ASTCT CRS grading from monitoring, the AE summary."""

from __future__ import annotations

import dagster as dg
import polars as pl

from trial_outcomes.analysis.adae import derive_adae, worst_grade_by_term
from trial_outcomes.analysis.crs import (
    astct_daily_grade,
    crs_grade_discrepancies,
    crs_treated_subjects,
    derived_crs_grade,
)
from trial_outcomes.analysis.rates import ae_summary as summarise_ae
from trial_outcomes.assets.files import save_table
from trial_outcomes.assets.metadata import listing_check
from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.io.records import TrialDrop


@dg.asset(partitions_def=DATA_CUTS, group_name="derivation", code_version="1")
def adae(settings: DropSettings, cut_records: TrialDrop) -> dg.Output:
    """ADAE: every AE at the cut with study day, duration, treatment-emergent flag
    (onset on or after lymphodepletion), CRS/ICANS flags and worst-grade flag."""
    table = derive_adae(cut_records.records)
    return dg.Output(table, metadata=save_table(settings, str(cut_records.cut), "adae.parquet", table))


@dg.asset(
    partitions_def=DATA_CUTS,
    group_name="derivation",
    code_version="1",
    check_specs=[
        dg.AssetCheckSpec(
            "reported_grade_matches_monitoring",
            asset="crs_grading",
            blocking=False,
            description="Reported worst CRS grade equals the ASTCT grade derived from monitoring",
        )
    ],
)
def crs_grading(settings: DropSettings, cut_records: TrialDrop, adae: pl.DataFrame):
    """ASTCT 2019 CRS grade derived day by day from `crs_monitoring`, the worst per
    subject (5 for a death from CRS), and the listing of subjects whose reported
    grade differs (`crs_grade_discrepancies.csv`)."""
    records = cut_records.records
    daily = astct_daily_grade(records["crs_monitoring"], crs_treated_subjects(records["adverse_events"]))
    deaths = (
        records["followup"].filter(pl.col("event") == "DEATH").select("subject_id", pl.col("detail").alias("DTHCAUS"))
    )
    derived = derived_crs_grade(daily, deaths)
    reported = (
        adae.filter((pl.col("CRSFL") == "Y") & (pl.col("TRTEMFL") == "Y"))
        .group_by("USUBJID")
        .agg(pl.col("AETOXGR").max().cast(pl.Int8).alias("CRSGR_REPORTED"))
        .rename({"USUBJID": "subject_id"})
    )
    listing = crs_grade_discrepancies(reported, derived)
    meta = save_table(settings, str(cut_records.cut), "crs_grade_discrepancies.csv", listing)
    yield dg.Output(
        {"derived": derived, "discrepancies": listing}, metadata={**meta, "subjects monitored": derived.height}
    )
    yield listing_check(
        "reported_grade_matches_monitoring",
        listing,
        f"{listing.height} of {derived.height} monitored subject(s) with a reported CRS grade that differs",
    )


@dg.asset(partitions_def=DATA_CUTS, group_name="derivation", code_version="1")
def ae_summary(settings: DropSettings, cut_records: TrialDrop, adae: pl.DataFrame, adsl: pl.DataFrame) -> dg.Output:
    """Treatment-emergent AEs by term: subjects with any grade, grade 3+, and each
    worst grade, over the safety set."""
    n_safety = int((adsl["SAFFL"] == "Y").sum())
    safety = adsl.filter(pl.col("SAFFL") == "Y").select("USUBJID")
    table = summarise_ae(worst_grade_by_term(adae.join(safety, on="USUBJID", how="semi")), n_safety)
    return dg.Output(table, metadata=save_table(settings, str(cut_records.cut), "ae_summary.csv", table))
