"""The frame helpers that bound a derivation's memory give what polars' own calls give."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tests.helpers import examples
from trial_outcomes.analysis.frames import beside, scan, sorted_taking, stacked


def _part(rows: list[tuple[str, int | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"USUBJID": pl.String, "AVAL": pl.Int64, "EVNTDESC": pl.String}, orient="row"
    ).with_columns(pl.lit(dt.date(2024, 1, 2)).alias("ADT"))


_rows = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=20),
        st.one_of(st.none(), st.integers(-1000, 1000)),
        st.one_of(st.none(), st.text(max_size=30)),
    ),
    max_size=30,
)


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(_rows, min_size=1, max_size=6))
def test_stacked_is_the_concatenation_in_one_piece(parts_rows):
    parts = [_part(rows) for rows in parts_rows]
    expected = pl.concat(parts).rechunk()
    given_parts = list(parts)
    out = stacked(given_parts)
    assert_frame_equal(out, expected)
    assert out.n_chunks("all") == [1] * out.width and given_parts == []


def test_stacked_needs_parts():
    with pytest.raises(ValueError, match="no parts"):
        stacked([])


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.one_of(st.none(), st.integers(0, 3)), st.text(max_size=8)), max_size=40)
)
def test_sorted_taking_is_the_sort_by_a_key(rows):
    """Rows numbered to make (subject, id) a key, as ADAE's (USUBJID, AESPID) is."""
    frame = pl.DataFrame(
        [(f"S{s}", day, f"{i:03d}", text) for i, (s, day, text) in enumerate(rows)],
        schema={"USUBJID": pl.String, "ASTDY": pl.Int64, "AESPID": pl.String, "AETERM": pl.String},
        orient="row",
    )
    holder = [frame]
    out = sorted_taking(holder, "USUBJID", "ASTDY", "AESPID")
    assert_frame_equal(out, frame.sort("USUBJID", "ASTDY", "AESPID"))
    assert holder == []
    # rows that tie (no AESPID) keep their order; missing days last, as ADRS sorts its visits
    ties = sorted_taking([frame], "USUBJID", "ASTDY", nulls_last=True)
    assert_frame_equal(ties, frame.sort("USUBJID", "ASTDY", nulls_last=True, maintain_order=True))


def test_scan_of_records_held_in_memory_queries_them():
    records = {"followup": pl.DataFrame({"subject_id": ["S1", "S2"], "event": ["DEATH", "CONTACT"]})}
    deaths = scan(records, "followup").filter(pl.col("event") == "DEATH").collect()
    assert deaths["subject_id"].to_list() == ["S1"]


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=8), max_size=25, unique=True),
    st.lists(st.dictionaries(st.text(min_size=1, max_size=8), st.integers(-50, 50), max_size=25), max_size=4),
)
def test_beside_is_the_chain_of_left_joins(keys, parts_by_key):
    """A frame of subjects (in no particular order) and parts with at most one row per
    subject, some subjects absent, some not in the frame: ``beside`` gives what the chain
    of left joins gives, rows in the frame's order and nulls where a part has no row."""
    first = pl.DataFrame({"USUBJID": keys, "N": list(range(len(keys)))}, schema={"USUBJID": pl.String, "N": pl.Int64})
    parts = [
        pl.DataFrame(
            {"USUBJID": list(values), f"V{i}": list(values.values())}, schema={"USUBJID": pl.String, f"V{i}": pl.Int64}
        )
        for i, values in enumerate(parts_by_key)
    ]
    chained = first
    for part in parts:
        chained = chained.join(part, on="USUBJID", how="left", maintain_order="left")
    given_parts = [first, *parts]
    assert_frame_equal(beside(given_parts, "USUBJID"), chained)
    assert given_parts == []


def test_beside_refuses_a_part_with_two_rows_for_a_key():
    """A chain of joins would give the subject two rows; ``beside`` says so instead."""
    first = pl.DataFrame({"USUBJID": ["S1", "S2"]})
    twice = pl.DataFrame({"USUBJID": ["S1", "S1"], "V": [1, 2]})
    with pytest.raises(ValueError, match="more than one row for some USUBJID"):
        beside([first, twice], "USUBJID")
