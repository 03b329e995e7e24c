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


def derive_adlb(labs: pl.DataFrame, adsl: pl.DataFrame, limits: Limits, blq_collected: bool = True) -> pl.DataFrame:
    """ADLB: a row per subject, date and test at the cut, with the study day, the BLQ
    flag, the baseline (``ABLFL``: the last value on or before the day lymphodepletion
    started), CTCAE grades of the value and of the baseline, and ``ONTRTFL``: after the
    infusion (day >= 1) and before the end of attribution. ``blq_collected``: the drop's
    labs file has a ``below_lloq`` column (``TrialDrop.has``); without it ``BLQFL`` is
    empty, every value taken as quantified (until 2026-12-06 it read N, "quantified", as
    if recorded so; a blank on a row of a file with the column is N)."""
    subjects = adsl.lazy().select("USUBJID", "TRTSDT", "LDSTDT", "ATTRENDT")
    blq = pl.col("below_lloq") if "below_lloq" in labs.columns else pl.lit(None, pl.Boolean)
    flag = pl.when(blq.fill_null(False)).then(pl.lit("Y")).otherwise(pl.lit("N"))
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
            (flag if blq_collected else pl.lit(None, pl.String)).alias("BLQFL"),
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


def _next_value(column: str) -> pl.Expr:
    """The subject's next value of ``column`` in a series sorted by subject and day (null at
    the subject's last row): the rows are one run per subject, so no window is needed."""
    same = pl.col("USUBJID").shift(-1) == pl.col("USUBJID")
    return pl.when(same).then(pl.col(column).shift(-1))


def _days_at_or_below(early: pl.DataFrame, levels: dict[str, float]) -> pl.DataFrame:
    """Per subject of ``early`` (``USUBJID``, ``ADY``, ``AVAL`` and the window's last day
    ``_end``, sorted by subject and day), for each name of ``levels``: the days 0..``_end``
    on which the last value on or before the day (carried forward) is at or below the
    level; days before the first value are not counted. Each value holds from its day
    (day 0 at the earliest) to the day before the subject's next sample, or to ``_end``."""
    last = pl.min_horizontal(_next_value("ADY") - 1, pl.col("_end"))
    held = (last - pl.col("ADY").clip(lower_bound=0) + 1).clip(lower_bound=0)
    return early.group_by("USUBJID").agg(
        held.filter(pl.col("AVAL") <= level).sum().cast(pl.Int64).alias(name) for name, level in levels.items()
    )


def _days_below(days: list[int], values: list[float], end: int, threshold: float) -> int:
    """``_days_at_or_below`` of one subject's samples: days 0..``end`` on which the last
    value on or before the day (carried forward) is at or below ``threshold``."""
    early = pl.DataFrame(
        {"USUBJID": ["S"] * len(days), "ADY": days, "AVAL": values, "_end": [end] * len(days)},
        schema={"USUBJID": pl.String, "ADY": pl.Int64, "AVAL": pl.Float64, "_end": pl.Int64},
    )
    counted = _days_at_or_below(early, {"n": threshold})
    return int(counted["n"][0]) if counted.height else 0


def _early_icaht_grade(days_le500: pl.Expr, days_le100: pl.Expr) -> pl.Expr:
    """``early_icaht`` of two columns of day counts; null where either is null."""
    by500 = pl.when(days_le500 == 0).then(0).when(days_le500 < 7).then(1).when(days_le500 < 14).then(2).otherwise(3)
    by100 = pl.when(days_le100 == 0).then(0).when(days_le100 < 7).then(3).otherwise(4)
    both = days_le500.is_not_null() & days_le100.is_not_null()
    return pl.when(both).then(pl.max_horizontal(by500, by100)).cast(pl.Int64)


def early_icaht(days_le500: int, days_le100: int) -> int:
    """Early ICAHT grade (EHA/EBMT 2023, days 0-30), the higher of two criteria: ANC
    <= 0.5 x 10^9/L for 1-6 days grade 1, 7-13 days grade 2, 14 or more grade 3; ANC <=
    0.1 x 10^9/L for 1-6 days grade 3, 7 or more grade 4."""
    return int(pl.select(_early_icaht_grade(pl.lit(days_le500), pl.lit(days_le100))).item())


#: why an infused subject with labs has an early ICAHT grade or has none (``lab_subjects.csv``)
EARLY_GRADED = "graded"
EARLY_PENDING = "pending"
EARLY_LEFT = "left before day 30"
EARLY_NO_ANC = "no ANC in days 0-30"


def _early_status(evaluable: pl.Expr, closed: pl.Expr, left_first: pl.Expr) -> pl.Expr:
    """Graded; pending (day 30 after the cut: a later cut grades it); left before day 30
    (a withdrawal or loss to follow-up came first: the window is never seen to its end,
    so no later cut grades it); or no ANC in the closed window (a reviewer found six
    subjects who had left called pending at every cut, and the report's population, "with
    an ANC in days 0-30", leaving them out without a word)."""
    return (
        pl.when(evaluable)
        .then(pl.lit(EARLY_GRADED))
        .when(closed)
        .then(pl.lit(EARLY_NO_ANC))
        .when(left_first)
        .then(pl.lit(EARLY_LEFT))
        .otherwise(pl.lit(EARLY_PENDING))
    )


def _late_icaht_grade(values: pl.Expr) -> pl.Expr:
    """In a per-subject aggregation, ``late_icaht`` of the ``values`` (after day 30)."""
    v = values
    grade = pl.when(v <= 0.1).then(4).when(v <= 0.5).then(3).when(v <= 1.0).then(2).when(v <= 1.5).then(1).otherwise(0)
    return grade.sort(descending=True).get(1, null_on_oob=True).cast(pl.Int64)


def late_icaht(values: list[float]) -> int | None:
    """Late ICAHT grade (after day 30): ANC <= 1.5 grade 1, <= 1.0 grade 2, <= 0.5 grade 3,
    <= 0.1 grade 4 (10^9/L), in at least two samples (non-transient): the second-worst
    sample's grade. With fewer than two samples it cannot be graded: None, not evaluable
    (a red team's subject whose one late ANC was 0.19 counted as grade 0, and 16 such
    subjects enlarged the late table's denominator from 68 to 84)."""
    frame = pl.DataFrame({"AVAL": values}, schema={"AVAL": pl.Float64})
    grade = frame.select(_late_icaht_grade(pl.col("AVAL"))).item()
    return None if grade is None else int(grade)


def _recovery(level: float) -> tuple[pl.Expr, pl.Expr]:
    """In a per-subject aggregation of a series sorted by day with its ``_next`` value:
    (low, day) as ``recovery_day``."""
    low = pl.col("AVAL") < level
    first_low = pl.col("ADY").filter(low).min()
    stable = (pl.col("AVAL") >= level) & (pl.col("_next").is_null() | (pl.col("_next") >= level))
    return low.any(), pl.col("ADY").filter(stable & (pl.col("ADY") > first_low)).min()


def recovery_day(days: list[int], values: list[float], level: float) -> tuple[int | None, bool]:
    """(day, low): the first sample at or above ``level`` after the first sample below it,
    kept only when the next sample, if any, is at or above it too (a stable recovery);
    ``low`` says whether any sample was below it."""
    series = pl.DataFrame(
        {"USUBJID": ["S"] * len(days), "ADY": days, "AVAL": values},
        schema={"USUBJID": pl.String, "ADY": pl.Int64, "AVAL": pl.Float64},
    ).with_columns(_next_value("AVAL").alias("_next"))
    low, day = _recovery(level)
    found = series.group_by("USUBJID").agg(low.alias("low"), day.alias("day"))
    return (found["day"][0], bool(found["low"][0])) if found.height else (None, False)


def _series(adlb: pl.DataFrame, test: str, on_treatment_from: int = 0, attributed_only: bool = True) -> pl.DataFrame:
    """``USUBJID``, ``ADY``, ``AVAL`` and the subject's ``_next`` value of ``test`` from
    ``on_treatment_from`` to the end of attribution (``attributed_only``; else to the cut),
    sorted by subject and day (one row a subject and day: the labs file's key)."""
    attributed = (pl.col("ONTRTFL") == "Y") | (pl.col("ADY") == 0) if attributed_only else pl.lit(True)
    part = adlb.lazy().filter((pl.col("PARAMCD") == test) & (pl.col("ADY") >= on_treatment_from) & attributed)
    ordered = part.select("USUBJID", "ADY", "AVAL").sort("USUBJID", "ADY")
    return ordered.with_columns(_next_value("AVAL").alias("_next")).collect()


def lab_subjects(
    adlb: pl.DataFrame, adsl: pl.DataFrame, cut: dt.date, limits: Limits, collected: bool = True
) -> pl.DataFrame:
    """``lab_subjects.csv``: per infused subject, the days of ANC <= 0.5 and <= 0.1 in
    days 0-30, early and late ICAHT, days to ANC and platelet recovery,
    hypogammaglobulinaemia, and B-cell aplasia: its time to recovery (or censoring) for
    the Kaplan-Meier, and the B-cell status before a relapse. Every infused subject has a
    row, one without any laboratory value too (a red team's five subjects with no lab row
    left early ICAHT's population, and page 1's, without a word: now "no ANC in days
    0-30" once their window closes); no rows when the labs were not ``collected``.

    Each rule is a column expression over every subject at once (a loop over subjects
    took 6.5 s at 100,000 subjects); ``tests/analysis/test_labs.py`` holds it to the rules
    written subject by subject."""
    if not collected:
        return pl.DataFrame(schema=LAB_SUBJECT_SCHEMA)
    # only the columns read here: a row of every ADSL column was built for each subject
    infused = adsl.filter(pl.col("SAFFL") == "Y").select(
        "USUBJID", "TRTSDT", "WDDT", "LOSTDT", "DTHDT", "ATTRENDT", "RELDT", "FRMDT", "RELCD19"
    )
    # withdrawn or lost to follow-up: the counts stop there, and the window is not seen to
    # its end (a count on day 3 was carried to day 30 past a withdrawal on day 5)
    left = pl.min_horizontal("WDDT", "LOSTDT")
    stop = pl.min_horizontal("DTHDT", "ATTRENDT", "WDDT", "LOSTDT", pl.lit(cut, pl.Date))
    ended_by = {name: (pl.col("_stop") == pl.col(name)).fill_null(False) for name in ("DTHDT", "ATTRENDT", "_left")}
    last_day = (pl.col("_stop") - pl.col("TRTSDT")).dt.total_days() - ended_by["ATTRENDT"].cast(pl.Int64)
    windows = (
        infused.with_columns(left.alias("_left"), stop.alias("_stop"))
        .with_columns(pl.min_horizontal(pl.lit(EARLY_ICAHT_DAYS, pl.Int64), last_day).alias("_end"))
        # closed at the cut: day 30 reached, or ended by death, HSCT or new therapy, not by the
        # cut or the subject's leaving. A death, HSCT or new therapy on the cut date or the day
        # the subject left still closes it (a red team's death on the cut date left the subject
        # pending: 19 of 52 evaluable for 19 of 53)
        .with_columns(
            ((pl.col("_end") == EARLY_ICAHT_DAYS) | ended_by["DTHDT"] | ended_by["ATTRENDT"]).alias("_closed"),
            ended_by["_left"].alias("_left_first"),
            (pl.col("RELDT") - pl.col("TRTSDT")).dt.total_days().alias("_relapse_day"),
        )
    )
    anc = _series(adlb, "ANC")
    anc_low, anc_recovery = _recovery(ANC_RECOVERED)
    is_early = pl.col("ADY") <= EARLY_ICAHT_DAYS
    # late ICAHT is graded before a relapse: a marrow relapse's cytopenia is the leukaemia's,
    # not the CAR-T's (until 2026-12-06 a count after it was graded)
    relapsed = windows.filter(pl.col("_relapse_day").is_not_null()).select("USUBJID", "_relapse_day")
    before_relapse = pl.col("_relapse_day").is_null() | (pl.col("ADY") < pl.col("_relapse_day"))
    anc_by_subject = (
        anc.join(relapsed, on="USUBJID", how="left")
        .group_by("USUBJID")
        .agg(
            pl.col("ADY").filter(is_early).min().alias("_first_early"),
            _late_icaht_grade(pl.col("AVAL").filter(~is_early & before_relapse)).alias("late_icaht"),
            anc_low.alias("anc_below_05"),
            anc_recovery.alias("anc_recovery_day"),
        )
    )
    windows = windows.join(anc_by_subject, on="USUBJID", how="left", maintain_order="left").with_columns(
        # evaluable: an ANC after the infusion in days 0-30, and the window closed at the cut;
        # a count before day 0 alone grades nothing
        (pl.col("_first_early").is_not_null() & (pl.col("_end") >= 0) & pl.col("_closed")).alias("_evaluable")
    )
    graded = windows.filter("_evaluable").select("USUBJID", "_end", "_first_early")
    early = anc.filter(is_early).join(graded, on="USUBJID").select("USUBJID", "ADY", "AVAL", "_end")
    # the last count before day 0 carried into day 0, when the first count after it is later
    before = (
        adlb.lazy()
        .filter((pl.col("PARAMCD") == "ANC") & (pl.col("ADY") < 0))
        .group_by("USUBJID")
        .agg(pl.col("AVAL").sort_by("ADY").last())
        .collect()
    )
    carried = graded.filter(pl.col("_first_early") > 0).join(before, on="USUBJID")
    carried = carried.select("USUBJID", pl.lit(0, pl.Int64).alias("ADY"), "AVAL", "_end")
    early = pl.concat([early, carried]).sort("USUBJID", "ADY")
    days = _days_at_or_below(early, {"anc_le500_days": 0.5, "anc_le100_days": 0.1})
    plt_low, plt_recovery = _recovery(PLT_RECOVERED)
    platelets = (
        _series(adlb, "PLT")
        .group_by("USUBJID")
        .agg(plt_low.alias("plt_below_50"), plt_recovery.alias("plt_recovery_day"))
    )
    # B-cell aplasia: from the first count below the limit to the first count at or above it
    # after it (recovered), else censored at the last count
    aplastic = pl.col("AVAL") < limits.bcell_aplasia_below
    first_aplastic = pl.col("ADY").filter(aplastic).min()
    bcells = (
        _series(adlb, "BCELL", on_treatment_from=1)
        .group_by("USUBJID")
        .agg(
            aplastic.any().alias("bcell_aplasia"),
            pl.col("ADY").filter(~aplastic & (pl.col("ADY") > first_aplastic)).min().alias("_recovered"),
            pl.col("ADY").max().alias("_last"),
        )
    )
    # the count before a relapse is read whatever came between (a relapse after an HSCT was
    # given a count from before the HSCT, 90 days old, labelled "aplasia at relapse")
    at_relapse = (
        _series(adlb, "BCELL", on_treatment_from=1, attributed_only=False)
        .join(relapsed, on="USUBJID")
        .filter(pl.col("ADY") <= pl.col("_relapse_day"))
        .group_by("USUBJID")
        .agg(pl.col("AVAL").sort_by("ADY").last().alias("_at_relapse"))
    )
    igg = _series(adlb, "IGG", on_treatment_from=1).group_by("USUBJID").agg(pl.col("AVAL").min().alias("igg_min"))
    for part in (days, platelets, bcells, at_relapse, igg):
        windows = windows.join(part, on="USUBJID", how="left", maintain_order="left")
    aplasia = pl.col("bcell_aplasia").fill_null(False)
    return windows.select(
        "USUBJID",
        "anc_le500_days",
        "anc_le100_days",
        _early_icaht_grade(pl.col("anc_le500_days"), pl.col("anc_le100_days")).alias("early_icaht"),
        _early_status(pl.col("_evaluable"), pl.col("_closed"), pl.col("_left_first")).alias("early_icaht_status"),
        "late_icaht",
        "anc_below_05",
        "anc_recovery_day",
        "plt_below_50",
        "plt_recovery_day",
        "igg_min",
        (pl.col("igg_min") < limits.igg_low).alias("igg_low"),
        "bcell_aplasia",
        pl.when(aplasia).then(pl.coalesce("_recovered", "_last")).alias("bcell_days"),
        pl.when(aplasia).then(pl.col("_recovered").is_not_null()).alias("bcell_recovered"),
        pl.col("FRMDT").is_not_null().alias("responder"),
        pl.when(pl.col("_relapse_day").is_not_null()).then(pl.col("RELCD19")).alias("relapse_cd19"),
        pl.when(pl.col("_relapse_day").is_null())
        .then(pl.lit(None, pl.String))
        .when(pl.col("_at_relapse").is_null())
        .then(pl.lit("No B-cell count before relapse"))
        .when(pl.col("_at_relapse") < limits.bcell_aplasia_below)
        .then(pl.lit("B-cell aplasia at relapse"))
        .otherwise(pl.lit("B cells recovered before relapse"))
        .alias("bcell_at_relapse"),
    ).cast(LAB_SUBJECT_SCHEMA)


LAB_SUBJECT_SCHEMA = pl.Schema(
    {
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
)


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
