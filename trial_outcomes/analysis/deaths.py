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

#: ALL named as the leukaemia: with its lineage (B-ALL, T-ALL, pre-B ALL, Ph+ ALL, BCP-ALL,
#: R/R ALL), or after its immunophenotype or subtype ("CD19-/CD22- ALL", "CD19-negative ALL",
#: "B-cell precursor ALL", "Ph-positive ALL", "hypodiploid ALL"), the ALL in capitals, but
#: "B-ALL" and "T-ALL" in any case ("Relapsed b-all")
_ALL_QUALIFIER = (
    r"(?:B[- ]cell\s+precursor|(?:pre-?)?B[- ]precursor|precursor[- ]B(?:[- ]cell)?|Ph[- ]like|[BT][- ]cell"
    r"|Ph(?:iladelphia)?[- ]positive|KMT2A\S*|MLL\S*|infant|hypodiploid|hyperdiploid|iAMP21|(?:high|standard)[- ]risk"
    r"|CNS|(?:CD\d+(?:[+-]|[\s-]*(?:neg\w*|pos\w*|dim))*/?)+)"
)
_ALL_NAMED = rf"\b(?:(?-i:(?:B|T|pre-B|Ph\+?|BCP|ETP|R/R)[ -]?ALL)|(?:pre-)?[BT]-ALL|{_ALL_QUALIFIER}\s+(?-i:ALL))\b"
#: ALL in capitals standing as the cause, the phrase ending with it: the whole text ("ALL",
#: "ALL, refractory"), or after "due to" or "died of" ("Death due to ALL", "Complications of
#: ALL"); never after another word's "of", "from" or "to" ("FAILURE OF ALL (5) ORGANS",
#: "WITHDRAWAL OF CARE FROM ALL.", "MULTI-ORGAN FAILURE, REFRACTORY TO ALL": a red team's)
_ALL_AS_CAUSE = (
    r"(?:^\W*(?:(?:from|of)\s+)?|\b(?:due\s+to|(?:died|death|dying|complications?)\s+(?:of|from))\s+)"
    r"(?-i:ALL)\s*(?:$|[,;.:()/])"
)
#: the disease a relapse or recurrence is "of" ("relapse of the disease", "recurrence of ALL")
_OF_THE_DISEASE = r"(?:disease|leuka?emi|malignan|(?-i:(?:[BT]-?)?ALL)\b)"
#: a relapse is the leukaemia's unless another disease follows the word: "Relapse", "relapsed
#: disease", "relapse in the CNS", "relapse of leukaemia", "CD19-negative relapse" are;
#: "Relapsed HLH" and "relapse of seizures" are not (a red team's). A disease before it,
#: "HLH relapse", is a ``NEGATION``: a data query. A recurrence only as the whole text or of
#: the disease ("Recurrence", "Recurrent disease"): "Pneumothorax recurrence", "Haemorrhage,
#: recurrent" are other diseases' (a second red team's)
_RELAPSE = (
    rf"\brelaps\w*(?:\s*(?:$|[,;.:()/-])|\s+(?:of\s+(?:(?:the|underlying)\s+)?{_OF_THE_DISEASE}|(?:in|with|after|following|post|at|on|and|or|before|during|while|disease|CNS"
    r"|marrow|isolated)\b|\d|[x#]\s*\d|leuka?emi|malignan|blast|refractor|progressi|CD\d|(?-i:ALL)\b))"
    r"|\blineage\s+switch"
    rf"|^\W*recurren\w*\W*$|\brecurren\w*\s+(?:of\s+(?:the\s+)?)?{_OF_THE_DISEASE}"
    r"|(?:^\W*|\b(?:the|underlying)\s+)disease\s+recurren"
)
#: the HLH-like syndromes: a relapse of one is not the leukaemia's, and beside CRS's words one is ambiguous
_HLH_LIKE = r"HLH|IEC-?HS|MAS"
#: the leukaemia by a name of its own: "ALL" in capitals only ("refractory to all
#: vasopressors" read as B-ALL, a red team's), a malignancy but not a "malignant arrhythmia"
_LEUKAEMIA_NAMED = rf"(?:leuka?emi\w*|{_ALL_NAMED}|lymphoblastic)"
_LEUKAEMIA = rf"(?:{_LEUKAEMIA_NAMED}|\b(?-i:ALL)\b|malignancy|blasts?\b)"
#: the disease, as a cause's text names it beside "refractory" or "progression"
_DISEASE = rf"(?:disease|{_LEUKAEMIA})"
_COURSE = r"(?:progression|progressed|progressing|progressive|refractory)"
#: "disease" as this leukaemia: qualified as the patient's own ("underlying", "persistent",
#: "CD19-negative", "extramedullary", "MRD-positive", "CNS": in ALL the CNS's leukaemic
#: involvement, OTHER until 2026-12-04), as the whole text ("Disease", "PD",
#: "DOD") or as what the patient died of ("Died of disease"); "lung disease" is another. The
#: disease by its signs ("Hyperleukocytosis", "Blast crisis"), or, as the whole text, by no
#: remission ("Never achieved remission", "Non-response")
_THE_DISEASE = (
    r"\b(?:underlying|primary|persistent|resistant|residual|recurrent|extramedullary|leptomeningeal|CNS"
    r"|CD\d+[\s-]*(?:neg\w*|pos\w*|dim)|MRD[\s-]*pos\w*)\s+(?:disease|malignancy)\b"
    r"|^\W*(?:disease|(?-i:PD|POD|DOD))\W*$"
    r"|\b(?:died|death|dying)\s+(?:of|from|due\s+to)\s+(?:the\s+)?disease\b"
    r"|hyperleu[ck]ocytosis|blast\s+crisis|rising\s+MRD"
    r"|^\W*(?:never\s+(?:achieved|attained|reached|in)\s+(?:a\s+)?(?:\w+\s+)?remission"
    r"|(?:primary\s+)?(?:non-?response|no\s+response))\W*$"
)
#: "refractory" and "progression" are the disease's only when they qualify it ("refractory
#: disease", "disease progression", "progression of leukaemia") or stand alone ("Progression",
#: "Primary refractory"): "refractory hypotension" and "progressive multifocal
#: leukoencephalopathy" (a viral infection) are not leukaemia (a red team's two deaths in
#: remission counted as relapses in CIR). A word between them only before the leukaemia
#: named unmistakably ("refractory CD19+ B-ALL"): "progressive lung disease" is another disease,
#: "REFRACTORY TO ALL VASOPRESSORS" no leukaemia, "progressive secondary malignancy" not this
#: one. "Disease progression" only as the phrase's start or "the/underlying disease": "lung
#: disease progression" and "secondary malignancy progression" are other diseases (a red team's).
#: "Chemorefractory" in one word is "refractory" (until 2026-12-04 "Chemorefractory disease" read OTHER)
_DISEASE_COURSE = (
    rf"\b(?:(?:chemo-?)?refractory|progressive|progressing|progressed)\s+(?:{_DISEASE}|[\w+/()-]+\s+{_LEUKAEMIA_NAMED})"
    rf"|(?:(?:^|[;,:(/])\W*|\b(?:underlying|primary|leuka?emic|the)\s+)disease\s+{_COURSE}"
    rf"|(?:{_LEUKAEMIA_NAMED}|\b(?-i:ALL)\b)(?:\s+|\s*[-:]\s*){_COURSE}"
    rf"|\bprogression\s+of\s+(?:the\s+)?(?:underlying\s+)?{_DISEASE}"
    r"|^\W*(?:primary\s+)?(?:(?:chemo-?)?refractory|progression|progressed|progressive)\W*$"
)
#: B-lymphoblastic lymphoma: WHO's one neoplasm with B-ALL ("B-lymphoblastic leukaemia/lymphoma"),
#: its lymphomatous presentation ("B-LBL"); OTHER until 2026-12-05. A T-lymphoblastic lymphoma
#: is not this leukaemia (after CAR-T cells, a T-cell malignancy is another disease)
_B_LYMPHOBLASTIC_LYMPHOMA = (
    r"\b(?:pre-?|precursor[\s-]+)?B[\s-]*(?:cell\s+)?(?:precursor\s+)?lymphoblastic\s+lymphoma|\b(?-i:B-?LBL)\b"
)
#: keyword rules: the categories a cause's text names (matching ignores case); CRS and ICANS by
#: MedDRA's terms and their spellings ("Cytokine storm", "Cytokine-release syndrome", "Brain
#: oedema", "Neurological toxicity", "CRES"), which until 2026-12-04 read OTHER (a red team's),
#: and "Citokine" (OTHER until 2026-12-05)
CAUSE_KEYWORDS: tuple[tuple[str, str], ...] = (
    (
        "LEUKEMIA",
        rf"leuka?emi|{_RELAPSE}|{_ALL_NAMED}|{_ALL_AS_CAUSE}|{_DISEASE_COURSE}|{_THE_DISEASE}|{_B_LYMPHOBLASTIC_LYMPHOMA}",
    ),
    ("CRS", r"c[iy]tokin(?:es?)?[\s-]*(?:re+a?l\w*[\s-]+syndrome|release|storm)|\bs?CRS(?:\b|\d)"),
    (
        "ICANS",
        r"neuro-?\s*tox|neurolog\w*\s+toxicit|\bICANS(?:\b|\d)|\bCRES\b|(?:cerebral|brain)\s+(?:o?edema|swelling)"
        r"|immune\s+effector\s+cell\s+encephalopath|\bCAR[\s-]?T[\w\s-]{0,24}encephalopath|^\W*encephalopathy\W*$",
    ),
    (
        "TRANSPLANT",
        r"transplant|\b[ac]?GVHD\b|graft[\s.-]*(?:versus|vs\.?|v\.?)[\s-]*host|\bHSCT\b|veno-?occlusive|\bVOD\b"
        r"|sinusoidal\s+obstruct|^\W*(?-i:SOS)\W*$|hepatic\s+SOS\b|\bTA-?TMA\b|graft\s+failure|\bBMT\b|\b(?:allo-?)?SCT\b"
        r"|bronchiolitis\s+obliterans",
    ),
    (
        "INFECTION",
        r"infect|sepsis|septic|pneumonia|bacter|fung|viral|virus|aspergill|candid|mycos|mycotic|mucor"
        r"|mou?ld\b|\bCMV\b|\bEBV\b|\bPJP\b|pneumocystis|COVID|SARS-CoV",
    ),
)
#: a negation: of the disease ("no relapse", "without evidence of leukaemia", "leukaemia-free",
#: "in (continuing) remission", "non-relapse", "MRD-negative"), of CRS or ICANS ("no CRS", "CRS
#: resolved", "ICANS ruled out"), or a relapse of another disease ("HLH relapse"); "not in
#: remission" is none (``_NOT_IN_REMISSION``, taken out first); the disease's status stated or
#: denied ("in CR", "residual disease negative", "unrelated to primary disease"); another cancer than this
#: leukaemia ("secondary AML", "donor-derived leukaemia", "secondary T-cell lymphoma")
NEGATION = (
    r"\b(?:no|not|never|without|free of|absence of|negative for)\b(?:\s+\w+){0,3}?\s+"
    r"(?:relaps|leuka?emi|disease|progressi|refractor|blast)"
    r"|(?:leuka?emi\w*|relapse|disease|progression|blast)[\s-]*free\b"
    r"|\bin\s+(?:\w+\s+)?remission\b|\bnon[\s-]?relapse|\bMRD[\s-]*neg"
    r"|\b(?:no|not|without)\b(?:\s+\w+){0,2}?\s+(?:CRS|ICANS|neurotox|cytokine)"
    r"|\b(?:CRS|ICANS|neurotox\w*|relaps\w*|progression)\s+(?:had\s+|has\s+|was\s+)?"
    r"(?:resolved|ruled\s+out|excluded|not\s+confirmed)"
    rf"|\b(?:{_HLH_LIKE}|PTLD|AML|lymphoma|seizures?)\W+(?:relaps|recurren)"
    r"|\b(?:CRS|ICANS|GVHD|CMV|EBV)\W+relaps"
    rf"|\brelaps\w*\s*[-,;:/]\W*(?:(?:refractory|recurrent)\W+)?(?:{_HLH_LIKE})\b"
    r"|\bunrelated\s+to\b|\bin\s+(?:\w+\s+)?CR\d?\b"
    r"|\b(?:residual|primary|underlying)\s+disease\W*(?:\w+\W+)?(?:neg\w*|none|undetect\w*|CR\d?)\b"
    r"|\bsecondary\s+(?:[\w-]+\s+){0,2}(?:leuka?emi|malignan|AML|MDS|lymphoma)|\bdonor[\s-]+derived"
)
#: a transplant as the time of another cause: "relapse post-HSCT", "sepsis after allogeneic
#: transplant", "post-transplant relapse"; beside another category it names none
_AFTER_TRANSPLANT = (
    r"(?i)\b(?:post|after|following)[\s-]+(?:(?:the|an?|his|her|2nd|second|1st|first)\s+)?"
    r"(?:allo(?:geneic)?[\s-]*)?(?:HS?CT|SCT|BMT|(?:stem[\s-]+cell\s+)?transplant\w*)\b"
)
#: an HLH-like syndrome beside CRS's words ("HLH/cytokine storm", "CRS-like HLH"): ambiguous
_CRS_MIMIC = rf"(?i)\b(?:{_HLH_LIKE})\b|macrophage\s+activation|ha?emophagocytic"
#: another cause of a swollen or poisoned brain than ICANS: beside ICANS's words the text is
#: ambiguous ("Cerebral oedema secondary to intracranial haemorrhage", "Methotrexate
#: neurotoxicity": ICANS until 2026-12-04, in the safety stopping rule; a red team's)
_OTHER_BRAIN_CAUSE = (
    r"(?i)intracranial\s+h(?:a)?emorrhag|\bICH\b|subarachnoid|subdural|hyponatr|hyperammon|\bstroke\b|infarct"
    r"|fludarabine|methotrexate|\bMTX\b|blinatumomab|cytarabine|nelarabine|vincristine|ifosfamide|busulfan"
    r"|c[iy]closporin|tacrolimus|calcineurin|\bPRES\b|posterior\s+reversible"
)
#: a treatment's failure: the disease not controlled, or a toxicity? A data query (``UNKNOWN``),
#: beside another cause too ("Treatment failure; sepsis" may be a relapse's death); OTHER until 2026-12-05
_TREATMENT_FAILURE = (
    r"(?i)\b(?:treatment|therapy|therapeutic)\s+failure|\bfailure\s+of\s+(?:(?:the|all)\s+)?"
    r"(?:(?:CAR[\s-]?T(?:[\s-]cells?)?|salvage|anti-?leuka?emic|chemo-?)\s*){0,2}(?:therapy|therapies|treatment)\b"
)
#: an anti-infective's failure is the infection's: "antifungal treatment failure" is no query
_ANTI_INFECTIVE_FAILURE = (
    r"(?i)\b(?:anti-?(?:biotic|fungal|viral|microbial|infective)|antimicrobial)\s+(?:treatment|therapy)\s+failure"
)
#: a brain herniation naming no cause: ICANS's cerebral oedema (a death in the safety stopping
#: rule) or a bleed? A data query (``UNKNOWN``); beside a cause named, that cause; OTHER until 2026-12-05
_HERNIATION = r"(?i)\bherniation\b"
#: "not (yet) in remission", "never in remission": the disease, not a negation of it; nor is a
#: remission as the time of a relapse ("Relapsed after 6 months in CR")
_NOT_IN_REMISSION = (
    r"(?i)\b(?:not|never)\s+(?:\w+\s+)?in\s+(?:\w+\s+)?remission\b"
    r"|\b(?:after|following)\s+(?:[\w-]+\s+){0,3}in\s+(?:\w+\s+)?(?:CR\d?|remission)\b"
)
#: a text saying the cause is not known ("Unknown", "Cause of death not reported", "Pending
#: autopsy", "N/K", "Desconocida", "原因不明"): a data query (``UNKNOWN``) when nothing but these
#: words and ``_NOT_KNOWN_FILLER`` is left ("Road traffic accident, pending inquest" and
#: "Haemorrhage of unknown origin" name their cause: OTHER, a third red team's false alarms);
#: OTHER until 2026-12-06 (a red team's "Unknown" was counted among the other known causes)
_NOT_KNOWN = (
    r"(?i)\bun(?:known|clear|determined|specified|certain|confirmed|explained|diagnosed|reported|available)\b"
    r"|\bindeterminate\b"
    r"|\bnot\s+(?:yet\s+)?(?:known|reported|specified|determined|available|recorded|given|documented|confirmed|clear"
    r"|stated|provided)\b"
    r"|\bno\s+(?:information|info|data|details)\b|\bmissing\b"
    r"|\b(?:pending|awaiting|ongoing|under\s+investigation|to\s+be\s+(?:determined|confirmed))\b"
    r"|\b(?:unk|u\W?k|n\W?k|n\W?a|tbd|tbc)\b|\?+"
    r"|\b(?:desconocid[oa]|inconnue?|unbekannt)\b|原因不明|不明|未知"
)
#: the words a not-known text says beside them, none of them a cause
_NOT_KNOWN_FILLER = (
    r"(?i)\b(?:cause|causes|of|death|died|dies|dead|the|a|sudden|suddenly|details?|origin|autopsy|post\W?mortem|necropsy"
    r"|inquest|coroner|s|reports?|results?|patient|pt|at|home|in|hospital|and|investigation|yet|reason|still|is|was)\b"
)
REPORTED, KEYWORD_RULE = "Reported (cause_category)", "Keyword rule on the cause text"
#: the three death categories of endpoints.md version 3 (``DTHCGR1``): never overlapping, summing to all deaths
DEATH_GROUPS = ("LEUKEMIA", "NRM", "NOT_IN_REMISSION")


def _says_not_known(text: pl.Expr) -> pl.Expr:
    """Whether a cause text says only that the cause is not known (``_NOT_KNOWN``): nothing
    but those words and ``_NOT_KNOWN_FILLER`` ("Sudden death, pending autopsy")."""
    rest = text.str.replace_all(_NOT_KNOWN, " ").str.replace_all(_NOT_KNOWN_FILLER, " ")
    return text.str.contains(_NOT_KNOWN) & (rest.str.replace_all(r"[^\p{L}]+", "").str.len_chars() == 0)


def cause_category_from_text(text: pl.Expr) -> pl.Expr:
    """The keyword rule for a death without a coded category (endpoints.md version
    3): a text is classified only when it is unambiguous. It names exactly one
    category by its words (``CAUSE_KEYWORDS``: leukaemia, relapse, or refractory or
    progressive disease means ``LEUKEMIA``; then CRS, ICANS, transplant and infection) and
    has no negation (``NEGATION``). A text with a negation or naming several
    categories is ``UNKNOWN``, listed in the report as a data query; a blank cause
    is ``UNKNOWN``, as is one naming none that says the cause is not known ("Unknown",
    "Pending autopsy": ``_NOT_KNOWN``); a text naming none is ``OTHER``, unless it may name one that counts
    ("Brain herniation": ``UNKNOWN``); "Treatment failure" is ``UNKNOWN`` with or without
    another cause beside it. Worked examples: "Relapsed
    leukemia" -> LEUKEMIA; "Septic shock" -> INFECTION; "Sepsis; in continuing
    remission, no relapse" -> UNKNOWN and "Transplant-related mortality,
    leukaemia-free" -> UNKNOWN (version 2 read both as leukaemia); "Transplant-related
    (GVHD and infection)" -> UNKNOWN (two categories); "Road accident" -> OTHER;
    "Cardiac arrest, refractory hypotension" -> OTHER (refractory, but not the disease);
    "Relapse post-HSCT" -> LEUKEMIA (a transplant named beside another cause only as when
    it happened, ``_AFTER_TRANSPLANT``, names no category: UNKNOWN until 2026-12-04)."""
    names = {category: text.str.contains(f"(?i){pattern}").fill_null(False) for category, pattern in CAUSE_KEYWORDS}
    beside = pl.any_horizontal([flag for category, flag in names.items() if category != "TRANSPLANT"])
    transplant_not_as_time = text.str.replace_all(_AFTER_TRANSPLANT, "").str.contains(
        f"(?i){dict(CAUSE_KEYWORDS)['TRANSPLANT']}"
    )
    names["TRANSPLANT"] = pl.when(beside).then(transplant_not_as_time.fill_null(False)).otherwise(names["TRANSPLANT"])
    named = pl.sum_horizontal([flag.cast(pl.Int32) for flag in names.values()])
    single: pl.Expr = pl.lit("OTHER")
    for category, flag in reversed(names.items()):
        single = pl.when(flag).then(pl.lit(category)).otherwise(single)
    negated = text.str.replace_all(_NOT_IN_REMISSION, "").str.contains(f"(?i){NEGATION}")
    other_brain = names["ICANS"] & text.str.contains(_OTHER_BRAIN_CAUSE).fill_null(False)
    mimic = names["CRS"] & text.str.contains(_CRS_MIMIC).fill_null(False)
    unclear = text.str.replace_all(_ANTI_INFECTIVE_FAILURE, "").str.contains(_TREATMENT_FAILURE) | (
        (named == 0) & (text.str.contains(_HERNIATION) | _says_not_known(text))
    )
    ambiguous = negated.fill_null(False) | (named > 1) | other_brain | mimic | unclear.fill_null(False)
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


def in_remission_at_death() -> pl.Expr:
    """A CAR-T remission reached (``FRMDT``) and no relapse recorded before the death:
    ``death_group``'s NRM, and the report's leukaemia deaths counted as relapses without a
    relapse record (``reporting.safety``)."""
    not_relapsed = pl.col("RELDT").is_null() | (pl.col("RELDT") > pl.col("DTHDT"))
    return pl.col("FRMDT").is_not_null() & not_relapsed


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
    in_remission = pl.col("TRTSDT").is_not_null() & in_remission_at_death()
    return (
        pl.when(~died)
        .then(None)
        .when(leukaemia.fill_null(False))
        .then(pl.lit("LEUKEMIA"))
        .when(in_remission)
        .then(pl.lit("NRM"))
        .otherwise(pl.lit("NOT_IN_REMISSION"))
    )


def related_fatal_events(adae: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The subjects (``USUBJID``, once each) with a treatment-emergent grade-5 adverse event
    the investigator related to the treatment: read by the safety rule and by page 1."""
    return (
        adae.lazy()
        .filter((pl.col("AETOXGR") == 5) & (pl.col("AEREL") == "Y") & (pl.col("TRTEMFL") == "Y"))
        .select("USUBJID")
        .unique()
        .collect()
    )


def treatment_related_deaths(adsl: pl.DataFrame, adae: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The deaths the data attribute to the treatment, in whichever category their cause puts
    them: a related treatment-emergent grade-5 adverse event, or CRS or ICANS as the cause of
    death. A DSMB reader's sepsis in aplasia on day 22, related and counted by the safety
    rule, was on page 1 only as "another cause, not in remission" (2026-12-07)."""
    died = adsl.filter(pl.col("DTHDT").is_not_null())
    related = related_fatal_events(adae)["USUBJID"]
    attributed = pl.col("USUBJID").is_in(related.implode()) | pl.col("DTHCAT").is_in(["CRS", "ICANS"])
    return sorted(died.filter(attributed)["USUBJID"].to_list())


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


#: the ADSL and ADAE columns the Deaths section's data queries read (``deaths_queried``)
DEATH_QUERY_ADSL = ("USUBJID", "DTHDT", "DTHCAUS", "DTHCAT", "DTHCATSR")
DEATH_QUERY_ADAE = ("USUBJID", "AETOXGR", "CRSFL", "ICANSFL")


def deaths_queried(adsl: pl.DataFrame, adae: pl.DataFrame | pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The Deaths section's two data queries, each a frame of ADSL rows by subject: the
    deaths whose cause is UNKNOWN or coded against its text (``coded_against_text``),
    and the deaths whose cause and a fatal CRS or ICANS event disagree
    (``cause_and_fatal_syndrome_disagree``, with ``QUERY``). Page 1 counts both, and so
    does the manifest (``death_query_titles``)."""
    died = adsl.filter(pl.col("DTHDT").is_not_null())
    unknown = died.filter((pl.col("DTHCAT") == "UNKNOWN") | coded_against_text()).sort("USUBJID")
    disagree = cause_and_fatal_syndrome_disagree(died.select("USUBJID", "DTHDT", "DTHCAUS", "DTHCAT"), adae)
    return unknown, disagree


def death_query_titles(unknown: pl.DataFrame, disagree: pl.DataFrame) -> list[str]:
    """Page 1's names for the Deaths section's data queries that are open (``deaths_queried``),
    each with its number of deaths: the manifest lists them beside the drop's queries (until
    2026-12-06 it listed the drop's alone, and a boundary alert, which reads it, said "no
    data queries" beside page 1's two deaths of uncategorised cause; a red team's)."""
    return [
        f"{frame.height} death(s) {title}"
        for frame, title in (
            (
                unknown,
                "whose cause is uncategorised (coded UNKNOWN, blank or unclassifiable) or coded against its text",
            ),
            (disagree, "whose cause and a fatal CRS or ICANS event disagree"),
        )
        if frame.height
    ]


def coded_against_text() -> pl.Expr:
    """A coded cause whose text the keyword rule reads as another category: UNKNOWN coded
    beside a text that names one, or one category coded beside a text naming another (a
    red team's "Cytokine release syndrome" coded LEUKEMIA: outside the safety rule, with
    no word but the listing's). A text naming nothing (OTHER) does not disagree with a
    category."""
    text_reads = cause_category_from_text(pl.col("DTHCAUS"))
    coded = pl.col("DTHCAT")
    return (
        (pl.col("DTHCATSR") == REPORTED)
        & text_reads.is_not_null()
        & (text_reads != "UNKNOWN")
        & (text_reads != coded)
        & ((text_reads != "OTHER") | (coded == "UNKNOWN"))
    ).fill_null(False)
