"""Input the readers refuse, each with a message naming the file and the place (issue:
nothing lost, nothing mixed). The end-to-end versions, with the earlier published
cut checked byte-identical, are in tests/e2e/test_bad_input.py."""

from __future__ import annotations

import io
import os
import zipfile

import polars as pl
import pytest

from trial_outcomes.errors import DataDropError
from trial_outcomes.io.parse import parse_records
from trial_outcomes.io.readers import MAX_XLSX_XML_BYTES, find_file, read_drop_info, read_raw
from trial_outcomes.schema import ENROLMENT, FOLLOWUP, INFUSION

HEADER = "subject_id,event_date,event,detail,cause_category\n"


def _refused(path, schema, *fragments: str) -> str:
    with pytest.raises(DataDropError) as caught:
        read_raw(path, schema)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_quote_never_closed_names_the_line_where_it_opened(tmp_path):
    """The last field of line 3 opens a quote that is never closed: the default csv
    module would read lines 3-5 as one field (0 of 2 deaths); strict mode refuses,
    naming the column whose quote opened (the fourth field, detail)."""
    path = tmp_path / "followup.csv"
    path.write_text(
        HEADER + 'BR-001,2021-01-01,CONTACT,,\nBR-001,2021-02-01,DEATH,"Relapse,LEUKEMIA\n'
        "BR-002,2021-03-01,DEATH,Sepsis,INFECTION\nBR-003,2021-04-01,CONTACT,,\n"
    )
    _refused(path, FOLLOWUP, "followup.csv, row 3, column detail, subject BR-001", "never closed")


def test_the_column_of_a_quote_never_closed_is_found_past_closed_quotes():
    """A closed quoted field holding a comma and a doubled quote comes first; the
    quote that stays open is the fifth field's. A quote inside an unquoted field
    opens nothing; a line ending outside quotes names no column."""
    from trial_outcomes.io.readers import _open_quote_column

    header = ["subject_id", "event_date", "event", "detail", "cause_category"]
    assert _open_quote_column('BR-1,"2021,""x""",DEATH,a"b,"LEUK', header) == "cause_category"
    assert _open_quote_column('BR-1,2021-01-01,DEATH,"Sepsis', header) == "detail"
    assert _open_quote_column('BR-1,2021-01-01,DEATH,"Sepsis",x', header) is None


def test_windows_1252_text_is_refused_not_read_as_mojibake(tmp_path):
    """cp1252 'Décès' (44 E9 63 E8 73) decodes as GB18030 'D閏鑣': refused, naming the line."""
    path = tmp_path / "followup.csv"
    path.write_bytes((HEADER + "BR-001,2021-02-01,DEATH,Décès,OTHER\n").encode("cp1252"))
    _refused(
        path,
        FOLLOWUP,
        "followup.csv, row 2, column detail, value 'Décès', subject BR-001",
        "neither UTF-8 nor GB18030",
        "Windows-1252",
    )


def test_bytes_that_are_no_encoding_name_the_cell_and_the_subject(tmp_path):
    """One cp1252 byte (E9, an e with acute) at the end of line 3's detail: neither
    UTF-8 nor GB18030 (E9 0A is no GB18030 pair); the refusal names the line, the
    column, the value as Windows-1252 reads it ('Sepsisé', not the bytes '\\xe9\\n')
    and the subject. Before a quote the column is named; after
    one it is not guessed."""
    path = tmp_path / "followup.csv"
    body = HEADER + "BR-001,2021-01-01,CONTACT,,\nBR-002,2021-02-01,DEATH,Sepsis"
    path.write_bytes(body.encode() + b"\xe9\n")
    _refused(path, FOLLOWUP, "followup.csv, row 3, column detail, value 'Sepsisé', subject BR-002", "neither UTF-8")
    path.write_bytes(HEADER.encode() + b'BR-003,2021-02-01,DEATH,"Sepsis, septic shock",OTHER\xe9\n')
    message = _refused(path, FOLLOWUP, "followup.csv, row 2", "subject BR-003", "neither UTF-8")
    assert "column" not in message.split("neither")[0]


def test_simplified_chinese_gbk_is_read_when_the_drop_declares_it(tmp_path):
    """A Chinese-locale export (GBK), with ``encoding = "GBK"`` in drop_info.toml: read.
    Undeclared, the same bytes are refused, the line shown as GB18030 would read it and
    the key to add named (a Korean export's bytes decode as GB18030 as well: below)."""
    path = tmp_path / "followup.csv"
    path.write_bytes((HEADER + "BR-001,2021-02-01,DEATH,复发后死亡（白血病）,LEUKEMIA\n").encode("gbk"))
    message = _refused(path, FOLLOWUP, "followup.csv, row 2, column detail", "subject BR-001", "not UTF-8")
    assert "复发后死亡（白血病）" in message and 'add encoding = "gb18030" to drop_info.toml' in message
    (tmp_path / "drop_info.toml").write_text('encoding = "GBK"\n')
    raw = read_raw(path, FOLLOWUP)
    assert (raw.encoding, raw.frame["detail"][0]) == ("gb18030", "复发后死亡（白血病）")


@pytest.mark.parametrize(
    ("codec", "text"),
    [
        ("cp949", "서울대학교병원"),  # Korean Excel's "CSV (comma delimited)"
        ("euc_jp", "東京大学医学部附属病院"),
        ("cp1252", "Hospital da Conceição"),  # "çã": C3 E7 E3, two bytes a GB18030 pair
    ],
)
def test_text_that_reads_as_chinese_only_by_accident_is_refused_undeclared(tmp_path, codec, text):
    """A red team's Korean (CP949), Japanese (EUC-JP) and Portuguese Windows-1252 site
    names decode as GB18030 into common simplified characters (서울대학교병원 as
    '辑匡措切背捍盔'), and were published as such. Each byte is a valid GB2312 pair: no test
    of the bytes tells them from Chinese, so GB18030 is read only when declared; here
    none is, and each is refused naming the cell."""
    assert bytes(text.encode(codec)).decode("gb18030") != text  # they do read as GB18030
    path = tmp_path / "followup.csv"
    path.write_bytes((HEADER + f"BR-001,2021-02-01,DEATH,{text},OTHER\n").encode(codec))
    _refused(path, FOLLOWUP, "followup.csv, row 2, column detail", "subject BR-001", "not UTF-8")


@pytest.mark.parametrize(
    ("above", "what"),
    [("", "a blank line"), ("sep=,", "Excel's separator line"), ("Follow-up export 2024-04-02", "a title")],
)
def test_lines_above_the_header_are_named_as_such(tmp_path, above, what):
    """A red team's blank first line, Excel's "sep=," line and a title above the header were
    refused as "row 2: line has 5 fields but the header has 1": the refusal names line 1
    and says the header is on line 2."""
    path = tmp_path / "followup.csv"
    path.write_text(above + "\n" + HEADER + "BR-001,2021-02-01,CONTACT,,\n")
    message = _refused(path, FOLLOWUP, "followup.csv, row 1", "the header (the column names) is on line 2", what)
    assert "fields but the header has" not in message


def test_a_header_on_line_1_with_one_column_misnamed_is_not_taken_for_a_title(tmp_path):
    """A first line naming some of the columns is the header (its other faults are named
    as before): only a first line naming none of them is looked below."""
    path = tmp_path / "followup.csv"
    path.write_text(HEADER.replace("event_date", "evnt_date") + "BR-001,2021-02-01,CONTACT,,\n")
    message = _refused(path, FOLLOWUP, "followup.csv")
    assert "is on line" not in message


@pytest.mark.parametrize("declared", [False, True])
def test_a_utf8_file_with_another_encodings_line_names_that_line(tmp_path, declared):
    """A re-verifier's UTF-8 AE file with Windows-1252 rows appended was refused at a good
    UTF-8 row (row 11, read as GB18030), and, declared GB18030, published whole as GB18030:
    "Neutropénie fébrile" as "Neutrop茅nie f茅brile". Row 2 is UTF-8 "Éruption cutanée",
    row 3 Windows-1252 "Conceição": refused at row 3, declared or not."""
    path = tmp_path / "followup.csv"
    good = (HEADER + "BR-001,2021-01-01,CONTACT,Éruption cutanée,\n").encode("utf-8")
    path.write_bytes(good + "BR-002,2021-02-01,DEATH,Conceição,OTHER\n".encode("cp1252"))
    if declared:
        (tmp_path / "drop_info.toml").write_text('encoding = "gb18030"\n')
    _refused(
        path,
        FOLLOWUP,
        "followup.csv, row 3, column detail, value 'Conceição', subject BR-002",
        "text is UTF-8 up to this line, which is not",
    )


def test_a_bad_encoding_key_is_refused(tmp_path):
    (tmp_path / "drop_info.toml").write_text('encoding = "latin-1"\n')
    with pytest.raises(DataDropError) as refused:
        read_drop_info(tmp_path)
    assert "drop_info.toml, key encoding, value 'latin-1': encoding must be \"utf-8\"" in str(refused.value)


def test_utf16_and_binary_files_are_refused(tmp_path):
    path = tmp_path / "followup.csv"
    path.write_bytes((HEADER + "BR-001,2021-02-01,CONTACT,,\n").encode("utf-16"))
    _refused(path, FOLLOWUP, "NUL bytes")


def test_a_reserved_column_name_is_refused(tmp_path):
    path = tmp_path / "followup.csv"
    path.write_text("subject_id,event_date,event,detail,_source_row\nBR-001,2021-01-01,CONTACT,,7\n")
    _refused(path, FOLLOWUP, "column _source_row", "reserved")


def test_a_binary_parquet_column_is_refused(tmp_path):
    frame = pl.DataFrame(
        {"subject_id": ["BR-001"], "event_date": ["2021-01-01"], "event": ["CONTACT"], "detail": [b"\x00\x01"]}
    )
    frame.write_parquet(tmp_path / "followup.parquet")
    _refused(tmp_path / "followup.parquet", FOLLOWUP, "column detail", "Binary")


def _xlsx_with_formula(tmp_path, cached: bool) -> bytes:
    value = "<v>7</v>" if cached else ""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>subject_id</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>n</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>BR-001'
        f'</t></is></c><c r="B2"><f>3+4</f>{value}</c></row></sheetData></worksheet>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override '
            'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def test_an_xlsx_formula_without_its_computed_value_is_refused_naming_the_cell(tmp_path):
    """A workbook written by a program that does not calculate: B2 holds =3+4 and no
    value, which would read as 0 or blank. With the cached value 7 it reads."""
    (tmp_path / "enrolment.xlsx").write_bytes(_xlsx_with_formula(tmp_path, cached=False))
    _refused(tmp_path / "enrolment.xlsx", ENROLMENT, "row 2, column B", "formula cell(s) without a computed value: B2")
    (tmp_path / "enrolment.xlsx").write_bytes(_xlsx_with_formula(tmp_path, cached=True))
    with pytest.raises(DataDropError, match="required column is missing"):  # it reads, then lacks columns
        read_raw(tmp_path / "enrolment.xlsx", ENROLMENT)


def test_an_xlsx_zip_bomb_is_refused_from_its_directory_before_parsing(tmp_path):
    """A sheet of zeros that expands past the limit: refused from the zip directory,
    without expanding it (the check reads only the declared sizes)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z,
        z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as handle,
    ):
        chunk = b"0" * (1 << 20)
        for _ in range(MAX_XLSX_XML_BYTES // len(chunk) + 2):
            handle.write(chunk)
    assert len(buffer.getvalue()) < 2 * 1024 * 1024  # small on disk
    (tmp_path / "enrolment.xlsx").write_bytes(buffer.getvalue())
    _refused(tmp_path / "enrolment.xlsx", ENROLMENT, "zip bomb", f"{MAX_XLSX_XML_BYTES:,}")


def test_an_optional_file_that_is_not_a_regular_file_is_refused(tmp_path):
    """icans_monitoring.csv as a link to /dev/zero is not taken for absent."""
    from trial_outcomes.schema import ICANS_MONITORING

    os.symlink("/dev/zero", tmp_path / "icans_monitoring.csv")
    with pytest.raises(DataDropError, match=r"icans_monitoring\.csv: is not a regular file"):
        find_file(tmp_path, ICANS_MONITORING)
    (tmp_path / "icans_monitoring.csv").unlink()
    os.symlink(tmp_path / "nowhere.csv", tmp_path / "icans_monitoring.csv")
    with pytest.raises(DataDropError, match="broken symbolic link"):
        find_file(tmp_path, ICANS_MONITORING)
    (tmp_path / "icans_monitoring.csv").unlink()
    os.symlink("icans_monitoring.csv", tmp_path / "icans_monitoring.csv")
    with pytest.raises(DataDropError, match=r"icans_monitoring\.csv: is a symbolic link in a loop"):
        find_file(tmp_path, ICANS_MONITORING)


def test_a_file_linked_to_another_records_file_is_refused(tmp_path):
    """followup.csv as a link to adverse_events.csv in the same drop: refused, naming the
    file it reads (a red team's was refused for its columns, which said nothing of the
    link); a link to a file of its own name elsewhere is read."""
    (tmp_path / "adverse_events.csv").write_text("subject_id\n")
    os.symlink("adverse_events.csv", tmp_path / "followup.csv")
    with pytest.raises(DataDropError, match=r"followup\.csv: is a link to adverse_events\.csv, the file of another"):
        find_file(tmp_path, FOLLOWUP)
    (tmp_path / "followup.csv").unlink()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "followup.csv").write_text("subject_id\n")
    os.symlink(tmp_path / "elsewhere" / "followup.csv", tmp_path / "followup.csv")
    assert find_file(tmp_path, FOLLOWUP) == tmp_path / "followup.csv"


def _problems(text: str, schema=FOLLOWUP) -> list[tuple]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{schema.record}.csv"
        path.write_text(text, encoding="utf-8")
        raw = read_raw(path, schema).frame
    return parse_records(raw, schema)[1].select("row", "column", "subject", "rule").rows()


def test_identifiers_with_invisible_characters_or_formulas_are_refused():
    """A zero-width space made a second 'BR-001'; '=cmd|...' would run in a spreadsheet."""
    found = _problems(HEADER + "BR-001\u200b,2021-01-01,CONTACT,,\n=HYPERLINK(1),2021-01-01,CONTACT,,\n")
    assert [(row, column) for row, column, _, _ in found] == [(2, "subject_id"), (3, "subject_id")]
    assert "invisible" in found[0][3] and "formula" in found[1][3]


def test_a_spreadsheet_day_number_in_a_date_column_is_named_as_one():
    """44197 (an Excel day number: 1899-12-30 + 44197 days = 2021-01-01) and 44197.5 (with
    noon) where a date is due: named as a spreadsheet's number, not a bare "not a valid
    date"; 2021 (four digits, a year alone) stays "not a valid date"."""
    found = _problems(HEADER + "BR-001,44197,CONTACT,,\nBR-001,44197.5,CONTACT,,\nBR-001,2021,CONTACT,,\n")
    assert [(r, c) for r, c, _, _ in found] == [(2, "event_date"), (3, "event_date"), (4, "event_date")]
    assert all(rule.startswith("a number where a date is due") for *_, rule in found[:2])
    assert "44197 is 2021-01-01" in found[0][3]
    assert found[2][3].startswith("not a valid date")


def test_dates_after_today_or_before_1950_are_refused():
    found = _problems(HEADER + "BR-001,2099-01-01,CONTACT,,\nBR-001,1899-12-31,CONTACT,,\n")
    assert [(r, c, s, rule.split(":")[0]) for r, c, s, rule in found] == [
        (2, "event_date", "BR-001", "implausible date"),
        (3, "event_date", "BR-001", "implausible date"),
    ]


def test_a_text_cell_past_the_limit_is_refused_and_the_message_stays_short():
    """A 320,000-character cause of death (it once made a run take five minutes)."""
    long = "x" * 320_000
    found = _problems(HEADER + f"BR-001,2021-01-01,DEATH,{long},OTHER\n")
    assert found[0][1:] == ("detail", "BR-001", "longer than 2000 characters (the limit for this column)")
    from trial_outcomes.errors import Problem

    shown = str(Problem("followup.csv", 2, "detail", long, "too long", "BR-001"))
    assert len(shown) < 200 and "320,000 characters" in shown


def test_drop_info_declares_empty_files_and_nothing_else(tmp_path):
    (tmp_path / "drop_info.toml").write_text('empty_files = ["adverse_events"]\n')
    assert read_drop_info(tmp_path).empty_files == ("adverse_events",)
    (tmp_path / "drop_info.toml").write_text('empty_file = ["adverse_events"]\n')
    with pytest.raises(DataDropError, match="key empty_file: unknown key"):
        read_drop_info(tmp_path)
    (tmp_path / "drop_info.toml").write_text('empty_files = ["enrolment"]\n')
    with pytest.raises(DataDropError, match="enrolment never may"):
        read_drop_info(tmp_path)
    # a red team's two misspelt keys were named one at a time, and a misspelt record without the names
    (tmp_path / "drop_info.toml").write_text('empty_file = ["labs"]\nextracted_om = 2024-04-02\n')
    with pytest.raises(DataDropError, match="key empty_file: unknown keys, also extracted_om; the keys are"):
        read_drop_info(tmp_path)
    (tmp_path / "drop_info.toml").write_text('empty_files = ["lab"]\n')
    with pytest.raises(DataDropError, match=r"value 'lab'.*the records are adverse_events, apheresis, .*labs"):
        read_drop_info(tmp_path)


def test_infusion_bridging_with_commas_is_one_value(tmp_path):
    path = tmp_path / "infusion.csv"
    path.write_text(
        "subject_id,ld_regimen,ld_start_date,infusion_date,dose_cells_per_kg,product_lot,bridging\n"
        'BR-001,FC,2021-01-01,2021-01-06,1000000,L1,"Vincristine, dexamethasone"\n'
    )
    assert read_raw(path, INFUSION).frame["bridging"][0] == "Vincristine, dexamethasone"


def test_a_parquet_file_that_aborts_the_reader_is_refused_by_name(tmp_path):
    """``data/corrupt_length.parquet`` is an infusion file whose bytes a fuzz run
    changed: a length in it now says 2**61 bytes, and polars' reader aborts the
    process that reads it (SIGABRT: no ``except`` catches it, the run would end
    without naming the file). The reader tries it in a child process first and
    refuses it, naming the file and the crash."""
    import subprocess
    import sys
    from pathlib import Path

    corrupt = (Path(__file__).parent / "data" / "corrupt_length.parquet").read_bytes()
    bare = subprocess.run(
        [sys.executable, "-c", "import io, sys, polars; polars.read_parquet(io.BytesIO(sys.stdin.buffer.read()))"],
        input=corrupt,
        capture_output=True,
    )
    path = tmp_path / "infusion.parquet"
    path.write_bytes(corrupt)
    if bare.returncode < 0:  # this polars dies on it: the refusal must say so
        _refused(path, INFUSION, "infusion.parquet", "corrupt", f"signal {-bare.returncode}")
    else:  # a polars that no longer dies on it: loaded or refused, never a crash
        try:
            read_raw(path, INFUSION)
        except DataDropError as exc:
            assert "infusion.parquet" in str(exc)


def test_a_reader_killed_by_a_signal_is_named_and_an_error_is_left_to_the_read():
    """The child's death is told apart from its ordinary failure: a child that
    aborts (os.abort, SIGABRT 6) is a crash; one that raises is left to the read in
    this process, which names the error."""
    from trial_outcomes.io.readers import _reader_crash

    assert _reader_crash(b"", "import os; os.abort()") == "the reader crashed on it (signal 6)"
    assert _reader_crash(b"", "raise SystemExit(3)") is None
    assert _reader_crash(b"PAR1") is None  # not Parquet: polars raises, the read here names it


@pytest.mark.parametrize(
    ("body", "lines"),
    [
        ("BR-1\nBR-2\nBR-3\nBR-4\nBR-5\nBR-6\nBR-7\n", 7),  # seven lines after the header, each ended
        ("BR-1\nBR-2\nBR-3\nBR-4\nBR-5\nBR-6\nBR-7", 7),  # the last one not ended
        ("BR-1\n\n\n\n\n\n\n", 7),  # blank lines
        ('"BR-1"\n"BR-2"\n"BR-3"\n"BR-4"\n"BR-5"\n"BR-6"\n"BR-7"\n', 7),  # quoted: no reader reached
    ],
)
def test_a_csv_of_more_than_twice_the_row_limit_in_lines_is_refused_before_it_is_parsed(
    tmp_path, monkeypatch, body, lines
):
    """With a limit of 3 rows, a file whose header is followed by 7 lines (more than 2 x 3)
    is refused by a count of its line ends, before either reader parses it: counted after
    the parse only, 200 MB of one-character lines took 3.4 GB to refuse. CR-only line ends
    count too."""
    from trial_outcomes.io import readers

    monkeypatch.setattr(readers, "MAX_ROWS", 3)
    monkeypatch.setattr(readers, "_read_csv", lambda *a: pytest.fail("parsed before the limit was checked"))
    for name, text in (("a.csv", body), ("b.csv", body.replace("\n", "\r"))):
        path = tmp_path / name
        path.write_text("subject_id\n".replace("\n", "\r" if name == "b.csv" else "\n") + text)
        _refused(path, ENROLMENT, f"{name}: file has {lines} lines after its header, more than twice the limit of 3")


def test_the_row_limit_counts_rows_not_lines(tmp_path, monkeypatch):
    """Under a limit of 3 rows: three records with blank lines between and after them (six
    lines), or with a quoted value over three lines, are read; a fourth record within six
    lines is refused by the rows counted once the file is read. A reviewer found the first
    line count refusing such files (a trailing blank line after the last record)."""
    from trial_outcomes.io import readers

    monkeypatch.setattr(readers, "MAX_ROWS", 3)
    for text in (
        "subject_id,x\nBR-1,a\n\nBR-2,b\n\nBR-3,c\n\n",
        'subject_id,x\nBR-1,"one\ntwo\nthree"\nBR-2,b\nBR-3,c\n',
    ):
        readers._refuse_too_many_lines(text.encode(), "enrolment.csv")
        frame, _ = readers._read_csv(text.encode(), "enrolment.csv")
        assert frame["subject_id"].to_list() == ["BR-1", "BR-2", "BR-3"]
    path = tmp_path / "enrolment.csv"
    path.write_text("subject_id\nBR-1\nBR-2\n\nBR-3\nBR-4\n")
    _refused(path, ENROLMENT, "enrolment.csv: file has 4 rows; the limit is 3")


def test_a_csv_at_the_row_limit_is_read(tmp_path, monkeypatch):
    """Three rows under a limit of 3 (with or without the last line's end) are read."""
    from trial_outcomes.io import readers

    monkeypatch.setattr(readers, "MAX_ROWS", 3)
    for text in (b"subject_id\nBR-1\nBR-2\nBR-3\n", b"subject_id\nBR-1\nBR-2\nBR-3"):
        readers._refuse_too_many_lines(text, "enrolment.csv")
        frame, _ = readers._read_csv(text, "enrolment.csv")
        assert frame["subject_id"].to_list() == ["BR-1", "BR-2", "BR-3"]


def test_a_parquet_file_over_the_row_limit_is_refused_from_its_footer(tmp_path, monkeypatch):
    """A Parquet file declares its rows in its footer: 4 rows under a limit of 3 are
    refused before any value is read, here or in the crash probe's child (an 80 KB
    file of 200 million repeated values took 4 GB to read and refuse). The corrupt file
    of the test above declares 36 rows: over a limit of 35 its child does not read it,
    so it does not die on it; at 36 it reads it, and fares as a child reading it with
    no limit does (dies, on a polars that does)."""
    from pathlib import Path

    from trial_outcomes.io import readers

    monkeypatch.setattr(readers, "MAX_ROWS", 3)
    path = tmp_path / "enrolment.parquet"
    pl.DataFrame({"subject_id": ["BR-1", "BR-2", "BR-3", "BR-4"]}).write_parquet(path)
    real_read = pl.read_parquet
    monkeypatch.setattr(readers.pl, "read_parquet", lambda *a, **k: pytest.fail("read before the limit was checked"))
    _refused(path, ENROLMENT, "enrolment.parquet: file has 4 rows; the limit is 3")
    monkeypatch.setattr(readers.pl, "read_parquet", real_read)
    three = io.BytesIO()
    pl.DataFrame({"subject_id": ["BR-1", "BR-2", "BR-3"]}).write_parquet(three)
    frame = readers._read_parquet(three.getvalue(), "enrolment.parquet", ["subject_id"])
    assert frame["subject_id"].to_list() == ["BR-1", "BR-2", "BR-3"]

    corrupt = (Path(__file__).parent / "data" / "corrupt_length.parquet").read_bytes()
    monkeypatch.setattr(readers, "MAX_ROWS", 35)
    assert readers._reader_crash(corrupt) is None
    monkeypatch.setattr(readers, "MAX_ROWS", 36)
    bare = "import io, sys, polars; polars.read_parquet(io.BytesIO(sys.stdin.buffer.read()))"
    assert readers._reader_crash(corrupt) == readers._reader_crash(corrupt, bare)  # read, as with no limit


@pytest.mark.parametrize(("sep", "called"), [(";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")])
def test_a_file_separated_by_another_delimiter_is_refused_once_saying_so(tmp_path, sep, called):
    """Excel in a locale with decimal commas saves 'CSV' with semicolons: the header is
    one column. One refusal names the separator, not every required column as missing,
    nor the field count of the line whose value holds a comma."""
    path = tmp_path / "followup.csv"
    path.write_text(
        HEADER.replace(",", sep)
        + sep.join(["BR-001", "2021-01-01", "CONTACT", "", ""])
        + "\n"
        + sep.join(["BR-002", "2021-02-01", "DEATH", "Sepsis, during aplasia", "INFECTION"])  # a comma in a value
        + "\n"
    )
    message = _refused(path, FOLLOWUP, "followup.csv, row 1", f"separated by {called}, not commas")
    assert "required column is missing" not in message and "line has" not in message
