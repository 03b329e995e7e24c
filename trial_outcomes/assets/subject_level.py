"""Subject-level analysis data: the cut, ADSL, ADRS and the response summary."""

from __future__ import annotations

import dagster as dg
import polars as pl

from trial_outcomes.analysis.adae import syndrome_details
from trial_outcomes.analysis.adrs import best_response_day28, derive_adrs
from trial_outcomes.analysis.adsl import derive_adsl
from trial_outcomes.analysis.cut import apply_cut
from trial_outcomes.analysis.eligibility import subject_eligibility
from trial_outcomes.analysis.rates import response_summary as summarise_response
from trial_outcomes.assets.files import save_table
from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.io.records import TrialDrop


@dg.asset(partitions_def=DATA_CUTS, group_name="derivation", code_version="1")
def cut_records(trial_drop: TrialDrop) -> dg.Output:
    """The drop as known at the data cut: records dated after it ignored, AEs
    resolving after it ongoing, subjects enrolled after it left out."""
    records = apply_cut(trial_drop.records, trial_drop.cut)
    dropped = {r: trial_drop[r].height - f.height for r, f in records.items()}
    return dg.Output(
        TrialDrop(records=records, cut=trial_drop.cut, files=trial_drop.files),
        metadata={
            "data cut": str(trial_drop.cut),
            "subjects at the cut": records["enrolment"].height,
            **{f"rows after the cut: {r}": n for r, n in dropped.items() if n},
        },
    )


@dg.asset(partitions_def=DATA_CUTS, group_name="derivation", code_version="1")
def adsl(
    settings: DropSettings,
    cut_records: TrialDrop,
    eligibility_deviations: pl.DataFrame,
    adae: pl.DataFrame,
    crs_grading: dict,
) -> dg.Output:
    """ADSL: one row per enrolled subject: populations (ENRLFL, SAFFL, EFFFL, PPROTFL),
    baseline and subgroup variables, key dates, disposition, day-28 response,
    CRS/ICANS details, early deaths and the eligibility-deviation flag."""
    records = cut_records.records
    elig = subject_eligibility(records["enrolment"], eligibility_deviations)
    bor = best_response_day28(records, cut_records.cut)
    table = derive_adsl(records, elig, bor)
    for flag, prefix in (("CRSFL", "CRS"), ("ICANSFL", "ICANS")):
        table = table.join(syndrome_details(adae, flag, prefix), on="USUBJID", how="left")
    table = table.join(crs_grading["derived"].rename({"subject_id": "USUBJID"}), on="USUBJID", how="left")
    meta = save_table(settings, str(cut_records.cut), "adsl.parquet", table)
    counts = {f"n {flag}": int((table[flag] == "Y").sum()) for flag in ("ENRLFL", "SAFFL", "EFFFL", "PPROTFL")}
    return dg.Output(table, metadata={**meta, **counts})


@dg.asset(partitions_def=DATA_CUTS, group_name="derivation", code_version="1")
def adrs(settings: DropSettings, cut_records: TrialDrop, adsl: pl.DataFrame) -> dg.Output:
    """ADRS: overall response at every assessment and the best overall response by day 28."""
    bor = adsl.filter(pl.col("SAFFL") == "Y").select(
        pl.col("USUBJID").alias("subject_id"), "BOR28", "BORDT", "BORDY", "BORMRD", "CRFL", "MRDNEGFL"
    )
    table = derive_adrs(cut_records.records, bor)
    return dg.Output(table, metadata=save_table(settings, str(cut_records.cut), "adrs.parquet", table))


@dg.asset(partitions_def=DATA_CUTS, group_name="derivation", code_version="1")
def response_summary(settings: DropSettings, cut_records: TrialDrop, adsl: pl.DataFrame) -> dg.Output:
    """Day-28 CR/CRi, CR and MRD-negative CR/CRi rates over the efficacy set, with
    exact Clopper-Pearson 95 % CIs, overall and by subgroup."""
    table = summarise_response(adsl)
    overall = table.filter((pl.col("group_var") == "all") & (pl.col("parameter") == "CR/CRi by day 28")).row(
        0, named=True
    )
    return dg.Output(
        table,
        metadata={
            **save_table(settings, str(cut_records.cut), "response_summary.csv", table),
            "CR/CRi rate": dg.MetadataValue.float(overall["rate"] if overall["rate"] is not None else float("nan")),
        },
    )
