"""HSCT landmark analysis (endpoints.md: never a plain log-rank on "ever had HSCT").

Subjects in remission by the landmark day L after infusion, without relapse by
then and still followed for the endpoint after it (each endpoint its own set: OS
takes a subject alive after L whose last assessment in remission was before L,
DFS does not, since its time ends there) are grouped by consolidative HSCT on or
before day L; survival is then measured
from the landmark. A transplant after day L leaves the subject in the
no-HSCT group (the group is fixed at the landmark).
"""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.comparisons import group_hazard_ratio, logrank_test
from trial_outcomes.analysis.km import fit_km
from trial_outcomes.contracts import HsctLandmark

HSCT_GROUP, NO_HSCT_GROUP = "HSCT by landmark", "No HSCT by landmark"


def landmark_cohort(adtte: pl.DataFrame, adsl: pl.DataFrame, endpoint: str, landmark_day: int) -> pl.DataFrame:
    """Primary-analysis rows of ``endpoint`` (OS or DFS) for subjects in remission
    by the landmark, without relapse and still followed after it; ``LMAVAL`` is
    days from the landmark, ``LMGROUP`` the HSCT status at the landmark."""
    dates = adsl.select("USUBJID", "TRTSDT", "FRMDT", "RELDT", "HSCTDT")
    lm = pl.col("TRTSDT") + pl.duration(days=landmark_day)
    return (
        adtte.filter((pl.col("PARAMCD") == endpoint) & (pl.col("ANALYSIS") == "primary"))
        .join(dates, on="USUBJID", how="left")
        .filter((pl.col("FRMDT") <= lm) & (pl.col("RELDT").is_null() | (pl.col("RELDT") > lm)) & (pl.col("ADT") > lm))
        .with_columns(
            (pl.col("ADT") - lm).dt.total_days().alias("LMAVAL"),
            pl.when(pl.col("HSCTDT") <= lm).then(pl.lit(HSCT_GROUP)).otherwise(pl.lit(NO_HSCT_GROUP)).alias("LMGROUP"),
        )
    )


def hsct_landmark(adtte: pl.DataFrame, adsl: pl.DataFrame, landmark_day: int) -> pl.DataFrame:
    """One row per endpoint (OS, DFS) and landmark group: n, events, median from
    the landmark, log-rank and the Cox HR of HSCT vs none (repeated per group),
    with the reason when a statistic is empty."""
    rows = []
    for endpoint in ("OS", "DFS"):
        cohort = landmark_cohort(adtte, adsl, endpoint, landmark_day)
        event = (1 - cohort["CNSR"]).to_numpy()
        test = logrank_test(cohort["LMAVAL"].to_numpy(), event, cohort["LMGROUP"].to_numpy())
        data = cohort.with_columns(
            (1 - pl.col("CNSR")).alias("_event"),
            pl.col("LMAVAL").cast(pl.Float64).alias("_time"),
            (pl.col("LMGROUP") == HSCT_GROUP).cast(pl.Int8).alias("_hsct"),
        )
        hr = group_hazard_ratio(data, "_time", "_event", "_hsct")
        notes = [
            f"{test.test}: {test.remark}" if test.remark else "",
            f"hazard ratio: {hr.reason}" if hr.reason else "",
        ]
        for group in (HSCT_GROUP, NO_HSCT_GROUP):
            part = cohort.filter(pl.col("LMGROUP") == group)
            km = fit_km(part["LMAVAL"].to_numpy(), (1 - part["CNSR"]).to_numpy())
            median = km.median() if part.height else (None, None, None)
            rows.append(
                {
                    "endpoint": endpoint,
                    "landmark_day": landmark_day,
                    "group": group,
                    "n": part.height,
                    "n_events": int((part["CNSR"] == 0).sum()),
                    "median_days_from_landmark": median[0],
                    "median_lcl": median[1],
                    "median_ucl": median[2],
                    "logrank_chisq": test.statistic,
                    "logrank_p": test.p_value,
                    "hr_hsct": hr.hr,
                    "hr_lcl": hr.lcl,
                    "hr_ucl": hr.ucl,
                    "note": "; ".join(n for n in notes if n) or None,
                }
            )
    schema = {name: col.dtype for name, col in HsctLandmark.columns().items()}
    return pl.DataFrame(rows, schema=schema, orient="row")
