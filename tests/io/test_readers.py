"""Readers: every format and encoding the contract allows lands in the raw layer with provenance."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from trial_outcomes.errors import DataDropError
from trial_outcomes.io.readers import find_file, read_raw
from trial_outcomes.schema import ENROLMENT, FOLLOWUP, INFUSION


def _frame(drop, record):
    return pl.read_csv(drop / f"{record}.csv", infer_schema=False)


def test_utf8_with_bom_reads_like_without(drop):
    plain = read_raw(drop / "enrolment.csv", ENROLMENT).frame
    data = (drop / "enrolment.csv").read_bytes()
    (drop / "enrolment.csv").write_bytes(b"\xef\xbb\xbf" + data)
    bom = read_raw(drop / "enrolment.csv", ENROLMENT)
    assert bom.encoding == "utf-8-sig"
    assert bom.frame.drop("_source_sha256").equals(plain.drop("_source_sha256"))


def test_gb18030_text_is_decoded(drop):
    frame = _frame(drop, "followup").with_columns(pl.lit("复发后死亡").alias("detail"))
    (drop / "followup.csv").write_bytes(frame.write_csv().encode("gb18030"))
    info = drop / "drop_info.toml"  # declared: GB18030 is never guessed (test_refusals.py)
    info.write_text((info.read_text() if info.exists() else "") + 'encoding = "gb18030"\n')
    raw = read_raw(drop / "followup.csv", FOLLOWUP)
    assert raw.encoding == "gb18030"
    assert raw.frame["detail"].unique().to_list() == ["复发后死亡"]


def test_provenance_names_file_line_and_hash(drop):
    raw = read_raw(drop / "infusion.csv", INFUSION)
    frame = raw.frame
    assert frame["_source_file"].unique().to_list() == ["infusion.csv"]
    assert frame["_source_row"].to_list() == list(range(2, frame.height + 2))
    assert frame["_source_sha256"][0] == hashlib.sha256((drop / "infusion.csv").read_bytes()).hexdigest() == raw.sha256
    assert raw.facts["rows"] == frame.height


def test_column_names_match_case_insensitively_and_columns_outside_the_contract_are_dropped(drop):
    """A patient's name and date of birth are never stored: dropped unread, and named."""
    frame = _frame(drop, "infusion")
    frame = frame.rename({"subject_id": " Subject_ID ", "infusion_date": "INFUSION_DATE"}).with_columns(
        pl.lit("Wang Xiaoming").alias("Patient Name"), pl.lit("2012-03-04").alias("DOB")
    )
    frame.write_csv(drop / "infusion.csv")
    raw = read_raw(drop / "infusion.csv", INFUSION)
    assert raw.frame.columns == [*INFUSION.column_names, "_source_file", "_source_row", "_source_sha256"]
    assert raw.dropped_columns == ("Patient Name", "DOB")
    assert "Wang" not in str(raw.frame.to_dicts())


def test_an_optional_column_may_be_absent(drop):
    """followup without cause_category, infusion without bridging: read as blank, and
    said so."""
    _frame(drop, "infusion").drop("bridging").write_csv(drop / "infusion.csv")
    raw = read_raw(drop / "infusion.csv", INFUSION)
    assert raw.absent_columns == ("bridging",) and raw.frame["bridging"].is_null().all()


def test_xlsx_first_sheet_with_excel_dates(drop):
    frame = _frame(drop, "infusion").with_columns(
        pl.col("infusion_date").str.to_date(), pl.col("dose_cells_per_kg").cast(pl.Float64)
    )
    (drop / "infusion.csv").unlink()
    frame.write_excel(drop / "infusion.xlsx")
    path = find_file(drop, INFUSION)
    raw = read_raw(path, INFUSION)
    assert raw.encoding == "xlsx"
    assert raw.frame["infusion_date"].to_list() == frame["infusion_date"].cast(pl.String).to_list()
    assert raw.frame["_source_row"][0] == 2


def test_parquet_rows_are_numbered_from_one(drop):
    frame = _frame(drop, "enrolment")
    (drop / "enrolment.csv").unlink()
    frame.write_parquet(drop / "enrolment.parquet")
    raw = read_raw(drop / "enrolment.parquet", ENROLMENT).frame
    assert raw["_source_row"][0] == 1
    assert raw["subject_id"].to_list() == frame["subject_id"].to_list()


def test_two_files_for_one_record_are_refused(drop):
    _frame(drop, "enrolment").write_parquet(drop / "enrolment.parquet")
    with pytest.raises(DataDropError, match="more than one file"):
        find_file(drop, ENROLMENT)


def test_header_only_enrolment_is_refused(drop):
    (drop / "enrolment.csv").write_text(",".join(ENROLMENT.column_names) + "\n")
    with pytest.raises(DataDropError, match="no data rows"):
        read_raw(drop / "enrolment.csv", ENROLMENT)


def test_duplicate_header_is_refused(drop):
    (drop / "followup.csv").write_text("subject_id,event_date,event,detail,EVENT\nBR-001,2021-01-01,CONTACT,,x\n")
    with pytest.raises(DataDropError, match="column appears twice"):
        read_raw(drop / "followup.csv", FOLLOWUP)


def test_quoted_field_with_comma_and_newline_stays_one_value(drop):
    (drop / "followup.csv").write_text(
        'subject_id,event_date,event,detail\nBR-001,2021-01-01,DEATH,"Relapse, then\nsepsis"\n'
    )
    raw = read_raw(drop / "followup.csv", FOLLOWUP).frame
    assert raw["detail"].to_list() == ["Relapse, then\nsepsis"]


def test_fast_and_quote_aware_csv_readers_agree(drop):
    """The vectorized path (no quotes) and the csv-module path give the same raw layer."""
    from trial_outcomes.io.readers import _read_quoted_csv, _read_simple_csv, decode_text

    for path in sorted(drop.glob("*.csv")):
        if b'"' in path.read_bytes():
            continue  # quoted fields (bridging therapies with commas): the quote-aware path only
        text, _ = decode_text(path.read_bytes(), path.name)
        fast = _read_simple_csv(text.encode("utf-8"), path.name)
        assert fast is not None, path.name
        assert fast.equals(_read_quoted_csv(text, path.name)), path.name


#: the characters a field is drawn from: the separator, quotes, blanks, non-ASCII; and what
#: only an untidy file holds: line ends inside a value, the unit separator
_FIELD_CHARS = [",", '"', " ", "\t", "a", "B", "1", "-", "é", "复"]
_UNTIDY_CHARS = ["\n", "\r", "\x1f"]


@st.composite
def _csv_files(draw) -> tuple[bytes, bool]:
    """A CSV file of 1-4 columns and 0-5 records: each field unquoted or quoted (its quotes
    doubled); lines ended by LF or CRLF. An untidy file (half of them) also has fields
    written wrong (an unclosed or stray quote), line ends inside values and blank lines.
    Returns the file and whether the fast path must take it (tidy, quoted, two columns or more)."""
    untidy = draw(st.booleans())
    chars = st.sampled_from(_FIELD_CHARS + (_UNTIDY_CHARS if untidy else []))
    width = draw(st.integers(1, 4))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    lines = []
    for _ in range(draw(st.integers(1, 6))):  # the header, then the records
        if untidy and draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(["", " "])))
            continue
        fields = []
        for _ in range(width):
            value = "".join(draw(st.lists(chars, max_size=5)))
            how = draw(st.sampled_from(["plain", "quoted", "quoted", "wrong"] if untidy else ["plain", "quoted"]))
            if how == "plain" and not untidy:
                value = value.replace('"', "").replace(",", "")
            if how == "quoted":
                fields.append('"' + value.replace('"', '""') + '"')
            elif how == "wrong":
                fields.append(draw(st.sampled_from(['"' + value, value + '"', '"' + value + '"x'])))
            else:
                fields.append(value)
        lines.append(",".join(fields))
    body = (end.join(lines) + draw(st.sampled_from(["", end]))).encode("utf-8")
    return body, not untidy and width >= 2 and b'"' in body  # without a quote: the plain fast path's


@settings(max_examples=examples(400), deadline=None)
@given(file=_csv_files())
def test_the_well_quoted_fast_path_reads_what_pythons_csv_reads(file):
    """Where the fast path for quoted files takes a file, it gives the frame Python's csv
    module gives in strict mode, values and line numbers; where it does not (a quoted
    field over two lines, a blank line, a quote written wrong), it returns None and the
    quote-aware reader decides. A tidy file of two columns or more (every field quoted or
    plain, on one line each, no blank line) is taken."""
    from trial_outcomes.io.readers import _read_quoted_csv, _read_well_quoted_csv

    body, taken = file
    try:
        fast = _read_well_quoted_csv(body, "x.csv")
    except DataDropError as fast_error:  # the header refused: the quote-aware reader refuses it alike
        with pytest.raises(DataDropError) as caught:
            _read_quoted_csv(body.decode("utf-8"), "x.csv")
        assert str(caught.value) == str(fast_error)
        return
    if fast is None:
        assert not taken, body
        return
    assert fast.equals(_read_quoted_csv(body.decode("utf-8"), "x.csv"))


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_every_sample_file_quoted_whole_reads_as_written_plain(drop, monkeypatch, end):
    """Each file of the sample written with every field quoted (as R's write.csv and many EDC
    exports quote) gives the raw layer its plain file gives, values and line numbers, and
    is read by polars: the quote-aware reader is never reached."""
    from trial_outcomes.io import readers
    from trial_outcomes.schema import SCHEMAS

    for path in sorted(drop.glob("*.csv")):
        schema = SCHEMAS[path.stem]
        plain = read_raw(path, schema).frame
        quoted = path.with_name(f"quoted_{path.name}")
        quoted.write_text(
            pl.read_csv(path, infer_schema=False).write_csv(quote_style="always", line_terminator=end), newline=""
        )
        with monkeypatch.context() as patch:
            patch.setattr(readers, "_read_quoted_csv", lambda text, name: pytest.fail(f"{name}: the slow reader"))
            frame = read_raw(quoted, schema).frame
        assert frame.drop("_source_file", "_source_sha256").equals(plain.drop("_source_file", "_source_sha256"))


@pytest.mark.parametrize(
    "body", [b"subject_id,x\n\xef\xbb\xbfBR-1,a\nBR-2,b\n", b'"subject_id","x"\n\xef\xbb\xbfBR-1,"a"\nBR-2,"b"\n']
)
def test_a_byte_order_mark_that_starts_the_first_record_is_kept(body):
    """polars' reader drops a byte-order mark (U+FEFF) that starts the first line it reads
    after the header: both fast paths leave such a file to a reader that keeps it, so the
    invisible character is refused in the identifier, not dropped unseen (a reviewer's)."""
    from trial_outcomes.io.readers import _read_csv

    frame, _ = _read_csv(body, "x.csv")
    assert frame["subject_id"].to_list() == ["\ufeffBR-1", "BR-2"]
    assert frame["_source_row"].to_list() == [2, 3]


def test_the_well_quoted_fast_path_takes_r_s_write_csv():
    """R's write.csv quotes every text: such a file is read by polars, line i + 2 being
    row i; a quoted value holding a line end, a blank line or a stray quote is left to
    the quote-aware reader."""
    from trial_outcomes.io.readers import _read_well_quoted_csv

    body = b'"subject_id","detail","n"\r\n"BR-1","a, ""b""",3\r\n"BR-2","",\r\n'
    frame = _read_well_quoted_csv(body, "x.csv")
    assert frame is not None
    assert frame.rows() == [("BR-1", 'a, "b"', "3", 2), ("BR-2", "", "", 3)]
    for other in (
        b'"subject_id","detail"\n"BR-1","two\nlines"\n',
        b'"subject_id","detail"\n"BR-1","x"\n\n"BR-2","y"\n',
        b'"subject_id","detail"\n"BR-1",x"y\n',
        b'"subject_id","detail"\n"BR-1","x"y\n',
    ):
        assert _read_well_quoted_csv(other, "x.csv") is None, other


def test_polars_reader_and_line_split_agree(drop):
    """A plain file (no quote, no blank line) is read by polars' CSV reader; any other is
    split line by line. Both give the same fields and line numbers for every plain file
    of the sample, and a blank line or a stray carriage return takes the split path."""
    from trial_outcomes.io.readers import _fields_by_polars, _fields_by_split, _read_simple_csv

    for path in sorted(drop.glob("*.csv")):
        body = path.read_bytes()
        if b'"' in body:
            continue
        names = [f"__f{i}" for i in range(body.split(b"\n", 1)[0].count(b",") + 1)]
        rows = body.rstrip(b"\n").count(b"\n")
        by_polars = _fields_by_polars(body, names, rows)
        assert by_polars is not None, path.name
        assert by_polars.select("_source_row", *names).equals(_fields_by_split(body, names)), path.name
    blank = b"subject_id,event_date,event,detail\nBR-001,2021-01-01,CONTACT,\n\nBR-001,2021-02-01,CONTACT,x\n"
    stray = b"subject_id,event_date,event,detail\nBR-001,2021-01-01,CONTACT,a\rb\n"
    for body in (blank, stray):
        frame = _read_simple_csv(body, "followup.csv")
        assert frame is not None
        assert frame["_source_row"].to_list() == ([2, 4] if body is blank else [2])
    assert _read_simple_csv(stray, "followup.csv")["detail"].to_list() == ["a\rb"]


def test_blank_lines_and_crlf_keep_true_line_numbers(drop):
    text = "subject_id,event_date,event,detail\r\nBR-001,2021-01-01,CONTACT,\r\n\r\nBR-001,2021-02-01,CONTACT,x\r\n"
    (drop / "followup.csv").write_text(text, newline="")
    raw = read_raw(drop / "followup.csv", FOLLOWUP).frame
    assert raw["_source_row"].to_list() == [2, 4]
    assert raw["detail"].to_list() == ["", "x"]


def _with_late_dates(drop, followup_dates: list[str]) -> None:
    """Append follow-up contacts on ``followup_dates`` for the drop's first subject."""
    subject = _frame(drop, "enrolment")["subject_id"][0]
    with (drop / "followup.csv").open("a") as handle:
        for date in followup_dates:
            handle.write(f"{subject},{date},CONTACT,,\n")


def test_default_cut_is_the_latest_plausible_date_whichever_reader_finds_it(drop, monkeypatch):
    """The latest date of any record, skipping values that are not real dates and dates
    after today (which validation refuses): with '2099-02-30' (impossible), '2098-01-05'
    (the future) and '2024-06-01' added to follow-up, the cut is 2024-06-01, whether
    polars reads the date columns straight (plain UTF-8 CSV) or the full reader is
    needed (a quoted field, a BOM, XLSX). A far-future typo never moves the cut."""
    import datetime as dt

    from trial_outcomes.io import readers
    from trial_outcomes.io.readers import latest_date_in_drop

    _with_late_dates(drop, ["2099-02-30", "2098-01-05", " 2024-06-01 "])
    expected = dt.date(2024, 6, 1)
    (drop / "infusion.csv").write_text(_frame(drop, "infusion").drop("bridging").write_csv())  # no quotes left
    with monkeypatch.context() as patch:  # plain CSV files: the full reader is not needed
        patch.setattr(readers, "read_raw", lambda *a: pytest.fail("full reader used on plain CSV"))
        assert latest_date_in_drop(drop) == expected
    with (drop / "followup.csv").open("a") as handle:
        handle.write('BR-001,2020-01-01,CONTACT,"seen, well",\n')  # quotes: the full reader
    assert latest_date_in_drop(drop) == expected
    data = (drop / "followup.csv").read_bytes()
    (drop / "followup.csv").write_bytes(b"\xef\xbb\xbf" + data.replace(b'"seen, well"', b""))
    assert latest_date_in_drop(drop) == expected
    _frame(drop, "followup").write_excel(drop / "followup.xlsx")
    (drop / "followup.csv").unlink()
    assert latest_date_in_drop(drop) == expected


def test_default_cut_names_a_missing_required_file(drop):
    from trial_outcomes.io.readers import latest_date_in_drop

    (drop / "infusion.csv").unlink()
    with pytest.raises(DataDropError, match=r"infusion\.csv.*required file is missing"):
        latest_date_in_drop(drop)


def test_headers_written_as_labels_are_the_contract_columns(drop):
    """ "Subject ID", "Ae-Id" and "Onset  Date" are subject_id, ae_id and onset_date (a run
    of spaces, hyphens or underscores is one underscore, as for codes); a file holding
    both "subject_id" and "Subject ID" is refused: the column appears twice."""
    from trial_outcomes.schema import ADVERSE_EVENTS

    path = drop / "adverse_events.csv"
    frame = pl.read_csv(path, infer_schema=False)
    labels = {"subject_id": "Subject ID", "ae_id": "Ae-Id", "onset_date": "Onset  Date"}
    frame.rename(labels).write_csv(path)
    raw = read_raw(path, ADVERSE_EVENTS).frame
    assert {"subject_id", "ae_id", "onset_date"} <= set(raw.columns)
    assert raw["subject_id"].to_list() == frame["subject_id"].to_list()
    frame.with_columns(pl.col("subject_id").alias("Subject ID")).write_csv(path)
    with pytest.raises(DataDropError, match="twice"):
        read_raw(path, ADVERSE_EVENTS)


def test_a_parquet_column_of_zoned_date_times_is_refused(drop):
    """One moment tagged UTC reads as 06-19 and tagged America/New_York as 06-18: the
    day depends on the zone. A zoned date column keeps its offset and is refused by the
    parser, naming row and value; a zoned column outside the contract (an audit
    timestamp) is dropped unread; a column without a zone reads as its date."""
    import datetime as dt

    from trial_outcomes.io.parse import ZONED_RULE, parse_records

    frame = pl.read_csv(drop / "infusion.csv", infer_schema=False)
    moment = pl.Series([dt.datetime(2020, 6, 19, 1, 0)] * frame.height)
    (drop / "infusion.csv").unlink()
    path = drop / "infusion.parquet"
    frame.with_columns(moment.dt.replace_time_zone("UTC").alias("infusion_date")).write_parquet(path)
    raw = read_raw(path, INFUSION).frame
    assert set(raw["infusion_date"]) == {"2020-06-19T01:00:00+0000"}
    problems = parse_records(raw, INFUSION)[1].filter(pl.col("column") == "infusion_date")
    assert problems.height == frame.height and set(problems["rule"]) == {ZONED_RULE}
    audit = moment.dt.replace_time_zone("UTC").alias("last_modified_utc")
    frame.with_columns(moment.alias("infusion_date"), audit).write_parquet(path)
    read = read_raw(path, INFUSION)
    assert "last_modified_utc" not in read.frame.columns
    typed, problems = parse_records(read.frame, INFUSION)
    assert problems.filter(pl.col("column") == "infusion_date").is_empty()
    assert set(typed["infusion_date"]) == {dt.date(2020, 6, 19)}


@pytest.mark.parametrize("header", ["*", "^.*$", "^subject_id$"])
def test_a_header_polars_would_read_as_a_pattern_is_a_name(drop, header):
    """A first header "*" (a fuzz test's mutation) was taken by polars' ``select`` as every
    column: a DuplicateError, not a refusal. Each header is now a name as written: the
    file lacks subject_id and is refused saying so."""
    path = drop / "adverse_events.csv"
    lines = path.read_text().splitlines()
    lines[0] = ",".join([header, *lines[0].split(",")[1:]])
    path.write_text("\n".join(lines) + "\n")
    from trial_outcomes.schema import ADVERSE_EVENTS

    with pytest.raises(DataDropError, match="subject_id: required column is missing"):
        read_raw(path, ADVERSE_EVENTS)


@pytest.mark.parametrize("distinct", [False, True])
def test_the_default_cut_of_a_large_file_whether_its_dates_repeat_or_not(tmp_path, distinct):
    """A lab file of 20,000 rows on 10 sampling days (2021-03-01 to 2021-03-10: each date
    typed once), or with a time of day to the microsecond on every row (nearly all
    distinct: typed row by row, as holding them all cost a red team 3 times the memory),
    and three late rows: '2099-02-30' (no such day), '2098-01-05' (after today) and
    ' 2024-06-01 ' (padded): the latest plausible date is 2024-06-01 either way."""
    import datetime as dt
    from dataclasses import replace

    from trial_outcomes.io import readers
    from trial_outcomes.schema import LABS

    n = 20_000
    days = [f"2021-03-{1 + i % 10:02d}" + (f"T10:00:00.{i:06d}" if distinct else "") for i in range(n)]
    days[100:103] = ["2099-02-30", "2098-01-05", " 2024-06-01 "]
    path = tmp_path / "labs.csv"
    pl.DataFrame(
        {
            "subject_id": [f"S{i % 50}" for i in range(n)],
            "sample_date": days,
            "test": ["ANC"] * n,
            "value": ["1.5"] * n,
            "below_lloq": ["N"] * n,
        }
    ).write_csv(path, quote_style="never")
    dates = replace(LABS, columns=tuple(c for c in LABS.columns if c.kind == "date"), key=())
    assert readers._latest_date_fast(path, dates, dt.date(2026, 12, 1)) == dt.date(2024, 6, 1)
    assert readers._latest_date_fast(path, dates, dt.date(2024, 5, 31)) == dt.date(2021, 3, 10)


def test_a_file_of_blanks_is_empty_however_long_and_a_file_starting_blank_is_not(tmp_path):
    """``readers._blank`` decides on the first 64 KiB unless they are all blank: 100,000
    blank lines (past the probe) are an empty file; 70,000 blank bytes then a header and a
    row are a file (its header row found after the blanks, not "file is empty")."""
    from trial_outcomes.io import readers

    assert readers._blank(b"") and readers._blank(b" \r\n\t" * 100_000)
    assert not readers._blank(b"\n" * 70_000 + b"subject_id\nBR-001\n")
    assert not readers._blank(b"subject_id\n" + b" " * 200_000)
    blank = tmp_path / "enrolment.csv"
    blank.write_bytes(b"\n" * 100_000)
    with pytest.raises(DataDropError, match="file is empty"):
        read_raw(blank, ENROLMENT)
