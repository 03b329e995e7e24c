"""Typing rules of the contract (data-contract.md section 1)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from trial_outcomes import schema
from trial_outcomes.io.parse import parse_records
from trial_outcomes.schema import ADVERSE_EVENTS, ASSESSMENTS, ENROLMENT, FOLLOWUP, Column


def _raw(schema, **values):
    row = {c: values.get(c, "") for c in schema.column_names}
    return pl.DataFrame([row], schema=dict.fromkeys(schema.column_names, pl.String)).with_columns(
        pl.lit("f.csv").alias("_source_file"), pl.lit(2, dtype=pl.Int64).alias("_source_row")
    )


GOOD_AE = dict(
    subject_id="S1",
    ae_id="AE1",
    term="Febrile neutropenia",
    onset_date="2021-01-05",
    grade="3",
    serious="Yes",
    related="1",
    tocilizumab="false",
    corticosteroids="n",
)


def test_yn_accepts_every_spelling_of_the_contract():
    typed, problems = parse_records(_raw(ADVERSE_EVENTS, **GOOD_AE), ADVERSE_EVENTS)
    assert problems.is_empty()
    assert typed.select("serious", "related", "tocilizumab", "corticosteroids").row(0) == (True, True, False, False)


def test_codes_are_case_insensitive_and_canonical():
    raw = _raw(ASSESSMENTS, subject_id="S1", assessment_date="2021-02-01", visit="D28", response="cri", relapse_site="")
    typed, problems = parse_records(raw, ASSESSMENTS)
    assert problems.is_empty()
    assert typed["response"][0] == "CRi"


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("New therapy", "NEW_THERAPY"),
        ("new-therapy", "NEW_THERAPY"),
        ("NEW  THERAPY", "NEW_THERAPY"),
        ("New - therapy", "NEW_THERAPY"),
        ("Death", "DEATH"),
        ("New\u00a0therapy", "NEW_THERAPY"),  # a no-break space is a space
        ("NEWTHERAPY", None),  # no separator is no word break: not the code
        ("new\ntherapy", None),  # a line break inside a cell is not a separator
        ("New\u2013therapy", None),  # an en dash is not a hyphen
        ("_HSCT", None),  # a separator at an end stays
        ("New therapy (salvage)", None),
    ],
)
def test_codes_match_whatever_their_separators(written, code):
    """A run of spaces, hyphens and underscores is one underscore; nothing else is
    forgiven, and what matches no code is a problem naming the allowed codes."""
    raw = _raw(FOLLOWUP, subject_id="S1", event_date="2021-02-01", event=written)
    typed, problems = parse_records(raw, FOLLOWUP)
    assert typed["event"][0] == code
    assert (code is None) == ("unknown code" in " ".join(problems["rule"]))


def test_sex_is_also_read_from_male_and_female():
    lookup = ENROLMENT.column("sex").code_lookup()
    assert (lookup["male"], lookup["female"], lookup["m"], lookup["f"]) == ("M", "F", "M", "F")


def test_every_code_list_reads_each_spelling_as_one_code():
    """No two codes of a column meet once case and separators are set aside (one would
    be read as the other); a synonym that meets another code, or names none, is refused."""
    for record in vars(schema).values():
        if isinstance(record, schema.RecordSchema):
            for column in record.columns:
                if column.kind == "code":
                    assert sorted(set(column.code_lookup().values())) == sorted(column.codes), column.name
    with pytest.raises(ValueError, match="ambiguous"):
        Column("x", "code", codes=("A_B", "A-B")).code_lookup()
    with pytest.raises(ValueError, match="names no code"):
        Column("x", "code", codes=("M",), synonyms=(("male", "X"),)).code_lookup()


def test_grade_out_of_range_and_fractional_grade_are_reported():
    for grade, rule in (("6", "out of range"), ("2.5", "not a whole number"), ("0", "out of range")):
        _, problems = parse_records(_raw(ADVERSE_EVENTS, **{**GOOD_AE, "grade": grade}), ADVERSE_EVENTS)
        assert problems.select("column", "value").row(0) == ("grade", grade)
        assert rule in problems["rule"][0]


def test_blank_required_value_is_reported_blank_optional_is_not():
    typed, problems = parse_records(_raw(ADVERSE_EVENTS, **{**GOOD_AE, "term": " "}), ADVERSE_EVENTS)
    assert problems.select("column", "rule").rows() == [("term", "required value is blank")]
    assert typed["resolution_date"][0] is None


@pytest.mark.parametrize("written", ["NA", "na", ".", "NULL", " N/A "])
def test_a_missing_value_written_as_r_or_sas_write_it_is_refused_saying_so(written):
    """R's write.csv writes a missing value NA, SAS a dot: in a date, number, code or Y/N
    column such a cell is refused once, with the reason and the way to export it blank,
    not as "not a valid date" or "not a number"; in a text column it is the text it is."""
    from trial_outcomes.io.parse import MISSING_RULE

    ae = {**GOOD_AE, "resolution_date": written, "related": written, "term": "NA"}
    typed, problems = parse_records(_raw(ADVERSE_EVENTS, **ae), ADVERSE_EVENTS)
    assert problems.select("column", "value", "rule").rows() == [
        ("related", written, MISSING_RULE),
        ("resolution_date", written, MISSING_RULE),
    ]
    assert typed["term"][0] == "NA"
    raw = _raw(
        ASSESSMENTS, subject_id="S1", assessment_date="2021-02-01", visit="D28", response=written, mrd_pct=written
    )
    _, problems = parse_records(raw, ASSESSMENTS)
    assert problems.select("column", "rule").rows() == [("mrd_pct", MISSING_RULE), ("response", MISSING_RULE)]


def test_nan_and_infinity_are_not_numbers():
    raw = _raw(ASSESSMENTS, subject_id="S1", assessment_date="2021-02-01", visit="D28", response="CR", mrd_pct="NaN")
    _, problems = parse_records(raw, ASSESSMENTS)
    assert problems["rule"].to_list() == ["not a number"]


def test_an_identifier_past_the_transport_files_200_bytes_is_refused():
    """A red team's two subject ids of "BR-", 50 four-byte characters (U+20000) and A or B
    (54 characters, within the 64 allowed; 3 + 200 + 1 = 204 bytes) were cut to the same
    199 bytes in every XPT, merging two children's records there. 204 bytes: refused; 49
    of them and A (3 + 196 + 1 = 200 bytes): taken."""
    for middle, refused in ((50, True), (49, False)):
        subject = "BR-" + "\U00020000" * middle + "A"
        _, problems = parse_records(_raw(ENROLMENT, subject_id=subject), ENROLMENT)
        found = problems.filter(pl.col("column") == "subject_id")
        if refused:
            assert found["rule"].to_list() == [
                "longer than 200 bytes in UTF-8: the SAS transport files keep 200 bytes of a value, so two "
                "identifiers alike in those would be one subject or event there (a red team's two ids of 54 "
                "four-byte characters were); use a shorter identifier"
            ]
        else:
            assert found.is_empty(), found


def test_a_nonzero_number_too_small_to_be_a_measurement_is_refused():
    """A red team's MRD of 1e-90 (and a lab value of 1e-100) passed the checks and read
    back 0 from the XPT. 1e-31 and 1E-40 are refused on their row; 0, 1e-30 (the floor)
    and 0.0001 % (an MRD of 10**-6) are taken."""
    visit = {"subject_id": "S1", "assessment_date": "2021-02-01", "visit": "D28", "response": "CR"}
    for value, refused in (("1e-90", True), ("1e-31", True), ("1E-40", True), ("0", False), ("1e-30", False)):
        raw = _raw(ASSESSMENTS, **visit, mrd_pct=value)
        typed, problems = parse_records(raw, ASSESSMENTS)
        if refused:
            assert problems.select("column", "value").rows() == [("mrd_pct", value)], value
            assert "nonzero number smaller than 1e-30" in problems["rule"][0]
        else:
            assert problems.is_empty() and typed["mrd_pct"][0] == float(value), value
    raw = _raw(ASSESSMENTS, **visit, mrd_pct="0.0001%")
    assert parse_records(raw, ASSESSMENTS)[1].is_empty()


def test_dates_must_have_a_real_month_day_and_time_and_the_year_first_or_the_month_in_words():
    for value in ("2021-2-30", "01/02/2021", "2021-02-01T25:00", "2021-13-01", "1 Feb 21"):
        raw = _raw(ASSESSMENTS, subject_id="S1", assessment_date=value, visit="D28", response="CR")
        _, problems = parse_records(raw, ASSESSMENTS)
        assert problems["column"].to_list() == ["assessment_date"], value


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("2020-06-18", "2020-06-18"),
        ("2020-06-18T10:30:00", "2020-06-18"),
        ("2020-06-18 10:30", "2020-06-18"),
        ("2020-06-18T23:59:59.123", "2020-06-18"),
        ("18JUN2020", "2020-06-18"),
        ("18-Jun-2020", "2020-06-18"),
        ("8 jun 2020", "2020-06-08"),
        # a Chinese- or Japanese-locale Excel's short date: the year first, then the month
        ("2020/6/18", "2020-06-18"),
        ("2020/06/08", "2020-06-08"),
        ("2020-6-8", "2020-06-08"),
        ("2020/6/18 9:05", "2020-06-18"),
        ("2020/12/1 23:59:59", "2020-12-01"),
        ("2020/2/30", None),  # no such day
        ("2020/13/1", None),  # no such month
        ("2020/6-18", None),  # two separators
        ("2020/6/18 24:00", None),
        ("18/6/2020", None),  # the year last: the day and month in digits, ambiguous
        ("2020/6", None),
        ("2020-06-18T24:00", None),  # no such time
        ("2020-02-30T10:00", None),  # no such day
        ("31FEB2020", None),
        ("18JUNE2020", None),
        ("06/18/2020", None),  # digits for day and month: ambiguous, refused
        ("2020-06", None),  # partial
        ("UNK-JUN-2020", None),
        ("2020-06-18T", None),
    ],
)
def test_dates_in_every_unambiguous_form_an_export_writes(written, day):
    """A date-time without a zone is its date as written; so is a year-first date whose
    month and day have one or two digits; digits for day and month with the year last,
    partial and impossible dates are refused."""
    raw = _raw(FOLLOWUP, subject_id="S1", event_date=written, event="CONTACT")
    typed, problems = parse_records(raw, FOLLOWUP)
    got = typed["event_date"][0]
    assert (got.isoformat() if got else None) == day
    assert (day is None) == ("not a valid date" in " ".join(problems["rule"]))


@pytest.mark.parametrize(
    ("written", "grade"),
    [
        ("3", 3),
        ("Grade 3", 3),
        ("G3", 3),
        ("Gr. 2", 2),
        ("3 - Severe", 3),
        ("4 - Life-threatening", 4),
        ("Grade 5 (Death)", 5),
        ("3 - Mild", None),  # the word is grade 1's: which one is right?
        ("g3severe", None),  # a word needs a separator
        ("3: Severe", 3),
        ("Grade three", None),
        ("3a", None),
    ],
)
def test_an_ae_grade_is_read_as_an_export_words_it(written, grade):
    typed, problems = parse_records(_raw(ADVERSE_EVENTS, **{**GOOD_AE, "grade": written}), ADVERSE_EVENTS)
    assert typed["grade"][0] == grade
    assert (grade is None) == ("not a whole number" in " ".join(problems["rule"]))


def test_a_percentage_may_carry_its_sign_and_nothing_else():
    """mrd_pct "0.005%" and "0.5 %" are 0.005 and 0.5; "0,5%" (a decimal comma) and "%"
    alone are not numbers."""
    for written, value in (("0.005%", 0.005), ("0.5 %", 0.5), ("0,5%", None), ("%", None)):
        raw = _raw(
            ASSESSMENTS, subject_id="S1", assessment_date="2021-02-01", visit="D28", response="CR", mrd_pct=written
        )
        typed, problems = parse_records(raw, ASSESSMENTS)
        assert typed["mrd_pct"][0] == value, written
        assert (value is None) == (problems["rule"].to_list() == ["not a number"]), written


def test_a_date_time_with_a_zone_is_refused_with_its_reason():
    """2020-06-19T01:00:00Z and 2020-06-18T21:00:00-04:00 are one moment on two days:
    which day depends on the zone, so neither is guessed (a red team's case: a UTC export
    moved a US evening's infusion to the next day). One problem each, naming the zone."""
    for written in ("2020-06-19T01:00:00Z", "2020-06-18T21:00:00-04:00", "2020-06-18T21:00+0530"):
        typed, problems = parse_records(_raw(FOLLOWUP, subject_id="S1", event_date=written, event="CONTACT"), FOLLOWUP)
        assert typed["event_date"][0] is None
        assert problems["rule"].to_list() == [
            "a date-time with a time zone (Z or an offset): which day it is depends on the zone; write the site's "
            "local date (YYYY-MM-DD) or a date-time without a zone"
        ], written


def test_a_large_file_is_typed_by_its_distinct_values_with_every_problem_on_its_row():
    """A file of 20,000 AE rows (100 subjects, the same good values) is typed once per
    distinct value and joined back (`parse._by_distinct_value`). Its bad values, put on
    known rows, come back on those rows and only there: row 5 grade "6" (out of range,
    typed 6), row 7 onset 2021-02-30 (no such day, typed null), row 9 a blank term,
    row 11 a date-time with a zone, row 13 serious "maybe", row 15 a null term. Every
    other row is typed as the good row is; the first 10 rows alone (typed row by row)
    give the same problems for the rows they hold."""
    n = 20_000
    rows = {c: [GOOD_AE.get(c, "")] * n for c in ADVERSE_EVENTS.column_names}
    rows["subject_id"] = [f"S{i % 100}" for i in range(n)]
    bad = {5: ("grade", "6"), 7: ("onset_date", "2021-02-30"), 9: ("term", " ")}
    bad |= {11: ("onset_date", "2021-01-05T10:00Z"), 13: ("serious", "maybe"), 15: ("term", None)}
    for row, (column, value) in bad.items():
        rows[column][row - 2] = value  # file row 2 is the first record
    raw = pl.DataFrame(rows, schema=dict.fromkeys(ADVERSE_EVENTS.column_names, pl.String)).with_columns(
        pl.lit("ae.csv").alias("_source_file"), pl.int_range(2, n + 2, dtype=pl.Int64).alias("_source_row")
    )
    typed, problems = parse_records(raw, ADVERSE_EVENTS)
    assert problems.select("row", "column", "value", "subject").rows() == [
        (5, "grade", "6", "S3"),
        (7, "onset_date", "2021-02-30", "S5"),
        (9, "term", " ", "S7"),
        (11, "onset_date", "2021-01-05T10:00Z", "S9"),
        (13, "serious", "maybe", "S11"),
        (15, "term", None, "S13"),
    ]
    assert [rule.split(":")[0] for rule in problems["rule"]] == [
        "out of range",
        "not a valid date (YYYY-MM-DD, a date-time that starts with one, the year first as 2020/6/18, or "
        "DDMONYYYY as 18JUN2020 or 18-Jun-2020, a four-digit year; a real calendar day)",
        "required value is blank",
        "a date-time with a time zone (Z or an offset)",
        "not a Y/N value (Y/N, Yes/No, 1/0, true/false)",
        "required value is blank",
    ]
    assert typed.height == n and typed["_source_row"].to_list() == list(range(2, n + 2))
    assert typed["grade"][3] == 6 and typed["onset_date"][5] is None and typed["serious"][11] is None
    good = typed.filter(~pl.col("_source_row").is_in(list(bad)))
    assert good.select(pl.col("grade").unique(), pl.col("serious").unique()).rows() == [(3, True)]
    assert good["onset_date"].unique().to_list() == [dt.date(2021, 1, 5)]
    assert good["subject_id"].n_unique() == 100
    assert parse_records(raw.head(10), ADVERSE_EVENTS)[1].equals(problems.filter(pl.col("row") <= 11))


def test_two_rules_broken_on_one_cell_are_listed_in_the_rules_order_on_every_row():
    """Each of 50,000 AE rows has the subject id "=S 1", which breaks two rules of an
    identifier: it holds a space, and it starts with a formula's "=". Every row's two
    problems are listed in the order the rules are checked (the space first), however
    many rows: polars' sort does not keep the order of rows that tie (same row, same
    column) unless told to, and of 100,000 such problems about half came out the other
    way round, so two runs of one drop could list a cell's problems in two orders."""
    n = 50_000
    rows = {c: [GOOD_AE.get(c, "")] * n for c in ADVERSE_EVENTS.column_names}
    rows["subject_id"] = ["=S 1"] * n
    raw = pl.DataFrame(rows, schema=dict.fromkeys(ADVERSE_EVENTS.column_names, pl.String)).with_columns(
        pl.lit("ae.csv").alias("_source_file"), pl.int_range(2, n + 2, dtype=pl.Int64).alias("_source_row")
    )
    _, problems = parse_records(raw, ADVERSE_EVENTS)
    assert problems.height == 2 * n and problems["row"].to_list() == [r for r in range(2, n + 2) for _ in (0, 1)]
    first = ["identifier holds a space", "identifier starts with ="]
    assert [rule[: len(first[i % 2])] for i, rule in enumerate(problems["rule"])] == first * n


def test_typed_by_value_gives_what_typed_row_by_row_gives(monkeypatch):
    """20,000 AE rows cycling through good and bad spellings of every column (grades 0-6
    and "x", real and impossible dates, Y/N in four spellings and "maybe", blank and null
    terms): typed by value (each column's typed value and flags joined back to that
    column alone) and row by row (`DISTINCT_FROM_ROWS` raised past the file), the typed
    frames are equal column for column and row for row, and so are the problems."""
    from trial_outcomes.io import parse

    n = 20_000
    spellings = {
        "grade": ["1", "2", "3", "6", "x", "0", None],
        "onset_date": ["2021-01-05", "2021-02-30", "05JAN2021", "2021-01-05T10:00Z", "", "2020-12-31 08:00"],
        "serious": ["Y", "No", "1", "false", "maybe", None],
        "term": ["Febrile neutropenia", " ", None, "Cytokine Release Syndrome", "Pyrexia"],
    }
    rows = {c: [GOOD_AE.get(c, "")] * n for c in ADVERSE_EVENTS.column_names}
    rows["subject_id"] = [f"S{i % 100}" for i in range(n)]
    for column, values in spellings.items():
        rows[column] = [values[(i * 7 + len(column)) % len(values)] for i in range(n)]
    raw = pl.DataFrame(rows, schema=dict.fromkeys(ADVERSE_EVENTS.column_names, pl.String)).with_columns(
        pl.lit("ae.csv").alias("_source_file"), pl.int_range(2, n + 2, dtype=pl.Int64).alias("_source_row")
    )
    assert all(parse._by_distinct_value(raw, column) for column in spellings)
    by_value, by_value_problems = parse_records(raw, ADVERSE_EVENTS)
    monkeypatch.setattr(parse, "DISTINCT_FROM_ROWS", 10 * n)
    assert not parse._by_distinct_value(raw, "grade")
    row_by_row, row_by_row_problems = parse_records(raw, ADVERSE_EVENTS)
    assert by_value.equals(row_by_row) and by_value.schema == row_by_row.schema
    assert by_value_problems.height > n // 2  # the bad spellings are there, and found
    order = ["row", "column", "rule"]
    assert by_value_problems.sort(order).equals(row_by_row_problems.sort(order))


def test_only_a_column_that_repeats_its_values_is_typed_by_value():
    """20,000 rows: 100 subjects repeat (typed by value); 20,000 distinct ids, or 4,000
    (one in five rows, more than one in ten), are typed row by row, as joining millions
    of distinct values back cost twice the typing (a red team's 7 million rows). A file of
    10,000 rows is typed row by row; a column missing from the frame is polars' error at
    any size (a red team's 10,001 rows raised a bare KeyError)."""
    from trial_outcomes.io.parse import _by_distinct_value

    n = 20_000
    frame = pl.DataFrame(
        {
            "repeats": [f"S{i % 100}" for i in range(n)],
            "distinct": [f"S{i}" for i in range(n)],
            "one_in_five": [f"S{i % 4000}" for i in range(n)],
        }
    )
    assert _by_distinct_value(frame, "repeats")
    assert not _by_distinct_value(frame, "distinct")
    assert not _by_distinct_value(frame, "one_in_five")
    assert not _by_distinct_value(frame.head(10_000), "repeats")
    ae = pl.DataFrame({c: ["1"] * 10_001 for c in ADVERSE_EVENTS.column_names if c != "grade"}).with_columns(
        pl.lit("f.csv").alias("_source_file"), pl.int_range(2, 10_003, dtype=pl.Int64).alias("_source_row")
    )
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        parse_records(ae, ADVERSE_EVENTS)
