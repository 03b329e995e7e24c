"""The XPT observations written from whole columns (``io/xpt.py``) are ReadStat's bytes."""

import datetime as dt

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
        ),
        min_size=1,
        max_size=40,
    ),
    block=st.integers(1, 7),
)
def test_the_block_writer_writes_readstats_bytes(rows, block, tmp_path, monkeypatch):
    """Any frame of text (any Unicode, missing, empty), doubles (missing, NaN, infinite,
    tiny, huge), integers, dates and booleans, in blocks of any size, gives the bytes
    ReadStat gives row by row."""
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
        },
        orient="row",
    )
    ours, theirs = _both(frame, tmp_path)
    assert ours == theirs


def test_frames_the_block_writer_does_not_take_go_to_readstat_whole(tmp_path):
    """No rows, a column of only nulls (type Null), and a text holding a NUL byte are
    written by ReadStat alone: the bytes are its bytes."""
    empty = pl.DataFrame(schema={"A": pl.String, "B": pl.Float64})
    nulls = pl.DataFrame({"A": ["x", "y"], "B": [None, None]})
    nul_byte = pl.DataFrame({"A": ["a\x00b", "c"]})
    for frame in (empty, nulls, nul_byte):
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


def test_a_number_beyond_what_xpt_holds_is_refused_not_stored_as_another(tmp_path):
    """XPT's largest number is 16**63 (1 - 16**-14) = 7.237e75; ReadStat stores anything
    larger as that number in silence (a red team's 1e80 was 7.2e75 in the XPT and 1e80 in
    the Parquet). 1e80 is refused, naming the dataset, variable and value; the largest
    itself, and -inf, NaN and missing (ReadStat's own conventions), are written: the
    largest as 7F FF FF FF FF FF FF FF (which ReadStat reads back as infinity)."""
    from trial_outcomes.contracts import ADLB

    big = pl.DataFrame({"AVAL": [1.0, 1e80]})
    with pytest.raises(ValueError, match=r"ADX\.AVAL: 1 value\(s\) beyond the largest number XPT holds.*1e\+80"):
        xpt.write_xpt(big, ADLB, "ADX", "x", tmp_path / "x.xpt", dt.date(2024, 3, 31))
    edge = pl.DataFrame({"AVAL": [xpt.IBM_MAX, -float("inf"), float("nan"), None]})
    xpt.write_xpt(edge, ADLB, "ADX", "x", tmp_path / "y.xpt", dt.date(2024, 3, 31))
    content = (tmp_path / "y.xpt").read_bytes()
    observations = content[content.index(xpt._DATA_START) + 80 :]
    assert observations[:8] == bytes.fromhex("7fffffffffffffff")
    assert xpt.read_xpt(tmp_path / "y.xpt")[0].height == 4
