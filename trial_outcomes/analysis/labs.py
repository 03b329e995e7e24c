"""Laboratory toxicity from the optional labs file (docs/endpoints.md, "Laboratory
toxicity, haematotoxicity and B-cell aplasia"): ADLB with CTCAE v5 grades and the
baseline, shift tables from baseline to the worst post-infusion grade, immune effector
cell-associated haematotoxicity (ICAHT, EHA/EBMT 2023), time to count recovery, IgG over
time and hypogammaglobulinaemia, and the duration of B-cell aplasia (a Kaplan-Meier of
time to B-cell recovery) beside the CD19 status of each relapse.

Every rule reads the ADLB row's study day (``ADY``, day 0 = the first infusion) and stops
at the end of attribution (``ATTRENDT``: the first HSCT or new anti-leukaemia therapy),
as the adverse events do: a count after a transplant is the transplant's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from trial_outcomes.analysis.km import KMFit, fit_km
from trial_outcomes.analysis.timeline import study_day
from trial_outcomes.contracts import ADLB, with_study
from trial_outcomes.schema import LAB_UNITS

#: the tests graded by CTCAE v5 (decreased counts; haemoglobin: anaemia, grade 3 at most)
GRADED = ("ANC", "PLT", "HGB")
PARAM = {
    "ANC": "Neutrophils (10^9/L)",
    "PLT": "Platelets (10^9/L)",
    "HGB": "Haemoglobin (g/dL)",
    "IGG": "Immunoglobulin G (g/L)",
    "BCELL": "CD19+ B cells (cells/uL)",
    "CAR_TRANSGENE": "CAR transgene (copies/ug gDNA)",
    "CRP": "C-reactive protein (mg/L)",
    "FERRITIN": "Ferritin (ug/L)",
}
#: CTCAE v5 cut-offs below the LLN, grade 2 upwards: a value below the n-th is grade n + 2
CTCAE_BELOW = {"ANC": (1.5, 1.0, 0.5), "PLT": (75.0, 50.0, 25.0), "HGB": (10.0, 8.0)}
EARLY_ICAHT_DAYS = 30  # early ICAHT: days 0-30
#: IgG over time: windows of study days after the infusion (the lowest value in each)
IGG_WINDOWS: tuple[tuple[str, int, int], ...] = (
    ("Months 1-3", 1, 91),
    ("Months 4-6", 92, 183),
    ("Months 7-12", 184, 365),
    ("Months 13-24", 366, 730),
    ("After month 24", 731, 100_000),
)
ANC_RECOVERED = 0.5  # 10^9/L
PLT_RECOVERED = 50.0  # 10^9/L


@dataclass(frozen=True)
class LabTables:
    """The laboratory-toxicity tables of a cut, as the report and the figures take them."""

    shifts: pl.DataFrame
    subjects: pl.DataFrame
    igg: pl.DataFrame
    bcell_curve: pl.DataFrame
    has_labs: bool


@dataclass(frozen=True)
class Limits:
    """The plan's ``[labs]`` choices the rules need."""

    anc_lln: float = 1.5
    plt_lln: float = 150.0
    hgb_lln: float = 11.0
    bcell_aplasia_below: float = 50.0
    igg_low: float = 4.0

    def lln(self, test: str) -> float:
        return {"ANC": self.anc_lln, "PLT": self.plt_lln, "HGB": self.hgb_lln}[test]


def ctcae_grade(test: str, value: pl.Expr, lln: float) -> pl.Expr:
    """CTCAE v5 grade of a decreased count: 0 at or above the LLN; grade 1 below the LLN;
    grade 2, 3 and 4 below each cut-off of ``CTCAE_BELOW`` (neutrophils < 1.5, < 1.0,
    < 0.5; platelets < 75, < 50, < 25; haemoglobin < 10, < 8, where anaemia ends at grade
    3). An LLN at or below the grade-2 cut-off leaves grade 1 empty."""
    below = [(value < lln).cast(pl.Int64)]
    below += [(value < cut).cast(pl.Int64) * (i + 2) for i, cut in enumerate(CTCAE_BELOW[test])]
    return pl.when(value.is_not_null()).then(pl.max_horizontal(below)).cast(pl.Int64)


#: the ADSL columns ``derive_adlb`` reads
ADLB_ADSL_COLUMNS = ("USUBJID", "TRTSDT", "LDSTDT", "ATTRENDT")
#: the ADLB columns the toxicity tables read (``lab_shifts``, ``lab_subjects``,
#: ``igg_summary``): 7 of 15, at 100,000 subjects 7.6 million rows
TOXICITY_ADLB_COLUMNS = ("USUBJID", "PARAMCD", "ADY", "AVAL", "ONTRTFL", "ABLFL", "ATOXGR")
#: the ADSL columns ``lab_subjects`` and ``lab_shifts`` read
TOXICITY_ADSL_COLUMNS = (
    "USUBJID",
    "SAFFL",
    "TRTSDT",
    "ATTRENDT",
    "DTHDT",
    "WDDT",
    "LOSTDT",
    "FRMDT",
    "RELDT",
    "RELCD19",
)


def derive_adlb(labs: pl.DataFrame, adsl: pl.DataFrame, limits: Limits) -> pl.DataFrame:
    """ADLB: a row per subject, date and test at the cut, with the study day, the BLQ
    flag, the baseline (``ABLFL``: the last value on or before the day lymphodepletion
    started), CTCAE grades of the value and of the baseline, and ``ONTRTFL``: after the
    infusion (day >= 1) and before the end of attribution."""
    subjects = adsl.lazy().select("USUBJID", "TRTSDT", "LDSTDT", "ATTRENDT")
    blq = pl.col("below_lloq") if "below_lloq" in labs.columns else pl.lit(None, pl.Boolean)
    # the baseline by windows over (subject, test) of the rows sorted once, not by joins of
    # the whole table to itself: at 100,000 subjects (7.6 million lab rows) the joins and
    # the second sort held 3.8 GB, the peak of the run. The rows sorted, each (subject, test)
    # is one run of rows: the windows are over the run's number, not over two texts
    # (1.3 -> 0.3 s for the baseline flag at 100,000 subjects)
    key = "_run"
    by_lymphodepletion = pl.col("LDSTDT").is_not_null() & (pl.col("ADT") <= pl.col("LDSTDT"))
    baseline_date = pl.col("ADT").filter(by_lymphodepletion).max()
    grade = pl.lit(None, pl.Int64)
    base_grade = pl.lit(None, pl.Int64)
    for test in GRADED:
        is_test = pl.col("PARAMCD") == test
        grade = pl.when(is_test).then(ctcae_grade(test, pl.col("AVAL"), limits.lln(test))).otherwise(grade)
        base_grade = pl.when(is_test).then(ctcae_grade(test, pl.col("BASE"), limits.lln(test))).otherwise(base_grade)
    on_treatment = (pl.col("ADY") >= 1) & (pl.col("ATTRENDT").is_null() | (pl.col("ADT") < pl.col("ATTRENDT")))
    frame = (
        labs.lazy()
        .select(
            pl.col("subject_id").alias("USUBJID"),
            pl.col("test").alias("PARAMCD"),
            pl.col("sample_date").alias("ADT"),
            pl.col("value").cast(pl.Float64).alias("AVAL"),
            pl.when(blq.fill_null(False)).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("BLQFL"),
        )
        .join(subjects, on="USUBJID", how="left")
        .sort("USUBJID", "PARAMCD", "ADT")  # the key is unique: one order, the same bytes
        .with_columns(pl.struct("USUBJID", "PARAMCD").rle_id().alias(key))
        .with_columns(
            study_day(pl.col("ADT")).alias("ADY"),
            pl.when(pl.col("ADT") == baseline_date.over(key)).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("ABLFL"),
            pl.col("AVAL").filter(pl.col("ADT") == baseline_date).first().over(key).alias("BASE"),
        )
        .with_columns(
            pl.col("PARAMCD").replace_strict(PARAM, return_dtype=pl.String).alias("PARAM"),
            pl.col("PARAMCD").replace_strict(LAB_UNITS, return_dtype=pl.String).alias("AVALU"),
            grade.alias("ATOXGR"),
            base_grade.alias("BTOXGR"),
            pl.when(on_treatment.fill_null(False)).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("ONTRTFL"),
            (pl.int_range(pl.len()).over("USUBJID") + 1).cast(pl.Int64).alias("LBSEQ"),
        )
        .select(c for c in ADLB.column_names() if c != "STUDYID")  # the contract's columns; with_study adds it
        .collect()
    )
    return with_study(frame)


def _grade_text(grade: pl.Expr) -> pl.Expr:
    return grade.cast(pl.String).fill_null("Missing")


def lab_shifts(adlb: pl.DataFrame, adsl: pl.DataFrame, collected: bool = True) -> pl.DataFrame:
    """``lab_shifts.csv``: per graded test, the infused subjects (the safety set, as a
    shift table's population is) counted by CTCAE grade at baseline (or Missing) against
    the worst grade after infusion (or Missing): a subject with no value of the test is
    Missing to Missing, so a table of 1 subject with values in a trial of 113 says the
    other 112 (it left them out). No rows when the labs were not ``collected`` (a drop
    without the labs file): never collected is not missing."""
    if not collected:
        return pl.DataFrame(schema=SHIFT_SCHEMA)
    infused = adsl.filter(pl.col("SAFFL") == "Y").select("USUBJID")
    rows = []
    for test in GRADED:
        part = adlb.filter(pl.col("PARAMCD") == test)
        base = part.filter(pl.col("ABLFL") == "Y").select("USUBJID", pl.col("ATOXGR").alias("_base"))
        worst = part.filter(pl.col("ONTRTFL") == "Y").group_by("USUBJID").agg(pl.col("ATOXGR").max().alias("_worst"))
        both = infused.join(base, on="USUBJID", how="left").join(worst, on="USUBJID", how="left")
        counted = both.group_by(
            _grade_text(pl.col("_base")).alias("baseline_grade"), _grade_text(pl.col("_worst")).alias("worst_grade")
        ).agg(pl.len().cast(pl.Int64).alias("n"))
        rows.append(counted.with_columns(pl.lit(test).alias("PARAMCD"), pl.lit(both.height).alias("n_subjects")))
    out = pl.concat(rows).select("PARAMCD", "baseline_grade", "worst_grade", "n", pl.col("n_subjects").cast(pl.Int64))
    return out.sort("PARAMCD", "baseline_grade", "worst_grade").cast(SHIFT_SCHEMA)


SHIFT_SCHEMA = pl.Schema(
    {"PARAMCD": pl.String, "baseline_grade": pl.String, "worst_grade": pl.String, "n": pl.Int64, "n_subjects": pl.Int64}
)


def _days_below(days: list[int], values: list[float], end: int, threshold: float) -> int:
    """Days 0..``end`` on which the last value on or before the day (carried forward) is
    at or below ``threshold``; days before the first value are not counted."""
    count = 0
    for j, (day, value) in enumerate(zip(days, values, strict=True)):
        if value > threshold:
            continue
        # the value holds from its day (day 0 at the earliest) to the day before the next sample
        first = max(day, 0)
        last = min(days[j + 1] - 1, end) if j + 1 < len(days) else end
        count += max(0, last - first + 1)
    return count


def early_icaht(days_le500: int, days_le100: int) -> int:
    """Early ICAHT grade (EHA/EBMT 2023, days 0-30), the higher of two criteria: ANC
    <= 0.5 x 10^9/L for 1-6 days grade 1, 7-13 days grade 2, 14 or more grade 3; ANC <=
    0.1 x 10^9/L for 1-6 days grade 3, 7 or more grade 4."""
    by500 = 0 if days_le500 == 0 else 1 if days_le500 < 7 else 2 if days_le500 < 14 else 3
    by100 = 0 if days_le100 == 0 else 3 if days_le100 < 7 else 4
    return max(by500, by100)


#: why an infused subject with labs has an early ICAHT grade or has none (``lab_subjects.csv``)
EARLY_GRADED = "graded"
EARLY_PENDING = "pending"
EARLY_LEFT = "left before day 30"
EARLY_NO_ANC = "no ANC in days 0-30"


def early_status(evaluable: bool, closed: bool, left_first: bool) -> str:
    """Graded; pending (day 30 after the cut: a later cut grades it); left before day 30
    (a withdrawal or loss to follow-up came first: the window is never seen to its end,
    so no later cut grades it); or no ANC in the closed window (a reviewer found six
    subjects who had left called pending at every cut, and the report's population, "with
    an ANC in days 0-30", leaving them out without a word)."""
    if evaluable:
        return EARLY_GRADED
    if closed:
        return EARLY_NO_ANC
    return EARLY_LEFT if left_first else EARLY_PENDING


def late_icaht(values: list[float]) -> int | None:
    """Late ICAHT grade (after day 30): ANC <= 1.5 grade 1, <= 1.0 grade 2, <= 0.5 grade 3,
    <= 0.1 grade 4 (10^9/L), in at least two samples (non-transient): the second-worst
    sample's grade. With fewer than two samples it cannot be graded: None, not evaluable
    (a red team's subject whose one late ANC was 0.19 counted as grade 0, and 16 such
    subjects enlarged the late table's denominator from 68 to 84)."""
    grades = sorted(
        (4 if v <= 0.1 else 3 if v <= 0.5 else 2 if v <= 1.0 else 1 if v <= 1.5 else 0 for v in values), reverse=True
    )
    return grades[1] if len(grades) >= 2 else None


def recovery_day(days: list[int], values: list[float], level: float) -> tuple[int | None, bool]:
    """(day, low): the first sample at or above ``level`` after the first sample below it,
    kept only when the next sample, if any, is at or above it too (a stable recovery);
    ``low`` says whether any sample was below it."""
    first_low = next((i for i, v in enumerate(values) if v < level), None)
    if first_low is None:
        return None, False
    for i in range(first_low + 1, len(values)):
        if values[i] >= level and (i + 1 == len(values) or values[i + 1] >= level):
            return days[i], True
    return None, True


def _series(
    adlb: pl.DataFrame, test: str, on_treatment_from: int = 0, attributed_only: bool = True
) -> dict[str, tuple[list[int], list[float]]]:
    """Per subject, the days and values of ``test`` from ``on_treatment_from`` to the end
    of attribution (``attributed_only``; else to the cut), in day order."""
    attributed = (pl.col("ONTRTFL") == "Y") | (pl.col("ADY") == 0) if attributed_only else pl.lit(True)
    part = adlb.filter((pl.col("PARAMCD") == test) & (pl.col("ADY") >= on_treatment_from) & attributed).sort(
        "USUBJID", "ADY"
    )
    grouped = part.group_by("USUBJID", maintain_order=True).agg(pl.col("ADY"), pl.col("AVAL"))
    # whole columns to Python at once (row by row was 0.6 s a test at 100,000 subjects)
    series = zip(grouped["ADY"].to_list(), grouped["AVAL"].to_list(), strict=True)
    return dict(zip(grouped["USUBJID"].to_list(), series, strict=True))


def _last_before_day0(adlb: pl.DataFrame, test: str) -> dict[str, float]:
    part = adlb.filter((pl.col("PARAMCD") == test) & (pl.col("ADY") < 0)).sort("ADY")
    return dict(part.group_by("USUBJID").agg(pl.col("AVAL").last()).iter_rows())


def lab_subjects(
    adlb: pl.DataFrame, adsl: pl.DataFrame, cut: dt.date, limits: Limits, collected: bool = True
) -> pl.DataFrame:
    """``lab_subjects.csv``: per infused subject, the days of ANC <= 0.5 and <= 0.1 in
    days 0-30, early and late ICAHT, days to ANC and platelet recovery,
    hypogammaglobulinaemia, and B-cell aplasia: its time to recovery (or censoring) for
    the Kaplan-Meier, and the B-cell status before a relapse. Every infused subject has a
    row, one without any laboratory value too (a red team's five subjects with no lab row
    left early ICAHT's population, and page 1's, without a word: now "no ANC in days
    0-30" once their window closes); no rows when the labs were not ``collected``."""
    if not collected:
        return pl.DataFrame(schema=LAB_SUBJECT_SCHEMA)
    # only the columns read here: a row of every ADSL column was built for each subject
    infused = adsl.filter(pl.col("SAFFL") == "Y").select(
        "USUBJID", "TRTSDT", "WDDT", "LOSTDT", "DTHDT", "ATTRENDT", "RELDT", "FRMDT", "RELCD19"
    )
    anc = _series(adlb, "ANC")
    anc_before = _last_before_day0(adlb, "ANC")
    plt_ = _series(adlb, "PLT")
    bcell = _series(adlb, "BCELL", on_treatment_from=1)
    # the count before a relapse is read whatever came between (a relapse after an HSCT was
    # given a count from before the HSCT, 90 days old, labelled "aplasia at relapse")
    bcell_any = _series(adlb, "BCELL", on_treatment_from=1, attributed_only=False)
    igg = _series(adlb, "IGG", on_treatment_from=1)
    rows = []
    for r in infused.iter_rows(named=True):
        sid = r["USUBJID"]
        day0 = r["TRTSDT"]
        # withdrawn or lost to follow-up: the counts stop there, and the window is not seen to
        # its end (a count on day 3 was carried to day 30 past a withdrawal on day 5)
        left = min((d for d in (r["WDDT"], r["LOSTDT"]) if d is not None), default=None)
        stops = [d for d in (r["DTHDT"], r["ATTRENDT"], left, cut) if d is not None]
        last_day = (min(stops) - day0).days - (1 if r["ATTRENDT"] is not None and min(stops) == r["ATTRENDT"] else 0)
        end = min(EARLY_ICAHT_DAYS, last_day)
        days, values = anc.get(sid, ([], []))
        early = [(d, v) for d, v in zip(days, values, strict=True) if d <= EARLY_ICAHT_DAYS]
        # evaluable: an ANC after the infusion in days 0-30, and the window closed at the cut
        # (day 30 reached, or ended by death, HSCT or new therapy, not by the cut or the
        # subject's leaving); a count before day 0 alone grades nothing. A death, HSCT or new
        # therapy on the cut date or the day the subject left still closes it (a red team's
        # death on the cut date left the subject pending: 19 of 52 evaluable for 19 of 53)
        closed = end == EARLY_ICAHT_DAYS or min(stops) in (r["DTHDT"], r["ATTRENDT"])
        evaluable = bool(early) and end >= 0 and closed
        status = early_status(evaluable, closed, left is not None and min(stops) == left)
        if sid in anc_before and early and early[0][0] > 0:
            early = [(0, anc_before[sid]), *early]  # the count carried into day 0
        d500 = _days_below([d for d, _ in early], [v for _, v in early], end, 0.5) if evaluable else None
        d100 = _days_below([d for d, _ in early], [v for _, v in early], end, 0.1) if evaluable else None
        late = [v for d, v in zip(days, values, strict=True) if d > EARLY_ICAHT_DAYS]
        anc_rec, anc_low = recovery_day(days, values, ANC_RECOVERED)
        pdays, pvalues = plt_.get(sid, ([], []))
        plt_rec, plt_low = recovery_day(pdays, pvalues, PLT_RECOVERED)
        bdays, bvalues = bcell.get(sid, ([], []))
        aplasia = [i for i, v in enumerate(bvalues) if v < limits.bcell_aplasia_below]
        b_time: int | None = None
        b_event: bool | None = None
        if aplasia:
            recovered = next(
                (i for i in range(aplasia[0] + 1, len(bvalues)) if bvalues[i] >= limits.bcell_aplasia_below), None
            )
            b_event = recovered is not None
            b_time = bdays[recovered] if recovered is not None else bdays[-1]
        relapse_day = (r["RELDT"] - day0).days if r["RELDT"] is not None else None
        at_relapse = None
        if relapse_day is not None:
            every_day, every_value = bcell_any.get(sid, ([], []))
            before = [v for d, v in zip(every_day, every_value, strict=True) if d <= relapse_day]
            if not before:
                at_relapse = "No B-cell count before relapse"
            elif before[-1] < limits.bcell_aplasia_below:
                at_relapse = "B-cell aplasia at relapse"
            else:
                at_relapse = "B cells recovered before relapse"
        _, ivalues = igg.get(sid, ([], []))
        rows.append(
            {
                "USUBJID": sid,
                "anc_le500_days": d500,
                "anc_le100_days": d100,
                "early_icaht": early_icaht(d500, d100) if d500 is not None and d100 is not None else None,
                "early_icaht_status": status,
                "late_icaht": late_icaht(late),
                "anc_below_05": anc_low if values else None,
                "anc_recovery_day": anc_rec,
                "plt_below_50": plt_low if pvalues else None,
                "plt_recovery_day": plt_rec,
                "igg_min": min(ivalues) if ivalues else None,
                "igg_low": (min(ivalues) < limits.igg_low) if ivalues else None,
                "bcell_aplasia": bool(aplasia) if bvalues else None,
                "bcell_days": b_time,
                "bcell_recovered": b_event,
                "responder": r["FRMDT"] is not None,
                "relapse_cd19": r["RELCD19"] if relapse_day is not None else None,
                "bcell_at_relapse": at_relapse,
            }
        )
    return pl.DataFrame(rows, schema=LAB_SUBJECT_SCHEMA, orient="row")


LAB_SUBJECT_SCHEMA = {
    "USUBJID": pl.String,
    "anc_le500_days": pl.Int64,
    "anc_le100_days": pl.Int64,
    "early_icaht": pl.Int64,
    "early_icaht_status": pl.String,
    "late_icaht": pl.Int64,
    "anc_below_05": pl.Boolean,
    "anc_recovery_day": pl.Int64,
    "plt_below_50": pl.Boolean,
    "plt_recovery_day": pl.Int64,
    "igg_min": pl.Float64,
    "igg_low": pl.Boolean,
    "bcell_aplasia": pl.Boolean,
    "bcell_days": pl.Int64,
    "bcell_recovered": pl.Boolean,
    "responder": pl.Boolean,
    "relapse_cd19": pl.String,
    "bcell_at_relapse": pl.String,
}


def igg_summary(adlb: pl.DataFrame, limits: Limits) -> pl.DataFrame:
    """``igg_summary.csv``: IgG at baseline and in windows after the infusion (each
    subject's lowest value in the window): subjects, median, quartiles (R's type 7) and
    subjects below the plan's ``igg_low``."""
    part = adlb.filter(pl.col("PARAMCD") == "IGG")
    windows = [part.filter(pl.col("ABLFL") == "Y").with_columns(pl.lit("Baseline").alias("window"))]
    for name, low, high in IGG_WINDOWS:
        windows.append(
            part.filter((pl.col("ONTRTFL") == "Y") & pl.col("ADY").is_between(low, high)).with_columns(
                pl.lit(name).alias("window")
            )
        )
    order = ["Baseline", *(w[0] for w in IGG_WINDOWS)]
    lowest = pl.concat(windows).group_by("window", "USUBJID").agg(pl.col("AVAL").min())
    out = lowest.group_by("window").agg(
        pl.len().cast(pl.Int64).alias("n"),
        pl.col("AVAL").median().alias("median"),
        pl.col("AVAL").quantile(0.25, "linear").alias("q1"),
        pl.col("AVAL").quantile(0.75, "linear").alias("q3"),
        (pl.col("AVAL") < limits.igg_low).sum().cast(pl.Int64).alias("n_low"),
    )
    return (
        out.with_columns(pl.col("window").replace_strict({w: i for i, w in enumerate(order)}).alias("_o"))
        .sort("_o")
        .drop("_o")
    )


def bcell_recovery_fit(subjects: pl.DataFrame) -> KMFit:
    """Kaplan-Meier of days from infusion to B-cell recovery over the subjects with
    B-cell aplasia, censored at their last B-cell count before the end of attribution;
    1 - S is the cumulative recovery, S the probability of continuing aplasia."""
    part = subjects.filter(pl.col("bcell_aplasia").fill_null(False))
    return fit_km(part["bcell_days"].cast(pl.Float64).to_numpy(), part["bcell_recovered"].cast(pl.Int64).to_numpy())


def km_table(fit: KMFit) -> pl.DataFrame:
    """A Kaplan-Meier fit as ``km_curves``-like rows (time, at risk, events, censored,
    estimate and its log-log limits)."""
    return pl.DataFrame(
        {
            "time_days": np.asarray(fit.time, dtype=float),
            "n_risk": np.asarray(fit.n_risk, dtype=np.int64),
            "n_event": np.asarray(fit.n_event, dtype=np.int64),
            "n_censor": np.asarray(fit.n_censor, dtype=np.int64),
            "estimate": np.asarray(fit.surv, dtype=float),
            "lcl": np.asarray(fit.lcl, dtype=float),
            "ucl": np.asarray(fit.ucl, dtype=float),
        },
        schema={
            "time_days": pl.Float64,
            "n_risk": pl.Int64,
            "n_event": pl.Int64,
            "n_censor": pl.Int64,
            "estimate": pl.Float64,
            "lcl": pl.Float64,
            "ucl": pl.Float64,
        },
    ).fill_nan(None)  # no limit where S is 0 or at an observed time with S = 1 (R's NA)
