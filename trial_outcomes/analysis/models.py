"""The models a CAR-T paper reports beyond the subgroup forest (endpoints.md,
"Models"):

- a multivariable Cox model of the plan's covariates (``[models] covariates``) for
  OS, EFS and relapse (the cause-specific hazard: a death in remission censored),
  Efron ties (``cox.fit_cox``), Wald 95 % CIs: R ``coxph(Surv(t, e) ~ x1 + x2 ...)``;
- its proportional-hazards tests, per covariate and global (``cox.cox_zph``: R's
  ``cox.zph``, KM transform), with the scaled Schoenfeld residuals for the plots;
- the Fine-Gray model of relapse with death in remission competing, multivariable
  and by subgroup (``fine_gray.fine_gray``: R ``cmprsk::crr``);
- the log-rank test of each subgroup stratified by the plan's strata
  (``comparisons.logrank_test``: R ``survdiff(Surv ~ g + strata(s))``).

A subgroup variable enters as a factor against its reference level (the plan's
``forest_reference``, else the largest group of the infused: ``survival_summary.trial_references``);
``bm_blasts_ge50`` as a factor with reference No; ``CD19PCT`` per 10 percentage
points and ``AGE`` per year as numbers. Subjects without a value of a
covariate are left out of the model (R's ``na.omit``), and said so.

Where R's fit would run off to infinity, the model is fitted as R's converges to:
a level without events has an empty ratio and its subjects leave the model (their
weight exp(beta) -> 0 removes them from every risk set); a covariate with one level,
or whose reference level has no events, is left out with the reason. A model that
still diverges, or has fewer than ``MIN_EVENTS`` events, is empty with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from trial_outcomes.analysis.comparisons import logrank_test
from trial_outcomes.analysis.cox import ZphTest, cox_zph, fit_cox
from trial_outcomes.analysis.fine_gray import fine_gray
from trial_outcomes.analysis.frames import require
from trial_outcomes.analysis.survival_summary import levels, reference_level
from trial_outcomes.contracts import (
    FineGraySubgroups,
    MultivariableModels,
    PhResiduals,
    PhTests,
    StratifiedLogrank,
)

#: ADTTE PARAMCD of each Cox model; relapse is CIR's cause-specific hazard
COX_ENDPOINTS = ("OS", "EFS", "CIR")
MIN_EVENTS = 2
#: events per model parameter below which the estimates are flagged as unstable
MIN_EVENTS_PER_PARAMETER = 10
#: |coefficient| beyond this is a fit running off to infinity (monotone likelihood)
DIVERGING = 15.0
PER_UNIT = "per unit"  # a number's model column; published as its unit (``UNITS``)
#: the start of a PH verdict that rejects (ph_tests.csv); the report and the figures read it
PH_REJECTS = "evidence against proportional hazards"
#: reference level of the derived factors
DERIVED_REFERENCE = {"bm_blasts_ge50": "No"}
DERIVED_SCALE = {"CD19PCT": 10.0, "AGE": 1.0}
#: the ``level`` the tables publish for a number: what one unit of its ratio is ("per unit"
#: read as one percentage point, where the ratio is per 10)
UNITS = {"CD19PCT": "per 10 percentage points", "AGE": "per year"}


def level_text(covariate: str, level: str) -> str:
    """A model column's level as published: a number's unit, a factor's level as it is."""
    return UNITS.get(covariate, PER_UNIT) if level == PER_UNIT else level


Z95 = 1.959963984540054


def _schema(schema: type) -> dict[str, pl.DataType]:
    return {name: col.dtype for name, col in schema.columns().items()}  # type: ignore[attr-defined]


def covariate_values(adsl: pl.DataFrame, covariates: tuple[str, ...]) -> pl.DataFrame:
    """``USUBJID`` and one column per covariate: text for a factor, a float for a
    number (``CD19PCT`` in units of 10 percentage points)."""
    exprs: list[pl.Expr] = []
    for name in covariates:
        if name == "bm_blasts_ge50":
            require(adsl, "ADSL", "BMBLPCT")
            exprs.append(
                pl.when(pl.col("BMBLPCT").is_null())
                .then(None)
                .when(pl.col("BMBLPCT") >= 50)
                .then(pl.lit("Yes"))
                .otherwise(pl.lit("No"))
                .alias(name)
            )
        elif name in DERIVED_SCALE:
            require(adsl, "ADSL", name)
            exprs.append((pl.col(name).cast(pl.Float64) / DERIVED_SCALE[name]).alias(name))
        else:
            require(adsl, "ADSL", name)
            exprs.append(pl.col(name).cast(pl.String).alias(name))
    return adsl.select("USUBJID", *exprs)


def is_number(name: str) -> bool:
    return name in DERIVED_SCALE


@dataclass
class Design:
    """The model matrix of one model: which rows, which columns, and what was left out."""

    frame: pl.DataFrame  # the rows fitted
    columns: list[tuple[str, str]]  # (covariate, level) of each model column
    reference: dict[str, str]  # of every factor that got as far as choosing one, in the model or not
    empty: dict[tuple[str, str], str] = field(default_factory=dict)  # (covariate, level) -> reason
    notes: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # covariate left out of the model -> why

    def matrix(self) -> np.ndarray:
        cols = []
        for covariate, level in self.columns:
            values = self.frame[covariate]
            cols.append(
                values.cast(pl.Float64).to_numpy()
                if level == PER_UNIT
                else (values == level).cast(pl.Float64).to_numpy()
            )
        return np.column_stack(cols) if cols else np.zeros((self.frame.height, 0))

    def terms(self) -> list[list[int]]:
        """Column indices of each covariate still in the model, in the plan's order."""
        out: dict[str, list[int]] = {}
        for i, (covariate, _) in enumerate(self.columns):
            out.setdefault(covariate, []).append(i)
        return list(out.values())

    def covariates(self) -> list[str]:
        return list(dict.fromkeys(c for c, _ in self.columns))


def design(rows: pl.DataFrame, covariates: tuple[str, ...], preferred: dict[str, str], event: str) -> Design:
    """The model of ``rows`` (with the covariate columns and the 0/1 column ``event``)
    after the rules of the module docstring."""
    notes: list[str] = []
    dropped: dict[str, str] = {}
    # a covariate with no value at all is not collected: left out, not every subject (a red
    # team's BRIDGFL, empty without the bridging column, left every model with 0 subjects)
    for name in [c for c in covariates if rows.height and rows[c].null_count() == rows.height]:
        dropped[name] = f"{name}: not collected (no subject has a value), left out of the model"
        notes.append(dropped[name])
    covariates = tuple(c for c in covariates if c not in dropped)
    complete = pl.all_horizontal(pl.col(c).is_not_null() for c in covariates) if covariates else pl.lit(True)
    missing = rows.filter(~complete)
    if missing.height:
        notes.append(f"{missing.height} subject(s) without a value of a covariate left out")
    data = rows.filter(complete)
    kept = list(covariates)
    empty: dict[tuple[str, str], str] = {}
    reference: dict[str, str] = {}
    while True:  # dropping subjects can leave another covariate with one level: repeat until stable
        changed = False
        for name in list(kept):
            if is_number(name):
                if data[name].n_unique() < 2:
                    kept.remove(name)
                    dropped[name] = f"{name}: one value only, left out of the model"
                    notes.append(dropped[name])
                    changed = True
                continue
            present = levels(data, name)
            if len(present) < 2 and any(key[0] == name for key in empty):
                kept.remove(name)  # its other levels had no events: those empty rows say so
                changed = True
                continue
            if len(present) < 2:
                kept.remove(name)
                dropped[name] = f"{name}: one level only, left out of the model"
                notes.append(dropped[name])
                changed = True
                continue
            ref = reference_level(data, name, preferred.get(name, DERIVED_REFERENCE.get(name)))
            assert ref is not None
            reference[name] = ref
            events = dict(data.group_by(name).agg(pl.col(event).sum()).iter_rows())
            if not any(events.values()):
                continue  # no events at all: the model is empty for that reason (``_too_few``), not the levels
            if not events.get(ref):
                kept.remove(name)
                dropped[name] = f"{name}: no events in the reference level ({ref}), left out of the model"
                notes.append(dropped[name])
                changed = True
                continue
            silent = [level for level in present if not events.get(level)]
            for level in silent:
                empty[(name, level)] = "not estimable: no events in this level (its subjects leave the model)"
            if silent:
                data = data.filter(~pl.col(name).is_in(silent))
                changed = True
        if not changed:
            break
    columns: list[tuple[str, str]] = []
    for name in kept:
        if is_number(name):
            columns.append((name, PER_UNIT))
        else:
            columns += [(name, level) for level in levels(data, name) if level != reference[name]]
    out = Design(data, columns, reference, empty, notes, dropped)
    _drop_aliased(out)
    return out


def _drop_aliased(d: Design) -> None:
    """A model column that is a linear combination of the earlier ones (two covariates
    that coincide in the subjects left) is taken out, as R's coxph gives it NA: its
    row says so. In order, each column is kept when it raises the rank."""
    if not d.columns or d.frame.height == 0:
        return
    x = d.matrix()
    x = x - x.mean(axis=0)
    keep: list[int] = []
    for i in range(x.shape[1]):
        trial = [*keep, i]
        if np.linalg.matrix_rank(x[:, trial]) == len(trial):
            keep.append(i)
    for i in range(x.shape[1]):
        if i not in keep:
            d.empty[d.columns[i]] = "not estimable: collinear with the covariates before it in the model (R: NA)"
    d.columns = [d.columns[i] for i in keep]


def _endpoint_rows(adtte: pl.DataFrame, adsl: pl.DataFrame, paramcd: str, covariates: tuple[str, ...]) -> pl.DataFrame:
    """The primary analysis of ``paramcd``: ``_time``, ``_event`` (the Cox event),
    ``_cause`` (1 the event, 2 competing, 0 censored) and the covariates."""
    require(adtte, "ADTTE", "USUBJID", "PARAMCD", "ANALYSIS", "AVAL", "CNSR", "EVNTTYPE")
    rows = adtte.filter((pl.col("PARAMCD") == paramcd) & (pl.col("ANALYSIS") == "primary"))
    cause = (
        pl.col("EVNTTYPE").fill_null(0).cast(pl.Int64)
        if paramcd in ("CIR", "NRM")
        else (pl.col("CNSR") == 0).cast(pl.Int64)
    )
    rows = rows.select("USUBJID", pl.col("AVAL").cast(pl.Float64).alias("_time"), cause.alias("_cause")).with_columns(
        (pl.col("_cause") == 1).cast(pl.Int64).alias("_event")
    )
    return rows.join(covariate_values(adsl, covariates), on="USUBJID", how="left").sort("USUBJID")


@dataclass(frozen=True)
class ModelTables:
    models: pl.DataFrame  # multivariable_models.csv
    ph_tests: pl.DataFrame  # ph_tests.csv
    ph_residuals: pl.DataFrame  # ph_residuals.parquet


def _model_rows(
    model: str, endpoint: str, d: Design, estimates: dict[int, tuple[float, float, float, float]], reason: str | None
) -> list[dict[str, object]]:
    """One row per model column (its estimate, or the model's reason), then one per
    level without events, collinear column or covariate left out (with why)."""
    n, events = d.frame.height, int(d.frame["_event"].sum()) if d.frame.height else 0
    note = "; ".join(d.notes) or None
    entries: list[tuple[str, str, tuple[float, float, float, float] | None, str | None]] = [
        (covariate, level, estimates.get(i), note if estimates.get(i) else reason)
        for i, (covariate, level) in enumerate(d.columns)
    ]
    entries += [(covariate, level, None, why) for (covariate, level), why in d.empty.items()]
    entries += [(covariate, "", None, why) for covariate, why in d.dropped.items()]
    return [
        {
            "model": model,
            "endpoint": endpoint,
            "covariate": covariate,
            "level": level_text(covariate, level),
            "reference": d.reference.get(covariate),
            "n": n,
            "n_events": events,
            "estimate": est[0] if est else None,
            "lcl": est[1] if est else None,
            "ucl": est[2] if est else None,
            "p": est[3] if est else None,
            "note": why,
        }
        for covariate, level, est, why in entries
    ]


def _wald(beta: np.ndarray, se: np.ndarray) -> dict[int, tuple[float, float, float, float]] | None:
    """(ratio, lower, upper, p) per column, or None when the fit diverged."""
    from scipy.stats import norm

    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(se)) and np.all(se > 0)):
        return None
    if np.abs(beta).max(initial=0) > DIVERGING or np.abs(beta + Z95 * se).max(initial=0) > 700:
        return None
    return {
        i: (
            float(np.exp(b)),
            float(np.exp(b - Z95 * s)),
            float(np.exp(b + Z95 * s)),
            float(min(1.0, 2 * norm.sf(abs(b / s)))),
        )
        for i, (b, s) in enumerate(zip(beta, se, strict=True))
    }


def _too_few(d: Design) -> str | None:
    events = int(d.frame["_event"].sum()) if d.frame.height else 0
    if not d.columns:
        return "no covariate left to fit"
    if events < MIN_EVENTS:
        return f"fewer than {MIN_EVENTS} events"
    if events <= len(d.columns):
        return f"{events} events for {len(d.columns)} model terms: not estimable"
    return None


def _epv_note(d: Design) -> None:
    events = int(d.frame["_event"].sum())
    if events < MIN_EVENTS_PER_PARAMETER * len(d.columns):
        d.notes.append(
            f"{events} events for {len(d.columns)} model terms (fewer than {MIN_EVENTS_PER_PARAMETER} per term): "
            "the estimates are unstable"
        )


def multivariable_cox(
    adtte: pl.DataFrame,
    adsl: pl.DataFrame,
    covariates: tuple[str, ...],
    reference: dict[str, str],
    ph_alpha: float = 0.05,
) -> ModelTables:
    """The multivariable Cox model of each of ``COX_ENDPOINTS``, its PH tests and
    residuals, and the Fine-Gray model of relapse (``multivariable_models.csv``,
    ``ph_tests.csv``, ``ph_residuals.parquet``)."""
    model_rows: list[dict[str, object]] = []
    ph_rows: list[dict[str, object]] = []
    residuals: list[pl.DataFrame] = []
    for endpoint in COX_ENDPOINTS:
        rows = _endpoint_rows(adtte, adsl, endpoint, covariates)
        d = design(rows, covariates, reference, "_event")
        reason = _too_few(d)
        estimates: dict[int, tuple[float, float, float, float]] | None = None
        if reason is None:
            _epv_note(d)
            x = d.matrix()
            time, event = d.frame["_time"].to_numpy(), d.frame["_event"].to_numpy()
            try:
                fit = fit_cox(time, event, x)
            except np.linalg.LinAlgError:
                fit = None
            estimates = _wald(fit.beta, fit.se) if fit is not None else None
            if estimates is None:
                reason = "not estimable: the fit diverges (monotone likelihood)"
            else:
                assert fit is not None and fit.var is not None
                zph = cox_zph(time, event, x, fit.beta, fit.var, d.terms())
                ph_rows += _ph_rows(endpoint, d, zph, ph_alpha)
                residuals.append(_residual_frame(endpoint, d, zph, time, event))
        model_rows += _model_rows("Cox", endpoint, d, estimates or {}, reason)
    # Fine-Gray: relapse, death in remission competing
    rows = _endpoint_rows(adtte, adsl, "CIR", covariates)
    d = design(rows, covariates, reference, "_event")
    reason = _too_few(d)
    estimates = None
    if reason is None:
        _epv_note(d)
        fg = fine_gray(d.frame["_time"].to_numpy(), d.frame["_cause"].to_numpy(), d.matrix())
        estimates = _wald(fg.beta, fg.se) if fg.converged else None
        if estimates is None:
            reason = "not estimable: the fit does not converge (crr's rule)"
    model_rows += _model_rows("Fine-Gray", "CIR", d, estimates or {}, reason)
    return ModelTables(
        pl.DataFrame(model_rows, schema=_schema(MultivariableModels), orient="row"),
        pl.DataFrame(ph_rows, schema=_schema(PhTests), orient="row"),
        pl.concat(residuals) if residuals else pl.DataFrame(schema=_schema(PhResiduals)),
    )


def _ph_rows(endpoint: str, d: Design, zph: ZphTest, alpha: float) -> list[dict[str, object]]:
    names = d.covariates()
    out: list[dict[str, object]] = []
    for name, chisq, df, p in zip(
        [*names, "GLOBAL"],
        [*zph.chisq, zph.global_chisq],
        [*zph.df, zph.global_df],
        [*zph.p, zph.global_p],
        strict=True,
    ):
        finite = bool(np.isfinite(chisq) and np.isfinite(p))
        if not finite:
            verdict = "not computable"
        elif p < alpha:
            verdict = f"{PH_REJECTS} (p < {alpha:g})"
        else:
            verdict = "no evidence against proportional hazards"
        out.append(
            {
                "endpoint": endpoint,
                "covariate": name,
                "chisq": float(chisq) if finite else None,
                "df": int(df),
                "p": float(min(max(p, 0.0), 1.0)) if finite else None,
                "verdict": verdict,
            }
        )
    return out


def _residual_frame(endpoint: str, d: Design, zph: ZphTest, time: np.ndarray, event: np.ndarray) -> pl.DataFrame:
    event_times = np.sort(time[event == 1])
    frames = []
    for i, (covariate, level) in enumerate(d.columns):
        frames.append(
            pl.DataFrame(
                {
                    "endpoint": endpoint,
                    "covariate": covariate,
                    "level": level_text(covariate, level),
                    "time_days": event_times.astype(float),
                    "km_time": zph.transformed_time.astype(float),
                    "residual": zph.scaled_residuals[:, i].astype(float),
                },
                schema=_schema(PhResiduals),
            )
        )
    return pl.concat(frames)


def fine_gray_subgroups(
    adtte: pl.DataFrame, adsl: pl.DataFrame, subgroups: tuple[str, ...], reference: dict[str, str]
) -> pl.DataFrame:
    """``fine_gray_subgroups.csv``: the subdistribution hazard ratio of relapse (death in
    remission competing) for each level of each subgroup against its reference level,
    one Fine-Gray model per subgroup (R ``crr(t, cause, model.matrix(~ factor(x)))``)."""
    out: list[dict[str, object]] = []
    for var in subgroups:
        rows = _endpoint_rows(adtte, adsl, "CIR", (var,))
        d = design(rows, (var,), reference, "_event")
        reason = _too_few(d)
        estimates = None
        if reason is None:
            fg = fine_gray(d.frame["_time"].to_numpy(), d.frame["_cause"].to_numpy(), d.matrix())
            estimates = _wald(fg.beta, fg.se) if fg.converged else None
            if estimates is None:
                reason = "not estimable: the fit does not converge (crr's rule)"
        ref = d.reference.get(var)
        entries = [(level, (estimates or {}).get(i), reason) for i, (_, level) in enumerate(d.columns)]
        entries += [(level, None, why) for (_, level), why in d.empty.items()]
        if var in d.dropped and ref is not None:  # its reference level had no relapse: every level says so
            entries += [(level, None, d.dropped[var]) for level in levels(rows, var) if level != ref]
        for level, est, why in entries:
            out.append(_fg_row(var, level, ref, rows.filter(pl.col(var).is_in([level, ref])), est, why))
    return pl.DataFrame(out, schema=_schema(FineGraySubgroups), orient="row")


def _fg_row(
    var: str,
    level: str,
    ref: str | None,
    pair: pl.DataFrame,
    est: tuple[float, float, float, float] | None,
    reason: str | None,
) -> dict[str, object]:
    return {
        "group_var": var,
        "group": level,
        "reference": ref or "",
        "n": pair.height,
        "n_events": int((pair["_cause"] == 1).sum()),
        "n_competing": int((pair["_cause"] == 2).sum()),
        "shr": est[0] if est else None,
        "shr_lcl": est[1] if est else None,
        "shr_ucl": est[2] if est else None,
        "p": est[3] if est else None,
        "note": None if est else (reason or "not estimable"),
    }


#: the Kaplan-Meier endpoints the stratified log-rank test is run on
LOGRANK_ENDPOINTS = ("OS", "EFS", "DFS")


def stratified_logrank(
    adtte: pl.DataFrame, adsl: pl.DataFrame, subgroups: tuple[str, ...], strata: tuple[str, ...]
) -> pl.DataFrame:
    """``stratified_logrank.csv``: each subgroup's log-rank test on OS, EFS and DFS,
    stratified by the plan's ``logrank_strata`` (their combinations are the strata);
    a subgroup that is itself a stratum variable is not tested."""
    out: list[dict[str, object]] = []
    if not strata:
        return pl.DataFrame(out, schema=_schema(StratifiedLogrank), orient="row")
    label = " x ".join(strata)
    for endpoint in LOGRANK_ENDPOINTS:
        rows = _endpoint_rows(adtte, adsl, endpoint, tuple(dict.fromkeys((*subgroups, *strata))))
        for var in subgroups:
            if var in strata:
                continue
            data = rows.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in (var, *strata)))
            stratum = data.select(pl.concat_str([pl.col(s) for s in strata], separator="\x1f")).to_series()
            events = int(data["_event"].sum()) if data.height else 0
            note: str | None = None
            if data.height == 0:
                result = None
                note = "no subjects with a value"
            else:
                result = logrank_test(
                    data["_time"].to_numpy(), data["_event"].to_numpy(), data[var].to_numpy(), stratum.to_numpy()
                )
                note = result.remark
            out.append(
                {
                    "endpoint": endpoint,
                    "group_var": var,
                    "strata": label,
                    "n": data.height,
                    "n_events": events,
                    "chisq": None if result is None else result.statistic,
                    "df": 0 if result is None else result.df,
                    "p": None if result is None else result.p_value,
                    "note": note,
                }
            )
    return pl.DataFrame(out, schema=_schema(StratifiedLogrank), orient="row")
