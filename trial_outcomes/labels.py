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
    "site": "Site",
    "sex": "Sex",
    "disease_status": "Disease status",
    "disease_stratum": "Response stratum",
    "prior_relapses": "Prior relapses",
    "prior_hsct": "Prior HSCT",
    "emd": "Extramedullary disease",
    "fusion_gene": "Fusion gene",
    "ecog": "ECOG",
    "age_group": "Age",
    "LDREGIMEN": "Lymphodepletion",
    "BRIDGFL": "Bridging therapy",
}

_YES_NO = {"Y": "Yes", "N": "No"}
LEVELS: dict[str, dict[str, str]] = {
    "all": {"all": "All subjects"},
    "sex": {"M": "Male", "F": "Female"},
    "disease_status": {
        "relapsed": "Relapsed",
        "primary_refractory": "Primary refractory",
        "mrd_persistent": "MRD-persistent",
    },
    "disease_stratum": {"morphologic": "Morphologic disease", "mrd_persistent": "MRD-persistent"},
    "age_group": {"<10": "< 10 years", ">=10": ">= 10 years"},
    "prior_hsct": _YES_NO,
    "emd": _YES_NO,
    "BRIDGFL": _YES_NO,
}

RESPONSES = {
    "CR": "Complete remission (CR)",
    "CRi": "CR with incomplete count recovery (CRi)",
    "PR": "Partial remission (PR)",
    "NR": "No response (NR)",
    "NE": "Not evaluable (NE)",
    "PENDING": "Pending at the cut",
}

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
