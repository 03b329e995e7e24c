"""Output contracts: declared once, and checked (contracts.py)."""

from __future__ import annotations

import polars as pl

from tests.helpers import SURVIVAL_SUMMARY_COLUMNS
from trial_outcomes.assets.files import contract_problems
from trial_outcomes.contracts import ADAE, OUTPUTS, SUBGROUP_VARIABLES, ResponseSummary, survival_summary_schema


def _response() -> pl.DataFrame:
    schema = {name: col.dtype for name, col in ResponseSummary.columns().items()}
    return pl.DataFrame(
        [
            {
                "parameter": "CR/CRi by day 28",
                "population": "EFFFL",
                "group_var": "all",
                "group": "all",
                "n": 10,
                "responders": 8,
                "rate": 0.8,
                "rate_lcl": 0.44,
                "rate_ucl": 0.97,
                "n_pending": 0,
                "n_pending_responders": 0,
            }
        ],
        schema=schema,
    )


def test_a_conforming_table_has_no_problems():
    assert contract_problems(_response(), ResponseSummary) == []


def test_each_kind_of_drift_is_named():
    frame = _response()
    assert contract_problems(frame.drop("n_pending"), ResponseSummary) == ["missing column n_pending"]
    assert contract_problems(frame.with_columns(pl.lit(1).alias("extra")), ResponseSummary) == [
        "undeclared column extra"
    ]
    assert "n" in contract_problems(frame.with_columns(pl.col("n").cast(pl.Int32)), ResponseSummary)[0]
    assert contract_problems(frame.with_columns(pl.lit(1.4).alias("rate")), ResponseSummary) == ["rate|max: 1 row(s)"]
    assert contract_problems(pl.concat([frame, frame]), ResponseSummary) == ["primary_key: 2 row(s)"]


def test_the_survival_summary_has_the_contract_columns_for_the_default_landmarks():
    """data-contract.md section 3 lists the columns exactly."""
    assert survival_summary_schema((6, 12, 24)).column_names() == SURVIVAL_SUMMARY_COLUMNS


def test_every_column_has_a_label_and_every_output_a_unique_file():
    assert all(col.description for col in ADAE.columns().values())
    assert len({o.file for o in OUTPUTS}) == len(OUTPUTS)
    assert {"sex", "prior_hsct", "disease_status", "age_group", "emd"} <= set(SUBGROUP_VARIABLES)
