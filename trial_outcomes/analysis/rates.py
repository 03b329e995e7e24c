"""Rates with exact confidence intervals: the response summary (endpoints.md, Response)."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from trial_outcomes.contracts import SUBGROUP_VARIABLES, ResponseSummary

STRATUM = "STRATUM"


def clopper_pearson(x: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Exact binomial CI: lower = Beta(a/2; x, n-x+1), upper = Beta(1-a/2; x+1, n-x),
    with 0 and 1 at the edges. Example: 8/10 gives (0.443905, 0.974789)."""
    if n == 0:
        return None, None
    from scipy.stats import beta

    alpha = 1 - level
    lower = 0.0 if x == 0 else float(beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(beta.ppf(1 - alpha / 2, x + 1, n - x))
    return lower, upper


#: parameter -> (responder flag, pending flag) in ADSL
RESPONSE_PARAMETERS = {
    "CR/CRi by day 28": ("CRFL", "D28PNDFL"),
    "CR by day 28": ("CR28FL", "D28PNDFL"),
    "MRD-negative CR/CRi by day 28": ("MRDNEGFL", "D28PNDFL"),
    "ORR3M: CR/CRi within 3 months, maintained 28 days": ("ORR3MFL", "ORR3MPFL"),
}


EFFICACY_POPULATION = "EFFFL, not pending"
ITT_POPULATION = "ENRLFL (intention to treat), not pending"


def groups(adsl: pl.DataFrame, subgroups: tuple[str, ...]) -> Iterator[tuple[str, str, pl.DataFrame]]:
    """('all', 'all', everyone), then the response stratum and each plan subgroup by level."""
    yield "all", "all", adsl
    for var in (STRATUM, *[s for s in subgroups if s != STRATUM]):
        known = adsl.filter(pl.col(var).is_not_null())
        for level in sorted(known[var].cast(pl.String).unique().to_list()):
            yield var, level, known.filter(pl.col(var).cast(pl.String) == level)


#: the ADSL columns ``response_summary`` reads: the populations, the response flags and any
#: subgroup a plan may name
ADSL_COLUMNS = tuple(
    dict.fromkeys(
        (
            "EFFFL",
            "NINFCAT",
            "STRATUM",
            "CRFL",
            "CR28FL",
            "MRDNEGFL",
            "D28PNDFL",
            "ORR3MFL",
            "ORR3MPFL",
            *SUBGROUP_VARIABLES,
        )
    )
)


def response_summary(adsl: pl.DataFrame, subgroups: tuple[str, ...]) -> pl.DataFrame:
    """Response rates over the efficacy set with Clopper-Pearson 95 % CIs, overall, by
    response stratum (morphologic disease, MRD-persistent: endpoints.md, "every
    response rate is shown overall and separately") and by each plan subgroup.

    Interim denominators (endpoints.md version 3, symmetric): a subject pending at
    the cut (window open, responder so far or not) is left out of ``n`` and of the
    responders and counted in ``n_pending``; ``n_pending_responders`` of them are
    already responders, shown as information only. A subject with no assessment
    in a closed window is a non-responder."""
    needed = {"EFFFL", "NINFCAT", STRATUM, *subgroups, *(c for pair in RESPONSE_PARAMETERS.values() for c in pair)}
    adsl = adsl.select(c for c in adsl.columns if c in needed)  # each group below filters these alone
    eff = adsl.filter(pl.col("EFFFL") == "Y")
    rows = []
    for parameter, (flag, pending_flag) in RESPONSE_PARAMETERS.items():
        for population, members, pending_rule in (
            (EFFICACY_POPULATION, eff, pl.col(pending_flag) == "Y"),
            # intention to treat: every enrolled subject, a subject never infused a non-responder,
            # one still awaiting infusion at the cut pending (issue 26; ELIANA's 97 enrolled)
            (ITT_POPULATION, adsl, (pl.col(pending_flag) == "Y") | (pl.col("NINFCAT") == "AWAITING")),
        ):
            rows += _rate_rows(parameter, population, members, subgroups, flag, pending_rule.fill_null(False))
    schema = {name: col.dtype for name, col in ResponseSummary.columns().items()}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _rate_rows(
    parameter: str, population: str, members: pl.DataFrame, subgroups: tuple[str, ...], flag: str, pending: pl.Expr
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for var, level, part in groups(members, subgroups):
        pending_part = part.filter(pending)
        evaluable = part.filter(~pending)
        n = evaluable.height
        x = int((evaluable[flag] == "Y").sum())
        lcl, ucl = clopper_pearson(x, n)
        rows.append(
            {
                "parameter": parameter,
                "population": population,
                "group_var": var,
                "group": level,
                "n": n,
                "responders": x,
                "rate": x / n if n else None,
                "rate_lcl": lcl,
                "rate_ucl": ucl,
                "n_pending": pending_part.height,
                "n_pending_responders": int((pending_part[flag] == "Y").sum()),
            }
        )
    return rows
