"""The pooled analysis of a portfolio: each trial's published ADSL and ADTTE at its
chosen cut, stacked with the trial as a variable, and analysed so that a trial's
own baseline never stands in for another's.

Rules (docs/endpoints.md, "Pooled analyses"):

- Population: the safety set (``SAFFL = "Y"``: infused) of each trial; OS and EFS
  rows of the primary analysis.
- ``TRIAL`` is the portfolio's trial id; ``USUBJID`` stays as each trial wrote it
  (the key of a pooled row is ``TRIAL`` and ``USUBJID``).
- Survival by trial: Kaplan-Meier per trial and for all trials together
  (``km.fit_km``: R ``survfit``, log-log limits).
- Do the trials differ? The log-rank test across trials (R ``survdiff(Surv ~
  TRIAL)``).
- The comparison (``factor``: a two-level ADSL variable, ``PRHSCTFL`` by default):
  the trial-stratified log-rank test (``survdiff(Surv ~ factor + strata(TRIAL))``)
  and the trial-stratified Cox model (``coxph(Surv ~ factor + strata(TRIAL))``,
  Efron ties, Wald limits); per trial, the same Cox model within the trial (the
  forest plot), and their heterogeneity: Cochran's Q over the trials' log hazard
  ratios with inverse-variance weights, df = trials - 1, and I^2 = max(0, (Q -
  df) / Q).
- Safety: grade >= 3 CRS and ICANS, adjudicated (``CRSGRAJ``, ``ICANGRAJ``: the
  higher of the reported and the derived grade, as each trial's stopping rule reads
  them; no grade recorded is no CRS) and
  non-relapse mortality (``NRMFL``) as proportions of the safety set with
  Clopper-Pearson limits, per trial and pooled (a crude pooled proportion, trials
  summed), and their heterogeneity: Pearson's chi-square of the trials x (yes,
  no) table (R ``prop.test(x, n, correct = FALSE)``).

Every undefined statistic is empty with a note; nothing here stops a run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from trial_outcomes.analysis.comparisons import logrank_test
from trial_outcomes.analysis.cox import fit_cox
from trial_outcomes.analysis.km import fit_km
from trial_outcomes.analysis.rates import clopper_pearson
from trial_outcomes.provenance import code_label, same_code

POOLED = "Pooled"
POOLED_ENDPOINTS = ("OS", "EFS")
#: ADSL columns every trial's published ADSL has (docs/data-contract.md) that the pooled analysis uses
ADSL_COLUMNS = (
    "USUBJID",
    "SAFFL",
    "AGE",
    "SEX",
    "AGEGR1",
    "PRHSCTFL",
    "EMDFL",
    "BRIDGFL",
    "CRSGRAJ",
    "ICANGRAJ",
    "NRMFL",
)
#: the reference level of each comparison factor
REFERENCE = {"PRHSCTFL": "N", "SEX": "M", "AGEGR1": ">=10", "EMDFL": "N", "BRIDGFL": "N"}
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class TrialCut:
    """One trial's published cut, as the pooled analysis reads it."""

    trial: str
    label: str
    cut: dt.date
    version: str
    manifest_sha256: str
    adsl: pl.DataFrame
    adtte: pl.DataFrame
    #: the code that made the cut (its manifest's ``code``; None when it names none)
    code: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PooledTables:
    adsl: pl.DataFrame
    adtte: pl.DataFrame
    trials: pl.DataFrame
    survival: pl.DataFrame
    tests: pl.DataFrame
    forest: pl.DataFrame
    safety: pl.DataFrame
    #: the trials whose cut was made by other code than the pooling's (``provenance.same_code``)
    other_code: tuple[str, ...] = ()


def pool_adsl(trials: list[TrialCut]) -> pl.DataFrame:
    """Every trial's ADSL rows (the pooled columns), ``TRIAL`` first."""
    return pl.concat(
        [
            t.adsl.select(pl.lit(t.trial).alias("TRIAL"), *(pl.col(c) for c in ADSL_COLUMNS)).with_columns(
                pl.col("CRSGRAJ").cast(pl.Int64), pl.col("ICANGRAJ").cast(pl.Int64), pl.col("AGE").cast(pl.Float64)
            )
            for t in trials
        ]
    )


def pool_adtte(trials: list[TrialCut], adsl: pl.DataFrame) -> pl.DataFrame:
    """OS and EFS (primary analysis) of the safety set, one row per trial, subject and
    endpoint, with the comparison factors from the pooled ADSL."""
    rows = pl.concat(
        [
            t.adtte.filter(
                pl.col("PARAMCD").is_in(POOLED_ENDPOINTS) & (pl.col("ANALYSIS") == "primary") & (pl.col("SAFFL") == "Y")
            ).select(
                pl.lit(t.trial).alias("TRIAL"),
                "USUBJID",
                "PARAMCD",
                pl.col("AVAL").cast(pl.Float64),
                pl.col("CNSR").cast(pl.Int64),
            )
            for t in trials
        ]
    )
    factors = adsl.select("TRIAL", "USUBJID", *(c for c in REFERENCE))
    return rows.join(factors, on=["TRIAL", "USUBJID"], how="left").sort("TRIAL", "PARAMCD", "USUBJID")


def _arrays(rows: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return rows["AVAL"].to_numpy().astype(float), (1 - rows["CNSR"].to_numpy()).astype(int)


def _km_row(endpoint: str, trial: str, rows: pl.DataFrame) -> dict[str, object]:
    time, event = _arrays(rows)
    row: dict[str, object] = {"endpoint": endpoint, "trial": trial, "n": rows.height, "n_events": int(event.sum())}
    if rows.height == 0:
        return row | {"note": f"no {endpoint} rows of infused subjects in this trial's ADTTE"}
    fit = fit_km(time, event)
    median, lower, upper = fit.median()
    rate, rate_lcl, rate_ucl = fit.at(DAYS_PER_YEAR)
    return row | {
        "median_days": median,
        "median_lcl_days": lower,
        "median_ucl_days": upper,
        "rate_12m": rate,
        "rate_12m_lcl": rate_lcl,
        "rate_12m_ucl": rate_ucl,
    }


def survival_by_trial(adtte: pl.DataFrame, trial_ids: list[str]) -> pl.DataFrame:
    """Median and 12-month rate of OS and EFS per trial and pooled (all trials' subjects together)."""
    out = []
    for endpoint in POOLED_ENDPOINTS:
        rows = adtte.filter(pl.col("PARAMCD") == endpoint)
        out += [_km_row(endpoint, trial, rows.filter(pl.col("TRIAL") == trial)) for trial in trial_ids]
        out.append(_km_row(endpoint, POOLED, rows))
    return pl.DataFrame(out, schema=SURVIVAL_SCHEMA)


SURVIVAL_SCHEMA = {
    "endpoint": pl.String,
    "trial": pl.String,
    "n": pl.Int64,
    "n_events": pl.Int64,
    "median_days": pl.Float64,
    "median_lcl_days": pl.Float64,
    "median_ucl_days": pl.Float64,
    "rate_12m": pl.Float64,
    "rate_12m_lcl": pl.Float64,
    "rate_12m_ucl": pl.Float64,
    "note": pl.String,
}


@dataclass(frozen=True)
class _Cox:
    hr: float | None
    lcl: float | None
    ucl: float | None
    p: float | None
    log_hr: float | None
    se: float | None
    note: str | None


def _cox(rows: pl.DataFrame, factor: str, level: str, reference: str, strata: bool) -> _Cox:
    """The hazard ratio of ``factor == level`` against ``factor == reference`` (other
    levels left out; within ``TRIAL`` strata when ``strata``), or empty with the reason."""

    def empty(note: str) -> _Cox:
        return _Cox(None, None, None, None, None, None, note)

    rows = rows.filter(pl.col(factor).is_in([level, reference]))
    time, event = _arrays(rows)
    x = (rows[factor] == level).to_numpy().astype(float)
    if rows.height == 0:
        return empty(f"no subject with {factor} {level} or {reference}")
    if not event.any():
        return empty("no events")
    if x.min() == x.max():
        return empty("one group only")
    if not event[x == 1].any() or not event[x == 0].any():
        return empty("not estimable: no event in one of the groups (monotone likelihood)")
    strata_values = rows["TRIAL"].to_numpy() if strata else None
    if strata_values is not None:
        # a stratum contributes only where both groups are present (else its likelihood is flat in beta)
        informative = [
            s for s in np.unique(strata_values) if 0 < x[strata_values == s].sum() < (strata_values == s).sum()
        ]
        if not informative:
            return empty("not estimable: no trial has both groups")
    try:
        fit = fit_cox(time, event, x, strata=strata_values)
    except np.linalg.LinAlgError:
        return empty("not estimable: singular information matrix")
    beta, se = float(fit.beta[0]), float(fit.se[0])
    if not (np.isfinite(se) and se > 0) or abs(beta) > 15:
        return empty("not estimable: zero or infinite standard error")
    hr, lcl, ucl, p = fit.hazard_ratios()[0]
    return _Cox(hr, lcl, ucl, p, beta, se, None)


def reference_level(adsl: pl.DataFrame, factor: str) -> tuple[str, list[str]]:
    """The factor's reference level and its other levels present in the pooled data."""
    present = sorted(v for v in adsl[factor].drop_nulls().unique().to_list())
    reference = REFERENCE.get(factor, present[0] if present else "")
    return reference, [v for v in present if v != reference]


def pooled_tests(adtte: pl.DataFrame, factor: str, reference: str, others: list[str]) -> pl.DataFrame:
    """Per endpoint: the log-rank test across trials; the trial-stratified log-rank test
    of the factor; the trial-stratified Cox hazard ratio of each level against the reference."""
    out: list[dict[str, object]] = []
    for endpoint in POOLED_ENDPOINTS:
        rows = adtte.filter(pl.col("PARAMCD") == endpoint)
        time, event = _arrays(rows)
        base = {"endpoint": endpoint, "n": rows.height, "n_events": int(event.sum())}
        across = logrank_test(time, event, rows["TRIAL"].to_numpy())
        out.append(
            base
            | {"test": "log-rank across trials", "factor": "TRIAL", "level": "all", "strata": None}
            | {
                "statistic": across.statistic,
                "df": across.df,
                "p": across.p_value,
                "note": across.remark,
            }
        )
        known = rows.filter(pl.col(factor).is_not_null())
        t2, e2 = _arrays(known)
        strat = logrank_test(t2, e2, known[factor].to_numpy(), known["TRIAL"].to_numpy())
        factored = base | {"n": known.height, "n_events": int(e2.sum()), "n_unrecorded": rows.height - known.height}
        left_out = unrecorded_note(rows, factor)
        out.append(
            factored
            | {"test": "stratified log-rank", "factor": factor, "level": "all", "strata": "TRIAL"}
            | {"statistic": strat.statistic, "df": strat.df, "p": strat.p_value}
            | {
                "note": _joined(
                    strat.remark if known.height else f"not testable: {factor} was recorded for no subject", left_out
                )
            }
        )
        if not others:
            none = (
                f"not testable: {factor} was recorded for no subject"
                if not known.height
                else f"no level of {factor} other than the reference ({reference}) was recorded"
            )
            out.append(
                factored
                | {"test": "stratified Cox", "factor": factor, "level": "none", "strata": "TRIAL"}
                | {"note": _joined(none, left_out)}
            )
        for level in others:
            fit = _cox(known, factor, level, reference, strata=True)
            out.append(
                factored
                | {"test": "stratified Cox", "factor": factor, "level": level, "strata": "TRIAL"}
                | {"statistic": None, "df": None, "p": fit.p, "note": _joined(fit.note, left_out)}
                | {"hr": fit.hr, "hr_lcl": fit.lcl, "hr_ucl": fit.ucl}
            )
    return pl.DataFrame(out, schema=TESTS_SCHEMA)


def _joined(*parts: str | None) -> str | None:
    return "; ".join(p for p in parts if p) or None


def unrecorded_note(rows: pl.DataFrame, factor: str) -> str | None:
    """What a comparison of ``factor`` leaves out of ``rows`` (one endpoint's pooled
    ADTTE): the subjects without it recorded, trial by trial, a trial that recorded it for
    none named as such; None when every subject has it. Until 2026-12-06 a trial whose
    drop did not collect bridging therapy (``BRIDGFL`` empty) was left out of the
    stratified tests without a word, and its forest row read "n=0, 0 events: no events"
    beside its 114 subjects and 34 deaths (a red team's). Worked example: trial A 3
    subjects, none with the factor; trial B 4 subjects, 1 without: "4 subject(s) without
    F recorded are left out: A (not recorded for any of its 3), B (1 of 4)"."""
    missing = (
        rows.group_by("TRIAL", maintain_order=True)
        .agg(pl.len().alias("n"), pl.col(factor).is_null().sum().alias("missing"))
        .filter(pl.col("missing") > 0)
    )
    if not missing.height:
        return None
    parts = [
        f"{r['TRIAL']} (not recorded for any of its {r['n']})"
        if r["missing"] == r["n"]
        else f"{r['TRIAL']} ({r['missing']} of {r['n']})"
        for r in missing.iter_rows(named=True)
    ]
    return f"{int(missing['missing'].sum())} subject(s) without {factor} recorded are left out: " + ", ".join(parts)


TESTS_SCHEMA = {
    "endpoint": pl.String,
    "test": pl.String,
    "factor": pl.String,
    "level": pl.String,
    "strata": pl.String,
    "n": pl.Int64,
    "n_events": pl.Int64,
    "statistic": pl.Float64,
    "df": pl.Int64,
    "p": pl.Float64,
    "hr": pl.Float64,
    "hr_lcl": pl.Float64,
    "hr_ucl": pl.Float64,
    "note": pl.String,
    "n_unrecorded": pl.Int64,
}


def cochran_q(log_hr: list[float], se: list[float]) -> tuple[float | None, int, float | None, float | None]:
    """(Q, df, p, I^2 in %) of estimates with standard errors: inverse-variance weights
    w = 1/se^2, pooled b = sum(w b)/sum(w), Q = sum w (b_i - b)^2 on k - 1 df,
    I^2 = 100 max(0, (Q - df)/Q). Fewer than two estimates: empty.
    Example: b = (0, 1), se = (1, 1): b = 0.5, Q = 0.25 + 0.25 = 0.5, df 1, I^2 0."""
    from scipy.special import chdtrc

    k = len(log_hr)
    if k < 2:
        return None, max(k - 1, 0), None, None
    b, w = np.asarray(log_hr), 1 / np.asarray(se) ** 2
    mean = float((w * b).sum() / w.sum())
    q = float((w * (b - mean) ** 2).sum())
    df = k - 1
    i2 = 100 * max(0.0, (q - df) / q) if q > 0 else 0.0
    return q, df, float(chdtrc(df, q)), i2


def forest(adtte: pl.DataFrame, factor: str, level: str, reference: str, trial_ids: list[str]) -> pl.DataFrame:
    """Per endpoint: the factor's hazard ratio within each trial, the trial-stratified
    pooled one, and the trials' heterogeneity (Cochran's Q, I^2) on the pooled row."""
    out: list[dict[str, object]] = []
    for endpoint in POOLED_ENDPOINTS:
        every = adtte.filter(pl.col("PARAMCD") == endpoint)
        rows = every.filter(pl.col(factor).is_not_null())
        estimates = []
        for trial in trial_ids:
            part = rows.filter(pl.col("TRIAL") == trial)
            unrecorded = every.filter(pl.col("TRIAL") == trial).height - part.height
            if unrecorded and not part.height:  # the trial did not record the factor: not "no events"
                fit = _Cox(None, None, None, None, None, None, f"{factor} not recorded: not in the pooled estimate")
            else:
                fit = _cox(part, factor, level, reference, strata=False)
            if fit.log_hr is not None and fit.se is not None:
                estimates.append((fit.log_hr, fit.se))
            row = _forest_row(endpoint, trial, factor, level, part, fit) | {"n_unrecorded": unrecorded}
            if unrecorded and part.height:
                row["note"] = _joined(fit.note, f"{unrecorded} subject(s) without {factor} left out")
            out.append(row)
        pooled = _cox(rows, factor, level, reference, strata=True)
        q, df, p_q, i2 = cochran_q([e[0] for e in estimates], [e[1] for e in estimates])
        out.append(
            _forest_row(endpoint, POOLED, factor, level, rows, pooled)
            | {"q": q, "q_df": df, "q_p": p_q, "i2": i2, "n_unrecorded": every.height - rows.height}
            | {"note": _joined(pooled.note or _pooled_note(rows, len(estimates)), unrecorded_note(every, factor))}
        )
    return pl.DataFrame(out, schema=FOREST_SCHEMA)


def _pooled_note(rows: pl.DataFrame, in_q: int) -> str:
    """The pooled row's note: the trials in Cochran's Q, and when one trial alone holds
    the factor, that the stratified estimate is that trial's (a red team's "pooled" hazard
    ratio of one trial, the others without the factor)."""
    holding = rows["TRIAL"].unique(maintain_order=True).to_list()
    if len(holding) == 1:
        return f"stratified by trial; {holding[0]} alone records the factor: the estimate is that trial's"
    return f"stratified by trial; {in_q} trial(s) in Q"


def _forest_row(endpoint: str, trial: str, factor: str, level: str, rows: pl.DataFrame, fit: _Cox) -> dict[str, object]:
    _, event = _arrays(rows)
    return {
        "endpoint": endpoint,
        "trial": trial,
        "factor": factor,
        "level": level,
        "n": rows.height,
        "n_level": int((rows[factor] == level).sum()),
        "n_events": int(event.sum()),
        "hr": fit.hr,
        "hr_lcl": fit.lcl,
        "hr_ucl": fit.ucl,
        "p": fit.p,
        "note": fit.note,
    }


FOREST_SCHEMA = {
    "endpoint": pl.String,
    "trial": pl.String,
    "factor": pl.String,
    "level": pl.String,
    "n": pl.Int64,
    "n_level": pl.Int64,
    "n_events": pl.Int64,
    "hr": pl.Float64,
    "hr_lcl": pl.Float64,
    "hr_ucl": pl.Float64,
    "p": pl.Float64,
    "q": pl.Float64,
    "q_df": pl.Int64,
    "q_p": pl.Float64,
    "i2": pl.Float64,
    "note": pl.String,
    "n_unrecorded": pl.Int64,
}

#: the pooled safety measures: label -> the ADSL condition (of the safety set)
SAFETY_MEASURES = {
    "CRS grade >= 3 (adjudicated)": pl.col("CRSGRAJ").fill_null(0) >= 3,
    "ICANS grade >= 3 (adjudicated)": pl.col("ICANGRAJ").fill_null(0) >= 3,
    "Non-relapse mortality": pl.col("NRMFL") == "Y",
}


def homogeneity(x: list[int], n: list[int]) -> tuple[float | None, int, float | None, str | None]:
    """Pearson's chi-square of the k x 2 table (x, n - x), R ``prop.test(x, n, correct =
    FALSE)``: sum (O - E)^2 / E with E from the pooled proportion, k - 1 df.
    Example: x = (2, 8), n = (10, 10): p = 0.5, E = 5 everywhere, chi-square =
    4 * 9 / 5 = 7.2, p-value 0.00729."""
    from scipy.special import chdtrc

    k = sum(1 for m in n if m > 0)
    xs, ns = np.asarray([a for a, m in zip(x, n, strict=True) if m > 0]), np.asarray([m for m in n if m > 0])
    if k < 2:
        return None, max(k - 1, 0), None, f"not testable: {k} trial(s) with infused subjects"
    total = xs.sum() / ns.sum()
    if total in (0.0, 1.0):
        return (
            None,
            k - 1,
            None,
            "not testable: " + ("no events in any trial" if total == 0 else "every subject had it"),
        )
    expected = np.column_stack([ns * total, ns * (1 - total)])
    observed = np.column_stack([xs, ns - xs])
    chisq = float(((observed - expected) ** 2 / expected).sum())
    note = "an expected count is below 5: the chi-square approximation may be poor" if expected.min() < 5 else None
    return chisq, k - 1, float(chdtrc(k - 1, chisq)), note


def pooled_safety(adsl: pl.DataFrame, trial_ids: list[str]) -> pl.DataFrame:
    """Each measure per trial and pooled, with Clopper-Pearson limits; the trials'
    heterogeneity on the pooled row."""
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    out: list[dict[str, object]] = []
    for measure, condition in SAFETY_MEASURES.items():
        counts = []
        for trial in trial_ids:
            part = safety.filter(pl.col("TRIAL") == trial)
            x, n = int(part.select(condition.sum()).item() or 0), part.height
            counts.append((x, n))
            out.append(_rate_row(measure, trial, x, n))
        x_all, n_all = sum(c[0] for c in counts), sum(c[1] for c in counts)
        chisq, df, p, note = homogeneity([c[0] for c in counts], [c[1] for c in counts])
        out.append(_rate_row(measure, POOLED, x_all, n_all) | {"chisq": chisq, "df": df, "p": p, "note": note})
    return pl.DataFrame(out, schema=SAFETY_SCHEMA)


def _rate_row(measure: str, trial: str, x: int, n: int) -> dict[str, object]:
    lcl, ucl = clopper_pearson(x, n)
    return {
        "measure": measure,
        "trial": trial,
        "n": x,
        "denominator": n,
        "pct": 100 * x / n if n else None,
        "lcl": None if lcl is None else 100 * lcl,
        "ucl": None if ucl is None else 100 * ucl,
    }


SAFETY_SCHEMA = {
    "measure": pl.String,
    "trial": pl.String,
    "n": pl.Int64,
    "denominator": pl.Int64,
    "pct": pl.Float64,
    "lcl": pl.Float64,
    "ucl": pl.Float64,
    "chisq": pl.Float64,
    "df": pl.Int64,
    "p": pl.Float64,
    "note": pl.String,
}


def trial_code(trial: TrialCut) -> str:
    """The code that made a trial's cut as its report's pages print it, or "not recorded"."""
    return "not recorded" if trial.code is None else code_label(trial.code)


def trials_table(trials: list[TrialCut]) -> pl.DataFrame:
    """What was pooled: each trial's cut, published version, manifest hash and the code
    that made it, and counts."""
    return pl.DataFrame(
        [
            {
                "trial": t.trial,
                "title": t.label,
                "data_cut": t.cut,
                "version": t.version,
                "manifest_sha256": t.manifest_sha256,
                "code": trial_code(t),
                "enrolled": t.adsl.height,
                "infused": int((t.adsl["SAFFL"] == "Y").sum()),
            }
            for t in trials
        ],
        schema={
            "trial": pl.String,
            "title": pl.String,
            "data_cut": pl.Date,
            "version": pl.String,
            "manifest_sha256": pl.String,
            "code": pl.String,
            "enrolled": pl.Int64,
            "infused": pl.Int64,
        },
    )


def pooled_analysis(trials: list[TrialCut], factor: str, code: Mapping[str, Any] | None = None) -> PooledTables:
    """Every pooled table of ``trials`` (in the portfolio's order) for the comparison ``factor``;
    ``code``: the pooling's (``provenance.code_version``), to name the trials made by other code."""
    ids = [t.trial for t in trials]
    adsl = pool_adsl(trials)
    adtte = pool_adtte(trials, adsl)
    reference, others = reference_level(adsl.filter(pl.col("SAFFL") == "Y"), factor)
    forests = [forest(adtte, factor, level, reference, ids) for level in others]
    return PooledTables(
        adsl=adsl,
        adtte=adtte,
        trials=trials_table(trials),
        survival=survival_by_trial(adtte, ids),
        tests=pooled_tests(adtte, factor, reference, others),
        forest=pl.concat(forests) if forests else pl.DataFrame(schema=FOREST_SCHEMA),
        safety=pooled_safety(adsl, ids),
        other_code=() if code is None else tuple(t.trial for t in trials if not same_code(t.code, code)),
    )
