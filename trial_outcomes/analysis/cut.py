"""The data cut (endpoints.md, Time and populations).

"Every record dated after the cut is ignored; an ongoing subject is followed
to the cut at most." Subjects enrolled after the cut are not in the analysis,
and none of their records is seen by any output (eligibility deviations
included); an adverse event that resolves after the cut is ongoing at the cut.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

Records = dict[str, pl.DataFrame]

#: record -> the date that places a record before or after the cut
RECORD_DATE = {
    "enrolment": "enrol_date",
    "infusion": "infusion_date",
    "assessments": "assessment_date",
    "followup": "event_date",
    "adverse_events": "onset_date",
    "crs_monitoring": "obs_date",
    "icans_monitoring": "obs_date",
}


def apply_cut(records: Records, cut: dt.date) -> Records:
    """Records as known at ``cut``: later records dropped, later resolutions blanked,
    and only subjects enrolled by the cut kept in every record type.

    Worked example (tests/analysis/test_subject_rules.py): a death on cut + 1 day
    is ignored; an AE from cut - 3 resolving on cut + 2 is kept, ongoing; a
    subject enrolled after the cut has no eligibility row either.
    """
    out: Records = {}
    for record, frame in records.items():
        column = RECORD_DATE.get(record)
        out[record] = frame.filter(pl.col(column) <= cut) if column else frame
    out["adverse_events"] = out["adverse_events"].with_columns(
        pl.when(pl.col("resolution_date") <= cut).then(pl.col("resolution_date")).alias("resolution_date")
    )
    enrolled = out["enrolment"].select("subject_id")
    for record in out:
        if record != "enrolment":
            out[record] = out[record].join(enrolled, on="subject_id", how="semi")
    return out
