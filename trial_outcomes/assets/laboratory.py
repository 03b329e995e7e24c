"""The DSMB package's laboratory sections (issue 26): ADLB and ADPC, laboratory toxicity
(CTCAE shifts, ICAHT, count recovery, IgG, B-cell aplasia), CAR transgene kinetics and
long-term gene-therapy safety. Each works from the optional file it needs (labs,
long_term_followup); without it the tables are empty and the report says what the
section would need."""

from collections.abc import Iterator
from typing import Any

import polars as pl

from trial_outcomes.analysis import kinetics as kinetics_rules
from trial_outcomes.analysis import labs as lab_rules
from trial_outcomes.analysis import long_term
from trial_outcomes.analysis.kinetics import KineticsTables
from trial_outcomes.analysis.labs import LabTables, Limits
from trial_outcomes.assets.files import contract_check_spec, published
from trial_outcomes.assets.shared import Run, code_version, cut_asset, reading, scanning
from trial_outcomes.io.records import TrialDrop

VERSION = code_version("assets/laboratory.py")


def _asset(name: str, files: list[str], kinds: set[str], **kwargs: Any) -> Any:
    return cut_asset(
        name=name,
        group="derivation",
        version=VERSION,
        kinds=kinds,
        domain="safety",
        check_specs=[contract_check_spec(name, files)],
        **kwargs,
    )


def _limits(settings: Run) -> Limits:
    """The plan's ``[labs]`` choices the laboratory rules take."""
    labs = settings.plan.labs
    return Limits(labs.anc_lln, labs.plt_lln, labs.hgb_lln, labs.bcell_aplasia_below, labs.igg_low)


@_asset("adlb", ["adlb.parquet"], {"polars", "parquet"}, ins=reading(adsl=lab_rules.ADLB_ADSL_COLUMNS))
def adlb(settings: Run, cut_records: TrialDrop, adsl: pl.DataFrame) -> Iterator[Any]:
    """ADLB: every laboratory value at the cut with its study day, BLQ flag, baseline
    (the last value on or before lymphodepletion), CTCAE v5 grade (ANC, platelets,
    haemoglobin) and the on-treatment flag (day 1 to the end of attribution). No rows
    without the optional labs file."""
    table = lab_rules.derive_adlb(
        cut_records["labs"], adsl, _limits(settings), blq_collected=cut_records.has("labs", "below_lloq")
    )
    yield from published("adlb", table, settings, {"adlb.parquet": table}, {"subjects": table["USUBJID"].n_unique()})


@_asset("adpc", ["adpc.parquet"], {"polars", "parquet"}, ins=scanning(adlb=kinetics_rules.ADPC_ADLB_COLUMNS))
def adpc(settings: Run, adlb: pl.LazyFrame) -> Iterator[Any]:
    """ADPC: the CAR transgene samples of ADLB (cellular kinetics)."""
    table = kinetics_rules.derive_adpc(adlb)
    yield from published("adpc", table, settings, {"adpc.parquet": table})


LAB_FILES = ["lab_shifts.csv", "lab_subjects.csv", "igg_summary.csv", "bcell_curve.csv"]


@_asset(
    "lab_toxicity",
    LAB_FILES,
    {"polars", "csv"},
    ins=reading(adsl=lab_rules.TOXICITY_ADSL_COLUMNS, adlb=lab_rules.TOXICITY_ADLB_COLUMNS),
)
def lab_toxicity(
    settings: Run,
    cut_records: TrialDrop,
    adlb: pl.DataFrame,
    adsl: pl.DataFrame,
) -> Iterator[Any]:
    """Laboratory toxicity: CTCAE shift tables (baseline to the worst grade after
    infusion), early and late ICAHT (EHA/EBMT 2023), days to ANC and platelet recovery,
    IgG over time and hypogammaglobulinaemia, and the Kaplan-Meier of continuing B-cell
    aplasia with the B-cell status before each relapse."""
    limits = _limits(settings)
    # windows (ICAHT's days 0-30) close by the last day the drop shows, as the stopping rules'
    subjects = lab_rules.lab_subjects(adlb, adsl, cut_records.seen_to, limits, collected=cut_records.has("labs"))
    tables = LabTables(
        shifts=lab_rules.lab_shifts(adlb, adsl, collected=cut_records.has("labs")),
        subjects=subjects,
        igg=lab_rules.igg_summary(adlb, limits),
        bcell_curve=lab_rules.km_table(lab_rules.bcell_recovery_fit(subjects)),
        has_labs=cut_records.has("labs"),
    )
    frames = (tables.shifts, tables.subjects, tables.igg, tables.bcell_curve)
    yield from published(
        "lab_toxicity",
        tables,
        settings,
        dict(zip(LAB_FILES, frames, strict=True)),
        {
            "subjects with labs": subjects.height,
            "early ICAHT grade >= 3": int((subjects["early_icaht"] >= 3).sum()),
        },
        shown="lab_subjects.csv",
    )


@_asset(
    "kinetics",
    ["kinetics.csv", "kinetics_summary.csv"],
    {"polars", "csv"},
    ins=reading(adsl=kinetics_rules.ADSL_COLUMNS),
)
def kinetics(settings: Run, cut_records: TrialDrop, adpc: pl.DataFrame, adsl: pl.DataFrame) -> Iterator[Any]:
    """CAR transgene kinetics: Cmax, Tmax, AUC0-28d (linear trapezoid), the last
    quantifiable day and whether any expansion was measured (`no_expansion`) per subject,
    and their summary by day-28 response, with the subjects each statistic leaves out (the
    day-28 window open by the last day the drop shows, ``TrialDrop.seen_to``)."""
    params = kinetics_rules.parameters(adpc, adsl, cut_records.seen_to)
    summary = kinetics_rules.summary(params)
    yield from published(
        "kinetics",
        KineticsTables(params, summary, adpc),
        settings,
        {"kinetics.csv": params, "kinetics_summary.csv": summary},
        {"subjects": params.height},
        shown="kinetics_summary.csv",
    )


@_asset(
    "long_term_safety",
    ["long_term_safety.csv", "long_term_events.csv"],
    {"polars", "csv"},
    ins=reading(adsl=long_term.ADSL_COLUMNS),
)
def long_term_safety(settings: Run, cut_records: TrialDrop, adsl: pl.DataFrame) -> Iterator[Any]:
    """Long-term gene-therapy safety: secondary malignancies (T-cell malignancies
    apart), new autoimmune, neurologic and haematologic disorders per 100 patient-years
    (exact Poisson CI) and the replication-competent lentivirus assays by result; the
    closed report's listing of the events; no rows without the long_term_followup file
    (never collected is not zero events)."""
    if cut_records.has("long_term_followup"):
        ltfu = cut_records["long_term_followup"]
        tables = long_term.LongTermTables(
            long_term.incidence(ltfu, adsl, settings.cut), long_term.events_listing(ltfu, adsl)
        )
    else:
        tables = long_term.LongTermTables(long_term.not_collected(), long_term.not_listed())
    yield from published(
        "long_term_safety",
        tables,
        settings,
        {"long_term_safety.csv": tables.incidence, "long_term_events.csv": tables.events},
        {"events listed": tables.events.height},
    )
