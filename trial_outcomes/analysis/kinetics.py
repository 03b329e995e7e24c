"""Cellular kinetics of the CAR transgene (docs/endpoints.md, "Cellular kinetics"): ADPC
(the transgene samples of ADLB), per subject Cmax, Tmax, AUC from day 0 to 28 by the
linear trapezoid and persistence (the last day with a quantifiable value), summarised by
response at day 28.

Values below the lower limit of quantification (``BLQFL = Y``) count as zero in Cmax and
the AUC (a sample before the expansion, or after the transgene is lost, adds no area), and
never as the last quantifiable day; a subject whose every sample in days 0-28 is BLQ has
no Cmax or Tmax, and an AUC of zero. The kinetics are the first product's: they end at the
first HSCT or new anti-leukaemia therapy, or at a second infusion, as the attribution of a
response and B-cell aplasia end at HSCT or new therapy.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass

import polars as pl

from trial_outcomes.analysis.frames import AnyFrame
from trial_outcomes.contracts import with_study

AUC_END_DAY = 28
RESPONSE_GROUPS = ("CR/CRi by day 28", "No CR/CRi by day 28", "All")
#: the subjects whose day-28 response is still pending at the cut (their own rows of the summary)
PENDING = "Pending"
#: infused, withdrawn before any assessment (``EFFFL`` N): no day-28 response, responder or not
#: (a DSMB reviewer found two such subjects among "No CR/CRi by day 28", 31 where the response
#: tables had 29 non-responders: 2026-12-07)
NOT_EVALUABLE = "Not evaluable for response"


@dataclass(frozen=True)
class KineticsTables:
    """The kinetics of a cut: parameters per subject, their summary, and ADPC (the plot)."""

    parameters: pl.DataFrame
    summary: pl.DataFrame
    adpc: pl.DataFrame


#: the ADLB columns ADPC is made of (a run reads these of the stored ADLB alone)
ADPC_ADLB_COLUMNS = ("USUBJID", "PARAMCD", "PARAM", "ADT", "ADY", "AVAL", "AVALU", "BLQFL")


def derive_adpc(adlb: AnyFrame) -> pl.DataFrame:
    """ADPC: the CAR transgene rows of ADLB, a row per subject and sample with its study
    day (``ADY``, the nominal-free actual day from infusion) and the BLQ flag. ``adlb`` may
    be a scan of the stored dataset: its transgene rows alone are read (at 100,000
    subjects 0.95 of 7.6 million rows, 0.1 s where loading ADLB whole took 0.45 s and
    filtering it 0.3 s)."""
    part = (
        adlb.lazy()
        .filter(pl.col("PARAMCD") == "CAR_TRANSGENE")
        .select(ADPC_ADLB_COLUMNS)
        .collect()
        .sort("USUBJID", "ADT")  # (subject, test, date) is ADLB's unique key: no ties
    )
    return with_study(
        part.select(
            "USUBJID",
            (pl.int_range(pl.len()).over("USUBJID") + 1).cast(pl.Int64).alias("PCSEQ"),
            "PARAMCD",
            "PARAM",
            "ADT",
            "ADY",
            "AVAL",
            "AVALU",
            "BLQFL",
        )
    )


def _interval_areas() -> pl.Expr:
    """Each sample's interval to the subject's next sample (rows sorted by subject and
    day ``ADY``, values ``_v``): its linear trapezoid, (d2 - d1) (v1 + v2) / 2; null at
    the subject's last sample."""
    same = pl.col("USUBJID").shift(-1) == pl.col("USUBJID")
    width = (pl.col("ADY").shift(-1) - pl.col("ADY")).cast(pl.Float64)
    return pl.when(same).then(width * (pl.col("_v") + pl.col("_v").shift(-1)) / 2)


def _area(areas: pl.Expr) -> pl.Expr:
    """The intervals' areas added in day order, one after the other, each addition rounded (a
    cumulative sum's last value): the AUC the loop over subjects gave on Python 3.11.
    polars' ``sum`` in a group adds in another order, and Python 3.12's ``sum`` compensates
    its rounding: either can differ in the last bit (a reviewer found 2 of 20,000
    subjects' AUCs differ with polars' ``sum``)."""
    return areas.drop_nulls().cum_sum().last()


def trapezoid(days: list[int], values: list[float]) -> float:
    """The linear trapezoidal area under ``values`` over ``days`` (ascending)."""
    frame = pl.DataFrame(
        {"USUBJID": ["S"] * len(days), "ADY": days, "_v": values},
        schema={"USUBJID": pl.String, "ADY": pl.Int64, "_v": pl.Float64},
    )
    area = frame.with_columns(_interval_areas().alias("_area")).select(_area(pl.col("_area"))).item()
    return 0.0 if area is None else float(area)


#: the ADSL columns ``parameters`` reads
ADSL_COLUMNS = (
    "USUBJID",
    "SAFFL",
    "EFFFL",
    "TRTSDT",
    "DTHDT",
    "CRFL",
    "D28PNDFL",
    "ATTRENDT",
    "TR02SDT",
    "WDDT",
    "LOSTDT",
)


def _first_product_end() -> pl.Expr:
    """The day the first product's kinetics stop being its own: the first HSCT or new
    anti-leukaemia therapy (``ATTRENDT``: conditioning or another therapy acts on the
    cells) or a re-infusion (``TR02SDT``, the first infusion more than
    ``timeline.SPLIT_DOSE_DAYS`` after day 0: its expansion is the new product's; a split
    dose's fraction on day 1 is the first product's, which a red team's drop lost whole),
    the earlier; null when neither."""
    return pl.min_horizontal("ATTRENDT", "TR02SDT")


def parameters(adpc: pl.DataFrame, adsl: pl.DataFrame, cut: dt.date | None = None) -> pl.DataFrame:
    """``kinetics.csv``: per infused subject with a transgene sample on day 0 or later
    and before the first product's kinetics end (HSCT, new therapy or a second infusion,
    ``_first_product_end``: the samples from then on are counted in ``n_set_aside``, not
    used; until 2026-12-01 they were, and 49 of the sample's 113 subjects had their last
    quantifiable day after an HSCT or a new therapy): Cmax and Tmax over days 0-28 (the
    first day of the largest quantifiable value), AUC from day 0 to the last sample on or
    before day 28 (no extrapolation; empty with fewer than two samples) and the last
    quantifiable day at the cut, with the day-28 response (outside the efficacy set:
    ``NOT_EVALUABLE``; else pending, or CR or CRi by day 28, ``CRFL``: until 2026-11-30
    ``CR28FL``, CR alone, which put a CRi among the non-responders under the label "CR/CRi
    by day 28").
    A subject alive whose day 28 is after the cut, the window not closed by the end above,
    has no Cmax, Tmax or AUC yet (a partial window would understate them); nor has one
    whose end above falls on or before day 28 (a new therapy on day 8 left an AUC of days
    0-7 among the non-responders', whom early new therapy concerns most: 5,580 for
    374,675), nor one every sample of which is set aside (listed, with no sample used), nor
    one who withdrew or was lost to follow-up before day 28 (the window unseen, as early
    ICAHT's: a red team's subject withdrawn on day 10 had days 0-10 taken for the whole,
    and with every sample BLQ was called a non-expander)."""
    infused = adsl.filter(pl.col("SAFFL") == "Y").select(
        "USUBJID",
        "EFFFL",
        "CRFL",
        "D28PNDFL",
        "TRTSDT",
        "DTHDT",
        _first_product_end().alias("ENDDT"),
        pl.min_horizontal("WDDT", "LOSTDT").alias("LEFTDT"),
    )
    # the samples on day 0 or later; "own": before the first product's kinetics end
    own = pl.col("ENDDT").is_null() | (pl.col("ADT") < pl.col("ENDDT"))
    samples = (
        adpc.lazy()
        .filter(pl.col("ADY") >= 0)
        .join(infused.lazy().select("USUBJID", "ENDDT"), on="USUBJID", how="inner")
        .group_by("USUBJID")
        .agg(own.sum().alias("n_samples"), pl.len().alias("_n"))
    )
    # each subject's own samples in day order (one a day: ADLB's key), BLQ as zero
    quantified = pl.when(pl.col("BLQFL") == "Y").then(0.0).otherwise(pl.col("AVAL"))
    used = (
        adpc.lazy()
        .filter(pl.col("ADY") >= 0)
        .join(infused.lazy().select("USUBJID", "ENDDT"), on="USUBJID", how="inner")
        .filter(own)
        .select("USUBJID", "ADY", quantified.alias("_v"))
        .sort("USUBJID", "ADY")
    )
    # the linear trapezoid of each interval of days 0-28 (``trapezoid``'s)
    early = used.filter(pl.col("ADY") <= AUC_END_DAY).with_columns(_interval_areas().alias("_area"))
    peak = pl.col("_v").max()
    by_early = early.group_by("USUBJID").agg(
        pl.len().alias("_early"),
        peak.alias("_peak"),
        pl.col("ADY").filter(pl.col("_v") == peak).min().alias("_tmax"),
        _area(pl.col("_area")).alias("_auc"),
    )
    by_all = used.group_by("USUBJID").agg(pl.col("ADY").filter(pl.col("_v") > 0).max().alias("tlast_day"))
    found = (
        samples.join(by_early, on="USUBJID", how="left")
        .join(by_all, on="USUBJID", how="left")
        .join(infused.lazy(), on="USUBJID", how="left")
        .sort("USUBJID")
        .collect()
    )
    trtsdt = pl.col("TRTSDT")
    cut_short = ((pl.col("ENDDT") - trtsdt).dt.total_days() <= AUC_END_DAY).fill_null(False) | (
        (pl.col("LEFTDT") - trtsdt).dt.total_days() < AUC_END_DAY
    ).fill_null(False)
    ended = pl.col("DTHDT").is_not_null() | pl.col("ENDDT").is_not_null()  # by death, or by the end above
    window_open = pl.lit(False)
    if cut is not None:
        window_open = ~ended & ((pl.lit(cut, pl.Date) - trtsdt).dt.total_days() < AUC_END_DAY)
    # the window is open at the cut, or not the first product's whole: no Cmax, Tmax or AUC
    whole = ~(window_open | cut_short | (pl.col("n_samples") == 0))
    peak_whole = pl.when(whole).then(pl.col("_peak").fill_null(0.0)).otherwise(0.0)
    group = (
        pl.when(pl.col("EFFFL") != "Y")
        .then(pl.lit(NOT_EVALUABLE))
        .when(pl.col("D28PNDFL") == "Y")
        .then(pl.lit(PENDING))
        .when(pl.col("CRFL") == "Y")
        .then(pl.lit(RESPONSE_GROUPS[0]))
        .otherwise(pl.lit(RESPONSE_GROUPS[1]))
    )
    return found.select(
        "USUBJID",
        group.alias("response"),
        "n_samples",
        (pl.col("_n") - pl.col("n_samples")).alias("n_set_aside"),
        pl.when(peak_whole > 0).then(peak_whole).alias("cmax"),
        pl.when(whole & (pl.col("_peak") > 0)).then(pl.col("_tmax")).alias("tmax_day"),
        pl.when(whole & (pl.col("_early") >= 2)).then(pl.col("_auc")).alias("auc_0_28"),
        "tlast_day",
        # days 0-28 seen whole with samples in them, none quantifiable: no measurable expansion
        pl.when(whole).then(pl.col("_early").fill_null(0).gt(0) & (peak_whole == 0)).alias("no_expansion"),
    ).cast(KINETICS_SCHEMA)


KINETICS_SCHEMA = pl.Schema(
    {
        "USUBJID": pl.String,
        "response": pl.String,
        "n_samples": pl.Int64,
        "n_set_aside": pl.Int64,
        "cmax": pl.Float64,
        "tmax_day": pl.Int64,
        "auc_0_28": pl.Float64,
        "tlast_day": pl.Int64,
        "no_expansion": pl.Boolean,
    }
)


def geometric(values: list[float]) -> tuple[float | None, float | None]:
    """Geometric mean and geometric CV% (100 sqrt(exp(s^2) - 1), s the SD of the logs)
    of the positive ``values``; the CV needs two."""
    logs = [math.log(v) for v in values if v is not None and v > 0]
    if not logs:
        return None, None
    mean = math.exp(statistics.fmean(logs))
    if len(logs) < 2:
        return mean, None
    variance = statistics.variance(logs)
    # exp overflows past a variance of about 709 (values 1 and 1e17 apart in two subjects):
    # the CV is then not a number a table can hold, and is left empty
    cv = 100 * math.sqrt(math.expm1(variance)) if variance < 700 else None
    return mean, cv


def summary(params: pl.DataFrame) -> pl.DataFrame:
    """``kinetics_summary.csv``: by day-28 response (CR/CRi, not, pending when any
    subject's response is pending at the cut, and not evaluable when an infused subject
    withdrew before any assessment, ``NOT_EVALUABLE``) and over all: subjects, geometric mean and
    geometric CV% of Cmax and AUC0-28d, median and range of Tmax and of the last
    quantifiable day. The groups add up to All (a reviewer's early cut counted 15 pending
    subjects in All and in no group: 20 + 11 of 38). ``n_subjects`` is the group's
    subjects and ``n_no_expansion`` those with no quantifiable sample in days 0-28
    (``no_expansion``), whom a geometric mean over positive values leaves out (a red team's non-expander
    left the table, its group's n 13 -> 12, without a word)."""
    rows = []
    present = set(params["response"].to_list())
    groups = (*RESPONSE_GROUPS[:2], *[g for g in (PENDING, NOT_EVALUABLE) if g in present], RESPONSE_GROUPS[2])
    for group in groups:
        part = params if group == "All" else params.filter(pl.col("response") == group)
        for name, column in (("Cmax", "cmax"), ("AUC0-28d", "auc_0_28"), ("Tmax", "tmax_day"), ("Tlast", "tlast_day")):
            values = [float(v) for v in part[column].drop_nulls().to_list()]
            if name in ("Cmax", "AUC0-28d"):
                centre, spread = geometric(values)
                n = sum(1 for v in values if v > 0)
                low = high = None
            else:
                centre = statistics.median(values) if values else None
                spread = None
                n = len(values)
                low, high = (min(values), max(values)) if values else (None, None)
            rows.append(
                {
                    "response": group,
                    "parameter": name,
                    "n": n,
                    "n_subjects": part.height,
                    "n_no_expansion": int(part["no_expansion"].fill_null(False).sum()),
                    "centre": centre,
                    "geo_cv_pct": spread,
                    "low": low,
                    "high": high,
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "response": pl.String,
            "parameter": pl.String,
            "n": pl.Int64,
            "n_subjects": pl.Int64,
            "n_no_expansion": pl.Int64,
            "centre": pl.Float64,
            "geo_cv_pct": pl.Float64,
            "low": pl.Float64,
            "high": pl.Float64,
        },
        orient="row",
    )
