"""The XPT observations written from whole columns (``io/xpt.py``) are ReadStat's bytes."""

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from trial_outcomes.io import xpt


@pytest.mark.parametrize(
    ("value", "ibm"),
    [
        # 1.0 = 16**1 x 0x0.1: exponent 64 + 1 = 0x41, fraction 0x10...
        (1.0, "4110000000000000"),
        # the sign bit alone changes
        (-1.0, "C110000000000000"),
        # 0.5 = 16**0 x 0x0.8
        (0.5, "4080000000000000"),
        # 100 = 0x64 = 16**2 x 0x0.64
        (100.0, "4264000000000000"),
        # 0.1 is IEEE 0x3FB999999999999A = 1.6 x 2**-4: binary exponent -4, shift (-4 & 3) = 0,
        # hex exponent (-4 >> 2) + 65 = 64; the fraction with its implied 1, 0x1999999999999A,
        # moves in unchanged: 0x40 1999999999999A (IBM keeps every IEEE bit here)
        (0.1, "401999999999999A"),
        # 3 = 1.5 x 2**1: shift 1, (1 >> 2) + 65 = 0x41; fraction 0x18 << 1 = 0x30: 16 x 0x0.3 = 3
        (3.0, "4130000000000000"),
        (0.0, "0000000000000000"),
        (-0.0, "0000000000000000"),  # binary exponent -1023 is below IBM's range: 0
        (1e-300, "0000000000000000"),  # below IBM's range (16**-64 ~ 5e-78): 0
        (1e300, "7FFFFFFFFFFFFFFF"),  # above it (16**63 ~ 7e75): the largest IBM number
        (-1e300, "FFFFFFFFFFFFFFFF"),
        (float("nan"), "7FFFFFFFFFFFFFFF"),  # exponent 0x7FF as ReadStat takes it
    ],
)
def test_ibm_floats_worked_examples(value, ibm):
    assert xpt.ibm_floats(np.array([value])).tobytes().hex().upper() == ibm


def _as_written(frame: pl.DataFrame) -> pl.DataFrame:
    data, _ = xpt._fit_text(frame)
    return data.with_columns(pl.col(pl.Boolean).cast(pl.Int8))


def _both(frame: pl.DataFrame, tmp_path) -> tuple[bytes, bytes]:
    """The file from the block writer and from ReadStat alone, stamped alike."""
    data = _as_written(frame)
    labels: dict[str, str | None] = {name: f"label of {name}" for name in data.columns}
    ours = b"".join(xpt.xpt_bytes(data, labels, "ADX", "A dataset", tmp_path))
    theirs = xpt._written(data, "A dataset", labels, "ADX", tmp_path)
    cut = dt.date(2024, 3, 31)
    return xpt.stamped(ours, cut), xpt.stamped(theirs, cut)


texts = st.one_of(
    st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
)
numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
    st.integers(-10_000, 10_000).map(float),
)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            texts,
            numbers,
            st.one_of(st.none(), st.integers(-(2**31) + 1, 2**31 - 1)),
            st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))),
            st.one_of(st.none(), st.booleans()),
            texts,
            st.sampled_from(["AB", "CD", "É"]),  # every text 2 bytes: a variable its texts fill
        ),
        min_size=1,
        max_size=40,
    ),
    block=st.integers(1, 7),
)
def test_the_block_writer_writes_readstats_bytes(rows, block, tmp_path, monkeypatch):
    """Any frame of text (any Unicode, missing, empty; a column whose texts all fill
    their variable), doubles (missing, NaN, infinite, tiny, huge), integers, dates and
    booleans, in blocks of any size, gives the bytes ReadStat gives row by row."""
    monkeypatch.setattr(xpt, "BLOCK_ROWS", block)
    frame = pl.DataFrame(
        rows,
        schema={
            "TEXT": pl.String,
            "NUM": pl.Float64,
            "INT": pl.Int64,
            "DATE": pl.Date,
            "FLAG": pl.Boolean,
            "MORE": pl.String,
            "CODE": pl.String,
        },
        orient="row",
    )
    ours, theirs = _both(frame, tmp_path)
    assert ours == theirs


def test_frames_the_block_writer_does_not_take_go_to_readstat_whole(tmp_path):
    """No rows, a column of only nulls (type Null), and a text holding a NUL byte (in any
    text column, at any place) are written by ReadStat alone: the bytes are its bytes."""
    empty = pl.DataFrame(schema={"A": pl.String, "B": pl.Float64})
    nulls = pl.DataFrame({"A": ["x", "y"], "B": [None, None]})
    nul_byte = pl.DataFrame({"A": ["a\x00b", "c"]})
    nul_last = pl.DataFrame({"A": ["a", None], "N": [1.0, 2.0], "B": [None, "d\x00"]})  # the last text's last byte
    for frame in (empty, nulls, nul_byte, nul_last):
        data = _as_written(frame)
        assert not xpt._vectorisable(data) or data.height == 0
        written = tmp_path / "x.xpt"
        written.write_bytes(b"".join(xpt.xpt_bytes(data, dict.fromkeys(data.columns, "l"), "ADX", "x", tmp_path)))
        back, _ = xpt.read_xpt(written)
        assert back.height == frame.height and back.columns == frame.columns


def test_a_variable_is_as_long_as_its_longest_text_in_bytes(tmp_path):
    """Worked example: "é" is 2 bytes, so a column holding "é" and "abc" is 3 bytes long
    and a row is 3 + 8 = 11 bytes; two rows are 22 bytes, padded with 58 blanks to one
    80-byte record."""
    frame = pl.DataFrame({"T": ["é", "abc"], "N": [1.0, None]})
    data = _as_written(frame)
    content = b"".join(xpt.xpt_bytes(data, {"T": "t", "N": "n"}, "ADX", "x", tmp_path))
    observations = content[content.index(xpt._DATA_START) + 80 :]
    assert observations == "é ".encode() + bytes.fromhex("4110000000000000") + b"abc" + b".\0\0\0\0\0\0\0" + b" " * 58


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1e80, "1e+80"),  # a red team's transgene: stored as 7.2e75
        (2.0**249, "9.04626e+74"),  # the writer's own limit (ReadStat's ieee2xpt): stored as 7.2e75 too
        (1e75, "1e+75"),  # below IBM's largest, above the writer's: read back as infinity by pyreadstat
        (1e-100, "1e-100"),  # a red team's lab value: stored as 0
        (-(2.0**-261), "-2.6988e-79"),
        (float("nan"), "nan"),  # SAS has no NaN: stored as 7.2e75, R reads that
        (-float("inf"), "-inf"),
    ],
)
def test_a_number_xpt_would_store_as_another_is_refused(value, shown, tmp_path):
    """``ibm_floats`` stores as themselves the sizes 2**-260 (5.4e-79) to below 2**249
    (9.05e74) and 0; anything else it would store as another number (0 or the largest IBM
    number), which the Parquet would not. Refused, naming the dataset, variable, value and
    subject; the file is not written."""
    from trial_outcomes.contracts import ADLB

    frame = pl.DataFrame({"USUBJID": ["S1", "S2"], "AVAL": [1.0, value]})
    refused = rf"ADX\.AVAL: 1 value\(s\) XPT cannot hold .*such as {re.escape(shown)} \(subject S2\)"
    with pytest.raises(ValueError, match=refused):
        xpt.write_xpt(frame, ADLB, "ADX", "x", tmp_path / "x.xpt", dt.date(2024, 3, 31))
    assert not (tmp_path / "x.xpt").exists()


def test_the_numbers_at_the_edges_of_the_range_are_written_as_themselves(tmp_path):
    """The largest size written, just below 2**249, and the smallest, 2**-260, with 0, -0.0
    and missing: each reads back as itself (pyreadstat), -0.0 as 0."""
    from trial_outcomes.contracts import ADLB

    largest = float.fromhex("0x1.fffffffffffffp+248")
    edge = pl.DataFrame({"AVAL": [largest, -largest, 2.0**-260, 0.0, -0.0, None]})
    xpt.write_xpt(edge, ADLB, "ADX", "x", tmp_path / "y.xpt", dt.date(2024, 3, 31))
    back = xpt.read_xpt(tmp_path / "y.xpt")[0]["AVAL"].to_list()
    assert back == [largest, -largest, 2.0**-260, 0.0, 0.0, None]
