"""A table whose text columns are held as categories (``contracts.held_as_categories``:
ADTTE's, 16 bytes a row as text and 4 as a category) is published as its text: the
Parquet, CSV and XPT files are byte for byte those of the same table held as text, and
its contract check answers as for the text."""

import datetime as dt

import dataframely as dy
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from trial_outcomes.assets.files import contract_problems
from trial_outcomes.contracts import held_as_categories, with_declared_text
from trial_outcomes.io import writers, xpt
from trial_outcomes.io.outputs import Table, write_table

# any Unicode, missing, empty, and text longer than XPT's 200 bytes (cut when written)
_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["", "Relapse", "Death in remission (competing)", "é" * 150, "x" * 230]),
    st.text(max_size=12).filter(lambda t: "\x00" not in t),
)


class _Shaped(dy.Schema):
    USUBJID = dy.String(primary_key=True)
    PARAMCD = dy.String(primary_key=True)
    DESC = dy.String(nullable=True)
    FLAG = dy.String(nullable=True, regex="^[YN]$")
    AVAL = dy.Int64(nullable=True)
    ADT = dy.Date(nullable=True)


def _frame(rows: list[tuple]) -> pl.DataFrame:
    frame = pl.DataFrame(
        [(f"S{i:04d}", *row) for i, row in enumerate(rows)],
        schema={
            "USUBJID": pl.String,
            "PARAMCD": pl.String,
            "DESC": pl.String,
            "FLAG": pl.String,
            "AVAL": pl.Int64,
            "ADT": pl.Date,
        },
        orient="row",
    )
    # in pieces, as a derivation's frame may be (the files do not depend on the pieces)
    cut = frame.height // 2
    return pl.concat([frame.slice(0, cut), frame.slice(cut)], rechunk=False)


def _files(frame: pl.DataFrame, folder, cut: dt.date) -> dict[str, bytes]:
    write_table(folder, "adx.parquet", Table(frame, _Shaped), cut)
    writers.write_csv(frame, folder / "adx.csv")
    xpt.write_xpt(frame, _Shaped, "ADX", "A dataset", folder / "adx.xpt", cut)
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["OS", "EFS", "CIR"]),
            _TEXTS,
            st.sampled_from([None, "Y", "N"]),
            st.one_of(st.none(), st.integers(0, 5000)),
            st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2030, 1, 1))),
        ),
        max_size=30,
    ),
    held=st.sets(st.sampled_from(["PARAMCD", "DESC", "FLAG"]), min_size=1),
    enum=st.booleans(),
    block=st.integers(1, 7),
)
def test_text_held_as_categories_is_written_as_its_text(rows, held, enum, block, tmp_path_factory, monkeypatch):
    """Any mix of text (missing, empty, non-ASCII, over 200 bytes) held as Categorical or
    as Enum, in Parquet row groups and XPT blocks of a few rows, in a frame of two
    pieces: every file's bytes are the text frame's."""
    monkeypatch.setattr(writers, "PARQUET_ROW_GROUP", block + 2)
    monkeypatch.setattr(xpt, "BLOCK_ROWS", block)
    text = _frame(rows)
    as_categories = text.with_columns(
        pl.col(name).cast(pl.Enum(text[name].drop_nulls().unique().sort()) if enum else pl.Categorical)
        for name in sorted(held)
    )
    assert held_as_categories(as_categories.schema) == [c for c in as_categories.columns if c in held]
    cut = dt.date(2024, 4, 1)
    assert _files(as_categories, tmp_path_factory.mktemp("held"), cut) == _files(
        text, tmp_path_factory.mktemp("text"), cut
    )
    assert contract_problems(as_categories, _Shaped) == contract_problems(text, _Shaped)


def test_text_only_and_empty_frames_held_as_categories(tmp_path):
    """Edges: a frame whose every column is text held as categories (the XPT's longest row
    has no other column to take its height from), and a frame without rows."""
    only = pl.DataFrame({"A": ["x", "yy", None]})
    empty = pl.DataFrame(schema={"A": pl.String, "N": pl.Int64})
    for i, frame in enumerate((only, empty)):
        held = frame.with_columns(pl.col("A").cast(pl.Categorical))
        for name, data in (("text", frame), ("held", held)):
            xpt.write_xpt(data, _Shaped, "ADX", "x", tmp_path / f"{name}{i}.xpt", dt.date(2024, 4, 1))
        assert (tmp_path / f"held{i}.xpt").read_bytes() == (tmp_path / f"text{i}.xpt").read_bytes()


def test_a_broken_contract_is_named_for_text_held_as_categories():
    """A flag outside Y/N held as a category breaks the same rule as when held as text
    (worked example: one row, FLAG "X", against FLAG's regex ^[YN]$)."""
    text = pl.DataFrame(
        {"USUBJID": ["S1"], "PARAMCD": ["OS"], "DESC": [None], "FLAG": ["X"], "AVAL": [1], "ADT": [None]},
        schema_overrides={"DESC": pl.String, "ADT": pl.Date},
    )
    held = text.with_columns(pl.col("FLAG", "PARAMCD").cast(pl.Categorical))
    problems = contract_problems(held, _Shaped)
    assert problems == contract_problems(text, _Shaped) == ["FLAG|regex: 1 row(s)"]
    # (``DataFrame.equals`` takes a category for its text: the types are compared apart)
    assert with_declared_text(held).equals(text) and with_declared_text(held).schema == text.schema


@pytest.mark.parametrize("lazy", [False, True])
def test_with_declared_text_leaves_text_frames_alone(lazy):
    frame = pl.DataFrame({"A": ["x"], "N": [1]})
    query = frame.lazy() if lazy else frame
    assert with_declared_text(query) is query


def test_a_formula_held_as_a_category_is_neutralised_and_defined_as_text():
    """Worked example: the cell ``=HYPERLINK(1)`` is written ``'=HYPERLINK(1)`` whether held
    as text or as a category, and define.xml calls a category's variable text."""
    from trial_outcomes.reporting.define_xml import _data_type

    text = pl.DataFrame({"T": ["=HYPERLINK(1)", "-2"]})
    held = text.with_columns(pl.col("T").cast(pl.Categorical))
    assert writers.csv_bytes(held) == writers.csv_bytes(text) == b"T\n'=HYPERLINK(1)\n-2\n"
    assert _data_type(pl.Categorical()) == _data_type(pl.Enum(["a"])) == _data_type(pl.String()) == ("text", None)
