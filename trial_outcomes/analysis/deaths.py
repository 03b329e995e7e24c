"""Deaths: cause category, early deaths and non-relapse mortality (endpoints.md,
Adverse events: "Cause of death category" and "Early deaths").

The category is the drop's ``cause_category`` on the DEATH row when the drop
has it; otherwise it is classified from the free-text cause by the keyword rule
``cause_category_from_text`` (tested in tests/analysis/test_deaths.py). The
report lists each death with its text as reported and its category.
"""

from __future__ import annotations

import polars as pl

from trial_outcomes import labels
from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.flags import yn_flag
from trial_outcomes.analysis.frames import require, scan
from trial_outcomes.analysis.timeline import study_day

#: ALL named as the leukaemia: with its lineage (B-ALL, T-ALL, pre-B ALL, Ph+ ALL), or after
#: its immunophenotype or subtype ("CD19-/CD22- ALL", "B-cell precursor ALL", "Ph-like ALL"),
#: the ALL in capitals
_ALL_QUALIFIER = (
    r"(?:B[- ]cell\s+precursor|(?:pre-?)?B[- ]precursor|precursor[- ]B(?:[- ]cell)?|Ph[- ]like"
    r"|KMT2A\S*|MLL\S*|infant|(?:CD\d+[+-]*/?)+)"
)
_ALL_NAMED = rf"\b(?:(?-i:(?:B|T|pre-B|Ph\+?)[ -]?ALL)|{_ALL_QUALIFIER}\s+(?-i:ALL))\b"
#: ALL in capitals standing as the cause, the phrase ending with it: the whole text ("ALL",
#: "ALL, refractory") or after "due to", "from", "of" ("Death due to ALL"); never after
#: "refractory to" ("MULTI-ORGAN FAILURE, REFRACTORY TO ALL")
_ALL_AS_CAUSE = r"(?:^\W*|\b(?:due\s+to|from|of)\s+)(?-i:ALL)\s*(?:$|[,;.:()/])"
#: a relapse is the leukaemia's unless another disease follows the word: "Relapse", "relapsed
#: disease", "relapse in the CNS", "CD19-negative relapse" are; "Relapsed HLH" is not (a red team's)
_RELAPSE = (
    r"\brelaps\w*(?:\s*(?:$|[,;.:()/-])|\s+(?:(?:of|in|with|after|following|post|at|on|and|or|before"
    r"|during|while|disease|CNS|marrow|isolated)\b|\d|leuka?emi|malignan|blast|refractor|progressi|CD\d"
    r"|(?-i:ALL)\b))"
)
#: the leukaemia by a name of its own: "ALL" in capitals only ("refractory to all
#: vasopressors" read as B-ALL, a red team's), a malignancy but not a "malignant arrhythmia"
_LEUKAEMIA_NAMED = rf"(?:leuka?emi\w*|{_ALL_NAMED}|lymphoblastic)"
_LEUKAEMIA = rf"(?:{_LEUKAEMIA_NAMED}|\b(?-i:ALL)\b|malignancy|blasts?\b)"
#: the disease, as a cause's text names it beside "refractory" or "progression"
_DISEASE = rf"(?:disease|{_LEUKAEMIA})"
#: "refractory" and "progression" are the disease's only when they qualify it ("refractory
#: disease", "disease progression", "progression of leukaemia") or stand alone ("Progression",
#: "Primary refractory"): "refractory hypotension" and "progressive multifocal
#: leukoencephalopathy" (a viral infection) are not leukaemia (a red team's two deaths in
#: remission counted as relapses in CIR). A word between them only before the leukaemia
#: named unmistakably ("refractory CD19+ B-ALL"): "progressive lung disease" is another disease,
#: "REFRACTORY TO ALL VASOPRESSORS" no leukaemia, "progressive secondary malignancy" not this one
_DISEASE_COURSE = (
    rf"\b(?:refractory|progressive|progressing)\s+(?:{_DISEASE}|[\w+/()-]+\s+{_LEUKAEMIA_NAMED})"
    rf"|\b{_DISEASE}\s+(?:progression|progressed|progressing|progressive|refractory)"
    rf"|\bprogression\s+of\s+(?:the\s+)?(?:underlying\s+)?{_DISEASE}"
    r"|^\W*(?:primary\s+)?(?:refractory|progression|progressed|progressive)\W*$"
)
#: keyword rules: the categories a cause's text names (matching ignores case)
CAUSE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("LEUKEMIA", rf"leuka?emi|{_RELAPSE}|{_ALL_NAMED}|{_ALL_AS_CAUSE}|{_DISEASE_COURSE}"),
    ("CRS", r"cytokine release|\bCRS\b"),
    ("ICANS", r"neurotox|\bICANS\b|cerebral o?edema"),
    ("TRANSPLANT", r"transplant|\bGVHD\b|graft.versus|\bHSCT\b|veno-?occlusive"),
    (
        "INFECTION",
        r"infect|sepsis|septic|pneumonia|bacter|fung|viral|virus|aspergill|candid|mycos|mycotic|mucor"
        r"|mou?ld\b|\bCMV\b|\bEBV\b|\bPJP\b|pneumocystis|COVID|SARS-CoV",
    ),
)
#: a negation of the disease: "no relapse", "without evidence of leukaemia",
#: "leukaemia-free", "in (continuing) remission", "non-relapse", "MRD-negative"
NEGATION = (
    r"\b(?:no|not|never|without|free of|absence of|negative for)\b(?:[\s,]+\w+){0,3}?[\s,]+"
    r"(?:relaps|leuka?emi|disease|progressi|refractor|blast)"
    r"|(?:leuka?emi\w*|relapse|disease|progression|blast)[\s-]*free\b"
    r"|\bin\s+(?:\w+\s+)?remission\b|\bnon[\s-]?relapse|\bMRD[\s-]*neg"
)
REPORTED, KEYWORD_RULE = "Reported (cause_category)", "Keyword rule on the cause text"
#: the three death categories of endpoints.md version 3 (``DTHCGR1``): never overlapping, summing to all deaths
DEATH_GROUPS = ("LEUKEMIA", "NRM", "NOT_IN_REMISSION")


def cause_category_from_text(text: pl.Expr) -> pl.Expr:
    """The keyword rule for a death without a coded category (endpoints.md version
    3): a text is classified only when it is unambiguous. It names exactly one
    category by its words (``CAUSE_KEYWORDS``: leukaemia, relapse, or refractory or
    progressive disease means ``LEUKEMIA``; then CRS, ICANS, transplant and infection) and
    has no negation (``NEGATION``). A text with a negation or naming several
    categories is ``UNKNOWN``, listed in the report as a data query; a blank cause
    is ``UNKNOWN``; a text naming none is ``OTHER``. Worked examples: "Relapsed
    leukemia" -> LEUKEMIA; "Septic shock" -> INFECTION; "Sepsis; in continuing
    remission, no relapse" -> UNKNOWN and "Transplant-related mortality,
    leukaemia-free" -> UNKNOWN (version 2 read both as leukaemia); "Transplant-related
    (GVHD and infection)" -> UNKNOWN (two categories); "Road accident" -> OTHER;
    "Cardiac arrest, refractory hypotension" -> OTHER (refractory, but not the disease)."""
    named = pl.sum_horizontal(
        [text.str.contains(f"(?i){pattern}").fill_null(False).cast(pl.Int32) for _, pattern in CAUSE_KEYWORDS]
    )
    single: pl.Expr = pl.lit("OTHER")
    for category, pattern in reversed(CAUSE_KEYWORDS):
        single = pl.when(text.str.contains(f"(?i){pattern}")).then(pl.lit(category)).otherwise(single)
    ambiguous = text.str.contains(f"(?i){NEGATION}").fill_null(False) | (named > 1)
    blank = text.is_null() | (text.str.strip_chars() == "")
    return pl.when(blank | ambiguous).then(pl.lit("UNKNOWN")).otherwise(single)


def death_details(records: Records) -> pl.DataFrame:
    """Per subject who died: ``DTHDT``, ``DTHCAUS`` (the text as reported), ``DTHCAT``
    (the category) and ``DTHCATSR`` (where the category comes from)."""
    fu = require(scan(records, "followup"), "followup", "subject_id", "event_date", "event", "detail", "cause_category")
    deaths = (
        fu.filter(pl.col("event") == "DEATH")
        .collect()
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


def death_group(died: pl.Expr) -> pl.Expr:
    """``DTHCGR1``, the three death categories of endpoints.md version 3, which never
    overlap and sum to all deaths: ``LEUKEMIA`` (category leukaemia: relapse,
    progression or refractory disease); ``NRM`` (another cause, in a subject who
    reached a CAR-T remission and had not relapsed by the death: exactly the NRM
    endpoint's events, an ``UNKNOWN`` cause included as the registries count it);
    ``NOT_IN_REMISSION`` (another cause, never in remission or after a relapse:
    infection during aplasia in a non-responder). Version 2 called every death
    without relapse that was not leukaemia "non-relapse" (8 in the sample where the
    NRM endpoint had 3 events)."""
    leukaemia = pl.col("DTHCAT") == "LEUKEMIA"
    not_relapsed = pl.col("RELDT").is_null() | (pl.col("RELDT") > pl.col("DTHDT"))
    in_remission = pl.col("TRTSDT").is_not_null() & pl.col("FRMDT").is_not_null() & not_relapsed
    return (
        pl.when(~died)
        .then(None)
        .when(leukaemia.fill_null(False))
        .then(pl.lit("LEUKEMIA"))
        .when(in_remission)
        .then(pl.lit("NRM"))
        .otherwise(pl.lit("NOT_IN_REMISSION"))
    )


def early_death_flags(adsl: pl.DataFrame) -> pl.DataFrame:
    """``DTHDY`` (study day of death), ``DTH30FL``/``DTH100FL`` (death within 30/100
    days of infusion, day <= 30/100), ``DTHCGR1`` (``death_group``) and ``NRMFL``:
    non-relapse mortality, ``DTHCGR1 = NRM``, the NRM endpoint's events exactly
    (version 2 also counted non-responders' deaths of other causes; version 1 any
    death without relapse after a CR)."""
    require(adsl, "ADSL", "DTHDT", "TRTSDT", "RELDT", "FRMDT", "DTHCAT")
    day = study_day(pl.col("DTHDT"))
    died = pl.col("DTHDT").is_not_null()
    infused_died = died & pl.col("TRTSDT").is_not_null()
    adsl = adsl.with_columns(death_group(died).alias("DTHCGR1"))
    return adsl.with_columns(
        pl.when(infused_died).then(day).alias("DTHDY"),
        yn_flag(infused_died & (day <= 30)).alias("DTH30FL"),
        yn_flag(infused_died & (day <= 100)).alias("DTH100FL"),
        yn_flag(pl.col("DTHCGR1") == "NRM").alias("NRMFL"),
    )


#: the causes of death that are also an adverse event's syndrome flag in ADAE
SYNDROME_CAUSES = {"CRS": "CRSFL", "ICANS": "ICANSFL"}


def cause_and_fatal_syndrome_disagree(died: pl.DataFrame, adae: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The deaths whose cause and fatal CRS or ICANS adverse event disagree, with the
    query for the data manager: a cause of CRS (ICANS) with no grade-5 CRS (ICANS)
    AE, or a grade-5 CRS (ICANS) AE with another cause ("Sepsis" coded INFECTION
    beside a grade-5 CRS). Both sides count already, on the cautious side: a death from
    the syndrome in the treatment-emergent window is a grade-5 syndrome for the
    stopping rule (``crs.derived_grade``), and so is a grade-5 AE. ``died``: ADSL
    rows of the subjects who died (USUBJID, DTHCAT); ``adae``: USUBJID, AETOXGR,
    CRSFL, ICANSFL (a scan is read for its grade-5 rows). One row per subject, in
    subject order, with ``QUERY`` naming each disagreement."""
    fatal = (
        adae.lazy()
        .filter(pl.col("AETOXGR") == 5)
        .group_by("USUBJID")
        .agg(*[(pl.col(flag) == "Y").any().alias(f"_{cause}") for cause, flag in SYNDROME_CAUSES.items()])
        .collect()
    )
    queries = [
        pl.when((pl.col("DTHCAT") == cause) & ~pl.col(f"_{cause}")).then(
            pl.lit(f"cause {cause}, but no grade-5 {cause} adverse event")
        )
        for cause in SYNDROME_CAUSES
    ] + [
        pl.when(pl.col(f"_{cause}") & (pl.col("DTHCAT") != cause)).then(
            pl.format(
                f"a grade-5 {cause} adverse event, but the cause is {{}}",
                pl.col("DTHCAT").replace_strict(labels.CAUSES, default=pl.col("DTHCAT")),
            )
        )
        for cause in SYNDROME_CAUSES
    ]
    return (
        died.join(fatal, on="USUBJID", how="left")
        .with_columns(pl.col(f"_{c}").fill_null(False) for c in SYNDROME_CAUSES)
        .with_columns(pl.concat_str(queries, separator="; ", ignore_nulls=True).alias("QUERY"))
        .filter(pl.col("QUERY") != "")  # no disagreement: every part null, joined to ""
        .drop(f"_{c}" for c in SYNDROME_CAUSES)
        .sort("USUBJID")
    )
