"""Every label a person reads, in one place: endpoint and analysis names, subgroup
variables and their levels. The report, the figures and the Dagster UI take
their words from here; the data keep their codes."""

from __future__ import annotations

ENDPOINTS = {
    "OS": "Overall survival",
    "EFS": "Event-free survival",
    "DFS": "Disease-free survival",
    "CIR": "Cumulative incidence of relapse",
    "NRM": "Non-relapse mortality",
    "DOR": "Duration of remission",
}

ANALYSES = {
    "primary": "Primary analysis",
    "censor_at_hsct": "Sensitivity analysis: censored at HSCT or new therapy",
}

ORIGINS = {
    "OS": "infusion",
    "EFS": "infusion",
    "DFS": "first remission",
    "CIR": "first remission",
    "NRM": "first remission",
    "DOR": "first remission",
}

VARIABLES = {
    "all": "All",
    "SITEID": "Site",
    "SEX": "Sex",
    "DISSTAT": "Disease status",
    "STRATUM": "Response stratum",
    "PRIORREL": "Prior relapses",
    "PRHSCTFL": "Prior HSCT",
    "EMDFL": "Extramedullary disease",
    "FUSION": "Fusion gene",
    "ECOGBL": "ECOG",
    "AGEGR1": "Age",
    "LDREGIM": "Lymphodepletion",
    "BRIDGFL": "Bridging therapy",
    # covariates of the multivariable models (contracts.DERIVED_COVARIATES)
    "bm_blasts_ge50": "Marrow blasts >= 50%",
    "CD19PCT": "CD19+ blasts, per 10 percentage points",
    "AGE": "Age, per year",
}

_YES_NO = {"Y": "Yes", "N": "No"}
LEVELS: dict[str, dict[str, str]] = {
    "all": {"all": "All subjects"},
    "SEX": {"M": "Male", "F": "Female"},
    "DISSTAT": {
        "relapsed": "Relapsed",
        "primary_refractory": "Primary refractory",
        "mrd_persistent": "MRD-persistent",
    },
    "STRATUM": {"morphologic": "Morphologic disease", "mrd_persistent": "MRD-persistent"},
    "AGEGR1": {"<10": "< 10 years", ">=10": ">= 10 years"},
    "PRHSCTFL": _YES_NO,
    "EMDFL": _YES_NO,
    "BRIDGFL": _YES_NO,
    "bm_blasts_ge50": {"Yes": "Yes", "No": "No"},
}

RESPONSES = {
    "CR": "Complete remission (CR)",
    "CRi": "CR with incomplete count recovery (CRi)",
    "PR": "Partial remission (PR)",
    "NR": "No response (NR)",
    "RELAPSE": "Relapse (a RELAPSE assessment in days 21-42)",
    "NE": "Not evaluable (NE: no assessment in days 21-42)",
    "PENDING": "Pending at the cut",
}

NOT_INFUSED = {
    "MANUFACTURING_FAILURE": "Manufacturing failure",
    "DEATH": "Death before infusion",
    "WITHDRAWAL": "Withdrawal before infusion",
    "LOST": "Lost before infusion",
    "PROGRESSION": "Progression before infusion (apheresis file)",
    "AE": "Adverse event before infusion (apheresis file)",
    "OTHER": "Other reason not infused (apheresis file)",
    "AWAITING": "Awaiting infusion at the cut",
}

#: the three death categories of endpoints.md version 3 (ADSL ``DTHCGR1``)
DEATH_GROUPS = {
    "LEUKEMIA": "Death from leukaemia (relapse, progression or refractory disease)",
    "NRM": "Non-relapse mortality (another cause, in remission, no relapse)",
    "NOT_IN_REMISSION": "Death of another cause, not in remission (before any remission, or after relapse)",
}

LD_REGIMENS = {"FC": "Fludarabine + cyclophosphamide"}

CAUSES = {
    "LEUKEMIA": "Leukaemia",
    "CRS": "CRS",
    "ICANS": "ICANS",
    "INFECTION": "Infection",
    "TRANSPLANT": "Transplant-related",
    "OTHER": "Other",
    "UNKNOWN": "Unknown",
}


def variable(name: str) -> str:
    return VARIABLES.get(name, name)


def in_note(text: str, var: str | None = None) -> str:
    """A table's note written with the data's codes, in the report's words: a variable's
    code as its label (``SEX`` -> Sex, ``AGEGR1`` -> Age), a level's code in brackets as its
    label (``(M)`` -> (Male), ``(>=10)`` -> (>= 10 years)), and a level's code written with
    an underscore as its label wherever it stands (``mrd_persistent`` -> MRD-persistent);
    the levels of ``var`` when the row names its variable, else of any. A DSMB reviewer read
    "SEX: no events in the reference level (M)" and "mrd_persistent never at risk together
    with another level" in the report (2026-12-07); the published CSVs keep the codes."""
    import re

    for code, label in VARIABLES.items():
        if code.isupper() or any(c.isdigit() for c in code):
            text = re.sub(rf"(?<![\w]){re.escape(code)}(?![\w])", label, text)
    for name in [var] if var in LEVELS else list(LEVELS):
        for code, label in LEVELS[name].items():
            text = text.replace(f"({code})", f"({label})")
            if "_" in code:
                text = re.sub(rf"(?<![\w]){re.escape(code)}(?![\w])", label, text)
    return text


def in_sentence(label: str) -> str:
    """A label inside a sentence: the first letter lower-cased unless the first word is
    an abbreviation (``Prior HSCT`` -> ``prior HSCT``, ``ECOG`` stays ``ECOG``;
    ``.lower()`` gave "by prior hsct")."""
    first = label.split(" ", 1)[0]
    if not label or sum(c.isupper() for c in first) > 1 or any(c.isdigit() for c in first):
        return label
    return label[0].lower() + label[1:]


def title_case(label: str) -> str:
    """A label as a title: the first letter upper-cased, abbreviations kept."""
    return label[:1].upper() + label[1:]


def level(var: str, value: object) -> str:
    """The label of one level of a subgroup variable (the code itself when unknown)."""
    text = "" if value is None else str(value)
    return LEVELS.get(var, {}).get(text, text)


def group(var: str, value: object) -> str:
    """``Prior HSCT: Yes``; ``All subjects`` for the whole population."""
    if var == "all":
        return LEVELS["all"]["all"]
    return f"{variable(var)}: {level(var, value)}"


def endpoint(code: str) -> str:
    return ENDPOINTS.get(code, code)
