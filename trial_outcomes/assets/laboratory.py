"""The DSMB package's laboratory sections (issue 26): ADLB and ADPC, laboratory toxicity
(CTCAE shifts, ICAHT, count recovery, IgG, B-cell aplasia), CAR transgene kinetics and
long-term gene-therapy safety. Each works from the optional file it needs (labs,
long_term_followup); without it the tables are empty and the report says what the
section would need."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from trial_outcomes.analysis.kinetics import KineticsTables
from trial_outcomes.analysis.labs import LabTables, Limits
from trial_outcomes.assets.files import contract_check_spec, contract_result, save_table
from trial_outcomes.assets.shared import DropSettings, code_version, cut_asset
from trial_outcomes.dates import parse_cut
from trial_outcomes.io.records import TrialDrop

VERSION = code_version("assets/laboratory.py")


def _asset(name: str, files: list[str], kinds: set[str]) -> Any:
    return cut_asset(
        name=name,
        group="derivation",
        version=VERSION,
        kinds=kinds,
        domain="safety",
        check_specs=[contract_check_spec(name, files)],
    )


def _limits(settings: DropSettings) -> Limits:
    """The plan's ``[labs]`` choices the laboratory rules take."""
    labs = settings.analysis_plan().labs
    return Limits(labs.anc_lln, labs.plt_lln, labs.hgb_lln, labs.bcell_aplasia_below, labs.igg_low)


@_asset("adlb", ["adlb.parquet"], {"polars", "parquet"})
def adlb(
    context: AssetExecutionContext, settings: DropSettings, cut_records: TrialDrop, adsl: pl.DataFrame
) -> Iterator[Any]:
    """ADLB: every laboratory value at the cut with its study day, BLQ flag, baseline
    (the last value on or before lymphodepletion), CTCAE v5 grade (ANC, platelets,
    haemoglobin) and the on-treatment flag (day 1 to the end of attribution). No rows
    without the optional labs file."""
    from trial_outcomes.analysis.labs import derive_adlb

    table = derive_adlb(cut_records["labs"], adsl, _limits(settings))
    meta, problems = save_table(context, settings, "adlb.parquet", table)
    yield dg.Output(table, metadata={**meta, "subjects": table["USUBJID"].n_unique()})
    yield contract_result("adlb", {"adlb.parquet": problems})


@_asset("adpc", ["adpc.parquet"], {"polars", "parquet"})
def adpc(context: AssetExecutionContext, settings: DropSettings, adlb: pl.DataFrame) -> Iterator[Any]:
    """ADPC: the CAR transgene samples of ADLB (cellular kinetics)."""
    from trial_outcomes.analysis.kinetics import derive_adpc

    table = derive_adpc(adlb)
    meta, problems = save_table(context, settings, "adpc.parquet", table)
    yield dg.Output(table, metadata=meta)
    yield contract_result("adpc", {"adpc.parquet": problems})


LAB_FILES = ["lab_shifts.csv", "lab_subjects.csv", "igg_summary.csv", "bcell_curve.csv"]


@_asset("lab_toxicity", LAB_FILES, {"polars", "csv"})
def lab_toxicity(
    context: AssetExecutionContext,
    settings: DropSettings,
    cut_records: TrialDrop,
    adlb: pl.DataFrame,
    adsl: pl.DataFrame,
) -> Iterator[Any]:
    """Laboratory toxicity: CTCAE shift tables (baseline to the worst grade after
    infusion), early and late ICAHT (EHA/EBMT 2023), days to ANC and platelet recovery,
    IgG over time and hypogammaglobulinaemia, and the Kaplan-Meier of continuing B-cell
    aplasia with the B-cell status before each relapse."""
    from trial_outcomes.analysis import labs

    limits = _limits(settings)
    cut = parse_cut(context.partition_key)
    subjects = labs.lab_subjects(adlb, adsl, cut, limits)
    tables = LabTables(
        shifts=labs.lab_shifts(adlb, adsl),
        subjects=subjects,
        igg=labs.igg_summary(adlb, limits),
        bcell_curve=labs.km_table(labs.bcell_recovery_fit(subjects)),
        has_labs=cut_records.has("labs"),
    )
    checked = {}
    for file, frame in zip(LAB_FILES, (tables.shifts, tables.subjects, tables.igg, tables.bcell_curve), strict=True):
        _, checked[file] = save_table(context, settings, file, frame)
    yield dg.Output(
        tables,
        metadata={
            "subjects with labs": subjects.height,
            "early ICAHT grade >= 3": int((subjects["early_icaht"] >= 3).sum()),
        },
    )
    yield contract_result("lab_toxicity", checked)


@_asset("kinetics", ["kinetics.csv", "kinetics_summary.csv"], {"polars", "csv"})
def kinetics(
    context: AssetExecutionContext, settings: DropSettings, adpc: pl.DataFrame, adsl: pl.DataFrame
) -> Iterator[Any]:
    """CAR transgene kinetics: Cmax, Tmax, AUC0-28d (linear trapezoid) and the last
    quantifiable day per subject, and their summary by day-28 response."""
    from trial_outcomes.analysis import kinetics as rules

    params = rules.parameters(adpc, adsl, parse_cut(context.partition_key))
    summary = rules.summary(params)
    _, first = save_table(context, settings, "kinetics.csv", params)
    meta, second = save_table(context, settings, "kinetics_summary.csv", summary)
    yield dg.Output(KineticsTables(params, summary, adpc), metadata={**meta, "subjects": params.height})
    yield contract_result("kinetics", {"kinetics.csv": first, "kinetics_summary.csv": second})


@_asset("long_term_safety", ["long_term_safety.csv"], {"polars", "csv"})
def long_term_safety(
    context: AssetExecutionContext, settings: DropSettings, cut_records: TrialDrop, adsl: pl.DataFrame
) -> Iterator[Any]:
    """Long-term gene-therapy safety: secondary malignancies (T-cell malignancies
    apart), new autoimmune, neurologic and haematologic disorders per 100 patient-years
    (exact Poisson CI) and the replication-competent lentivirus assays by result."""
    from trial_outcomes.analysis.long_term import incidence

    table = incidence(cut_records["long_term_followup"], adsl, parse_cut(context.partition_key))
    meta, problems = save_table(context, settings, "long_term_safety.csv", table)
    yield dg.Output(table, metadata=meta)
    yield contract_result("long_term_safety", {"long_term_safety.csv": problems})
