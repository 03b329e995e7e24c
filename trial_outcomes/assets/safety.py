"""Safety and exposure tables of a cut: AEs by term and by SOC, AESI, CRS/ICANS,
headline safety rates, deaths, exposure and relapse."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from trial_outcomes.analysis import ae_tables, exposure, relapse, safety_summary
from trial_outcomes.analysis import listings as listing_rules
from trial_outcomes.analysis.listings import ListingTables
from trial_outcomes.analysis.syndromes import SyndromeGrading
from trial_outcomes.assets.files import contract_check_spec, published
from trial_outcomes.assets.metadata import records_table
from trial_outcomes.assets.monitoring import previous_cut
from trial_outcomes.assets.shared import Run, code_version, cut_asset, reading, scanning
from trial_outcomes.formatting import pct, pct_ci
from trial_outcomes.io.records import TrialDrop

VERSION = code_version("assets/safety.py")


def _asset(name: str, file: str, domain: str = "safety", **kwargs: Any) -> Any:
    return cut_asset(
        name=name,
        group="safety",
        version=VERSION,
        kinds={"polars", "csv"},
        domain=domain,
        check_specs=[contract_check_spec(name, [file])],
        **kwargs,
    )


#: what the AE tables read: ADAE's columns of ``ae_tables.TABLE_COLUMNS`` and the safety set
_AE_TABLE_INPUTS = reading(adae=ae_tables.TABLE_COLUMNS, adsl=ae_tables.SAFETY_COLUMNS)


def _emit(
    settings: Run,
    name: str,
    file: str,
    table: pl.DataFrame,
    value: Any = None,
    **metadata: Any,
) -> Iterator[Any]:
    yield from published(name, table if value is None else value, settings, {file: table}, metadata)


@_asset("ae_summary", "ae_summary.csv", ins=_AE_TABLE_INPUTS)
def ae_summary(settings: Run, adae: pl.DataFrame, adsl: pl.DataFrame) -> Iterator[Any]:
    """Treatment-emergent AEs by preferred term: subjects with any grade, grade 3+ and
    each worst grade, over the safety set."""
    yield from _emit(settings, "ae_summary", "ae_summary.csv", ae_tables.ae_summary(adae, adsl))


@_asset("ae_soc_summary", "ae_soc_summary.csv", ins=_AE_TABLE_INPUTS)
def ae_soc_summary(settings: Run, adae: pl.DataFrame, adsl: pl.DataFrame) -> Iterator[Any]:
    """TEAEs by system organ class and preferred term, worst grade per subject (any,
    >= 3, 5), in four tables (the `table` column): all, serious, related, fatal.
    Without a coded SOC every term sits under "Not coded"."""
    yield from _emit(settings, "ae_soc_summary", "ae_soc_summary.csv", ae_tables.ae_soc_summary(adae, adsl))


@_asset("aesi_summary", "aesi_summary.csv", ins=_AE_TABLE_INPUTS)
def aesi_summary(settings: Run, adae: pl.DataFrame, adsl: pl.DataFrame) -> Iterator[Any]:
    """Adverse events of special interest by category: CRS, ICANS, prolonged
    cytopenia, grade >= 3 infection, hypogammaglobulinaemia, TLS, HLH/MAS."""
    table = ae_tables.aesi_summary(adae, adsl)
    rows = [
        {
            "category": r["category"],
            "subjects": f"{r['n_any']} ({pct((r['pct_any'] or 0) / 100)})",
            "grade >= 3": r["n_grade3plus"],
        }
        for r in table.iter_rows(named=True)
    ]
    yield from _emit(
        settings,
        "aesi_summary",
        "aesi_summary.csv",
        table,
        headline=records_table(rows, ["category", "subjects", "grade >= 3"]),
    )


@_asset("syndrome_summary", "crs_icans_summary.csv", ins=reading(adsl=safety_summary.SYNDROME_COLUMNS))
def syndrome_summary(
    settings: Run,
    adsl: pl.DataFrame,
    crs_grading: SyndromeGrading,
    icans_grading: SyndromeGrading,
) -> Iterator[Any]:
    """CRS and ICANS: incidence by worst grade (reported, derived from monitoring and
    adjudicated), grade >= 3 with exact CIs, onset and duration (median, range),
    tocilizumab and corticosteroid use among subjects with the event."""
    monitored = {g.syndrome: g.monitored for g in (crs_grading, icans_grading)}
    yield from _emit(
        settings, "syndrome_summary", "crs_icans_summary.csv", safety_summary.syndrome_summary(adsl, monitored)
    )


@_asset("safety_summary", "safety_summary.csv", ins=reading(adsl=safety_summary.HEADLINE_COLUMNS))
def safety_headline(settings: Run, cut_records: TrialDrop, adsl: pl.DataFrame) -> Iterator[Any]:
    """The headline safety rates with exact Clopper-Pearson 95 % CIs, each over the
    subjects it can be known for at the cut: grade >= 3 CRS and ICANS (adjudicated and
    reported; infused the safety rule's window before the cut, or with the event),
    deaths within 30 and 100 days (infused that long before the cut, or dead within
    it); NRM over the safety set. The windows close by the last day the drop can show
    (``TrialDrop.seen_to``: a planned cut later than its latest record follows no one
    past that record)."""
    table = safety_summary.safety_headline(adsl, cut_records.seen_to, settings.plan.safety.window_days)
    rows = [
        {
            "measure": r["measure"],
            "n": f"{r['n_events']}/{r['n']}",
            "rate (95% CI)": pct_ci(r["rate"], r["rate_lcl"], r["rate_ucl"]),
        }
        for r in table.iter_rows(named=True)
    ]
    yield from _emit(
        settings,
        "safety_summary",
        "safety_summary.csv",
        table,
        headline=records_table(rows, ["measure", "n", "rate (95% CI)"]),
    )


@_asset("deaths_summary", "deaths_summary.csv", ins=reading(adsl=safety_summary.DEATHS_COLUMNS))
def deaths_summary(settings: Run, adsl: pl.DataFrame) -> Iterator[Any]:
    """Deaths by cause category: before infusion, within 30 and 100 days, after
    relapse, non-relapse."""
    yield from _emit(settings, "deaths_summary", "deaths_summary.csv", safety_summary.deaths_summary(adsl))


@_asset("exposure_summary", "exposure_summary.csv", domain="exposure", ins=reading(adsl=exposure.SUMMARY_COLUMNS))
def exposure_summary(settings: Run, adsl: pl.DataFrame) -> Iterator[Any]:
    """Exposure: dose (median, range), lymphodepletion regimen, bridging therapy,
    days from enrolment and from lymphodepletion to infusion, and the enrolled
    subjects not infused by reason."""
    yield from _emit(
        settings,
        "exposure_summary",
        "exposure_summary.csv",
        exposure.exposure_summary(adsl, _dose_range(settings)),
    )


@_asset("relapse_summary", "relapse_summary.csv", domain="efficacy", ins=reading(adsl=relapse.ADSL_COLUMNS))
def relapse_summary(settings: Run, adsl: pl.DataFrame) -> Iterator[Any]:
    """Relapses by site and CD19 status, and the cumulative incidence of CD19-negative
    relapse (CD19-positive relapse and death in remission competing) at the plan's
    landmarks."""
    tables = relapse.relapse_summary(adsl, settings.plan.landmark_months)
    yield from _emit(settings, "relapse_summary", "relapse_summary.csv", tables.summary, value=tables)


def _previously_listed(folder: Path) -> pl.DataFrame:
    """What the previous published cut listed: each listing's events (``listing, USUBJID,
    AESPID`` of its ``ae_listings.csv``), else its ADAE's events (their key kept its names
    through contract version 4)."""
    listed = folder / "ae_listings.csv"
    if listed.is_file():
        return pl.read_csv(listed, columns=["listing", "USUBJID", "AESPID"], infer_schema=False)
    return pl.read_parquet(folder / "adae.parquet", columns=["USUBJID", "AESPID"])


@cut_asset(
    group="safety",
    version=VERSION,
    kinds={"polars", "csv"},
    domain="safety",
    check_specs=[contract_check_spec("listings", ["ae_listings.csv", "narratives.csv"])],
    ins={**reading(adsl=listing_rules.NARRATIVE_FIELDS), **scanning(adae=listing_rules.ADAE_COLUMNS)},
)
def listings(settings: Run, adsl: pl.DataFrame, adae: pl.LazyFrame) -> Iterator[Any]:
    """The closed report's subject listings (serious, grade >= 3 and special-interest
    treatment-emergent AEs, each marked new when not in the previous published cut) and
    a narrative per death and per serious AE from the subject's records."""
    previous = previous_cut(settings)
    keys = None if previous is None else _previously_listed(settings.out_dir / previous)
    listed = listing_rules.ae_listings(adae, keys, adsl)
    told = listing_rules.narratives(adsl, adae)
    new = int((listed["NEWFL"] == "Y").sum())
    yield from published(
        "listings",
        ListingTables(listed, told, previous).excerpt(),  # what the report prints; the files hold all
        settings,
        {"ae_listings.csv": listed, "narratives.csv": told},
        {
            "narratives": told.height,
            "previous cut": previous or "none",
            "new since the previous cut": new if previous else "no previous cut",
        },
    )


def _dose_range(settings: Run) -> tuple[float, float]:
    labs = settings.plan.labs
    return labs.dose_low_per_kg, labs.dose_high_per_kg
