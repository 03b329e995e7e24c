"""Adverse events of special interest after CAR-T (endpoints.md, Adverse events).

One rule per category, each a polars condition on ADAE rows; an AE takes the
first category whose rule it meets. Terms are matched without regard to case
or British/American spelling. Worked examples: tests/analysis/test_aesi.py.
"""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.terms import is_crs, is_icans
from trial_outcomes.schema import MEDDRA_SOCS
from trial_outcomes.text import spelling_key, term_words

INFECTIONS_SOC = "Infections and infestations"
#: without a coded SOC (or with one that is none of MedDRA's), an infection is recognised by
#: its term: the words of infection, and the pathogens usual after CAR-T (a red team's CMV
#: reactivation, herpes zoster, COVID-19, mucormycosis and influenza were none)
INFECTION_TERMS = (
    r"(?i)infect|sepsis|septic|pneumonia|bacter|fung|viral|virus|cellulitis|abscess|candid|aspergill"
    r"|\bcmv\b|cytomegalo|herpe|zoster|varicella|covid|sars cov|influenza|\brsv\b|syncytial|mycos|mucor"
    r"|viraem|virem|bacteraem|bacterem|adeno ?vir|\bebv\b|epstein barr|pneumocyst|clostridi|tubercul"
    r"|\bbk vir|polyoma"
)
#: grade >= 3 cytopenias, in either spelling (a red team's "Neutropaenia" was none)
CYTOPENIA_TERMS = (
    "neutrophil count decreased",
    "neutropenia",
    "neutropaenia",
    "platelet count decreased",
    "thrombocytopenia",
    "thrombocytopaenia",
)
#: MedDRA's system organ classes as ``words`` reads them
_SOC_WORDS = tuple(spelling_key(soc) for soc in MEDDRA_SOCS)
PROLONGED_DAYS = (28, 90)

CRS, ICANS = "CRS", "ICANS"
CATEGORIES = (
    CRS,
    ICANS,
    "Prolonged cytopenia",
    "Grade >= 3 infection",
    "Hypogammaglobulinaemia",
    "Tumour lysis syndrome",
    "IEC-associated HLH/MAS",
)


def words(text: pl.Expr) -> pl.Expr:
    """A term's words as the AESI rules read them: small letters, each run of characters
    that are neither letters nor digits one space, trimmed ("Neutrophil count decreased."
    and "Tumour-lysis syndrome" are "neutrophil count decreased" and "tumour lysis
    syndrome": a drop writing them so lost the AESI every event counted under them):
    ``text.term_words``."""
    return term_words(text)


def is_cytopenia(term: pl.Expr) -> pl.Expr:
    return words(term).is_in(CYTOPENIA_TERMS)


def present_at_day(day: int, seen_day: pl.Expr) -> pl.Expr:
    """The AE (onset ``ASTDY``, resolution ``AENDY``) was present on study day ``day``
    and that day was seen: onset on or before it and resolved after it, or ongoing
    while the subject was followed to it (``seen_day``: the study day of the cut, or of
    an earlier death, withdrawal or loss to follow-up)."""
    ongoing = pl.col("AENDY").is_null() & (seen_day >= day)
    return (pl.col("ASTDY") <= day) & ((pl.col("AENDY") > day) | ongoing)


def prolonged_cytopenia(day: int, seen_day: pl.Expr) -> pl.Expr:
    """Grade >= 3 neutrophil or platelet count decreased not resolved by ``day``, a day
    the subject was seen (``present_at_day``)."""
    return is_cytopenia(pl.col("AEDECOD")) & (pl.col("AETOXGR") >= 3) & present_at_day(day, seen_day)


def is_infection(soc: pl.Expr, term: pl.Expr) -> pl.Expr:
    """SOC ``Infections and infestations`` in any case, spacing or "&" for "and" (an SOC
    in capitals lost the AESI its events); without a coded SOC, or with one that is none
    of MedDRA's ("Infectious disease"), the term's words."""
    return (
        pl.when(words(soc).is_in(_SOC_WORDS))
        .then(words(soc) == INFECTIONS_SOC.lower())
        .otherwise(term.str.contains(INFECTION_TERMS))
    )


def aesi_rules(seen_day: pl.Expr) -> dict[str, pl.Expr]:
    """Category -> condition, in order of precedence."""
    term = pl.col("AEDECOD")
    said = words(term)  # the term's words: its case and punctuation aside
    return {
        CRS: is_crs(term),
        ICANS: is_icans(term),
        "Prolonged cytopenia": prolonged_cytopenia(PROLONGED_DAYS[0], seen_day),
        "Grade >= 3 infection": is_infection(pl.col("AESOCRAW"), said) & (pl.col("AETOXGR") >= 3),
        "Hypogammaglobulinaemia": said.str.contains(
            r"hypogammaglobulin|immunoglobulin.{0,3} decreased|\big[gam]? decreased|\blow ig[gam]?\b"
        ),
        "Tumour lysis syndrome": said.str.contains(r"tumou?r lysis|\btls\b"),
        # IEC-HS: ASTCT's 2023 name for it (immune effector cell-associated HLH-like syndrome)
        "IEC-associated HLH/MAS": said.str.contains(
            r"ha?emophagocytic|lymphohistiocytosis|macrophage activation|\bhlh\b|\bmas\b|\biec hs\b|hlh like"
        ),
    }


def aesi_category(seen_day: pl.Expr) -> pl.Expr:
    """``AESICAT``: the first category whose rule the AE meets; null for none."""
    rules = list(aesi_rules(seen_day).items())
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for category, condition in reversed(rules):  # built from the last: the first category that applies wins
        expr = pl.when(condition.fill_null(False)).then(pl.lit(category)).otherwise(expr)
    return expr
