"""Deaths: cause category, early deaths and non-relapse mortality (endpoints.md,
Adverse events: "Cause of death category" and "Early deaths").

The category is the drop's ``cause_category`` on the DEATH row when the drop
has it; otherwise it is classified from the free-text cause by the keyword rule
``cause_category_from_text`` (tested in tests/analysis/test_deaths.py). The
report lists each death with its text as reported and its category.
"""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.flags import yn_flag
from trial_outcomes.analysis.frames import require
from trial_outcomes.analysis.timeline import study_day

#: keyword rules in order: the first that matches the cause's text gives its category
CAUSE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("LEUKEMIA", r"leuka?emi|\brelaps|refractor|progressi"),
    ("CRS", r"cytokine release|\bCRS\b"),
    ("ICANS", r"neurotox|\bICANS\b|cerebral o?edema"),
    ("TRANSPLANT", r"transplant|\bGVHD\b|graft.versus|\bHSCT\b|veno-?occlusive"),
    ("INFECTION", r"infect|sepsis|septic|pneumonia|bacter|fung|viral|virus|aspergill|candid"),
)
REPORTED, KEYWORD_RULE = "Reported (cause_category)", "Keyword rule on the cause text"


def cause_category_from_text(text: pl.Expr) -> pl.Expr:
    """The keyword rule for a death without a coded category: leukaemia, relapse,
    refractory or progression means ``LEUKEMIA`` (endpoints.md); then CRS, ICANS,
    transplant (GVHD) and infection by their words; a blank cause is ``UNKNOWN``,
    anything else ``OTHER``. Matching ignores case. Worked examples: "Relapsed
    leukemia" -> LEUKEMIA; "Infection in remission" -> INFECTION; "Transplant-related
    (GVHD and infection)" -> TRANSPLANT; "Road accident" -> OTHER."""
    rule: pl.Expr = pl.lit("OTHER")
    for category, pattern in reversed(CAUSE_KEYWORDS):  # built from the last: the first pattern that matches wins
        rule = pl.when(text.str.contains(f"(?i){pattern}")).then(pl.lit(category)).otherwise(rule)
    return pl.when(text.is_null() | (text.str.strip_chars() == "")).then(pl.lit("UNKNOWN")).otherwise(rule)


def death_details(records: Records) -> pl.DataFrame:
    """Per subject who died: ``DTHDT``, ``DTHCAUS`` (the text as reported), ``DTHCAT``
    (the category) and ``DTHCATSR`` (where the category comes from)."""
    fu = require(records["followup"], "followup", "subject_id", "event_date", "event", "detail", "cause_category")
    deaths = (
        fu.filter(pl.col("event") == "DEATH")
        .sort("subject_id", "event_date")
        .group_by("subject_id", maintain_order=True)
        .first()
    )
    coded = pl.col("cause_category").is_not_null()
    return deaths.select(
        "subject_id",
        pl.col("event_date").alias("DTHDT"),
        pl.col("detail").alias("DTHCAUS"),
        pl.when(coded)
        .then(pl.col("cause_category"))
        .otherwise(cause_category_from_text(pl.col("detail")))
        .alias("DTHCAT"),
        pl.when(coded).then(pl.lit(REPORTED)).otherwise(pl.lit(KEYWORD_RULE)).alias("DTHCATSR"),
    )


def early_death_flags(adsl: pl.DataFrame) -> pl.DataFrame:
    """``DTHDY`` (study day of death), ``DTH30FL``/``DTH100FL`` (death within 30/100
    days of infusion, day <= 30/100) and ``NRMFL``: non-relapse mortality, "a death
    without relapse whose category is not LEUKEMIA" (endpoints.md; version 1
    counted any death without relapse after a CR, so a non-responder dying of
    refractory leukaemia on day 20 was wrongly NRM)."""
    require(adsl, "ADSL", "DTHDT", "TRTSDT", "RELDT", "DTHCAT")
    day = study_day(pl.col("DTHDT"))
    died = pl.col("DTHDT").is_not_null() & pl.col("TRTSDT").is_not_null()
    nrm = died & pl.col("RELDT").is_null() & (pl.col("DTHCAT") != "LEUKEMIA")
    return adsl.with_columns(
        pl.when(died).then(day).alias("DTHDY"),
        yn_flag(died & (day <= 30)).alias("DTH30FL"),
        yn_flag(died & (day <= 100)).alias("DTH100FL"),
        yn_flag(nrm).alias("NRMFL"),
    )
