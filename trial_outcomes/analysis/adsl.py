"""ADSL: one row per enrolled subject (endpoints.md, Time and populations).

``derive_adsl`` is the whole derivation, admiral-style: the records at the cut
in, ADSL out, each variable group from one named function (``timeline``,
``response``, ``deaths``, ``exposure``, ``syndromes``, ``eligibility``).
The asset ``adsl`` and the test builders call exactly this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.deaths import death_details, early_death_flags
from trial_outcomes.analysis.eligibility import subject_eligibility
from trial_outcomes.analysis.exposure import (
    exposure_variables,
    not_infused_reason,
    product_variables,
    time_to_infusion,
    vein_to_vein,
)
from trial_outcomes.analysis.flags import yn_flag, yn_value
from trial_outcomes.analysis.frames import beside, require, scan, sorted_taking
from trial_outcomes.analysis.response import derive_response, disease_stratum
from trial_outcomes.analysis.syndromes import SyndromeGrading, syndrome_variables
from trial_outcomes.analysis.timeline import (
    attribution_end,
    followup_dates,
    last_disease_assessment,
    last_known_alive_date,
    treatment_dates,
)
from trial_outcomes.contracts import BASELINE_NAMES, with_study


def age_group(age: pl.Expr) -> pl.Expr:
    """``AGEGR1``: ``<10`` or ``>=10`` years (data-contract.md section 3)."""
    return pl.when(age < 10).then(pl.lit("<10")).otherwise(pl.lit(">=10"))


def baseline(enrolment: pl.DataFrame, sites: Mapping[str, str] | None = None) -> pl.DataFrame:
    """Enrolment as recorded under its ADaM names (``contracts.BASELINE_NAMES``), Y/N
    variables as ``Y``/``N``, with ``AGEU``, ``AGEGR1`` and ``STRATUM``
    (``response.disease_stratum``); a site written several ways under the one spelling
    ``sites`` gives it (``terms.counted_spellings``' ``enrolment.site``: "Boren" is
    "BOREN")."""
    return (
        enrolment.with_columns(
            pl.col("site").replace(dict(sites or {})),
            yn_value(pl.col("prior_hsct")),
            yn_value(pl.col("emd")),
            pl.lit("YEARS").alias("AGEU"),
            age_group(pl.col("age_years")).alias("AGEGR1"),
            disease_stratum(pl.col("disease_status")).alias("STRATUM"),
        )
        .drop("_source_file", "_source_row")
        .rename(BASELINE_NAMES)
    )


def populations(adsl: pl.DataFrame) -> pl.DataFrame:
    """``ENRLFL`` enrolled; ``SAFFL`` infused; ``EFFFL`` infused unless withdrawn before
    any assessment; ``PPROTFL`` infused and eligible (``eligibility.subject_eligibility``:
    every computable criterion met by the data, the others by the investigator's
    checklist)."""
    infused = pl.col("TRTSDT").is_not_null()
    withdrawn_first = pl.col("WDDT").is_not_null() & (pl.col("FASDT").is_null() | (pl.col("WDDT") < pl.col("FASDT")))
    return adsl.with_columns(
        yn_flag(pl.lit(True)).alias("ENRLFL"),
        yn_flag(infused).alias("SAFFL"),
        yn_flag(infused & ~withdrawn_first).alias("EFFFL"),
        yn_flag(infused & pl.col("eligible").fill_null(False)).alias("PPROTFL"),
    )


def disposition(adsl: pl.DataFrame) -> pl.DataFrame:
    """``DISPSTAT`` at the cut: DIED, WITHDRAWN, LOST, or ONGOING."""
    status = (
        pl.when(pl.col("DTHDT").is_not_null())
        .then(pl.lit("DIED"))
        .when(pl.col("WDDT").is_not_null())
        .then(pl.lit("WITHDRAWN"))
        .when(pl.col("LOSTDT").is_not_null())
        .then(pl.lit("LOST"))
        .otherwise(pl.lit("ONGOING"))
    )
    return adsl.with_columns(status.alias("DISPSTAT"))


def derive_adsl(
    records: Records,
    cut: dt.date,
    deviations: pl.DataFrame,
    adae: pl.DataFrame,
    gradings: tuple[SyndromeGrading, ...],
    seen_to: dt.date | None = None,
    reasons_seen: bool = True,
    spellings: Mapping[str, Mapping[str, str]] | None = None,
    bridging_collected: bool = True,
) -> pl.DataFrame:
    """ADSL from the records at the cut, the eligibility deviations
    (``eligibility.eligibility_deviations``), ADAE and the CRS/ICANS gradings
    (``syndromes.grade_crs``, ``grade_icans``), whose per-subject variables it joins
    (``syndromes.syndrome_variables``). The response windows (day 28's, ORR3M's, a
    treatment failure's) close by ``seen_to``, the last day the drop shows
    (``TrialDrop.seen_to``; the cut by default), as the stopping rules' do. The apheresis
    file's undated reasons for not infusing count only at a cut that sees the whole drop
    (``reasons_seen``: ``exposure.not_infused_reason``). ``spellings``: the values of
    the whole drop written several ways and the spelling each is counted under
    (``terms.counted_spellings``), the sites' read here. ``bridging_collected``: the drop's
    infusion file has the optional bridging column (``exposure.exposure_variables``)."""
    syndromes = syndrome_variables(adae, gradings)
    enrolment = require(records["enrolment"], "enrolment", "subject_id", "disease_status", "age_years")
    adsl = baseline(enrolment, (spellings or {}).get("enrolment.site"))
    dates = treatment_dates(records)
    therapy = attribution_end(followup_dates(records))
    deaths = death_details(records)
    subjects = (
        adsl.select("subject_id", "STRATUM")
        .join(dates, on="subject_id", how="inner")
        .join(therapy, on="subject_id", how="left")
        .join(deaths, on="subject_id", how="left")
    )
    response = derive_response(scan(records, "assessments"), subjects, min(cut, seen_to or cut))
    del subjects
    # each part beside the baseline, by subject, none copied again (``frames.beside``)
    parts = [adsl, dates, therapy, deaths]
    del adsl, dates, therapy, deaths
    parts += [
        last_known_alive_date(records),
        last_disease_assessment(records),
        exposure_variables(records, bridging_collected),
        product_variables(records),
        subject_eligibility(enrolment, deviations, scan(records, "eligibility").select(pl.len()).collect().item() > 0),
        response,
    ]
    del response
    adsl = beside(parts, "subject_id").rename({"subject_id": "USUBJID"})
    parts = [adsl, syndromes]
    del adsl, syndromes
    adsl = beside(parts, "USUBJID")
    if not reasons_seen:
        # the apheresis file's reason has no date: a cut before the drop's latest record does
        # not know it, for any subject (a red team's subject withdrawn in 2021 and dead in 2023,
        # the file's reason DEATH, showed "Death" at a 2022 cut; another, reason
        # MANUFACTURING_FAILURE beside a PENDING product, was a manufacturing failure in the
        # ITT table and awaiting infusion in the CONSORT figure); a FAILED product is its
        # status, which NINFCAT counts
        adsl = adsl.with_columns(pl.lit(None, pl.String).alias("APHNINF"))
    adsl = early_death_flags(not_infused_reason(vein_to_vein(time_to_infusion(disposition(populations(adsl))))))
    adsl = adsl.with_columns(yn_flag(pl.col("eligibility_deviation")).alias("ELIGDVFL"))
    rows = [adsl.drop("eligibility_deviation", "eligible")]
    del adsl
    return with_study(sorted_taking(rows, "USUBJID"))  # a column at a time: ADSL is not held twice
