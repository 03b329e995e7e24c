"""Long-term gene-therapy safety from the optional long_term_followup file
(docs/endpoints.md, "Long-term safety"): secondary malignancies (T-cell malignancies
apart), new autoimmune, neurologic and haematologic disorders as exposure-adjusted
incidence per 100 patient-years with exact Poisson limits, and the replication-competent
lentivirus (RCL) assays by result; and the events a board reads one by one, listed."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import polars as pl

from trial_outcomes.analysis.timeline import study_day

#: the incidences, in the report's order: T-cell malignancies apart from the others
INCIDENCE_EVENTS = ("SECONDARY_MALIGNANCY", "T_CELL_MALIGNANCY", "NEW_AUTOIMMUNE", "NEW_NEUROLOGIC", "NEW_HEMATOLOGIC")
DAYS_PER_YEAR = 365.25
RCL_ROWS = ("RCL_NEGATIVE", "RCL_POSITIVE", "RCL_PENDING")


def poisson_ci(events: int, years: float) -> tuple[float | None, float | None]:
    """Exact (Garwood) 95 % limits of a rate per patient-year: R's
    ``poisson.test(events, years)$conf.int``, qchisq(0.025, 2k) / 2 and qchisq(0.975,
    2k + 2) / 2 over the years; a chi-square quantile over 2 is the gamma quantile."""
    from scipy.special import gammaincinv  # scipy loads with the step, not with the definitions

    if years <= 0:
        return None, None
    lower = 0.0 if events == 0 else gammaincinv(events, 0.025) / years
    upper = gammaincinv(events + 1, 0.975) / years
    return float(lower), float(upper)


def follow_up_end(cut: dt.date) -> pl.Expr:
    """The end of each infused subject's follow-up: death, else the later of the last
    date known alive and the last long-term record (``_last_ltfu``), never after the cut."""
    return pl.min_horizontal(
        pl.coalesce(pl.col("DTHDT"), pl.max_horizontal(pl.col("LSTALVDT"), pl.col("_last_ltfu"))), pl.lit(cut)
    )


#: the ADSL columns ``incidence`` reads
ADSL_COLUMNS = ("USUBJID", "SAFFL", "TRTSDT", "DTHDT", "LSTALVDT")


def incidence(ltfu: pl.DataFrame, adsl: pl.DataFrame, cut: dt.date) -> pl.DataFrame:
    """``long_term_safety.csv``: per event type over the infused subjects, subjects with
    the event, events, patient-years at risk (to the first event, else to the end of
    follow-up) and the incidence per 100 patient-years with its exact 95 % CI; then the
    RCL assays (tests and subjects by result)."""
    infused = adsl.filter(pl.col("SAFFL") == "Y").select("USUBJID", "TRTSDT", "DTHDT", "LSTALVDT")
    last = ltfu.group_by("subject_id").agg(pl.col("event_date").max().alias("_last_ltfu"))
    base = infused.join(last.rename({"subject_id": "USUBJID"}), on="USUBJID", how="left").with_columns(
        follow_up_end(cut).alias("_end")
    )
    rows = []
    for event in INCIDENCE_EVENTS:
        part = ltfu.filter(pl.col("event") == event)
        first = part.group_by("subject_id").agg(pl.col("event_date").min().alias("_first"), pl.len().alias("_n"))
        at_risk = base.join(first.rename({"subject_id": "USUBJID"}), on="USUBJID", how="left").with_columns(
            (pl.coalesce(pl.col("_first"), pl.col("_end")) - pl.col("TRTSDT")).dt.total_days().clip(0).alias("_days")
        )
        subjects = int(at_risk["_first"].is_not_null().sum())
        years = float(at_risk["_days"].sum()) / DAYS_PER_YEAR
        lower, upper = poisson_ci(subjects, years)
        rows.append(
            {
                "event": event,
                "n_subjects": subjects,
                "n_events": int(part.height),
                "patient_years": years,
                "rate_per_100py": 100 * subjects / years if years > 0 else None,
                "lcl": None if lower is None else 100 * lower,
                "ucl": None if upper is None else 100 * upper,
                "n_population": infused.height,
            }
        )
    rcl = ltfu.filter(pl.col("event") == "RCL_TEST")
    for row in RCL_ROWS:
        result = row.removeprefix("RCL_")
        found = rcl.filter(pl.col("result") == result)
        rows.append(
            {
                "event": row,
                "n_subjects": found["subject_id"].n_unique(),
                "n_events": found.height,
                "patient_years": None,
                "rate_per_100py": None,
                "lcl": None,
                "ucl": None,
                "n_population": rcl["subject_id"].n_unique(),
            }
        )
    return pl.DataFrame(rows, schema=LONG_TERM_SCHEMA, orient="row")


def not_collected() -> pl.DataFrame:
    """``long_term_safety.csv`` for a drop without the long_term_followup file: no rows
    (data-contract.md: "without either file the tables are empty"). Zero events over the
    infused subjects' patient-years, with an upper limit, would be a rate of events
    never collected."""
    return pl.DataFrame(schema=LONG_TERM_SCHEMA)


LONG_TERM_SCHEMA = {
    "event": pl.String,
    "n_subjects": pl.Int64,
    "n_events": pl.Int64,
    "patient_years": pl.Float64,
    "rate_per_100py": pl.Float64,
    "lcl": pl.Float64,
    "ucl": pl.Float64,
    "n_population": pl.Int64,
}


class LongTermTables(NamedTuple):
    """``long_term_safety.csv`` (``incidence``) and ``long_term_events.csv`` (``events``)."""

    incidence: pl.DataFrame
    events: pl.DataFrame


def events_listing(ltfu: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """``long_term_events.csv``, the closed report's listing of the long-term events: each
    secondary or T-cell malignancy, new autoimmune, neurologic or haematologic disorder,
    and each RCL assay not found negative, with its date, day from the first infusion
    (``ADY``, day 0 the infusion), result and the detail as recorded, by subject and date.
    The incidence table counts them; a board reads what each was (a red team's "CAR-positive
    T-cell lymphoma" coded as another malignancy was visible only in the export). Negative
    RCL assays are counted in their table, not listed (the sample has 336)."""
    listed = ltfu.filter((pl.col("event") != "RCL_TEST") | (pl.col("result") != "NEGATIVE").fill_null(True))
    return (
        listed.rename({"subject_id": "USUBJID"})
        .join(adsl.select("USUBJID", "TRTSDT"), on="USUBJID", how="left")
        .select(
            pl.col("USUBJID").cast(pl.String),
            pl.col("event").cast(pl.String),
            pl.col("event_date").alias("ADT"),
            study_day(pl.col("event_date")).cast(pl.Int64).alias("ADY"),
            pl.col("result").cast(pl.String),
            pl.col("detail").cast(pl.String),
        )
        .sort("USUBJID", "ADT", "event")
    )


def not_listed() -> pl.DataFrame:
    """``long_term_events.csv`` without the long_term_followup file: no rows."""
    return pl.DataFrame(schema=LONG_TERM_EVENTS_SCHEMA)


LONG_TERM_EVENTS_SCHEMA = {
    "USUBJID": pl.String,
    "event": pl.String,
    "ADT": pl.Date,
    "ADY": pl.Int64,
    "result": pl.String,
    "detail": pl.String,
}
