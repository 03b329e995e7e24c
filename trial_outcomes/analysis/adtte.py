"""ADTTE: one row per subject, endpoint and analysis (endpoints.md, Time-to-event).

Every endpoint is one function from ADSL to rows ``USUBJID, STARTDT, ADT,
CNSR, EVNTTYPE, EVNTDESC, CNSDTDSC``; ``AVAL`` (days from STARTDT) and the
sensitivity analysis ``censor_at_hsct`` are applied to all of them alike.
ADSL holds only what is known at the cut, so no date here passes the cut.

CNSR is 0 for an event and 1 for a censoring. For CIR, ``EVNTTYPE`` is 1 for
relapse, 2 for the competing death in remission and 0 for a censoring, and
both event types have CNSR 0.
"""

from __future__ import annotations

import polars as pl

PRIMARY, CENSOR_AT_HSCT = "primary", "censor_at_hsct"
ANALYSES = (PRIMARY, CENSOR_AT_HSCT)
PARAMS = {
    "OS": "Overall survival",
    "EFS": "Event-free survival",
    "DFS": "Disease-free survival",
    "CIR": "Cumulative incidence of relapse",
}
ENDPOINT_ORDER = ("OS", "EFS", "DFS", "CIR")  # the order of every table and figure
SUBGROUP_COLUMNS = ("sex", "prior_hsct", "disease_status", "age_group")
_ROW = ("USUBJID", "STARTDT", "ADT", "CNSR", "EVNTTYPE", "EVNTDESC", "CNSDTDSC")


def _rows(
    frame: pl.DataFrame,
    start: pl.Expr,
    adt: pl.Expr,
    event: pl.Expr,
    desc: pl.Expr,
    censor_desc: pl.Expr,
    event_type: pl.Expr | None = None,
) -> pl.DataFrame:
    return frame.select(
        "USUBJID",
        start.alias("STARTDT"),
        adt.alias("ADT"),
        pl.when(event).then(0).otherwise(1).cast(pl.Int8).alias("CNSR"),
        (event_type if event_type is not None else pl.lit(None, dtype=pl.Int8)).cast(pl.Int8).alias("EVNTTYPE"),
        pl.when(event).then(desc).alias("EVNTDESC"),
        pl.when(~event).then(censor_desc).alias("CNSDTDSC"),
    )


def overall_survival(adsl: pl.DataFrame) -> pl.DataFrame:
    """OS, safety set: day 0 to death from any cause; else censored at the last
    known alive date (``LSTALVDT``)."""
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    died = pl.col("DTHDT").is_not_null()
    return _rows(
        safety,
        pl.col("TRTSDT"),
        pl.coalesce(pl.col("DTHDT"), pl.col("LSTALVDT")),
        died,
        pl.lit("Death"),
        pl.lit("Last known alive"),
    )


def induction_failure(adsl: pl.DataFrame) -> pl.Expr:
    """No CR/CRi by day 28, known at the cut: not a responder, and the day-28 window
    closed before the cut (``WINOPEN`` = N) or the subject died."""
    return (pl.col("CRFL") != "Y") & ((pl.col("WINOPEN") == "N") | pl.col("DTHDT").is_not_null())


def event_free_survival(adsl: pl.DataFrame) -> pl.DataFrame:
    """EFS, safety set: day 0 to the earliest of no CR/CRi by day 28 (an event at
    day 1), relapse, or death; else censored at the last disease assessment
    (day 0 when there is none, e.g. a subject whose window is still open)."""
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    failed = induction_failure(safety)
    first_of = pl.min_horizontal("RELDT", "DTHDT")
    event = failed | ((pl.col("CRFL") == "Y") & first_of.is_not_null())
    adt = (
        pl.when(failed)
        .then(pl.col("TRTSDT") + pl.duration(days=1))
        .when(event)
        .then(first_of)
        .otherwise(pl.coalesce(pl.col("LSTASDT"), pl.col("TRTSDT")))
    )
    desc = (
        pl.when(failed)
        .then(pl.lit("No CR/CRi by day 28"))
        .when(pl.col("RELDT") == first_of)
        .then(pl.lit("Relapse"))
        .otherwise(pl.lit("Death"))
    )
    censor = (
        pl.when(pl.col("WINOPEN") == "Y")
        .then(pl.lit("Day-28 response pending at the cut"))
        .otherwise(pl.lit("Last disease assessment"))
    )
    return _rows(safety, pl.col("TRTSDT"), adt, event, desc, censor)


def _remission_set(adsl: pl.DataFrame) -> pl.DataFrame:
    return adsl.filter((pl.col("SAFFL") == "Y") & pl.col("FRMDT").is_not_null())


def disease_free_survival(adsl: pl.DataFrame) -> pl.DataFrame:
    """DFS, subjects reaching CR/CRi: first remission date to relapse or death from
    any cause; else censored at the last assessment that showed remission."""
    rem = _remission_set(adsl)
    first_of = pl.min_horizontal("RELDT", "DTHDT")
    desc = pl.when(pl.col("RELDT") == first_of).then(pl.lit("Relapse")).otherwise(pl.lit("Death"))
    return _rows(
        rem,
        pl.col("FRMDT"),
        pl.coalesce(first_of, pl.col("LSTREMDT")),
        first_of.is_not_null(),
        desc,
        pl.lit("Last assessment in remission"),
    )


def cumulative_incidence_of_relapse(adsl: pl.DataFrame) -> pl.DataFrame:
    """CIR, same subjects, start and censoring as DFS: relapse is the event
    (type 1), death in remission the competing event (type 2); a relapse and a
    death on the same day count as relapse."""
    rem = _remission_set(adsl)
    first_of = pl.min_horizontal("RELDT", "DTHDT")
    relapse = pl.col("RELDT").is_not_null() & (pl.col("RELDT") == first_of)
    kind = pl.when(relapse).then(1).when(first_of.is_not_null()).then(2).otherwise(0)
    desc = pl.when(relapse).then(pl.lit("Relapse")).otherwise(pl.lit("Death in remission (competing)"))
    return _rows(
        rem,
        pl.col("FRMDT"),
        pl.coalesce(first_of, pl.col("LSTREMDT")),
        first_of.is_not_null(),
        desc,
        pl.lit("Last assessment in remission"),
        kind,
    )


ENDPOINTS = {
    "OS": overall_survival,
    "EFS": event_free_survival,
    "DFS": disease_free_survival,
    "CIR": cumulative_incidence_of_relapse,
}


def censor_at_hsct(rows: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """Sensitivity analysis ``censor_at_hsct``: censor at consolidative HSCT or new
    anti-leukemia therapy, whichever is first, when it comes before the event or
    censoring date (an event on the day of HSCT still counts). A therapy before
    the start date censors at the start (AVAL 0)."""
    therapy = adsl.select(
        "USUBJID",
        pl.min_horizontal("HSCTDT", "NTHERDT").alias("_thdt"),
        pl.when(pl.col("HSCTDT") <= pl.col("NTHERDT").fill_null(pl.col("HSCTDT")))
        .then(pl.lit("Consolidative HSCT"))
        .otherwise(pl.lit("New anti-leukemia therapy"))
        .alias("_thdesc"),
    )
    hit = pl.col("_thdt").is_not_null() & (pl.col("_thdt") < pl.col("ADT"))
    return (
        rows.join(therapy, on="USUBJID", how="left")
        .with_columns(
            pl.when(hit).then(pl.max_horizontal("_thdt", "STARTDT")).otherwise(pl.col("ADT")).alias("ADT"),
            pl.when(hit).then(1).otherwise(pl.col("CNSR")).cast(pl.Int8).alias("CNSR"),
            pl.when(hit)
            .then(pl.when(pl.col("EVNTTYPE").is_not_null()).then(0))
            .otherwise(pl.col("EVNTTYPE"))
            .cast(pl.Int8)
            .alias("EVNTTYPE"),
            pl.when(hit).then(None).otherwise(pl.col("EVNTDESC")).alias("EVNTDESC"),
            pl.when(hit).then(pl.col("_thdesc")).otherwise(pl.col("CNSDTDSC")).alias("CNSDTDSC"),
        )
        .drop("_thdt", "_thdesc")
    )


def derive_adtte(adsl: pl.DataFrame) -> pl.DataFrame:
    """All endpoints, primary and ``censor_at_hsct``, with AVAL in days and the
    ADSL population flags and subgroup variables."""
    parts = []
    for paramcd, derive in ENDPOINTS.items():
        rows = derive(adsl)
        for analysis in ANALYSES:
            data = rows if analysis == PRIMARY else censor_at_hsct(rows, adsl)
            parts.append(
                data.with_columns(
                    pl.lit(paramcd).alias("PARAMCD"),
                    pl.lit(PARAMS[paramcd]).alias("PARAM"),
                    pl.lit(analysis).alias("ANALYSIS"),
                )
            )
    tte = pl.concat(parts).with_columns(
        (pl.col("ADT") - pl.col("STARTDT")).dt.total_days().cast(pl.Int64).alias("AVAL"),
        pl.lit("DAYS").alias("AVALU"),
    )
    carried = adsl.select("USUBJID", "SAFFL", "EFFFL", "PPROTFL", *SUBGROUP_COLUMNS)
    columns = [
        "USUBJID",
        "PARAMCD",
        "PARAM",
        "ANALYSIS",
        "STARTDT",
        "ADT",
        "AVAL",
        "AVALU",
        "CNSR",
        "EVNTTYPE",
        "EVNTDESC",
        "CNSDTDSC",
    ]
    return tte.select(columns).join(carried, on="USUBJID", how="left").sort("PARAMCD", "ANALYSIS", "USUBJID")
