"""Every kind of bad input is refused with a message naming file, row and column,
and leaves the outputs of earlier runs as they were (issue: foundation)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from trial_outcomes.io.publishing import publish
from trial_outcomes.pipelines.runner import run_pipeline

CUT = "2024-03-30"


@pytest.fixture
def earlier_output(tmp_path) -> Path:
    """An output folder holding a published cut from an earlier, good run."""
    out = tmp_path / "out"
    out.mkdir()
    previous = tmp_path / "previous.csv"
    previous.write_text("from an earlier run\n")
    publish(out, CUT, [previous])
    return out


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _set_cell(path: Path, line_no: int, column: str, value: str) -> None:
    """Replace one cell of a simple CSV (no quoted commas in the touched line)."""
    lines = _lines(path)
    header = lines[0].split(",")
    cells = lines[line_no - 1].split(",")
    cells[header.index(column)] = value
    lines[line_no - 1] = ",".join(cells)
    _write_lines(path, lines)


def _refused(drop: Path, out: Path, *fragments: str) -> str:
    outcome = run_pipeline(drop, out, CUT)
    assert not outcome.success
    message = "\n".join(outcome.failures)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert (out / CUT / "previous.csv").read_text() == "from an earlier run\n"
    assert sorted(p.name for p in (out / CUT).iterdir()) == ["previous.csv"]
    return message


def test_missing_file_is_named(drop, earlier_output):
    (drop / "infusion.csv").unlink()
    _refused(drop, earlier_output, "infusion.csv", "required file is missing")


def test_empty_file_is_named(drop, earlier_output):
    (drop / "followup.csv").write_bytes(b"")
    _refused(drop, earlier_output, "followup.csv", "file is empty")


def test_missing_required_column_is_named(drop, earlier_output):
    frame = pl.read_csv(drop / "assessments.csv", infer_schema=False).drop("response")
    frame.write_csv(drop / "assessments.csv")
    _refused(drop, earlier_output, "assessments.csv", "column response", "required column is missing")


def test_impossible_date_names_row_and_column(drop, earlier_output):
    _set_cell(drop / "enrolment.csv", 3, "enrol_date", "2024-02-30")
    _refused(drop, earlier_output, "enrolment.csv, row 3, column enrol_date, value '2024-02-30'", "not a valid date")


def test_partial_date_is_refused_not_nulled(drop, earlier_output):
    _set_cell(drop / "infusion.csv", 2, "infusion_date", "2021-03")
    _refused(drop, earlier_output, "infusion.csv, row 2, column infusion_date, value '2021-03'", "not a valid date")


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


def test_orphan_record_is_named(drop, earlier_output):
    lines = _lines(drop / "followup.csv")
    lines.append("BR-999,2021-01-01,CONTACT,")
    _write_lines(drop / "followup.csv", lines)
    _refused(
        drop, earlier_output, f"followup.csv, row {len(lines)}, column subject_id, value 'BR-999'", "not in enrolment"
    )


def test_text_in_numeric_column_is_named(drop, earlier_output):
    _set_cell(drop / "enrolment.csv", 5, "cd19_pct", "ninety")
    _refused(drop, earlier_output, "enrolment.csv, row 5, column cd19_pct, value 'ninety'", "not a number")


def test_line_with_wrong_number_of_fields_is_named(drop, earlier_output):
    lines = _lines(drop / "adverse_events.csv")
    lines[6] = lines[6] + ",extra"
    _write_lines(drop / "adverse_events.csv", lines)
    _refused(drop, earlier_output, "adverse_events.csv, row 7", "line has 11 fields but the header has 10")


def test_file_in_neither_utf8_nor_gbk_is_refused(drop, earlier_output):
    """A Latin-1 export ('é' then a comma) is neither UTF-8 nor GB18030: refused, not guessed."""
    lines = _lines(drop / "followup.csv")
    lines.append("BR-001,2021-01-01,CONTACT,Visite à domicile, famille")
    (drop / "followup.csv").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    _refused(drop, earlier_output, "followup.csv", "neither UTF-8 nor GB18030")


def test_gbk_file_with_an_invalid_code_names_the_row(drop, earlier_output):
    """A GBK export is decoded (not refused for its encoding): its Chinese text is
    read, and its bad value is reported like any other."""
    frame = pl.read_csv(drop / "followup.csv", infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("死亡")).otherwise(pl.col("event")).alias("event")
    )
    (drop / "followup.csv").write_bytes(frame.write_csv().encode("gbk"))
    _refused(drop, earlier_output, "followup.csv, row 2, column event, value '死亡'", "unknown code")


def test_bad_cut_is_refused(drop, earlier_output):
    outcome = run_pipeline(drop, earlier_output, "2024-13-01")
    assert not outcome.success
    assert "2024-13-01" in "\n".join(outcome.failures)
