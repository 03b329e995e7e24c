"""The report's data queries on deaths of unknown cause: what the data manager is asked."""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.deaths import KEYWORD_RULE, REPORTED
from trial_outcomes.reporting.safety import unknown_cause_query


def test_a_coded_unknown_whose_text_is_clear_says_what_the_text_reads():
    """ "Refractory leukemia" coded UNKNOWN: the keyword rule would read leukaemia (one
    category, no negation), so the query says so (the death is counted outside
    leukaemia because of the code). Coded UNKNOWN with a negated text, or no text: the
    code alone. Not coded and left UNKNOWN by the rule: why."""
    rows = pl.DataFrame(
        {
            "DTHCATSR": [REPORTED, REPORTED, REPORTED, KEYWORD_RULE],
            "DTHCAUS": ["Refractory leukemia", "Sepsis; in continuing remission, no relapse", None, "Relapse? no"],
            "DTHCAT": ["UNKNOWN"] * 4,
        }
    )
    assert rows.select(unknown_cause_query().alias("query"))["query"].to_list() == [
        "coded UNKNOWN, but the text reads Leukaemia",
        "coded UNKNOWN",
        "coded UNKNOWN",
        "not coded; the text names no single cause, or negates one",
    ]


def test_a_cause_coded_against_its_text_is_queried():
    """A red team's "Cytokine release syndrome" coded LEUKEMIA was outside the safety rule
    with no word but the listing's: coded against its text, queried, saying both. "Septic
    shock" coded OTHER reads infection: queried. "Multi-organ failure" coded INFECTION (the
    text names nothing), "Relapsed leukaemia" coded LEUKEMIA (agrees) and any category
    from the keyword rule itself: not queried."""
    from trial_outcomes.reporting.safety import coded_against_text

    rows = pl.DataFrame(
        {
            "DTHCATSR": [REPORTED, REPORTED, REPORTED, REPORTED, KEYWORD_RULE],
            "DTHCAUS": [
                "Cytokine release syndrome",
                "Septic shock",
                "Multi-organ failure",
                "Relapsed leukaemia",
                "Septic shock",
            ],
            "DTHCAT": ["LEUKEMIA", "OTHER", "INFECTION", "LEUKEMIA", "INFECTION"],
        }
    )
    flagged = rows.select(coded_against_text().alias("q"), unknown_cause_query().alias("query"))
    assert flagged["q"].to_list() == [True, True, False, False, False]
    assert flagged["query"].head(2).to_list() == [
        "coded LEUKEMIA, but the text reads CRS",
        "coded OTHER, but the text reads Infection",
    ]
