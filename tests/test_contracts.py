"""Output contracts: declared once, and checked (contracts.py)."""

from __future__ import annotations

import dataframely as dy
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import SURVIVAL_SUMMARY_COLUMNS, examples
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
    assert {"SEX", "PRHSCTFL", "DISSTAT", "AGEGR1", "EMDFL"} <= set(SUBGROUP_VARIABLES)


def test_adam_names_and_labels_fit_sas_transport_version_5():
    """ADaM IG names (at most 8 characters) and labels (at most 40) in every ADaM
    dataset, ADTTE with every subgroup a plan may carry into it."""
    from trial_outcomes.contracts import ADAM_DATASETS, OUTPUT_BY_FILE

    for adam in ADAM_DATASETS:
        schema = OUTPUT_BY_FILE[adam.output].schema_for((6, 12, 24), SUBGROUP_VARIABLES)
        assert len(adam.name) <= 8 and len(adam.label) <= 40
        for name, column in schema.columns().items():
            assert len(name) <= 8, (adam.name, name)
            assert column.description and len(column.description) <= 40, (adam.name, name, column.description)
            assert name == name.upper(), (adam.name, name)


def test_every_rename_is_recorded_in_the_data_contract():
    """docs/data-contract.md lists each renamed column with its old and new name, and
    each new name is an ADSL variable."""
    from tests.helpers import ROOT
    from trial_outcomes.contracts import ADSL, RENAMED_V4

    doc = (ROOT / "docs" / "data-contract.md").read_text()
    for old, new in RENAMED_V4.items():
        assert new in ADSL.columns(), new
        assert f"| `{old}` | `{new}` |" in doc, old


def test_the_data_contract_lists_every_input_column_as_the_schema_declares_it():
    """A newcomer could not write a drop from docs/data-contract.md: it named no input
    column, and three runs were refused before one published (ld_regimen, tocilizumab,
    cd19_at_relapse's codes). Its appendix is ``schema.columns_markdown()``, whole; and
    each column the readers require appears in it, with its file."""
    from tests.helpers import ROOT
    from trial_outcomes.schema import SCHEMAS, columns_markdown

    doc = (ROOT / "docs" / "data-contract.md").read_text()
    begin, end = "<!-- columns: begin (generated; edit schema.py, not this) -->\n", "<!-- columns: end -->"
    listed = doc[doc.index(begin) + len(begin) : doc.index(end)]
    assert listed == columns_markdown(), "regenerate the appendix: see schema.columns_markdown's docstring"
    for schema in SCHEMAS.values():
        part = listed[listed.index(f"### `{schema.record}`") :].split("\n### ")[0]
        assert all(f"| `{name}` |" in part for name in schema.required_columns), schema.record


def test_a_cut_published_before_the_renames_is_still_compared_with():
    """A previous cut's ADSL under the names of contract version 3 (D28PENDFL, sex, ...)
    reads under today's names, so a new cut compares with it (cut_comparison)."""
    from tests.helpers import derive_sample
    from trial_outcomes.analysis.cut_comparison import compare_cuts
    from trial_outcomes.contracts import RENAMED_V4, with_current_names

    adsl = derive_sample().adsl
    old = adsl.rename({new: old for old, new in RENAMED_V4.items() if new in adsl.columns})
    assert "D28PENDFL" in old.columns and "sex" in old.columns
    assert with_current_names(old).equals(adsl)
    summary = pl.DataFrame(schema={"endpoint": pl.String, "analysis": pl.String, "group_var": pl.String})
    table = compare_cuts("2023-12-31", with_current_names(old), summary, adsl, summary)
    # the same subjects: 82 responders of 111 evaluable before and now (counted from the old
    # D28PENDFL), no change: 82 / 111 = 73.87% -> 73.9%
    row = table.filter(pl.col("item") == "CR/CRi by day 28 (efficacy set, evaluable)").row(0, named=True)
    assert (row["previous"], row["current"], row["change"]) == ("82 of 111 (73.9%)",) * 2 + ("0; rate 0.0 pp",)


class _Keyed(dy.Schema):
    """A key of two columns (a text that may repeat and a number), a bounded value, a
    pattern, a nullable column and a rule of the schema's own."""

    USUBJID = dy.String(primary_key=True)
    ASEQ = dy.Int64(primary_key=True)
    AVAL = dy.Int64(min=0, nullable=True)
    FLAG = dy.String(regex=r"^[YN]$", nullable=True)

    @dy.rule()
    def flag_needs_a_value(cls) -> pl.Expr:  # noqa: N805 - dataframely rules take the schema class
        return pl.col("FLAG").is_null() | pl.col("AVAL").is_not_null()


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["S1", "S2", "S3"]),
            st.integers(1, 4),
            st.one_of(st.none(), st.integers(-2, 5)),
            st.sampled_from([None, "Y", "N", "X"]),
        ),
        max_size=12,
    )
)
def test_a_table_holds_its_contract_exactly_when_dataframely_says_so(rows):
    """The check keeps dataframely's rules but its primary key, which it checks by the
    keys' hashes (1.5 GB less for the listings of a million subjects): on tables with
    repeated keys, values out of range, a bad flag and a broken rule of the schema's own,
    it answers as ``is_valid`` does, and a table that fails names its rules."""
    from trial_outcomes.assets.files import _holds

    frame = pl.DataFrame(
        rows, schema={"USUBJID": pl.String, "ASEQ": pl.Int64, "AVAL": pl.Int64, "FLAG": pl.String}, orient="row"
    )
    assert _holds(frame, _Keyed) == _Keyed.is_valid(frame)
    assert (contract_problems(frame, _Keyed) == []) == _Keyed.is_valid(frame)
    assert not _holds(frame.with_columns(pl.col("ASEQ").cast(pl.Int32)), _Keyed)
