"""The frame helpers that bound a derivation's memory give what polars' own calls give."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from trial_outcomes.analysis.frames import scan, sorted_taking, stacked


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


@settings(max_examples=60, deadline=None)
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


@settings(max_examples=60, deadline=None)
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


def test_scan_of_records_held_in_memory_queries_them():
    records = {"followup": pl.DataFrame({"subject_id": ["S1", "S2"], "event": ["DEATH", "CONTACT"]})}
    deaths = scan(records, "followup").filter(pl.col("event") == "DEATH").collect()
    assert deaths["subject_id"].to_list() == ["S1"]
