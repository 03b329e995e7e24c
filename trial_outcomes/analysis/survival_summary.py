"""Survival summaries from ADTTE: ``survival_summary.csv``, ``survival_details.csv`` and
``km_curves.parquet`` (data-contract.md section 3), subgroup Cox models and
median follow-up.

No statistic stops a run: a median not reached, a landmark past the last
follow-up, a test on one group or a hazard ratio without events is left empty,
and ``survival_details.csv`` says why (endpoints.md, Interim analyses).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from trial_outcomes.analysis.adtte import COMPETING, ENDPOINT_ORDER, POPULATION, PRIMARY
from trial_outcomes.analysis.comparisons import TestResult, factor_hazard_ratios, logrank_test
from trial_outcomes.analysis.competing import CIFFit, fit_cif, gray_test
from trial_outcomes.analysis.km import KMFit, fit_km, median_followup
from trial_outcomes.contracts import (
    CoxSummary,
    FollowupSummary,
    KmCurves,
    survival_details_schema,
    survival_summary_schema,
)
from trial_outcomes.dates import DAYS_PER_MONTH

ALL = "all"


def _schema(schema: Any) -> dict[str, pl.DataType]:
    return {name: col.dtype for name, col in schema.columns().items()}


def _time_status(rows: pl.DataFrame, endpoint: str) -> tuple[np.ndarray, np.ndarray]:
    """Time in days and status: 1/0 for KM, the event type (1, 2, 0) for CIR and NRM."""
    time = rows["AVAL"].to_numpy().astype(float)
    status = rows["EVNTTYPE"].to_numpy() if endpoint in COMPETING else (1 - rows["CNSR"].to_numpy())
    return time, np.asarray(status, dtype=int)


def fit_endpoint(rows: pl.DataFrame, endpoint: str) -> KMFit | CIFFit:
    time, status = _time_status(rows, endpoint)
    return fit_cif(time, status) if endpoint in COMPETING else fit_km(time, status)


def _curve_frame(fit: KMFit | CIFFit, endpoint: str, analysis: str, group_var: str, group: str) -> pl.DataFrame:
    estimate = fit.cif if isinstance(fit, CIFFit) else fit.surv
    return pl.DataFrame(
        {
            "endpoint": endpoint,
            "analysis": analysis,
            "group_var": group_var,
            "group": group,
            "time_days": fit.time.astype(float),
            "n_risk": fit.n_risk.astype(np.int64),
            "n_event": fit.n_event.astype(np.int64),
            "n_censor": fit.n_censor.astype(np.int64),
            "estimate": estimate,
            "lcl": fit.lcl,
            "ucl": fit.ucl,
        },
        schema=_schema(KmCurves),
    ).with_columns(pl.col("estimate", "lcl", "ucl").fill_nan(None))


#: the reason survival_details gives for a rate without limits (R: NA at 0 and 1)
NO_CI = "no confidence interval at an estimate of"


@dataclass(frozen=True)
class _Row:
    summary: dict[str, Any]
    details: dict[str, Any]


def _summarise(
    fit: KMFit | CIFFit,
    rows: pl.DataFrame,
    endpoint: str,
    analysis: str,
    group_var: str,
    group: str,
    landmark_months: tuple[int, ...],
    test: TestResult | None,
) -> _Row:
    time, status = _time_status(rows, endpoint)
    notes: list[str] = []
    summary: dict[str, Any] = {
        "endpoint": endpoint,
        "analysis": analysis,
        "population": POPULATION[endpoint],
        "group_var": group_var,
        "group": group,
        "n": len(time),
        "n_events": int((status == 1).sum()),
        "n_censored": int((status == 0).sum()),
    }
    median: tuple[float | None, ...] = (None, None, None)
    if not len(time):
        notes.append("no subjects")
    elif isinstance(fit, KMFit):
        median = fit.median()
        if median[0] is None:
            notes.append("median not reached")
        else:
            # R gives NA where the confidence band is undefined: at S = 1 and at S = 0
            if median[1] is None:
                notes.append("median CI lower bound not estimable")
            if median[2] is None:
                notes.append(f"median CI upper bound {'not estimable' if fit.ended_in_events else 'not reached'}")
    summary.update(median_days=median[0], median_lcl_days=median[1], median_ucl_days=median[2])
    # those still followed at the median (R: summary(fit, median)$n.risk): a median reached with
    # a few at risk rests on one or two events (a DSMB reader's four subjects, one death)
    median_nrisk = None if median[0] is None else int((time >= median[0]).sum())
    last_day = float(time.max()) if len(time) else None
    nrisk: dict[str, int] = {}
    for months in landmark_months:
        est, lcl, ucl = fit.at(months * DAYS_PER_MONTH) if len(time) else (None, None, None)
        if est is None and len(time):
            notes.append(f"{months}-month rate: no follow-up that long (last day {last_day:.0f})")
        elif est is not None and (lcl is None or ucl is None):  # R: NA at an estimate of 0 or 1
            notes.append(f"{months}-month rate: {NO_CI} {est:g}")
        summary.update({f"rate_{months}m": est, f"rate_{months}m_lcl": lcl, f"rate_{months}m_ucl": ucl})
        nrisk[f"nrisk_{months}m"] = int((time >= months * DAYS_PER_MONTH).sum())  # R: summary(fit, t)$n.risk
    summary.update(
        logrank_chisq=None if test is None else test.statistic, logrank_p=None if test is None else test.p_value
    )
    if test is not None and test.reason:
        notes.append(f"{test.test} test not computed: {test.reason}")
    elif test is not None and test.note:
        notes.append(f"{test.test} test {test.note}")
    details = {
        "endpoint": endpoint,
        "analysis": analysis,
        "group_var": group_var,
        "group": group,
        "n_competing": int((status == 2).sum()) if endpoint in COMPETING else None,
        "last_day": last_day,
        "notes": "; ".join(notes) or None,
        "median_nrisk": median_nrisk,
        **nrisk,
    }
    return _Row(summary, details)


def levels(rows: pl.DataFrame, var: str) -> list[str]:
    """The levels of a subgroup variable present in ``rows`` (as text), sorted."""
    return sorted(rows[var].drop_nulls().cast(pl.String).unique().to_list())


def compare_groups(rows: pl.DataFrame, endpoint: str, group_var: str) -> TestResult:
    """Log-rank (Gray's test for CIR and NRM) across the levels of ``group_var``."""
    data = rows.filter(pl.col(group_var).is_not_null())
    test = "Gray" if endpoint in COMPETING else "log-rank"
    if data[group_var].n_unique() < 2:
        return TestResult(test, None, 0, None, "one group only")
    time, status = _time_status(data, endpoint)
    groups = data[group_var].cast(pl.String).rank("dense").to_numpy()  # level codes: np.unique on text is slow
    return gray_test(time, status, groups) if endpoint in COMPETING else logrank_test(time, status, groups)


@dataclass(frozen=True)
class SurvivalTables:
    summary: pl.DataFrame  # survival_summary.csv
    details: pl.DataFrame  # survival_details.csv
    curves: pl.DataFrame  # km_curves.parquet


def _endpoint_groups(
    adtte: pl.DataFrame, always: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, str], pl.DataFrame]]:
    """Each endpoint and analysis in the report's order with its rows (in ADTTE's order),
    taken one at a time: all of them at once were a second ADTTE (8 million rows at a
    million subjects). The primary analysis of each endpoint in ``always`` is there, with
    no rows when nobody is in its population yet (a cut before the first infusion, a DOR
    before the first response): its row then says "no subjects" instead of being left
    out."""
    order = {e: i for i, e in enumerate(ENDPOINT_ORDER)}
    found = {(str(e), str(a)) for e, a in adtte.select("PARAMCD", "ANALYSIS").unique().iter_rows()}
    keys = found | {(e, PRIMARY) for e in always}
    for endpoint, analysis in sorted(keys, key=lambda k: (order[k[0]], k[1] != "primary", k[1])):
        yield (endpoint, analysis), adtte.filter((pl.col("PARAMCD") == endpoint) & (pl.col("ANALYSIS") == analysis))


def summarise_survival(
    adtte: pl.DataFrame,
    subgroups: tuple[str, ...],
    landmark_months: tuple[int, ...],
    always: tuple[str, ...] = (),
) -> SurvivalTables:
    """One summary row per endpoint x analysis x subgroup level ('all'/'all' first),
    with its details row and its curve; the endpoints in ``always`` (the trial's, in a
    run) have their primary row even with no subjects ("empty with the reason shown")."""
    summary, details, curves = [], [], []
    for (endpoint, analysis), rows in _endpoint_groups(adtte, always):
        fit = fit_endpoint(rows, endpoint)
        row = _summarise(fit, rows, endpoint, analysis, ALL, ALL, landmark_months, None)
        summary.append(row.summary)
        details.append(row.details)
        curves.append(_curve_frame(fit, endpoint, analysis, ALL, ALL))
        for var in subgroups:
            test = compare_groups(rows, endpoint, var)
            for level in levels(rows, var):
                part = rows.filter(pl.col(var).cast(pl.String) == level)
                fit = fit_endpoint(part, endpoint)
                row = _summarise(fit, part, endpoint, analysis, var, level, landmark_months, test)
                summary.append(row.summary)
                details.append(row.details)
                curves.append(_curve_frame(fit, endpoint, analysis, var, level))
    schema = _schema(survival_summary_schema(landmark_months))
    return SurvivalTables(
        pl.DataFrame(summary, schema=schema, orient="row"),
        pl.DataFrame(details, schema=_schema(survival_details_schema(landmark_months)), orient="row"),
        pl.concat(curves) if curves else pl.DataFrame(schema=_schema(KmCurves)),
    )


def trial_references(adsl: pl.DataFrame, variables: tuple[str, ...], planned: dict[str, str]) -> dict[str, str]:
    """One reference level per factor for every endpoint and model: the plan's where an
    infused subject has it, else the largest group of the infused subjects (ties: the
    first in sort order). The largest group within each endpoint's own population made
    age group's reference "< 10" for OS and EFS and ">= 10" for DFS, DOR and relapse at
    one cut (a statistician's finding): forest plots of one factor pointing opposite
    ways; a plan's level that no infused subject has did the same, each endpoint falling
    back to its own largest group. An endpoint whose population lacks the trial's level
    takes its own largest group (``reference_level``)."""
    infused = adsl.filter(pl.col("SAFFL") == "Y")
    chosen = {var: reference_level(infused, var, planned.get(var)) for var in variables if var in infused.columns}
    # a planned factor the infused subjects do not hold stays the plan's: each endpoint decides
    return planned | {var: level for var, level in chosen.items() if level is not None}


def reference_level(rows: pl.DataFrame, var: str, preferred: str | None) -> str | None:
    """The reference level of a subgroup's hazard ratios: ``preferred`` (the plan's, else
    the trial's: ``trial_references``) when that level is present in ``rows``, else the
    largest group of ``rows`` (ties: the first in sort order)."""
    present = levels(rows, var)
    if not present:
        return None
    if preferred is not None and preferred in present:
        return preferred
    counts = rows.filter(pl.col(var).is_not_null()).group_by(pl.col(var).cast(pl.String)).len()
    largest = counts.sort(["len", var], descending=[True, False])
    return str(largest[var][0])


def subgroup_hazard_ratios(
    adtte: pl.DataFrame, subgroups: tuple[str, ...], reference: dict[str, str] | None = None
) -> pl.DataFrame:
    """Cox model per endpoint (OS, EFS, DFS, DOR: the Kaplan-Meier ones), analysis and
    subgroup variable, with the variable as a factor (R ``coxph(Surv ~ factor(x))``):
    the hazard ratio of each level against the reference level (``reference_level``).
    Subjects without a value are left out."""
    reference = reference or {}
    out = []
    for (endpoint, analysis), rows in _endpoint_groups(adtte.filter(~pl.col("PARAMCD").is_in(COMPETING))):
        data = rows.with_columns((1 - pl.col("CNSR")).alias("_event"), pl.col("AVAL").cast(pl.Float64).alias("_time"))
        for var in subgroups:
            ref = reference_level(data, var, reference.get(var))
            if ref is None:
                continue
            known = data.filter(pl.col(var).is_not_null())
            others = [level for level in levels(known, var) if level != ref]
            fits = factor_hazard_ratios(
                known.with_columns(pl.col(var).cast(pl.String)), "_time", "_event", var, ref, others
            )
            for level, fit in zip(others, fits, strict=True):
                pair = known.filter(pl.col(var).cast(pl.String).is_in([level, ref]))
                out.append(
                    {
                        "endpoint": endpoint,
                        "analysis": analysis,
                        "group_var": var,
                        "group": level,
                        "reference": ref,
                        "n": pair.height,
                        "n_events": int(pair["_event"].sum()),
                        "hr": fit.hr,
                        "hr_lcl": fit.lcl,
                        "hr_ucl": fit.ucl,
                        "p": fit.p_value,
                        "note": fit.reason,
                    }
                )
    return pl.DataFrame(out, schema=_schema(CoxSummary), orient="row")


def followup_summary(adtte: pl.DataFrame) -> pl.DataFrame:
    """Median follow-up by reverse Kaplan-Meier of OS (primary analysis: censoring is
    the event) with its CI, and the range of follow-up (shortest and longest OS time)."""
    os_rows = adtte.filter((pl.col("PARAMCD") == "OS") & (pl.col("ANALYSIS") == "primary"))
    time = os_rows["AVAL"].to_numpy().astype(float)
    median = median_followup(time, 1 - os_rows["CNSR"].to_numpy()) if os_rows.height else (None, None, None)
    row = {
        "endpoint": "OS",
        "analysis": "primary",
        "n": os_rows.height,
        "median_followup_days": median[0],
        "median_followup_lcl_days": median[1],
        "median_followup_ucl_days": median[2],
        "min_days": float(time.min()) if len(time) else None,
        "max_days": float(time.max()) if len(time) else None,
    }
    return pl.DataFrame([row], schema=_schema(FollowupSummary), orient="row")
