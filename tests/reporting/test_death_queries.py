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
        }
    )
    assert rows.select(unknown_cause_query().alias("query"))["query"].to_list() == [
        "coded UNKNOWN, but the text reads Leukaemia",
        "coded UNKNOWN",
        "coded UNKNOWN",
        "not coded; the text names no single cause, or negates one",
    ]
