"""Every kind of bad input is refused with a message naming file, row, column, value
and subject, the run fails, and the outputs published earlier for the cut stay
byte-identical (issues: foundation; nothing lost, nothing mixed)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import zipfile
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import cli, file_hashes
from trial_outcomes.io.publishing import publish
from trial_outcomes.pipelines.runner import default_cut, run_pipeline

CUT = "2023-12-31"
pytestmark = pytest.mark.slow


@pytest.fixture
def earlier_output(tmp_path) -> Path:
    """An output folder holding a published cut from an earlier, good run."""
    out = tmp_path / "out"
    out.mkdir()
    previous = tmp_path / "previous.csv"
    previous.write_text("from an earlier run\n")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"outputs": {"previous.csv": "x"}}))
    publish(out, CUT, [previous, manifest], {"previous.csv": "x"})
    return out


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _set_cell(path: Path, line_no: int, column: str, value: str) -> str:
    """Replace one cell of a simple CSV line; return that line's subject_id."""
    lines = _lines(path)
    header = lines[0].split(",")
    cells = lines[line_no - 1].split(",")
    cells[header.index(column)] = value
    lines[line_no - 1] = ",".join(cells)
    _write_lines(path, lines)
    return cells[0]


def _refused(drop: Path, out: Path, *fragments: str, cut: str = CUT) -> str:
    before = file_hashes(out / CUT)
    outcome = run_pipeline(drop, out, cut)
    assert not outcome.success
    message = "\n".join(outcome.failures)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "Traceback" not in message and "Stack Trace" not in message
    assert file_hashes(out / CUT) == before  # the earlier version, byte for byte
    return message


def test_missing_file_is_named(drop, earlier_output):
    (drop / "infusion.csv").unlink()
    _refused(drop, earlier_output, "infusion.csv", "required file is missing")


def test_empty_file_is_named(drop, earlier_output):
    (drop / "followup.csv").write_bytes(b"")
    _refused(drop, earlier_output, "followup.csv", "file is empty")


@pytest.mark.parametrize("record", ["followup", "infusion", "assessments", "adverse_events"])
def test_a_required_file_with_a_header_and_no_rows_is_refused(drop, earlier_output, record):
    """A header-only followup.csv once gave 100 % overall survival without a word."""
    (drop / f"{record}.csv").write_text(_lines(drop / f"{record}.csv")[0] + "\n")
    _refused(
        drop,
        earlier_output,
        f"{record}.csv: file has a header but no rows",
        f'drop_info.toml: empty_files = ["{record}"]',
    )


def test_an_empty_adverse_events_file_is_accepted_when_the_drop_says_so(drop, tmp_path):
    (drop / "adverse_events.csv").write_text(_lines(drop / "adverse_events.csv")[0] + "\n")
    (drop / "drop_info.toml").write_text('empty_files = ["adverse_events"]\n')
    outcome = run_pipeline(drop, tmp_path / "out", CUT)
    assert outcome.success, outcome.failures
    manifest = json.loads((tmp_path / "out" / CUT / "manifest.json").read_text())
    assert "drop_info.toml" in manifest["data_drop"]["files"]


def test_an_unclosed_quote_names_the_line_where_it_opened(drop, earlier_output):
    lines = _lines(drop / "followup.csv")
    lines[5] = lines[5].rstrip(",") + ',"Relapse'  # the last column opens a quote, never closed
    _write_lines(drop / "followup.csv", lines)
    subject = lines[5].split(",")[0]  # subject_id is the first column, before the quote
    column = lines[0].split(",")[lines[5].count(",")]  # the quote opens the line's last field
    _refused(drop, earlier_output, f"followup.csv, row 6, column {column}, subject {subject}", "never closed")


def test_missing_required_column_is_named(drop, earlier_output):
    pl.read_csv(drop / "assessments.csv", infer_schema=False).drop("response").write_csv(drop / "assessments.csv")
    _refused(drop, earlier_output, "assessments.csv, row 1, column response", "required column is missing")


def test_impossible_date_names_row_column_and_subject(drop, earlier_output):
    subject = _set_cell(drop / "enrolment.csv", 3, "enrol_date", "2024-02-30")
    _refused(
        drop,
        earlier_output,
        f"enrolment.csv, row 3, column enrol_date, value '2024-02-30', subject {subject}",
        "not a valid date",
    )


def test_partial_date_is_refused_not_nulled(drop, earlier_output):
    _set_cell(drop / "infusion.csv", 2, "infusion_date", "2021-03")
    _refused(drop, earlier_output, "infusion.csv, row 2, column infusion_date, value '2021-03'", "not a valid date")


@pytest.mark.parametrize(
    ("value", "rule"),
    [("2099-01-01", "implausible date: after today"), ("1904-01-01", "implausible date: before 1950-01-01")],
)
def test_implausible_dates_are_refused(drop, earlier_output, value, rule):
    _set_cell(drop / "followup.csv", 4, "event_date", value)
    _refused(drop, earlier_output, f"followup.csv, row 4, column event_date, value '{value}'", rule)


def test_a_death_before_consent_is_refused_naming_the_subject(drop, earlier_output):
    enrol = pl.read_csv(drop / "enrolment.csv", infer_schema=False).row(0, named=True)
    with (drop / "followup.csv").open("a") as handle:
        handle.write(f"{enrol['subject_id']},2019-01-01,DEATH,Relapsed leukemia,LEUKEMIA\n")
    _refused(drop, earlier_output, f"subject {enrol['subject_id']}: death is dated before consent")


def test_an_hsct_before_the_infusion_is_refused(drop, earlier_output):
    infusion = pl.read_csv(drop / "infusion.csv", infer_schema=False).row(0, named=True)
    with (drop / "followup.csv").open("a") as handle:
        handle.write(f"{infusion['subject_id']},{infusion['ld_start_date']},HSCT,Sibling donor,\n")
    _refused(
        drop,
        earlier_output,
        "HSCT or new therapy is dated on or before the day of the first CAR-T infusion",
        f"subject {infusion['subject_id']}",
    )


def test_a_cut_before_the_first_enrolment_is_refused(drop, tmp_path):
    outcome = run_pipeline(drop, tmp_path / "out", "2000-01-01")
    assert not outcome.success and "before the first enrolment" in "\n".join(outcome.failures)
    assert not (tmp_path / "out" / "2000-01-01").exists()


def test_a_cut_after_the_extraction_date_is_refused_naming_both_dates(drop, tmp_path):
    latest = default_cut(drop)
    extracted, cut = latest + dt.timedelta(days=5), str(latest + dt.timedelta(days=6))
    (drop / "drop_info.toml").write_text(f"extracted_on = {extracted}\n")
    outcome = run_pipeline(drop, tmp_path / "out", cut)
    said = "\n".join(outcome.failures)
    assert not outcome.success
    assert f"data cut {cut} is after the drop's extraction date ({extracted}" in said
    assert not (tmp_path / "out" / cut).exists()


def test_records_dated_after_the_extraction_date_are_named(drop, earlier_output):
    """``extracted_on`` before the drop's latest records: with no cut given (the
    default cut is the latest date, one of them) and with a cut before it, the run
    names such records (file, row, column, value, subject); before, the default cut
    was refused as "after the extraction date" without naming one, and an earlier
    cut left them out as records after the cut."""
    (drop / "drop_info.toml").write_text("extracted_on = 2024-01-15\n")
    pattern = (
        r"\w+\.csv, row \d+, column \w+, value '2024-\d\d-\d\d', subject BR-\d+: "
        r"dated after the drop's extraction date \(2024-01-15"
    )
    for cut in ("", CUT):
        message = _refused(drop, earlier_output, "records dated after the extraction", cut=cut)
        assert re.search(pattern, message), message


def test_unknown_code_lists_allowed_codes(drop, earlier_output):
    _set_cell(drop / "assessments.csv", 4, "response", "sCR")
    _refused(
        drop, earlier_output, "assessments.csv, row 4, column response, value 'sCR'", "unknown code; allowed: CR, CRi"
    )


def test_duplicate_subject_id_points_to_first_row(drop, earlier_output):
    lines = _lines(drop / "enrolment.csv")
    lines.append(lines[1])
    _write_lines(drop / "enrolment.csv", lines)
    _refused(drop, earlier_output, f"enrolment.csv, row {len(lines)}, column subject_id", "duplicate key", "at row 2")


def test_an_id_with_a_zero_width_space_is_not_a_second_subject(drop, earlier_output):
    """'BR-001\u200b' looks like BR-001 and once made a second subject."""
    lines = _lines(drop / "enrolment.csv")
    cells = lines[1].split(",")
    cells[0] += "\u200b"
    lines.append(",".join(cells))
    _write_lines(drop / "enrolment.csv", lines)
    _refused(
        drop,
        earlier_output,
        f"enrolment.csv, row {len(lines)}, column subject_id",
        "identifier holds a space or an invisible or control character",
    )


def test_ids_that_differ_only_in_case_are_refused(drop, earlier_output):
    lines = _lines(drop / "enrolment.csv")
    cells = lines[1].split(",")
    cells[0] = cells[0].lower()
    lines.append(",".join(cells))
    _write_lines(drop / "enrolment.csv", lines)
    _refused(drop, earlier_output, "looks like the one at row 2 (it differs only in letter case")


def test_orphan_record_is_named(drop, earlier_output):
    with (drop / "followup.csv").open("a") as handle:
        handle.write("BR-999,2021-01-01,CONTACT,,\n")
    _refused(drop, earlier_output, "column subject_id, value 'BR-999', subject BR-999", "not in enrolment")


def test_text_in_numeric_column_is_named(drop, earlier_output):
    _set_cell(drop / "enrolment.csv", 5, "cd19_pct", "ninety")
    _refused(drop, earlier_output, "enrolment.csv, row 5, column cd19_pct, value 'ninety'", "not a number")


def test_line_with_wrong_number_of_fields_is_named(drop, earlier_output):
    lines = _lines(drop / "adverse_events.csv")
    lines[6] = lines[6] + ",extra"
    _write_lines(drop / "adverse_events.csv", lines)
    subject = lines[6].split(",")[0]
    where = f"adverse_events.csv, row 7, subject {subject}"
    _refused(drop, earlier_output, where, "line has 12 fields but the header has 11")


def test_windows_1252_text_is_refused_not_read_as_mojibake(drop, earlier_output):
    """cp1252 'Décès' would decode as GB18030 'D閏鑣'."""
    lines = _lines(drop / "followup.csv")
    lines.append(lines[1].split(",")[0] + ",2021-01-01,CONTACT,Décès,")
    (drop / "followup.csv").write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    _refused(drop, earlier_output, "followup.csv", "neither UTF-8 nor GB18030")


def test_gbk_file_with_an_invalid_code_names_the_row(drop, earlier_output):
    frame = pl.read_csv(drop / "followup.csv", infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("死亡")).otherwise(pl.col("event")).alias("event")
    )
    (drop / "followup.csv").write_bytes(frame.write_csv().encode("gbk"))
    info = drop / "drop_info.toml"  # a Chinese-locale export, declared (GB18030 is never guessed)
    info.write_text((info.read_text() if info.exists() else "") + 'encoding = "gbk"\n')
    _refused(drop, earlier_output, "followup.csv, row 2, column event, value '死亡'", "unknown code")


def test_a_cell_past_the_length_limit_is_refused_quickly(drop, earlier_output):
    """A 320 KB cause of death once stretched a run to 305 s."""
    _set_cell(drop / "followup.csv", 3, "detail", "x" * 320_000)
    message = _refused(drop, earlier_output, "followup.csv, row 3, column detail", "longer than 2000 characters")
    assert len(message) < 2000


def test_a_reserved_column_name_is_refused(drop, earlier_output):
    frame = pl.read_csv(drop / "followup.csv", infer_schema=False).with_columns(pl.lit("1").alias("_source_row"))
    frame.write_csv(drop / "followup.csv")
    _refused(drop, earlier_output, "followup.csv, row 1, column _source_row", "reserved")


def test_a_binary_parquet_column_is_refused(drop, earlier_output):
    frame = pl.read_csv(drop / "followup.csv", infer_schema=False).with_columns(
        pl.col("detail").cast(pl.Binary, strict=False)
    )
    (drop / "followup.csv").unlink()
    frame.write_parquet(drop / "followup.parquet")
    _refused(drop, earlier_output, "followup.parquet, column detail", "Binary values")


def test_an_xlsx_formula_without_its_value_is_refused_naming_the_cell(drop, earlier_output):
    """openpyxl-free: a polars workbook whose sheet gets a formula cell with no cached value."""
    frame = pl.read_csv(drop / "infusion.csv", infer_schema=False)
    buffer = io.BytesIO()
    frame.write_excel(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                start = text.index('<c r="E2"')
                end = text.index("</c>", start) + 4
                data = (text[:start] + '<c r="E2"><f>SUM(E3:E4)</f></c>' + text[end:]).encode()
            target.writestr(item, data)
    (drop / "infusion.csv").unlink()
    (drop / "infusion.xlsx").write_bytes(patched.getvalue())
    _refused(drop, earlier_output, "infusion.xlsx", "formula cell(s) without a computed value: E2")


def test_an_optional_file_linked_to_a_device_is_refused(drop, earlier_output):
    (drop / "icans_monitoring.csv").unlink()
    os.symlink("/dev/zero", drop / "icans_monitoring.csv")
    _refused(drop, earlier_output, "icans_monitoring.csv: is not a regular file")


def test_two_files_for_one_record_are_refused(drop, earlier_output):
    pl.read_csv(drop / "enrolment.csv", infer_schema=False).write_parquet(drop / "enrolment.parquet")
    _refused(drop, earlier_output, "more than one file for 'enrolment'")


def test_a_cut_in_another_spelling_is_refused(drop, earlier_output):
    """'2024-W13-5' is a date to Python's fromisoformat: it once got past the lock under
    another name and mixed two drops in one cut."""
    _refused(drop, earlier_output, "not written YYYY-MM-DD", cut="2024-W13-5")


def test_the_cli_says_what_is_wrong_in_one_line_and_exits_2(drop, tmp_path):
    home = tmp_path / "home"
    as_file = tmp_path / "a_file"
    as_file.write_text("x")
    cases = [
        (["run", "--data", str(drop), "--out", str(as_file)], "is a file, not a folder"),
        (["run", "--data", str(drop), "--cut", "2024-W13-5", "--out", str(tmp_path / "o")], "not written YYYY-MM-DD"),
        (["run", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")], "no such folder"),
        (["run", "--data", str(as_file), "--out", str(tmp_path / "o")], "is a file, not a folder"),
        (["run", "--data", str(drop), "--cut", "2999-01-01", "--out", str(tmp_path / "o")], "is after today"),
    ]
    if not os.access("/sys", os.W_OK):
        cases.append((["run", "--data", str(drop), "--out", "/sys/trial_outputs"], "cannot be written"))
    for args, message in cases:
        result = cli(*args, home=home)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unreachable_postgresql_is_one_line_within_seconds(drop, tmp_path):
    """The production instance pointed at a closed port: no retries, no stack trace."""
    import time

    from tests.helpers import ROOT

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "deploy" / "dagster-postgres.yaml").read_text())
    env = {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "9",
        "DAGSTER_PG_DB": "test",
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "",
    }
    started = time.monotonic()
    result = cli("run", "--data", str(drop), "--out", str(tmp_path / "o"), home=home, env=env)
    assert result.returncode == 2, result.stderr
    assert "PostgreSQL at 127.0.0.1:9/test cannot be used" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and time.monotonic() - started < 15


def test_a_bad_plan_is_refused_naming_the_key(drop, tmp_path):
    from trial_outcomes.plan import DEFAULT_PLAN

    plan = tmp_path / "plan.toml"
    plan.write_text(DEFAULT_PLAN.read_text().replace('"AGEGR1"]', '"AGEGR1", "emdx"]'))
    result = cli("run", "--data", str(drop), "--out", str(tmp_path / "o"), "--plan", str(plan), home=tmp_path / "h")
    assert result.returncode == 2
    assert "survival.subgroups: [4] 'emdx' is not an ADSL subgroup variable" in result.stderr
