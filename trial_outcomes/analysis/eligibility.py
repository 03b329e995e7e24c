"""Eligibility: evaluate every computable criterion and compare with the checklist.

protocol.md names the computable criteria; for an inclusion ``met`` = Y means
the criterion holds, for an exclusion ``met`` = Y means the exclusion applies.
"""

from __future__ import annotations

import polars as pl

from trial_outcomes.analysis.flags import yn_value
from trial_outcomes.schema import CRITERIA

#: criterion -> (expression giving ``met`` from enrolment, rule in words)
COMPUTABLE: dict[str, tuple[pl.Expr, str]] = {
    "IN01": (
        pl.col("disease_status").is_not_null() & (pl.col("cd19_pct") > 95),
        "r/r B-ALL status and CD19 on > 95 % of blasts",
    ),
    "IN02": (pl.col("age_years").is_between(0, 18), "age 0 to 18 years"),
    "IN03": (
        pl.col("consent_date").is_not_null() & (pl.col("consent_date") <= pl.col("enrol_date")),
        "consent signed on or before enrolment",
    ),
    "EX06": ((pl.col("creatinine_x_uln") > 1.5) | (pl.col("bun_x_uln") > 1.5), "creatinine or BUN > 1.5 x ULN"),
    "EX11": (pl.col("csf_blasts_per_ul") > 20, "CSF > 20 leukemic cells/uL"),
    "EX12": (pl.col("pb_blast_pct") > 30, "peripheral blood blasts > 30 %"),
    "EX13": (pl.col("ecog") >= 3, "ECOG >= 3"),
}


def _rules() -> pl.DataFrame:
    return pl.DataFrame({"criterion": list(COMPUTABLE), "rule": [r for _, r in COMPUTABLE.values()]})


def _fails(criterion: pl.Expr, met: pl.Expr) -> pl.Expr:
    """A criterion that makes the subject ineligible: inclusion not met, or exclusion applies."""
    return pl.when(criterion.str.starts_with("IN")).then(~met).otherwise(met)


def eligibility_deviations(enrolment: pl.DataFrame, checklist: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Every disagreement between computation and checklist, and every failed or missing criterion.

    Columns: ``subject_id, criterion, computed_met, checklist_met, finding``.
    A subject appears for each criterion that (a) the computation and the
    checklist disagree on, (b) fails by either of them, or (c) is absent from
    the checklist.

    The checklist's rows are set beside the subject's computed criteria (a subject's
    eight values, joined by subject), and only a subject with fewer checklist criteria
    than the protocol's gets the grid of every criterion, for the missing ones: the grid
    of every subject and criterion (19 million rows at a million subjects) is never
    built. Only the flagged rows are described. The checklist may be a scan of its
    file: the query runs on polars' streaming engine, a batch at a time, and the rows
    are put in the order of every column (a subject's criterion is one row: the
    checklist's keys are unique, ``io/validation.unique_keys``)."""
    wide = enrolment.lazy().select("subject_id", *[expr.alias(code) for code, (expr, _) in COMPUTABLE.items()])
    known = (
        checklist.lazy()
        .select(pl.col("subject_id"), pl.col("criterion").cast(pl.String), pl.col("met").alias("checklist_met"))
        .filter(pl.col("criterion").is_in(CRITERIA))
    )
    # each query over the checklist run on its own, streamed, and the criteria a subject's
    # checklist lists counted one by one: a count of distinct texts per subject held 2.7 GB
    # at a million subjects, these hold 0.1 GB
    listed = (
        known.group_by("subject_id")
        .agg((pl.col("criterion") == code).any().alias(code) for code in CRITERIA)
        .select("subject_id", pl.sum_horizontal(CRITERIA).alias("_listed"))
        .collect(engine="streaming")
    )
    short = (
        wide.select("subject_id")
        .join(listed.lazy(), on="subject_id", how="left")
        .filter(pl.col("_listed").fill_null(0) < len(CRITERIA))
        .select("subject_id")
        .collect()
    )
    absent = (
        short.lazy()
        .join(pl.LazyFrame({"criterion": list(CRITERIA)}), how="cross")
        .join(
            known.filter(pl.col("subject_id").is_in(short["subject_id"].implode())),
            on=["subject_id", "criterion"],
            how="anti",
        )
        .with_columns(pl.lit(None, dtype=pl.Boolean).alias("checklist_met"))
    )
    flagged = pl.concat([_flagged(known, wide).collect(engine="streaming"), _flagged(absent, wide).collect()])
    return flagged.sort("subject_id", "criterion", "computed_met", "checklist_met", "finding")


def _flagged(rows: pl.LazyFrame, wide: pl.LazyFrame) -> pl.LazyFrame:
    """``rows`` (``subject_id, criterion, checklist_met``) of enrolled subjects with the
    computed criterion beside them, the flagged ones only, described."""
    computed = pl.coalesce(
        [pl.when(pl.col("criterion") == code).then(pl.col(code)) for code in COMPUTABLE]
        + [pl.lit(None, dtype=pl.Boolean)]
    ).alias("computed_met")
    merged = rows.join(wide, on="subject_id", how="inner").select("subject_id", "criterion", computed, "checklist_met")
    crit = pl.col("criterion")
    computed_fails = _fails(crit, pl.col("computed_met")).fill_null(False)
    checklist_fails = _fails(crit, pl.col("checklist_met")).fill_null(False)
    missing = pl.col("checklist_met").is_null()
    disagree = pl.col("computed_met").is_not_null() & ~missing & (pl.col("computed_met") != pl.col("checklist_met"))
    finding = (
        pl.when(missing)
        .then(pl.lit("criterion missing from the investigator's checklist"))
        .when(disagree)
        .then(pl.format("checklist disagrees with the data ({})", pl.col("rule")))
        .when(computed_fails)
        .then(pl.format("criterion failed by the data ({})", pl.col("rule")))
        .when(checklist_fails)
        .then(pl.lit("criterion failed on the investigator's checklist"))
    )
    return (
        merged.filter(missing | disagree | computed_fails | checklist_fails)
        .join(_rules().lazy(), on="criterion", how="left")
        .select(
            "subject_id",
            "criterion",
            yn_value(pl.col("computed_met")),
            yn_value(pl.col("checklist_met")),
            finding.alias("finding"),
        )
    )


def subject_eligibility(
    enrolment: pl.DataFrame, deviations: pl.DataFrame, checklist_collected: bool = True
) -> pl.DataFrame:
    """Per subject: ``eligible`` (every computable criterion passes by the data, and no
    other criterion fails on, or is missing from, the investigator's checklist, which
    protocol.md takes as reported for them) and ``eligibility_deviation`` (any finding
    in ``deviations``, the table of ``eligibility_deviations``). Until 2026-12-06 only
    the computable criteria counted: a red team's subject whose checklist said an
    uncontrolled infection (EX07) applied, or whose checklist was missing whole, stayed
    in the per-protocol set. A drop with no checklist at all (``checklist_collected``
    false: declared empty, as the public data sets' are) is read by the computable
    criteria alone: it reports no criterion, so none fails (a second red team's drop
    read "per-protocol 0 of 40")."""
    # each computable criterion passes (or cannot be computed), read across the subject's row:
    # one row per subject and criterion was 7 million rows at a million subjects
    passes = [(~_fails(pl.lit(code), expr)).fill_null(True) for code, (expr, _) in COMPUTABLE.items()]
    comp = enrolment.select("subject_id", pl.all_horizontal(passes).alias("_computed"))
    # a criterion the data cannot compute is flagged only when the checklist fails it or
    # lacks it (``_flagged``)
    unshown = deviations.filter(~pl.col("criterion").is_in(list(COMPUTABLE)) & pl.lit(checklist_collected))
    unshown = unshown.select("subject_id").unique()
    dev = deviations.select("subject_id").unique().with_columns(pl.lit(True).alias("eligibility_deviation"))
    return (
        comp.join(dev, on="subject_id", how="left")
        .with_columns(
            (pl.col("_computed") & ~pl.col("subject_id").is_in(unshown["subject_id"].implode())).alias("eligible"),
            pl.col("eligibility_deviation").fill_null(False),
        )
        .select("subject_id", "eligible", "eligibility_deviation")
    )
