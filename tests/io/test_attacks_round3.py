"""Issue 21 (a red team's round 3), at the readers: each attack is refused with a
message naming file, row, column and value, or handled as stated. The whole-run
versions (published cuts byte-identical) are in tests/e2e/test_attacks_round3.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from trial_outcomes.errors import DataDropError
from trial_outcomes.io.parse import parse_records
from trial_outcomes.io.readers import read_drop_info, read_raw
from trial_outcomes.schema import ENROLMENT, FOLLOWUP, INFUSION


def _enrolment(drop: Path) -> pl.DataFrame:
    return pl.read_csv(drop / "enrolment.csv", infer_schema=False)


def _refused(path: Path, schema, *fragments: str) -> str:
    with pytest.raises(DataDropError) as caught:
        read_raw(path, schema)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message}"
    return message


def _workbook(path: Path, rows: list[list[object]], first_row: int = 0, **options) -> xlsxwriter.Workbook:
    book = xlsxwriter.Workbook(str(path), options)
    sheet = book.add_worksheet("data")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(first_row + r, c, value)
    return book


def _rows(frame: pl.DataFrame) -> list[list[object]]:
    return [frame.columns, *[list(r) for r in frame.iter_rows()]]


# --- XLSX ------------------------------------------------------------------------------------


def test_a_hidden_stale_first_sheet_is_not_read(drop):
    """Version 2 read the hidden first sheet; now a workbook of two sheets is refused, naming both."""
    frame = _enrolment(drop)
    book = xlsxwriter.Workbook(str(drop / "enrolment.xlsx"))
    stale = book.add_worksheet("old export")
    current = book.add_worksheet("enrolment")
    for sheet, part in ((stale, frame.head(3)), (current, frame)):
        for r, row in enumerate(_rows(part)):
            sheet.write_row(r, 0, row)
    stale.hide()
    current.activate()
    book.close()
    _refused(drop / "enrolment.xlsx", ENROLMENT, "2 sheets", "'old export' (hidden)", "'enrolment'")


def test_a_column_named_twice_is_refused_by_its_own_name(drop):
    """Two age_years columns: version 2 kept the first and warned about 'age_years_1'."""
    frame = _enrolment(drop)
    rows = _rows(frame.with_columns(pl.col("age_years").alias("age_years_stale")))
    rows[0][-1] = "age_years"
    _workbook(drop / "enrolment.xlsx", rows).close()
    _refused(drop / "enrolment.xlsx", ENROLMENT, "row 1, column age_years", "column appears twice")


def test_an_excel_error_value_is_refused_not_read_as_blank(drop):
    """#N/A in mrd_pct was read as blank (MRD-negative CR/CRi 71 -> 67)."""
    frame = _enrolment(drop)
    book = _workbook(drop / "enrolment.xlsx", _rows(frame))
    book.worksheets()[0].write_formula(4, frame.columns.index("bm_blast_pct"), "=NA()", None, "#N/A")
    book.close()
    message = _refused(drop / "enrolment.xlsx", ENROLMENT, "Excel error value", "#N/A")
    assert "column " in message


def test_formulas_never_computed_are_refused(drop):
    """xlsxwriter writes a formula's value as 0 and asks Excel to recalculate on opening:
    the 0 is a placeholder, never a value."""
    frame = _enrolment(drop)
    book = _workbook(drop / "enrolment.xlsx", _rows(frame))
    book.worksheets()[0].write_formula(3, frame.columns.index("age_years"), "=2+3")
    book.close()
    _refused(drop / "enrolment.xlsx", ENROLMENT, "recalculate when opened", "never computed")


def test_merged_cells_are_refused(drop):
    frame = _enrolment(drop)
    book = _workbook(drop / "enrolment.xlsx", _rows(frame))
    column = frame.columns.index("site")
    book.worksheets()[0].merge_range(1, column, 2, column, frame["site"][0])
    book.close()
    _refused(drop / "enrolment.xlsx", ENROLMENT, "merged cells", "unmerge")


def test_hidden_rows_and_columns_holding_values_are_refused(drop):
    """A record hidden in Excel (row 4) is read like any other, as a hidden sheet would
    be: refused, naming the row; a hidden column holding values, naming the column. A
    hidden empty row (formatting) is no record and is read."""
    frame = _enrolment(drop)
    book = _workbook(drop / "enrolment.xlsx", _rows(frame))
    book.worksheets()[0].set_row(3, None, None, {"hidden": True})
    book.close()
    _refused(drop / "enrolment.xlsx", ENROLMENT, "enrolment.xlsx, row 4", "hidden rows holding values: row 4")
    book = _workbook(drop / "enrolment.xlsx", _rows(frame))
    book.worksheets()[0].set_column(2, 2, None, None, {"hidden": True})
    book.close()
    _refused(drop / "enrolment.xlsx", ENROLMENT, "column C (Excel column)", "hidden columns holding values: column C")
    book = _workbook(drop / "enrolment.xlsx", _rows(frame))
    book.worksheets()[0].set_row(frame.height + 5, None, None, {"hidden": True})
    book.close()
    assert read_raw(drop / "enrolment.xlsx", ENROLMENT).frame.height == frame.height
    # a height or width of 0 hides a row or column as well, without the attribute
    book = _workbook(drop / "enrolment.xlsx", _rows(frame))
    book.worksheets()[0].set_row(5, 0)
    book.close()
    _refused(drop / "enrolment.xlsx", ENROLMENT, "hidden rows holding values: row 6")
    book = _workbook(drop / "enrolment.xlsx", _rows(frame))
    book.worksheets()[0].set_column(4, 4, 0)
    book.close()
    _refused(drop / "enrolment.xlsx", ENROLMENT, "hidden columns holding values: column E")
    # xlsxwriter writes hidden="1" for a row of height 0; another writer writes ht="0" alone
    from xml.etree import ElementTree

    from trial_outcomes.io.readers import _unseen

    assert _unseen(ElementTree.fromstring('<row r="6" ht="0" customHeight="1"/>'), "ht")
    assert not _unseen(ElementTree.fromstring('<row r="6" ht="15"/>'), "ht")


def test_blank_rows_above_the_header_keep_excel_row_numbers(drop):
    """Header on Excel row 3: the first subject is on row 4; a bad age on its 3rd subject is row 6."""
    frame = _enrolment(drop).with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("twelve")).otherwise(pl.col("age_years")).alias("age_years")
    )
    _workbook(drop / "enrolment.xlsx", _rows(frame), first_row=2).close()
    raw = read_raw(drop / "enrolment.xlsx", ENROLMENT)
    assert raw.frame["_source_row"][:3].to_list() == [4, 5, 6]
    _, problems = parse_records(raw.frame, ENROLMENT)
    assert problems.filter(pl.col("column") == "age_years").select("row", "value").rows() == [(6, "twelve")]


def test_excels_trailing_empty_columns_are_ignored_and_a_value_without_header_refused(drop):
    frame = _enrolment(drop)
    rows = _rows(frame)
    rows[0] += ["", ""]
    _workbook(drop / "enrolment.xlsx", rows).close()
    assert read_raw(drop / "enrolment.xlsx", ENROLMENT).frame.height == frame.height
    rows = _rows(frame)
    rows[0].append("")
    rows[2].append("stray")
    _workbook(drop / "enrolment.xlsx", rows).close()
    _refused(drop / "enrolment.xlsx", ENROLMENT, "has values but no header")


# --- look-alikes and control characters --------------------------------------------------


@pytest.mark.parametrize(
    ("header", "character"),
    [
        ("cause_category\u200b", "U+200B ZERO WIDTH SPACE"),
        ("cause_cat\u00adegory", "U+00AD SOFT HYPHEN"),
        ("cause_c\u0430tegory", "U+0430 CYRILLIC SMALL LETTER A"),
    ],
)
def test_a_look_alike_optional_header_is_refused_not_dropped(drop, header, character):
    """Version 2 dropped the column as unknown and the report said the drop lacked it."""
    text = (drop / "followup.csv").read_text(encoding="utf-8")
    (drop / "followup.csv").write_text(text.replace("cause_category", header, 1), encoding="utf-8")
    message = _refused(drop / "followup.csv", FOLLOWUP, "looks like 'cause_category'", character)
    assert "\u200b" not in message and "\u00ad" not in message  # escaped, printable


def test_nfc_and_nfd_spellings_of_one_id_are_one_subject(drop):
    """BR-É02 written precomposed (U+00C9) in enrolment and decomposed (E + U+0301) elsewhere."""
    second = pl.int_range(pl.len()) == 1
    frame = _enrolment(drop).with_columns(
        pl.when(second).then(pl.lit("BR-\u00c902")).otherwise(pl.col("subject_id")).alias("subject_id")
    )
    frame.write_csv(drop / "enrolment.csv")
    raw = read_raw(drop / "enrolment.csv", ENROLMENT)
    typed, _ = parse_records(raw.frame, ENROLMENT)
    decomposed = pl.DataFrame({"x": ["BR-E\u030102"]}).select(pl.col("x").str.normalize("NFC")).item()
    assert typed["subject_id"][1] == decomposed == "BR-\u00c902"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("\u0412R-001", "mixes Latin letters with Cyrillic or Greek"),
        ("\uff22\uff32-001", "compatibility character"),
    ],
)
def test_look_alike_ids_are_refused(drop, value, rule):
    frame = _enrolment(drop).with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit(value)).otherwise(pl.col("subject_id")).alias("subject_id")
    )
    frame.write_csv(drop / "enrolment.csv")
    _, problems = parse_records(read_raw(drop / "enrolment.csv", ENROLMENT).frame, ENROLMENT)
    found = problems.filter(pl.col("column") == "subject_id")
    assert found["row"].to_list() == [5] and rule in found["rule"][0]


@pytest.mark.parametrize("char", ["\x00", "\x1b[31m", "\u202e"])
def test_control_characters_from_parquet_text_are_refused(drop, char):
    """The same NUL in a CSV was refused; from Parquet it reached the CSVs and the HTML."""
    frame = pl.read_csv(drop / "followup.csv", infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.col("event") == "DEATH").then(pl.lit(f"Sepsis{char}")).otherwise(pl.col("detail")).alias("detail")
    )
    (drop / "followup.csv").unlink()
    frame.write_parquet(drop / "followup.parquet")
    _, problems = parse_records(read_raw(drop / "followup.parquet", FOLLOWUP).frame, FOLLOWUP)
    found = problems.filter(pl.col("column") == "detail")
    assert found.height and "control or bidirectional character" in found["rule"][0]


# --- text files and drop_info.toml -------------------------------------------------------


def test_a_bom_in_drop_info_toml_is_read(drop):
    (drop / "drop_info.toml").write_bytes(b"\xef\xbb\xbfextracted_on = 2024-04-01\n")
    assert read_drop_info(drop).extracted_on == dt.date(2024, 4, 1)


def test_a_wrong_drop_info_key_is_named_as_a_key_not_a_column(drop):
    """A red team's "Extracted_On" and "extracted_on = "2024-4-2"": refused naming the file,
    the key (not a "column": a TOML file has none) and the value."""
    (drop / "drop_info.toml").write_text('Extracted_On = "2024-04-02"\n')
    with pytest.raises(DataDropError) as refused:
        read_drop_info(drop)
    said = "drop_info.toml, key Extracted_On: unknown key; the keys are empty_files, extracted_on, encoding"
    assert said in str(refused.value)
    (drop / "drop_info.toml").write_text('extracted_on = "2024-4-2"\n')
    with pytest.raises(DataDropError) as refused:
        read_drop_info(drop)
    assert "drop_info.toml, key extracted_on, value '2024-4-2': extracted_on must be a date" in str(refused.value)
    assert "column" not in str(refused.value)


def test_cr_only_line_endings_read_as_lines(drop):
    """A classic-Mac export (CR only) was one long line: 'N fields but the header has M'."""
    text = (drop / "infusion.csv").read_text(encoding="utf-8")
    (drop / "infusion.csv").write_bytes(text.replace("\n", "\r").encode("utf-8"))
    raw = read_raw(drop / "infusion.csv", INFUSION)
    assert raw.frame.height == len(text.strip().splitlines()) - 1


def test_trailing_empty_csv_columns_are_ignored(drop):
    lines = (drop / "infusion.csv").read_text(encoding="utf-8").splitlines()
    (drop / "infusion.csv").write_text("\n".join(line + ",," for line in lines) + "\n", encoding="utf-8")
    assert read_raw(drop / "infusion.csv", INFUSION).frame.height == len(lines) - 1


def test_a_csv_without_a_header_says_so(drop):
    lines = (drop / "infusion.csv").read_text(encoding="utf-8").splitlines()
    (drop / "infusion.csv").write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    _refused(drop / "infusion.csv", INFUSION, "no header row", "row 1")


# --- our own attacks (the red team helper's round; each a defect before its fix) -----------


def _validate(drop: Path):
    """Every record of the drop read, typed and put through the cross-file rules."""
    from trial_outcomes.io import validation
    from trial_outcomes.io.readers import empty_raw_frame, find_file
    from trial_outcomes.schema import SCHEMAS

    records, problems = {}, []
    for record, schema in SCHEMAS.items():
        path = find_file(drop, schema)
        raw = read_raw(path, schema).frame if path else empty_raw_frame(schema)
        records[record], found = parse_records(raw, schema)
        problems.append(found)
    problems += [validation.date_order(records), validation.dependent_values(records)]
    return pl.concat(problems)


def test_a_whole_number_too_large_for_any_integer_is_a_named_problem_not_a_crash(drop):
    """1e19 prior relapses crashed the Int64 cast with a traceback and no row."""
    frame = _enrolment(drop).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("1e19"))
        .otherwise(pl.col("prior_relapses"))
        .alias("prior_relapses")
    )
    frame.write_csv(drop / "enrolment.csv")
    _, problems = parse_records(read_raw(drop / "enrolment.csv", ENROLMENT).frame, ENROLMENT)
    found = problems.filter(pl.col("column") == "prior_relapses")
    assert found.select("row", "value").rows() == [(2, "1e19")] and "not a whole number" in found["rule"][0]


def test_an_xlsx_percentage_cell_is_refused(drop):
    """Excel shows 0.006% (MRD-negative) but stores 0.00006: version 2 read the stored value."""
    frame = pl.read_csv(drop / "assessments.csv", infer_schema=False)
    book = xlsxwriter.Workbook(str(drop / "assessments.xlsx"))
    sheet = book.add_worksheet()
    percent = book.add_format({"num_format": "0.000%"})
    column = frame.columns.index("mrd_pct")
    for r, row in enumerate(_rows(frame)):
        for c, value in enumerate(row):
            if value is None:
                continue
            if r and c == column:
                sheet.write_number(r, c, float(value) / 100, percent)
            else:
                sheet.write(r, c, value)
    book.close()
    (drop / "assessments.csv").unlink()
    from trial_outcomes.schema import ASSESSMENTS

    _refused(drop / "assessments.xlsx", ASSESSMENTS, "formatted as a percentage", "100 times too small")


@pytest.mark.parametrize(
    ("num_format", "as_text"),
    [
        ('"BR-"000', False),
        ("000", False),
        ("#000", False),
        ('"BR;"000', False),
        ("[$BR-]-#000", False),
        ('"BR-"@', True),
    ],
)
def test_an_xlsx_number_shown_as_an_id_is_refused(drop, num_format, as_text):
    """A red team's subject ids stored as the numbers 1 to 120 and formatted "BR-"000
    (Excel shows BR-001) were published as USUBJID 1 to 120, and a site stored 1 formatted
    000 (shows 001) as SITEID 1; a third's #000, "BR;"000 (the quote holds the semicolon),
    [$BR-]-#000 (a currency symbol's text) and the text 1 formatted "BR-"@ (a text format
    with a prefix) passed the first version. A number formatted 0.00 in a number column
    reads as stored."""
    frame = pl.read_csv(drop / "enrolment.csv", infer_schema=False)
    book = xlsxwriter.Workbook(str(drop / "enrolment.xlsx"))
    sheet = book.add_worksheet()
    shown = book.add_format({"num_format": num_format})
    two_places = book.add_format({"num_format": "0.00"})
    for r, row in enumerate(_rows(frame)):
        for c, value in enumerate(row):
            if value is None:
                continue
            if r and frame.columns[c] == "subject_id" and as_text:
                sheet.write_string(r, c, str(r), shown)
            elif r and frame.columns[c] == "subject_id":
                sheet.write_number(r, c, r, shown)
            elif r and frame.columns[c] == "age_years":
                sheet.write_number(r, c, float(value), two_places)
            else:
                sheet.write(r, c, value)
    book.close()
    (drop / "enrolment.csv").unlink()
    from trial_outcomes.schema import ENROLMENT

    message = _refused(drop / "enrolment.xlsx", ENROLMENT, "formatted to show text or leading zeros they do not hold")
    assert f"({num_format})" in message and "row 2, column A (Excel column)" in message
    assert ("value '1'" in message) != as_text  # a text cell's value is not shown (the cell holds an index)


def test_a_file_name_in_another_letter_case_is_refused_not_missed(drop):
    """CRS_Monitoring.csv: the report said the drop had no crs_monitoring file (grade >= 3 CRS 20 -> 18)."""
    from trial_outcomes.io.readers import find_file
    from trial_outcomes.schema import CRS_MONITORING

    (drop / "crs_monitoring.csv").rename(drop / "CRS_Monitoring.csv")
    with pytest.raises(DataDropError, match=r"differs from crs_monitoring\.csv only in letter case"):
        find_file(drop, CRS_MONITORING)


def test_new_therapy_on_the_day_of_infusion_is_refused(drop):
    """A NEW_THERAPY on day 0 ended the treatment-emergent window at once (7 AEs lost, CR/CRi 81 -> 80)."""
    infusion = pl.read_csv(drop / "infusion.csv", infer_schema=False).row(0, named=True)
    with (drop / "followup.csv").open("a") as handle:
        handle.write(f"{infusion['subject_id']},{infusion['infusion_date']},NEW_THERAPY,Bridging chemotherapy,\n")
    problems = _validate(drop)
    assert problems.filter(pl.col("rule").str.contains("on or before the day of the first CAR-T infusion")).height == 1


def test_a_relapse_before_any_remission_is_refused(drop):
    """RELAPSE as a subject's first response (never in remission, not MRD-persistent): it vanished from every count."""
    assess = pl.read_csv(drop / "assessments.csv", infer_schema=False)
    status = _enrolment(drop).select("subject_id", "disease_status")
    first = (
        assess.join(status, on="subject_id")
        .filter(pl.col("disease_status") != "mrd_persistent")
        .sort("subject_id", "assessment_date")
        .group_by("subject_id", maintain_order=True)
        .first()
        .row(0, named=True)
    )
    assess = assess.with_columns(
        pl.when((pl.col("subject_id") == first["subject_id"]) & (pl.col("assessment_date") == first["assessment_date"]))
        .then(pl.lit("RELAPSE"))
        .otherwise(pl.col("response"))
        .alias("response")
    )
    assess.write_csv(drop / "assessments.csv")
    problems = _validate(drop).filter(pl.col("rule").str.contains("RELAPSE before any CR/CRi"))
    assert problems["subject"].to_list()[:1] == [first["subject_id"]]


def test_bridging_written_as_none_is_no_bridging(drop):
    """'None' in bridging made BRIDGFL = Y for all 113 infused subjects, and a later red
    team's "None given", "No bridging therapy", "None." and "Not required" made four more
    bridging therapies. Each word for none below is no bridging; each therapy is one
    (a regimen that starts "No" as a word does not: "Nelarabine", "Nilotinib")."""
    from trial_outcomes.analysis.exposure import bridging_given

    none = ["None", " none ", "N/A", "-", "", None, "None given", "No bridging therapy", "None.", "Not required"]
    none += ["NIL", "No bridging chemotherapy given", "no treatment", "Not applicable", "not  given"]
    # a second red team's wordings
    none += ["Not bridged", "None - in CR", "No bridging was given", "Bridging not given", "Not applicable (MRD only)"]
    none += ["Nothing", "None (low disease burden)", "No bridging therapy, MRD only", "Without bridging", "0"]
    given = ["Hydroxyurea", "Nelarabine", "Nilotinib", "Vincristine, dexamethasone", "Inotuzumab; none after"]
    texts = pl.DataFrame({"b": none + given})
    assert texts.select(bridging_given(pl.col("b")))["b"].to_list() == [False] * len(none) + [True] * len(given)


def test_an_impossible_dose_and_a_cut_in_full_width_digits_are_refused(drop):
    from trial_outcomes.dates import parse_cut

    frame = pl.read_csv(drop / "infusion.csv", infer_schema=False).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("6e30"))
        .otherwise(pl.col("dose_cells_per_kg"))
        .alias("dose_cells_per_kg")
    )
    frame.write_csv(drop / "infusion.csv")
    _, problems = parse_records(read_raw(drop / "infusion.csv", INFUSION).frame, INFUSION)
    assert any(r.startswith("out of range: must be >= 1000 and <= 1e+09 (") for r in problems["rule"].to_list())
    with pytest.raises(ValueError, match="is not written YYYY-MM-DD"):
        parse_cut("\uff12\uff10\uff12\uff14-\uff10\uff14-\uff10\uff11")


def test_a_dose_written_in_millions_per_kg_is_refused(drop):
    """A red team's 1.463 (a dose of 1.463 x 10^6/kg written in 10^6 cells/kg) was published
    as 1.463 cells/kg, "below the range", with no word. The first row's 1.463 is refused
    with the unit said, the second's 999 too, the third's 1000 (the bound) is kept."""
    frame = pl.read_csv(drop / "infusion.csv", infer_schema=False)
    first = frame["subject_id"][0]
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("1.463"))
        .when(pl.int_range(pl.len()) == 1)
        .then(pl.lit("999"))
        .when(pl.int_range(pl.len()) == 2)
        .then(pl.lit("1000"))
        .otherwise(pl.col("dose_cells_per_kg"))
        .alias("dose_cells_per_kg")
    )
    frame.write_csv(drop / "infusion.csv")
    _, problems = parse_records(read_raw(drop / "infusion.csv", INFUSION).frame, INFUSION)
    dose = problems.filter(pl.col("column") == "dose_cells_per_kg")
    assert dose.select("row", "value").rows() == [(2, "1.463"), (3, "999")]
    assert dose["subject"][0] == first
    assert "a dose below 1,000 cells/kg is one written in 10^6 cells/kg" in dose["rule"][0]


def test_an_absurd_baseline_number_is_refused_before_it_reaches_adsl_and_its_xpt(drop):
    """Creatinine 1e80 x ULN, CSF blasts 1e80/uL and 1e80 prior relapses passed validation
    (no upper bound) into ADSL, whose XPT holds no number past 7.2e75. Each is refused on
    its row with the bound (creatinine and BUN 100 x ULN, CSF blasts 10^6/uL, 50 relapses);
    values at the bounds pass."""
    # each column's value on the first row (refused) and on the second (its bound, kept)
    values = {
        "creatinine_x_uln": ("1e80", "100"),
        "bun_x_uln": ("1e80", "100"),
        "csf_blasts_per_ul": ("1e80", "1000000"),
        "prior_relapses": ("51", "50"),
    }
    row = pl.int_range(pl.len())
    frame = _enrolment(drop).with_columns(
        pl.when(row == 0).then(pl.lit(bad)).when(row == 1).then(pl.lit(bound)).otherwise(pl.col(c)).alias(c)
        for c, (bad, bound) in values.items()
    )
    frame.write_csv(drop / "enrolment.csv")
    _, problems = parse_records(read_raw(drop / "enrolment.csv", ENROLMENT).frame, ENROLMENT)
    found = problems.sort("column").select("row", "column", "value", "rule").rows()
    assert found == [
        (2, "bun_x_uln", "1e80", "out of range: must be > 0 and <= 100"),
        (2, "creatinine_x_uln", "1e80", "out of range: must be > 0 and <= 100"),
        (2, "csf_blasts_per_ul", "1e80", "out of range: must be >= 0 and <= 1e+06"),
        (2, "prior_relapses", "51", "out of range: must be >= 0 and <= 50"),
    ]
