"""A red team's XLSX and Parquet exports (the twelfth session's round 5), at the readers:
a valid export reads as its CSV twin, an invalid one is refused naming file, row and
column, never read silently wrong."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from trial_outcomes.errors import DataDropError
from trial_outcomes.io.parse import parse_records
from trial_outcomes.io.readers import read_raw
from trial_outcomes.schema import ENROLMENT

TRANSITIONAL = (
    b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
)
STRICT = (b"http://purl.oclc.org/ooxml/spreadsheetml/main", b"http://purl.oclc.org/ooxml/officeDocument/relationships")


def _enrolment(drop: Path) -> pl.DataFrame:
    return pl.read_csv(drop / "enrolment.csv", infer_schema=False)


def _typed(path: Path) -> pl.DataFrame:
    typed, problems = parse_records(read_raw(path, ENROLMENT).frame, ENROLMENT)
    assert problems.is_empty(), problems
    return typed.drop("_source_file", "_source_row", "_source_sha256", strict=False)


def _refused(path: Path) -> str:
    with pytest.raises(DataDropError) as caught:
        read_raw(path, ENROLMENT)
    return str(caught.value)


def _workbook(path: Path, frame: pl.DataFrame, first_row: int = 0, first_column: int = 0) -> xlsxwriter.Workbook:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    for r, row in enumerate([frame.columns, *[list(r) for r in frame.iter_rows()]]):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write_string(first_row + r, first_column + c, value)
    return book


def test_a_workbook_saved_as_strict_open_xml_is_refused_not_read_unchecked(drop):
    """Excel's "Strict Open XML Spreadsheet" names the same XML otherwise: a red team's
    percentages (0.963 read for 96.3, 123 eligibility findings for 3), hidden stale sheet
    and merged cells were all read, the checks finding no sheet to check. The same
    workbook in Excel's usual namespaces is read."""
    path = drop / "enrolment.xlsx"
    _workbook(path, _enrolment(drop)).close()
    plain = path.read_bytes()
    strict = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as source, zipfile.ZipFile(strict, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            for old, new in zip(TRANSITIONAL, STRICT, strict=True):
                data = data.replace(old, new)
            target.writestr(info, data)
    path.write_bytes(strict.getvalue())
    assert "saved as 'Strict Open XML Spreadsheet'" in _refused(path)
    path.write_bytes(plain)
    assert _typed(path).height == _enrolment(drop).height


def _enrol_date_formatted(drop, fmt):
    """enrolment.xlsx with the fourth subject's enrol_date (Excel row 5, column D)
    written as a date cell in number format ``fmt``: the path and the date written."""
    frame = _enrolment(drop)
    path = drop / "enrolment.xlsx"
    book = _workbook(path, frame)
    style = book.add_format({"num_format": fmt})
    enrolled = dt.datetime.fromisoformat(frame["enrol_date"][3])
    book.worksheets()[0].write_datetime(4, frame.columns.index("enrol_date"), enrolled, style)
    book.close()
    return path, enrolled


@pytest.mark.parametrize("shown", ["mmm-yyyy", "yyyy", "mmmm yyyy", 17])
def test_a_date_cell_formatted_without_its_day_is_refused_as_a_partial_date(drop, shown):
    """A death typed "Nov-2021" is stored by Excel as 1 November, shown as Nov-2021: a red
    team's DTHDT 2021-11-01 for 2021-11-27 moved OS and 13 tables. Row 5 of the sheet
    (Excel row 5, the fourth subject), column D (enrol_date). Built-in format 17 is
    ``mmm-yy``. A full date format on the same cell is read."""
    for fmt, refused in ((shown, True), ("dd-mmm-yyyy", False)):
        path, enrolled = _enrol_date_formatted(drop, fmt)
        if refused:
            message = _refused(path)
            assert "enrolment.xlsx, row 5, column D (Excel column)" in message
            assert "formatted without a day" in message
        else:
            assert _typed(path)["enrol_date"][3] == enrolled.date()


@pytest.mark.parametrize("shown", ["d-mmm", "dd/mm", "mmm d", 16])
def test_a_date_cell_formatted_without_its_year_is_refused(drop, shown):
    """A relapse typed "5-Mar" in January 2024 is stored by Excel as 5 March 2024, the
    year it was typed, shown as 5-Mar: the year read may not be the year meant. Built-in
    format 16 is ``d-mmm``. A time format (``h:mm``) on the same column is not a date
    format and does not refuse it; a full date format is read."""
    for fmt, refused in ((shown, True), ("h:mm", False), ("dd-mmm-yyyy", False)):
        path, enrolled = _enrol_date_formatted(drop, fmt)
        if refused:
            message = _refused(path)
            assert "enrolment.xlsx, row 5, column D (Excel column)" in message
            assert "formatted without a year" in message
            assert "in the year it was typed" in message
        else:
            assert _typed(path)["enrol_date"][3] == enrolled.date()


def test_a_header_below_row_1_and_a_table_from_column_b_are_named_where_they_are(drop):
    """Two blank rows above the header (row 3) and no ecog column: "row 3" (it said row
    1). A table starting in column B with a stray value in V6: column V and row 6 (it
    said column U and row 1, counting from the table's first column)."""
    frame = _enrolment(drop)
    path = drop / "enrolment.xlsx"
    _workbook(path, frame.drop("ecog"), first_row=2).close()
    assert "enrolment.xlsx, row 3, column ecog: required column is missing" in _refused(path)
    book = _workbook(path, frame, first_column=1)
    book.worksheets()[0].write_string(5, 21, "note")
    book.close()
    message = _refused(path)
    assert "row 6, column V (Excel column), value 'note': column V has values but no header" in message
    assert "row 1, the first row holding a value, is read as the header" in message


def test_parquet_columns_outside_the_contract_are_dropped_whatever_their_type(drop):
    """A duration column stopped the run with a stack trace ("casting from Duration('ms')
    to String not supported"); struct, list and binary columns refused the file. Outside
    the contract they are dropped unread, named as dropped, and the file reads as its CSV
    twin. A duration in a contract column (age_years) is refused naming the column."""
    frame = _enrolment(drop)
    n = frame.height
    extra = frame.with_columns(
        pl.Series("los", [dt.timedelta(days=i) for i in range(n)]),
        pl.Series("audit", [{"by": "x", "at": i} for i in range(n)]),
        pl.Series("tags", [["a", "b"]] * n),
        pl.Series("photo", [b"\x00\x01"] * n),
    )
    extra.write_parquet(drop / "enrolment.parquet")
    raw = read_raw(drop / "enrolment.parquet", ENROLMENT)
    assert set(raw.dropped_columns) == {"los", "audit", "tags", "photo"}
    assert _typed(drop / "enrolment.parquet").equals(_typed(drop / "enrolment.csv"))
    frame.with_columns(pl.Series("age_years", [dt.timedelta(days=i) for i in range(n)])).write_parquet(
        drop / "enrolment.parquet"
    )
    message = _refused(drop / "enrolment.parquet")
    assert "enrolment.parquet, column age_years" in message and "Duration" in message


def test_a_parquet_y_n_column_of_whole_floats_reads_as_1_and_0(drop):
    """pandas writes a 0/1 column with a blank as floats: 1.0 was refused as "not a Y/N
    value" where an XLSX cell's 1.0 reads as 1. Whole floats read as integers; a column
    with a fraction stays as written."""
    frame = _enrolment(drop)
    yes = frame["prior_hsct"].replace_strict({"Y": 1.0, "N": 0.0}, default=None, return_dtype=pl.Float64)
    for written in (yes, yes.cast(pl.Decimal(5, 2))):  # pandas' floats; a decimal(5, 2) holds 1.00
        frame.with_columns(written.alias("prior_hsct")).write_parquet(drop / "enrolment.parquet")
        typed = _typed(drop / "enrolment.parquet")
        assert typed["prior_hsct"].to_list() == _typed(drop / "enrolment.csv")["prior_hsct"].to_list()


def test_a_column_outside_the_contract_is_dropped_whatever_its_number_format(drop):
    """A reviewer's ``diagnosis_month`` formatted mmm-yyyy and ``weight_pct`` formatted 0%
    refused the file, though a column outside the contract is dropped unread. The same
    formats in contract columns (enrol_date, cd19_pct) are refused, naming the cell."""
    frame = _enrolment(drop)
    path = drop / "enrolment.xlsx"
    book = _workbook(path, frame)
    sheet = book.worksheets()[0]
    month, percent = book.add_format({"num_format": "mmm-yyyy"}), book.add_format({"num_format": "0%"})
    extra = len(frame.columns)
    sheet.write_string(0, extra, "diagnosis_month")
    sheet.write_string(0, extra + 1, "weight_pct")
    for r in range(1, frame.height + 1):
        sheet.write_datetime(r, extra, dt.datetime(2019, 5, 1), month)
        sheet.write_number(r, extra + 1, 0.25, percent)
    book.close()
    raw = read_raw(path, ENROLMENT)
    assert set(raw.dropped_columns) == {"diagnosis_month", "weight_pct"}
    book = _workbook(path, frame)
    book.worksheets()[0].write_number(2, frame.columns.index("cd19_pct"), 0.963, book.add_format({"num_format": "0%"}))
    book.close()
    assert "row 3, column K (Excel column), value '0.963': cell(s) formatted as a percentage" in _refused(path)


@pytest.mark.parametrize(
    ("code", "missing"),
    [
        ("d-mmm", "year"),
        ("mm", "year"),  # a month alone: let through until a red team tried it
        ("[$-409]d-mmm;@", "year"),
        ("mmm-yyyy", "day"),
        ("dd-mmm-yyyy", None),
        ("dd/mm/bbbb", None),  # Thailand's Buddhist era: refused as yearless until 2026-12-01
        ('[$-ja-JP]ggge"年"m"月"d"日"', None),  # Japan's era year
        ("e-mm-dd", None),
        ("h:mm", None),
        ("[h]:mm:ss", None),
        ("mm:ss", None),
        ("h:mm AM/PM", None),
        ("General", None),
        ("0.00E+00", None),  # a number's format: its E is no era
        ("0%", None),
    ],
)
def test_which_part_of_a_date_a_format_leaves_out(code, missing):
    """Excel's format codes as an XLSX holds them: a year is y, or an era year (e with
    g, Japan's; b or bbbb, Thailand's); a code with digit placeholders is a number's; a
    time's m is minutes."""
    from trial_outcomes.io.readers import _date_part_missing

    assert _date_part_missing(code) == missing
