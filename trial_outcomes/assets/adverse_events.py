"""Adverse events: ADAE, and ASTCT CRS and ICANS grading from daily monitoring."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from trial_outcomes.analysis.adae import derive_adae
from trial_outcomes.analysis.frames import scan
from trial_outcomes.analysis.syndromes import (
    OUTSIDE_CHECK,
    OUTSIDE_QUERIED_FROM_GRADE,
    REPORTED_COLUMNS,
    SyndromeGrading,
    before_infusion,
    grade_crs,
    grade_icans,
    outside_finding,
    outside_queried,
)
from trial_outcomes.analysis.terms import (
    CRS_QUERIED_FROM,
    crs_absence_query,
    lookalike_terms,
    lookalike_text,
    mapped_terms,
)
from trial_outcomes.assets.files import contract_check_spec, published
from trial_outcomes.assets.metadata import listing_check
from trial_outcomes.assets.shared import Run, code_version, cut_asset, reading
from trial_outcomes.io.records import TrialDrop

VERSION = code_version("assets/adverse_events.py")


@cut_asset(
    group="derivation",
    version=VERSION,
    kinds={"polars", "parquet"},
    domain="safety",
    check_specs=[
        contract_check_spec("adae", ["adae.parquet"]),
        dg.AssetCheckSpec(
            "crs_reported",
            asset="adae",
            blocking=False,
            description="A CAR-T drop with 5 or more subjects infused reports CRS: none at all suggests an "
            "unrecognised term or a missing export",
        ),
        dg.AssetCheckSpec(
            "syndrome_lookalikes",
            asset="adae",
            blocking=False,
            description="No AE term left uncounted resembles CRS or ICANS (a misspelling, a grade in the term, "
            '"Neurotoxicity"): each one is a query for the data manager',
        ),
        dg.AssetCheckSpec(
            "syndromes_after_infusion",
            asset="adae",
            blocking=False,
            description="No CRS or ICANS is reported before the first infusion (during lymphodepletion): the "
            "syndromes are the infused cells', so no grade counts such an AE; each one is a query",
        ),
    ],
)
def adae(settings: Run, cut_records: TrialDrop) -> Iterator[Any]:
    """ADAE: every AE at the cut with its SOC ("Not coded" without one), study days,
    duration, treatment-emergent flag (from lymphodepletion to the first HSCT or
    new therapy; later AEs stay with TRTEMFL = N and the reason), CRS/ICANS flags,
    AESI flag and category, prolonged-cytopenia flags (day 28, day 90) and the
    worst-grade flag."""
    table = derive_adae(cut_records.records, cut_records.cut, cut_records.spellings, cut_records.seen_to)
    counts = {
        "treatment-emergent": int((table["TRTEMFL"] == "Y").sum()),
        "after the treatment-emergent window": int((table["TRTEMFL"] == "N").sum()),
        "AESI": int((table["AESIFL"] == "Y").sum()),
        "SOC coded": "yes" if cut_records.has("adverse_events", "soc") else "no: tables say Not coded",
    }
    mapped = mapped_terms(scan(cut_records.records, "adverse_events"))
    lookalikes = lookalike_terms(scan(cut_records.records, "adverse_events"))
    terms = {
        f"{r['syndrome']} terms": ", ".join(mapped.filter(pl.col("syndrome") == r["syndrome"])["term"])
        for r in mapped.unique("syndrome", maintain_order=True).iter_rows(named=True)
    }
    yield from published("adae", table, settings, {"adae.parquet": table}, {**counts, **terms})
    crs = int((table["CRSFL"] == "Y").sum())
    infused = cut_records.records["infusion"]["subject_id"].n_unique()
    query = crs_absence_query(crs, infused)
    yield dg.AssetCheckResult(
        check_name="crs_reported",
        passed=query is None,
        severity=dg.AssetCheckSeverity.WARN,
        description=query
        or (
            f"{crs} CRS event(s)"
            if crs
            else f"no CRS yet among {infused} infused subject(s): fewer than {CRS_QUERIED_FROM}, not queried"
        ),
        metadata={"CRS events": crs, "subjects infused": infused, **terms},
    )
    queried = [lookalike_text(r) for r in lookalikes.iter_rows(named=True)]
    yield dg.AssetCheckResult(
        check_name="syndrome_lookalikes",
        passed=not queried,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{len(queried)} AE term(s) resemble CRS or ICANS but are not counted as either: query the data manager"
            if queried
            else "no uncounted AE term resembles CRS or ICANS"
        ),
        # the counts plot across runs in the UI; the terms say what to query
        metadata={
            "terms queried": len(queried),
            "AEs with such a term": int(lookalikes["n"].sum()) if lookalikes.height else 0,
            "terms": "; ".join(queried) or "none",
        },
    )
    early = before_infusion(table)
    yield listing_check(
        "syndromes_after_infusion",
        early,
        f"{early.height} CRS or ICANS AE(s) reported before the first infusion, counted by no grade and no "
        "stopping rule: query the onset date or the term with the data manager"
        if early.height
        else "no CRS or ICANS reported before the first infusion",
    )


#: the CRS grading's query on organ support without fever (``crs.support_without_fever``)
SUPPORT_CHECK = dg.AssetCheckSpec(
    "organ_support_has_fever",
    asset="crs_grading",
    blocking=False,
    description="No graded monitoring day needs a vasopressor or high-flow oxygen or more without fever outside a "
    "treated CRS: graded 0, such a day may be a CRS whose fever antipyretics mask (a query, never a grade)",
)


#: the grading's query on severe monitoring days outside its window (``syndromes.outside_queried``)


def _grading_asset(
    syndrome: str, record: str, grade: Any, query: dg.AssetCheckSpec | None = None
) -> dg.AssetsDefinition:
    """The grading asset of one syndrome; ``query`` is the check on the days its grading
    queries (``SyndromeGrading.queried``), for a syndrome that has one."""
    name = f"{syndrome.lower()}_grading"
    file = f"{syndrome.lower()}_grade_discrepancies.csv"

    @cut_asset(
        name=name,
        group="derivation",
        version=VERSION,
        kinds={"polars", "csv"},
        domain="safety",
        description=(
            f"ASTCT 2019 {syndrome} grade derived day by day from `{record}` (when the drop has it), "
            f"the worst per subject (5 for a death from {syndrome}), and `{file}`: every subject whose "
            "reported worst grade differs from the derived one."
        ),
        ins=reading(adae=REPORTED_COLUMNS),
        check_specs=[
            contract_check_spec(name, [file]),
            dg.AssetCheckSpec(
                "reported_grade_matches_monitoring",
                asset=name,
                blocking=False,
                description=f"Reported worst {syndrome} grade equals the ASTCT grade derived from daily monitoring",
            ),
            *([query] if query is not None else []),
            dg.AssetCheckSpec(
                OUTSIDE_CHECK,
                asset=name,
                blocking=False,
                description=f"No monitoring day outside the {syndrome} grading window (of a subject with no infusion, "
                "before the first infusion, or from the first HSCT or new therapy on within the safety rule's window) "
                f"would grade {OUTSIDE_QUERIED_FROM_GRADE} or more (CRS: or needs a vasopressor or high-flow oxygen "
                "without fever): no grade and no stopping rule counts such a day, more often a date or record wrong "
                "than another cause's syndrome",
            ),
        ],
    )
    def grading(settings: Run, cut_records: TrialDrop, adae: pl.DataFrame) -> Iterator[Any]:
        monitored = cut_records.has(record)
        result: SyndromeGrading = grade(cut_records.records, adae, monitored)
        listing = result.discrepancies
        outside = 0 if result.outside is None else result.outside.height
        yield from published(
            name,
            result,
            settings,
            {file: listing},
            {
                "subjects monitored": result.derived.height,
                "monitoring days before the first infusion or from the first HSCT or new therapy (not graded)": outside,
                "monitoring file": "present" if monitored else "absent from the drop",
            },
        )
        text = (
            f"{listing.height} of {result.derived.height} monitored subject(s) with a reported {syndrome} grade "
            "that differs"
            if monitored
            else f"not checked: the drop has no {record} file"
        )
        yield listing_check("reported_grade_matches_monitoring", listing, text)
        severe = outside_queried(result, settings.plan.safety.window_days)
        yield listing_check(OUTSIDE_CHECK, severe, outside_finding(severe, syndrome))
        if query is not None and result.queried is not None:
            days = result.queried
            yield listing_check(
                query.name,
                days,
                f"{days.height} monitoring day(s) in {days['subject_id'].n_unique()} subject(s) on a vasopressor or "
                "high-flow oxygen or more without fever, graded 0: a CRS whose fever antipyretics mask? Query the "
                "day's temperature and the CRS's grade"
                if days.height
                else "every graded day needing a vasopressor or high-flow oxygen has fever or a treated CRS",
            )

    return grading


crs_grading = _grading_asset("CRS", "crs_monitoring", grade_crs, SUPPORT_CHECK)
icans_grading = _grading_asset("ICANS", "icans_monitoring", grade_icans)
