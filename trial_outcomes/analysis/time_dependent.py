"""HSCT as a time-dependent covariate (endpoints.md: comparing subjects who did and
did not go on to HSCT is never a plain log-rank on "ever had HSCT"; use a landmark
analysis or a time-dependent Cox model).

Each subject's follow-up is split at the transplant into counting-process rows
(``start, stop, event, hsct``): before it ``hsct = 0``, after it ``hsct = 1``, so
time before a transplant is never credited to the transplant (the immortal-time
bias of "ever transplanted"). The model is R's
``coxph(Surv(start, stop, event) ~ hsct)`` (Efron ties), fitted by lifelines'
``CoxTimeVaryingFitter`` (``lifelines_fit.time_varying_cox``).

Endpoints: OS and EFS from day 0; relapse (CIR's cause-specific hazard: relapse
the event, a competing death censored) from the first remission.
"""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.frames import require
from trial_outcomes.contracts import HsctTimeDependent

#: endpoint of the model -> (ADTTE PARAMCD, the event: CNSR 0, or for CIR event type 1)
ENDPOINTS = {"OS": "OS", "EFS": "EFS", "Relapse (cause-specific, from remission)": "CIR"}
MIN_EVENTS = 2


def counting_process(adtte: pl.DataFrame, adsl: pl.DataFrame, paramcd: str) -> pl.DataFrame:
    """Rows ``USUBJID, start, stop, event, hsct`` (days from the endpoint's start) of the
    primary analysis of ``paramcd``. A transplant after the start and before the end
    splits the subject's time; one on or before the start makes all of it ``hsct = 1``;
    one on or after the end leaves it ``hsct = 0``. Worked example
    (tests/analysis/test_time_dependent.py): OS of 300 days, HSCT on day 100 ->
    (0, 100, 0, 0) and (100, 300, 1, 1)."""
    require(adtte, "ADTTE", "USUBJID", "PARAMCD", "ANALYSIS", "STARTDT", "AVAL", "CNSR", "EVNTTYPE")
    require(adsl, "ADSL", "USUBJID", "HSCTDT")
    rows = adtte.filter((pl.col("PARAMCD") == paramcd) & (pl.col("ANALYSIS") == "primary")).join(
        adsl.select("USUBJID", "HSCTDT"), on="USUBJID", how="left"
    )
    event = (pl.col("EVNTTYPE") == 1) if paramcd == "CIR" else (pl.col("CNSR") == 0)
    rows = rows.select(
        "USUBJID",
        pl.col("AVAL").cast(pl.Float64).alias("_end"),
        event.fill_null(False).cast(pl.Int64).alias("_event"),
        (pl.col("HSCTDT") - pl.col("STARTDT")).dt.total_days().cast(pl.Float64).alias("_h"),
    ).filter(pl.col("_end") > 0)
    split = pl.col("_h").is_not_null() & (pl.col("_h") > 0) & (pl.col("_h") < pl.col("_end"))
    before_start = pl.col("_h").is_not_null() & (pl.col("_h") <= 0)
    whole = rows.filter(~split).select(
        "USUBJID",
        pl.lit(0.0).alias("start"),
        pl.col("_end").alias("stop"),
        pl.col("_event").alias("event"),
        before_start.cast(pl.Int64).alias("hsct"),
    )
    first = rows.filter(split).select(
        "USUBJID",
        pl.lit(0.0).alias("start"),
        pl.col("_h").alias("stop"),
        pl.lit(0, pl.Int64).alias("event"),
        pl.lit(0, pl.Int64).alias("hsct"),
    )
    second = rows.filter(split).select(
        "USUBJID",
        pl.col("_h").alias("start"),
        pl.col("_end").alias("stop"),
        pl.col("_event").alias("event"),
        pl.lit(1, pl.Int64).alias("hsct"),
    )
    return pl.concat([whole, first, second]).sort("USUBJID", "start")


def hsct_time_dependent(adtte: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """``hsct_time_dependent.csv``: for OS, EFS and relapse, the hazard ratio of HSCT as
    a time-dependent covariate with its Wald 95 % CI and p; empty, with the reason,
    when it cannot be estimated (no transplant, no event after one, fewer than
    ``MIN_EVENTS`` events)."""
    from trial_outcomes.analysis.lifelines_fit import time_varying_cox

    out = []
    for name, paramcd in ENDPOINTS.items():
        rows = counting_process(adtte, adsl, paramcd)
        subjects = rows["USUBJID"].n_unique()
        events = int(rows["event"].sum())
        transplanted = rows.filter(pl.col("hsct") == 1)["USUBJID"].n_unique()
        events_after = int(rows.filter(pl.col("hsct") == 1)["event"].sum())
        note = None
        fit = None
        if transplanted == 0:
            # a transplant on the last day followed is counted in the disposition table, with no
            # time after it here: "no subject transplanted" beside its 1 read as a contradiction
            # (a DSMB reviewer's early cut, 2026-12-07)
            note = "no subject with follow-up after a transplant (one on the last day followed has none)"
        elif events < MIN_EVENTS:
            note = f"fewer than {MIN_EVENTS} events"
        elif events_after in (0, events):
            note = "no event on one side of the transplant: the hazard ratio is not estimable (0 or infinite)"
        else:
            fit = time_varying_cox(rows)
            if fit.reason:
                note = fit.reason
        out.append(
            {
                "endpoint": name,
                "paramcd": paramcd,
                "n_subjects": subjects,
                "n_events": events,
                "n_transplanted": transplanted,
                "n_events_after_hsct": events_after,
                "hr": None if fit is None or fit.reason else fit.hr,
                "hr_lcl": None if fit is None or fit.reason else fit.lcl,
                "hr_ucl": None if fit is None or fit.reason else fit.ucl,
                "p": None if fit is None or fit.reason else fit.p,
                "note": note,
            }
        )
    schema = {name: col.dtype for name, col in HsctTimeDependent.columns().items()}
    return pl.DataFrame(out, schema=schema, orient="row")
