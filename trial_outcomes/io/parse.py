"""Type the raw layer by its schema, and list every value that breaks a rule.

``parse_records`` never drops a row: a value that cannot be typed becomes
null in the typed frame and a row in the problems frame
(``file, row, column, value, subject, rule``), which the schema check reports.

Rules beyond the type of a column:

* identifiers (``subject_id``, ``ae_id``) are printable: no control, format or
  unassigned characters and no spaces (a zero-width space once made a second
  "BR-001"), at most ``MAX_ID_LENGTH`` characters, and never starting with
  ``=``, ``+``, ``-`` or ``@`` (a spreadsheet would run them as a formula).
  Identifiers are case-sensitive; two that differ only in case are refused by
  ``io.validation.case_twins``.
* free text is at most ``MAX_TEXT_LENGTH`` characters.
* dates are real calendar days written ``YYYY-MM-DD``, year first as ``2020/6/18`` (a
  Chinese-locale Excel's short date, with or without a time), as an ISO date-time
  without a zone (``2020-06-18T10:30:00``, ``2020-06-18 10:30``: the date as
  written, its time not used; with a zone, ``Z`` or ``+02:00``, it is refused: its
  day depends on the zone), or as SAS's DATE9 (``18JUN2020``,
  ``18-Jun-2020``, ``18 jun 2020``): all unambiguous. A day and month in digits
  (``06/07/2020``) is refused, as is any partial date; on or after
  ``dates.EARLIEST_DATE`` and not after today.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from trial_outcomes.dates import EARLIEST_DATE, today
from trial_outcomes.io.xpt import MAX_TEXT_BYTES
from trial_outcomes.schema import CTCAE_WORDS, NO_VALUES, YES_VALUES, Column, RecordSchema
from trial_outcomes.text import SEPARATOR_RUN, UNSAFE_TEXT

PROBLEM_SCHEMA = {
    "file": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "subject": pl.String,
    "rule": pl.String,
}
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#: an ISO date with a time of day (an EDC's or a spreadsheet's timestamp): its date is the date
_CLOCK = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?"
ISO_DATETIME = _CLOCK + "$"
#: the same with a time zone: refused, since its day depends on the zone (a UTC export moves a
#: site's evening to the next day: day 0, the day-28 window, a record inside the cut or not)
ISO_DATETIME_ZONED = _CLOCK + r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)$"
ZONED_RULE = (
    "a date-time with a time zone (Z or an offset): which day it is depends on the zone; write the "
    "site's local date (YYYY-MM-DD) or a date-time without a zone"
)
#: a year-first date with its month and day in one or two digits, by slashes or hyphens, with
#: or without a time: a Chinese- or Japanese-locale Excel's short date (2020/6/18, 2020/6/18
#: 9:05), whose file the contract reads as GB18030. The year first, the month is the middle
#: number: no calendar writes the day there
YEAR_FIRST = (
    r"^[0-9]{4}(/[0-9]{1,2}/[0-9]{1,2}|-[0-9]{1,2}-[0-9]{1,2})( ([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?$"
)
#: SAS's DATE9 and its spaced or hyphenated forms (18JUN2020, 18-Jun-2020, 18 jun 2020)
DAY_MONTH_YEAR = r"(?i)^[0-9]{1,2}[ -]?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[ -]?[0-9]{4}$"
INVISIBLE = r"[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Z}]"
FORMULA_START = r"^[=+\-@]"
#: how other programs write a missing value (R's ``NA``, SAS's ``.``, a database's ``NULL``,
#: ``N/A``; any letter case): in a typed column such a cell is refused with its own reason,
#: which says how to export it, not as "not a date" or "not a number"
WRITTEN_MISSING = (".", "NA", "N/A", "NULL")
MISSING_RULE = (
    "a missing value written as a word or a dot (R's NA, SAS's ., NULL, N/A): the data contract's "
    'missing value is a blank cell; export missing values blank (R: write.csv(na = ""))'
)
#: a spreadsheet's day number where a date is due (a cell not formatted as a date): five
#: digits, 1927-05-18 to 2173-10-13, perhaps with a time as a fraction
SERIAL_DAY = r"^[1-9][0-9]{4}(\.[0-9]+)?$"
SERIAL_RULE = (
    "a number where a date is due, as a spreadsheet stores a date in a cell not formatted as one (days since "
    "1899-12-30: 44197 is 2021-01-01); format the cells as dates, or export them as YYYY-MM-DD"
)
#: no measurement of the trial is nonzero and smaller than this in size: such a value is a
#: data error, and SAS transport would store it as 0 (a red team's lab value of 1e-100 passed
#: the checks and read back 0 from ADLB's XPT)
SMALLEST_NONZERO = 1e-30


def empty_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=PROBLEM_SCHEMA)


def _blank_to_null(raw: pl.Expr) -> pl.Expr:
    return pl.when(raw == "").then(None).otherwise(raw)


#: "Grade 3", "G3", "Gr. 3", "3 - Severe", "3 (Severe)", "3: severe"; a word needs a separator
GRADE_WORDED = r"^(?:grade|gr\.?|g)? ?([0-9]+)(?:(?: *[-:(] *| +)(" + "|".join(CTCAE_WORDS) + r")\)?)?$"


def _grade_number(raw: pl.Expr) -> pl.Expr:
    """The number of a grade written with words ("Grade 3", "G3", "3 - Severe"); a
    word that is not the number's grade ("3 - Mild") gives null, so the value is refused."""
    parts = raw.str.to_lowercase().str.extract_groups(GRADE_WORDED)
    number, word = parts.struct.field("1"), parts.struct.field("2")
    said = word.replace_strict(CTCAE_WORDS, default=None, return_dtype=pl.Int64).cast(pl.String)
    plain = raw.str.contains(r"^[0-9.eE+\-]+$")
    return pl.when(plain).then(raw).when(word.is_null() | (said == number)).then(number)


def _year_first_date(raw: pl.Expr) -> pl.Expr:
    """The date of a ``YEAR_FIRST`` value (its time not used): 2020/6/18 is 2020-06-18;
    an impossible day (2020/2/30) is null, so refused."""
    parts = raw.str.extract_groups(r"^([0-9]{4})[/-]([0-9]{1,2})[/-]([0-9]{1,2})")
    year, month, day = (parts.struct.field(k) for k in ("1", "2", "3"))
    iso = pl.concat_str(year, month.str.zfill(2), day.str.zfill(2), separator="-")
    return iso.str.to_date("%Y-%m-%d", strict=False)


def typed_value(col: Column) -> pl.Expr:
    """The typed value of one column; null where blank or invalid."""
    raw = _blank_to_null(pl.col(col.name).str.strip_chars())
    if col.kind == "id":
        return raw.str.normalize("NFC")  # text.py: the two spellings of BR-É02 are one subject
    if col.kind == "text":
        return raw
    if col.kind == "date":
        return (
            pl.when(raw.str.contains(ISO_DATE))
            .then(raw.str.to_date("%Y-%m-%d", strict=False))
            .when(raw.str.contains(ISO_DATETIME))
            .then(raw.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
            .when(raw.str.contains(DAY_MONTH_YEAR))
            .then(raw.str.replace_all(r"[ -]", "").str.to_date("%d%b%Y", strict=False))
            .when(raw.str.contains(YEAR_FIRST))
            .then(_year_first_date(raw))
        )
    if col.kind == "number":
        # a percentage column may carry its sign ("96.3%", "0.005 %"): the number is the same
        num = (raw.str.replace(r"\s*%$", "") if col.percent else raw).cast(pl.Float64, strict=False)
        return pl.when(num.is_finite()).then(num)
    if col.kind == "integer":
        num = (_grade_number(raw) if col.grade_words else raw).cast(pl.Float64, strict=False)
        # within 2**53: a whole number a float holds exactly, far inside Int64 (1e19 crashed the cast)
        whole = num.is_finite() & (num == num.round(0)) & (num.abs() <= 2**53)
        return pl.when(whole).then(num).otherwise(None).cast(pl.Int64, strict=False)
    if col.kind == "code":
        key = raw.str.to_lowercase().str.replace_all(SEPARATOR_RUN, "_")  # text.underscored, in polars
        return key.replace_strict(col.code_lookup(), default=None, return_dtype=pl.String)
    if col.kind == "yn":
        yn = {**dict.fromkeys(YES_VALUES, True), **dict.fromkeys(NO_VALUES, False)}
        return raw.str.to_lowercase().replace_strict(yn, default=None, return_dtype=pl.Boolean)
    raise ValueError(col.kind)


def _type_rule(col: Column) -> str:
    return {
        "date": "not a valid date (YYYY-MM-DD, a date-time that starts with one, the year first as 2020/6/18, or "
        "DDMONYYYY as 18JUN2020 or 18-Jun-2020, a four-digit year; a real calendar day)",
        "number": "not a number",
        "integer": "not a whole number"
        + (' (a grade may read "Grade 3", "G3" or "3 - Severe", its word the number\'s)' if col.grade_words else ""),
        "code": "unknown code; allowed: " + ", ".join(col.codes) + " (any letter case; a space or hyphen for _)",
        "yn": "not a Y/N value (Y/N, Yes/No, 1/0, true/false)",
    }.get(col.kind, "invalid")


def _column_problems(col: Column, latest: dt.date) -> list[tuple[pl.Expr, str]]:
    """(condition on the raw and typed values, rule) for each rule of a column."""
    raw = pl.col(col.name).str.strip_chars()
    blank = raw.is_null() | (raw == "")
    typed = pl.col(f"__typed_{col.name}")
    checks: list[tuple[pl.Expr, str]] = []
    if not col.nullable:
        checks.append((blank, "required value is blank"))
    written_missing = raw.str.to_uppercase().is_in(WRITTEN_MISSING)
    if col.kind == "date":
        zoned = raw.str.contains(ISO_DATETIME_ZONED)
        serial = raw.str.contains(SERIAL_DAY)
        checks.append((~blank & typed.is_null() & ~zoned & ~written_missing & ~serial, _type_rule(col)))
        checks.append((zoned, ZONED_RULE))
        checks.append((serial, SERIAL_RULE))
    elif col.kind not in ("text", "id"):
        checks.append((~blank & typed.is_null() & ~written_missing, _type_rule(col)))
    if col.kind not in ("text", "id"):
        checks.append((written_missing, MISSING_RULE))
    if col.kind == "number":
        checks.append(
            (
                (typed != 0) & (typed.abs() < SMALLEST_NONZERO),
                f"a nonzero number smaller than {SMALLEST_NONZERO:g} in size: no measurement is (SAS transport "
                "would store it as 0)",
            )
        )
    if col.kind in ("text", "id"):
        checks.append(
            (
                raw.str.len_chars() > col.max_length,
                f"longer than {col.max_length} characters (the limit for this column)",
            )
        )
    if col.kind == "id":
        checks.append(
            (
                (raw.str.len_chars() <= col.max_length) & (raw.str.len_bytes() > MAX_TEXT_BYTES),
                f"longer than {MAX_TEXT_BYTES} bytes in UTF-8: the SAS transport files keep {MAX_TEXT_BYTES} bytes of "
                "a value, so two identifiers alike in those would be one subject or event there (a red team's two "
                "ids of 54 four-byte characters were); use a shorter identifier",
            )
        )
    if col.kind in ("text", "id"):
        checks.append(
            (
                raw.str.contains(UNSAFE_TEXT),
                "text holds a control or bidirectional character (NUL, ESC, U+202E, ...): "
                "it would reach the published tables and the report; remove it",
            )
        )
    if col.kind == "id":
        checks.append((raw.str.contains(INVISIBLE), "identifier holds a space or an invisible or control character"))
        checks.append(
            (
                raw.str.normalize("NFKC") != raw.str.normalize("NFC"),
                "identifier holds a compatibility character (a full-width or styled letter, a ligature): "
                "it would look like another id; type it in plain characters",
            )
        )
        checks.append(
            (
                raw.str.contains(r"[A-Za-z\u00c0-\u024f]") & raw.str.contains(r"[\u0370-\u03ff\u0400-\u052f]"),
                "identifier mixes Latin letters with Cyrillic or Greek ones (a look-alike such as Cyrillic В "
                "for B would make another subject)",
            )
        )
        checks.append(
            (
                raw.str.contains(FORMULA_START),
                "identifier starts with =, +, - or @ (a spreadsheet would read it as a formula)",
            )
        )
    if col.kind == "date":
        checks.append(
            (
                typed < EARLIEST_DATE,
                f"implausible date: before {EARLIEST_DATE.isoformat()} (a spreadsheet's time without a date "
                "reads as 1899-12-30 or 1904-01-01)",
            )
        )
        checks.append((typed > latest, f"implausible date: after today ({latest.isoformat()})"))
    if col.kind in ("number", "integer") and (col.low is not None or col.high is not None):
        bad = pl.lit(False)
        if col.low is not None:
            bad = bad | ((typed <= col.low) if col.low_exclusive else (typed < col.low))
        if col.high is not None:
            bad = bad | (typed > col.high)
        why = f" ({col.range_why})" if col.range_why else ""
        checks.append((typed.is_not_null() & bad, f"out of range: must be {col.range_text()}{why}"))
    return checks


def _by_distinct_value(raw: pl.DataFrame, name: str) -> bool:
    """Whether a column's rules are evaluated once per distinct value and joined back to
    the rows, rather than on every row: when its values repeat (a lab file's 7.6 million
    rows at 100,000 subjects hold 1,397 dates, 8 tests and 94,109 subjects, and typing
    them row by row took 8.8 s of a 130 s run). Every rule of a column reads that column's
    raw and typed value only, so the two give the same result. A column with many distinct
    values is typed row by row: joining millions of them back cost twice the typing (a
    red team's 7 million rows, 45 % distinct: 8 s row by row, 17 s joined)."""
    if raw.height <= DISTINCT_FROM_ROWS or raw.schema.get(name) != pl.String:
        return False
    # HyperLogLog's estimate: one pass of hashing, nothing held (40 ms for 7.6 million rows)
    return few_distinct(int(raw.select(pl.col(name).approx_n_unique()).item()), raw.height)


def few_distinct(distinct: int, rows: int) -> bool:
    """At most one value in ``DISTINCT_SHARE`` rows is distinct: typed by value."""
    return distinct * DISTINCT_SHARE <= rows


#: a file of fewer rows is typed row by row (a join costs more than it saves)
DISTINCT_FROM_ROWS = 10_000
#: typed by value when the distinct values are at most one in this many rows
DISTINCT_SHARE = 10


def parse_records(
    raw: pl.DataFrame, schema: RecordSchema, latest: dt.date | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (typed frame, problems frame) for a raw-layer frame.

    The typed frame has the schema's columns typed (dates as Date, Y/N as
    Boolean, codes in their canonical spelling) plus ``_source_file`` and
    ``_source_row``; values breaking a range stay in it, and are reported.
    ``latest`` is the latest plausible date (today unless given)."""
    latest = latest or today()
    subject = pl.col("subject_id").str.strip_chars() if "subject_id" in raw.columns else pl.lit(None, pl.String)
    # (column, rule, name of the column of flags: the rule broken on the row)
    rules: list[tuple[Column, str, str]] = []
    work = raw.lazy()
    # a column typed by value: its typed value and flags joined back to that column alone, not
    # to the whole frame (each join of the whole frame gathered every column again: a million
    # subjects' 3.9 million AE rows held several copies of their 14 text columns)
    joined: list[pl.LazyFrame] = []
    for col in schema.columns:
        typed_name = f"__typed_{col.name}"
        checks = _column_problems(col, latest)
        flags = [f"__rule_{len(rules) + i}" for i in range(len(checks))]
        rules += [(col, rule, flag) for (_, rule), flag in zip(checks, flags, strict=True)]
        evaluated = [condition.fill_null(False).alias(flag) for (condition, _), flag in zip(checks, flags, strict=True)]
        if _by_distinct_value(raw, col.name):
            distinct = raw.lazy().select(pl.col(col.name).unique())
            by_value = distinct.with_columns(typed_value(col).alias(typed_name)).with_columns(evaluated)
            rows = raw.lazy().select(col.name)
            joined.append(
                rows.join(by_value, on=col.name, how="left", nulls_equal=True, maintain_order="left").drop(col.name)
            )
        else:
            work = work.with_columns(typed_value(col).alias(typed_name)).with_columns(evaluated)
    flagged = pl.concat([work, *joined], how="horizontal").collect()
    # which rules any row breaks, in one pass over the frame; only those are filtered for their rows
    broken = flagged.select(pl.col(flag).any() for _, _, flag in rules).row(0) if rules else ()
    problem_frames = []
    for (col, rule, flag), any_broken in zip(rules, broken, strict=True):
        if any_broken:
            found = flagged.filter(pl.col(flag))
            problem_frames.append(
                found.select(
                    pl.col("_source_file").cast(pl.String).alias("file"),
                    pl.col("_source_row").alias("row"),
                    pl.lit(col.name).alias("column"),
                    pl.col(col.name).alias("value"),
                    subject.alias("subject"),
                    pl.lit(rule).alias("rule"),
                )
            )
    problems = pl.concat(problem_frames) if problem_frames else empty_problems()
    typed = flagged.select(
        *[pl.col(f"__typed_{c.name}").alias(c.name) for c in schema.columns],
        "_source_file",
        "_source_row",
    )
    # a cell breaking two rules lists them in the rules' order: polars keeps ties in place only when told
    return typed, problems.sort("row", "column", maintain_order=True)
