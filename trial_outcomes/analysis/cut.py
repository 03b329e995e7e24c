"""The data cut (endpoints.md, Time and populations).

"Every record dated after the cut is ignored; an ongoing subject is followed
to the cut at most." Subjects enrolled after the cut are not in the analysis,
and none of their records is seen by any output (eligibility deviations
included); an adverse event that resolves after the cut is ongoing at the cut.
A grade-5 (fatal) adverse event whose death falls after the cut was not fatal at
the cut: it is ongoing there at grade 4 (``fatal_grade_at_cut``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

import polars as pl

#: the records of a drop by record type (read-only: a step's records are loaded type by type)
Records = Mapping[str, pl.DataFrame]

#: record -> the date that places a record before or after the cut
RECORD_DATE = {
    "enrolment": "enrol_date",
    "infusion": "infusion_date",
    "assessments": "assessment_date",
    "followup": "event_date",
    "adverse_events": "onset_date",
    "crs_monitoring": "obs_date",
    "icans_monitoring": "obs_date",
    "apheresis": "apheresis_date",
    "labs": "sample_date",
    "long_term_followup": "event_date",
}


def apply_cut(records: Records, cut: dt.date) -> dict[str, pl.DataFrame]:
    """Records as known at ``cut``: later records dropped, later resolutions blanked,
    and only subjects enrolled by the cut kept in every record type.

    Worked example (tests/analysis/test_subject_rules.py): a death on cut + 1 day
    is ignored; an AE from cut - 3 resolving on cut + 2 is kept, ongoing; a
    subject enrolled after the cut has no eligibility row either.
    """
    return {record: frame for record, frame, _ in records_at_cut(records, cut)}


def records_at_cut(records: Records, cut: dt.date) -> Iterator[tuple[str, pl.DataFrame, bool]]:
    """``apply_cut`` a record type at a time, in the order of ``records``, each record
    type read once (a million subjects' records were cut all at once, 3.9 GB held
    together): the record type, its frame at the cut, and whether that is the frame
    read from ``records`` itself, kept whole."""
    first_enrolment, first_followup = records["enrolment"], records["followup"]
    enrolment = _kept(first_enrolment, pl.col(RECORD_DATE["enrolment"]) <= cut)
    enrolled = pl.col("subject_id").is_in(enrolment["subject_id"].implode())
    # the deaths known at the cut, for the fatal AEs: followup by its date alone, as the
    # AEs are by theirs (a subject enrolled after the cut has no AE left either)
    followup_dated = _kept(first_followup, pl.col(RECORD_DATE["followup"]) <= cut)
    for record in records:
        if record == "enrolment":
            yield record, enrolment, enrolment is first_enrolment
            continue
        read = records[record] if record != "followup" else first_followup
        column = RECORD_DATE.get(record)
        if record == "followup":  # already by its date, for the deaths
            frame = followup_dated
        else:
            frame = _kept(read, pl.col(column) <= cut) if column else read
        if record == "apheresis":  # a product released after the cut was not released at it
            frame = frame.with_columns(
                pl.when(pl.col("release_date") <= cut).then(pl.col("release_date")).alias("release_date"),
                pl.when(pl.col("release_date") > cut)
                .then(pl.lit("PENDING"))
                .otherwise(pl.col("product_status"))
                .alias("product_status"),
            )
        if record == "adverse_events":
            frame = fatal_grade_at_cut(
                frame.with_columns(
                    pl.when(pl.col("resolution_date") <= cut).then(pl.col("resolution_date")).alias("resolution_date")
                ),
                followup_dated,
            )
        frame = _kept(frame, enrolled)
        if frame is not read and frame.height == read.height and frame.equals(read):
            frame = read  # resolutions, releases and fatal grades all known by the cut
        yield record, frame, frame is read


def _kept(frame: pl.DataFrame, keep: pl.Expr) -> pl.DataFrame:
    """The rows of ``frame`` where ``keep`` is true; ``frame`` itself when that is every
    row. A cut at the drop's last record keeps every row: the frames are shared then,
    not copied (at 100,000 subjects a copy of every record type)."""
    keep = keep.fill_null(False)
    return frame if frame.select(keep.all()).item() else frame.filter(keep)


#: the grade a fatal AE shows at a cut before its death: life-threatening, ongoing
GRADE_BEFORE_DEATH = 4


def fatal_grade_at_cut(adverse_events: pl.DataFrame, followup_at_cut: pl.DataFrame) -> pl.DataFrame:
    """A grade-5 AE of a subject with no death by the cut is shown at grade 4 (the
    worst grade short of death), ongoing: its fatal outcome is not known at the cut.
    Worked example (tests/analysis/test_subject_rules.py): sepsis from cut - 4, grade 5,
    death at cut + 8: at the cut a grade-4 ongoing AE, no fatal TEAE, no death (the red
    team's drop counted 7 fatal TEAEs with 6 deaths)."""
    if "grade" not in adverse_events.columns or adverse_events.is_empty():
        return adverse_events
    died = followup_at_cut.filter(pl.col("event") == "DEATH").select("subject_id").unique()
    dead = pl.col("subject_id").is_in(died["subject_id"].implode())
    return adverse_events.with_columns(
        pl.when((pl.col("grade") == 5) & ~dead)
        .then(pl.lit(GRADE_BEFORE_DEATH, dtype=adverse_events.schema["grade"]))
        .otherwise(pl.col("grade"))
        .alias("grade")
    )
