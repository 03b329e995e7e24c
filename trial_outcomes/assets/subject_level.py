"""Subject-level analysis data: eligibility deviations, ADSL, ADRS and the response summary."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from trial_outcomes.analysis import conduct as conduct_rules
from trial_outcomes.analysis.adrs import ADSL_COLUMNS as ADRS_ADSL_COLUMNS
from trial_outcomes.analysis.adrs import derive_adrs
from trial_outcomes.analysis.adsl import derive_adsl
from trial_outcomes.analysis.eligibility import eligibility_deviations as find_deviations
from trial_outcomes.analysis.frames import scan
from trial_outcomes.analysis.rates import ADSL_COLUMNS as RESPONSE_ADSL_COLUMNS
from trial_outcomes.analysis.rates import EFFICACY_POPULATION
from trial_outcomes.analysis.rates import response_summary as summarise_response
from trial_outcomes.analysis.syndromes import DETAIL_COLUMNS, SyndromeGrading
from trial_outcomes.assets.files import contract_check_spec, published
from trial_outcomes.assets.metadata import listing_check, records_table
from trial_outcomes.assets.shared import Run, code_version, cut_asset, reading
from trial_outcomes.formatting import pct_ci
from trial_outcomes.io.records import TrialDrop
from trial_outcomes.labels import group as group_label

VERSION = code_version("assets/subject_level.py")


def _asset(
    name: str,
    files: list[str],
    kinds: set[str],
    extra_checks: list[dg.AssetCheckSpec] | None = None,
    domain: str = "efficacy",
    **kwargs: Any,
) -> Any:
    return cut_asset(
        name=name,
        group="derivation",
        version=VERSION,
        kinds=kinds,
        domain=domain,
        check_specs=[contract_check_spec(name, files), *(extra_checks or [])],
        **kwargs,
    )


@_asset(
    "eligibility_deviations",
    ["eligibility_deviations.csv"],
    {"polars", "csv"},
    domain="validation",
    extra_checks=[
        dg.AssetCheckSpec(
            "checklist_agrees",
            asset="eligibility_deviations",
            blocking=False,
            description="Computed eligibility agrees with the investigator's checklist",
        )
    ],
)
def eligibility_deviations(settings: Run, cut_records: TrialDrop) -> Iterator[Any]:
    """Each computable criterion evaluated from enrolment and compared with the
    checklist, for the subjects enrolled by the cut; every disagreement, failure
    or missing criterion is listed (docs/protocol.md). A deviation does not stop the
    run: infused subjects stay in the safety set."""
    table = find_deviations(cut_records["enrolment"], scan(cut_records.records, "eligibility"))
    yield from published(
        "eligibility_deviations",
        table,
        settings,
        {"eligibility_deviations.csv": table},
        {"subjects": table["subject_id"].n_unique()},
    )
    subjects = sorted(table["subject_id"].unique().to_list())
    yield listing_check(
        "checklist_agrees",
        table,
        "no deviations"
        if table.is_empty()
        else f"{len(subjects)} subject(s) with eligibility findings: " + ", ".join(subjects[:30]),
    )


@_asset("adsl", ["adsl.parquet"], {"polars", "parquet"}, ins=reading(adae=DETAIL_COLUMNS))
def adsl(
    settings: Run,
    cut_records: TrialDrop,
    eligibility_deviations: pl.DataFrame,
    adae: pl.DataFrame,
    crs_grading: SyndromeGrading,
    icans_grading: SyndromeGrading,
) -> Iterator[Any]:
    """ADSL: one row per enrolled subject: populations (ENRLFL, SAFFL, EFFFL, PPROTFL),
    baseline and subgroup variables, key dates, the end of response attribution,
    disposition, exposure, day-28 response, ORR3M, remission and relapse, CRS/ICANS
    (reported, derived, adjudicated), deaths with cause category, early deaths and
    NRM, and the eligibility-deviation flag."""
    table = derive_adsl(
        cut_records.records,
        cut_records.cut,
        eligibility_deviations,
        adae,
        (crs_grading, icans_grading),
        seen_to=cut_records.seen_to,
        reasons_seen=cut_records.sees_whole_drop,
        spellings=cut_records.spellings,
        bridging_collected=cut_records.has("infusion", "bridging"),
    )
    counts = {f"n {flag}": int((table[flag] == "Y").sum()) for flag in ("ENRLFL", "SAFFL", "EFFFL", "PPROTFL")}
    yield from published("adsl", table, settings, {"adsl.parquet": table}, counts)


@_asset("adrs", ["adrs.parquet"], {"polars", "parquet"}, ins=reading(adsl=ADRS_ADSL_COLUMNS))
def adrs(settings: Run, cut_records: TrialDrop, adsl: pl.DataFrame) -> Iterator[Any]:
    """ADRS: response at every assessment (ANL01FL: attributable to CAR-T), the best
    overall response by day 28 and ORR3M per infused subject."""
    table = derive_adrs(cut_records.records, adsl)
    yield from published("adrs", table, settings, {"adrs.parquet": table})


@_asset("response_summary", ["response_summary.csv"], {"polars", "csv"}, ins=reading(adsl=RESPONSE_ADSL_COLUMNS))
def response_summary(settings: Run, adsl: pl.DataFrame) -> Iterator[Any]:
    """CR/CRi, CR and MRD-negative CR/CRi by day 28 and ORR3M over the efficacy set,
    with exact Clopper-Pearson 95 % CIs, overall, by response stratum (morphologic
    disease, MRD-persistent) and by the plan's subgroups; subjects pending at the
    cut are counted apart, not in the denominators."""
    table = summarise_response(adsl, settings.plan.subgroups)
    shown = table.filter(pl.col("group_var").is_in(["all", "STRATUM"]) & (pl.col("population") == EFFICACY_POPULATION))
    rows = [
        {
            "parameter": r["parameter"],
            "group": group_label(r["group_var"], r["group"]),
            "responders / evaluable": f"{r['responders']}/{r['n']}",
            "rate (95% CI)": pct_ci(r["rate"], r["rate_lcl"], r["rate_ucl"]),
            "pending": r["n_pending"],
        }
        for r in shown.iter_rows(named=True)
    ]
    overall = shown.row(0, named=True)
    yield from published(
        "response_summary",
        table,
        settings,
        {"response_summary.csv": table},
        {
            "data cut": settings.cut_key,
            "headline": records_table(
                rows, ["parameter", "group", "responders / evaluable", "rate (95% CI)", "pending"]
            ),
            "CR/CRi rate": dg.MetadataValue.float(overall["rate"] if overall["rate"] is not None else float("nan")),
        },
    )


@_asset(
    "conduct",
    ["conduct_summary.csv"],
    {"polars", "csv"},
    domain="monitoring",
    ins=reading(adsl=conduct_rules.ADSL_COLUMNS, adrs=conduct_rules.ADRS_COLUMNS),
)
def conduct(settings: Run, cut_records: TrialDrop, adsl: pl.DataFrame, adrs: pl.DataFrame) -> Iterator[Any]:
    """Trial conduct and data currency at the cut: accrual by quarter against the plan's
    `[conduct]`, enrolment and time to infusion by site, disease assessments overdue by
    the visit schedule (D14 to M12, then every 6 months), CR/CRi assessments without MRD."""
    conduct_plan = settings.plan.conduct
    # due and overdue as of the last day the drop shows (a stale drop's latest record): a
    # planned cut after it listed day-28 visits overdue of subjects the efficacy set calls pending
    tables = conduct_rules.conduct_summary(
        adsl, adrs, cut_records.seen_to, conduct_plan.target_enrolment, conduct_plan.accrual_months
    )
    yield from published(
        "conduct",
        tables,
        settings,
        {"conduct_summary.csv": tables.summary},
        {"assessments overdue at the cut": tables.overdue.height},
    )
