"""Group comparisons: log-rank (R ``survdiff``) and Cox hazard ratios (R ``coxph``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class TestResult:
    """A k-sample test, as lifelines' ``StatisticalResult``: its statistic, degrees
    of freedom and p-value, or, when the test is undefined on the data at hand,
    empty values and the ``reason`` (endpoints.md: never stop the run)."""

    test: str
    statistic: float | None
    df: int
    p_value: float | None
    reason: str | None = None
    note: str | None = None  # a test computed with a caveat (levels left out of it, and why)

    @property
    def remark(self) -> str | None:
        """What a table's note says of the test: why it is empty, or its caveat."""
        return self.reason or self.note


def group_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``: the sorted distinct values and each
    value's index among them. Text is sorted by polars (the same order: UTF-8 bytes sort as
    code points do); numpy compares Python strings one pair at a time (0.12 s a column of
    100,000 subjects' levels, and a run's survival tests sorted dozens)."""
    array = np.asarray(values)
    if array.dtype.kind in "OU":
        text = pl.Series(array)
        if text.dtype == pl.String and not text.has_nulls():
            levels = text.unique().sort()
            return levels.to_numpy(), levels.search_sorted(text).to_numpy().astype(np.intp)
    return np.unique(array, return_inverse=True)


def _logrank_parts(
    time: np.ndarray, event: np.ndarray, g: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(O - E, V, E) of the k groups coded 0..k-1 in ``g``: at each distinct time t with n
    at risk and d events, group g has n_g at risk and d_g events; O_g = sum d_g,
    E_g = sum n_g d / n, V_gh = sum d (n - d) / (n - 1) (n_g / n) (delta_gh - n_h / n)."""
    times, t = np.unique(np.asarray(time, dtype=float), return_inverse=True)
    cell = t * k + g
    deaths = np.bincount(cell, weights=event, minlength=len(times) * k).reshape(-1, k)
    leaving = np.bincount(cell, minlength=len(times) * k).reshape(-1, k)
    at_risk = np.cumsum(leaving[::-1], axis=0)[::-1]  # n_g(t): still followed at t
    n = at_risk.sum(axis=1)
    d = deaths.sum(axis=1)
    observed = deaths.sum(axis=0)
    expected = (at_risk * (d / n)[:, None]).sum(axis=0)
    # a time with one group at risk adds nothing to V: its terms cancel exactly in arithmetic,
    # but not in floating point, and a red team's pooled trials, each with one level of the
    # factor, summed that rounding into a V of rank 2 ("chi-square 0.00 on 2 df, p 1.000"
    # for a two-level factor never compared)
    compared = (at_risk > 0).sum(axis=1) > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where((n > 1) & compared, d * (n - d) / (n - 1) / n**2, 0.0)  # d (n - d) / ((n - 1) n^2)
    variance = np.diag((w * n) @ at_risk) - (at_risk * w[:, None]).T @ at_risk
    return observed - expected, variance, expected


def logrank_test(
    time: np.ndarray, event: np.ndarray, group: np.ndarray, strata: np.ndarray | None = None
) -> TestResult:
    """Unweighted log-rank chi-square, as R ``survdiff`` (rho = 0) and SAS PROC
    LIFETEST; with ``strata``, the stratified test of ``survdiff(Surv ~ group +
    strata(s))``: O - E and V summed over the strata, each computed within its stratum.

    The statistic is (O - E)' V^- (O - E) with V^- a generalized inverse, on as many
    degrees of freedom as V has rank (SAS's form). Where V has rank k - 1 (the usual
    case) this is ``survdiff``'s statistic: R solves with one group left out. Where it
    has less, some levels are never at risk together with another level at an event
    time (a group with nobody at risk at any event time; a level alone in its stratum,
    as disease status within the response stratum): those comparisons carry no
    information and no degree of freedom, and ``note`` says so. There ``survdiff`` stops
    (a singular variance), or, depending on rounding, counts a degree of freedom for
    each (a reviewer's EFS by disease status: 2.943 on 2 df, p 0.230, for R's 2.943 on
    1 df, p 0.086, over the two levels that share a stratum). With no comparison left
    (V of rank 0) the statistic is empty with the reason. Vectorized over times
    (lifelines' ``multivariate_logrank_test`` gives the same numbers a hundred times
    slower on 100,000 subjects, and has no strata); held to ``survdiff`` by the
    reference tests.
    """
    from scipy.special import chdtrc

    name = "log-rank" if strata is None else "stratified log-rank"
    levels, g = group_codes(group)
    k = len(levels)
    if k < 2:
        return TestResult(name, None, 0, None, "one group only")
    event = np.asarray(event, dtype=float)
    if not event.any():
        return TestResult(name, None, k - 1, None, "no events")
    time = np.asarray(time, dtype=float)
    if strata is None:
        diff, variance, expected = _logrank_parts(time, event, g, k)
    else:
        _, s = group_codes(strata)
        diff, variance, expected = np.zeros(k), np.zeros((k, k)), np.zeros(k)
        for stratum in np.unique(s):
            rows = s == stratum
            part_diff, part_var, part_expected = _logrank_parts(time[rows], event[rows], g[rows], k)
            diff, variance, expected = diff + part_diff, variance + part_var, expected + part_expected
    kept = np.flatnonzero(expected > 0)  # survdiff: df <- (etmp > 0)
    if len(kept) < 2:
        return TestResult(name, None, 0, None, "not testable: only one group has anyone at risk at an event time")
    diff, variance = diff[kept], variance[np.ix_(kept, kept)]
    values, vectors = np.linalg.eigh(variance)
    zero = RANK_TOLERANCE * max(float(values.max()), 0.0)
    positive = values > zero
    df = int(positive.sum())
    within = " within a stratum" if strata is not None else ""
    if df < 1:
        return TestResult(name, None, 0, None, f"not testable: no two groups are at risk at an event time{within}")
    projected = vectors[:, positive].T @ diff
    chisq = float(np.sum(projected**2 / values[positive]))
    p_value = float(chdtrc(df, chisq))
    if not (np.isfinite(chisq) and np.isfinite(p_value)):
        return TestResult(name, None, df, None, "statistic not finite")
    return TestResult(name, chisq, df, p_value, note=_df_note(df, k, levels, kept, variance, zero, within))


def _df_note(
    df: int, k: int, levels: np.ndarray, kept: np.ndarray, variance: np.ndarray, zero: float, within: str
) -> str | None:
    """Why a log-rank test of ``k`` levels has ``df`` below k - 1, or None: a level with no
    one at risk at any event time (of its stratum: no expected count, and survdiff leaves
    it out without a word; an early cut's OS by disease status read "on 1 df" beside three
    levels, and a reviewer asked why), a level never at risk together with another level,
    or levels compared only in strata apart."""
    if df >= k - 1:
        return None
    unseen = [str(levels[i]) for i in np.setdiff1d(np.arange(k), kept)]
    alone = [str(levels[group]) for i, group in enumerate(kept) if variance[i, i] <= zero]
    reasons = []
    if unseen:
        reasons.append(f"{', '.join(unseen)} with no one at risk at an event time{within}, so compared with none")
    if alone:
        reasons.append(f"{', '.join(alone)} never at risk together with another level{within}, so compared with none")
    if df < len(kept) - 1 and not alone:
        reasons.append(f"some levels are never at risk together{within}, and those comparisons are left out")
    return f"on {df} df, not {k - 1}: {'; '.join(reasons)}"


#: eigenvalues of the log-rank variance below this fraction of the largest are zero (rounding:
#: a level alone in its stratum gives 1e-16 of it; a subject at risk at one event time among
#: 100,000 gives 1e-9)
RANK_TOLERANCE = 1e-12


@dataclass(frozen=True)
class HazardRatio:
    """A Cox hazard ratio with its Wald 95 % CI and p-value, or empty values and the
    ``reason`` it cannot be estimated."""

    hr: float | None
    lcl: float | None
    ucl: float | None
    p_value: float | None
    reason: str | None = None
    note: str | None = None  # a test computed with a caveat (levels left out of it, and why)


def _estimable(hr: float, lcl: float, ucl: float, p: float) -> HazardRatio:
    """A fitted hazard ratio, or empty with the reason when a number is not finite
    (a zero or infinite standard error leaves the CI and the p-value undefined)."""
    if all(np.isfinite(v) for v in (hr, lcl, ucl, p)):
        return HazardRatio(hr, lcl, ucl, p)
    return HazardRatio(None, None, None, None, "not estimable: zero or infinite standard error")


def cox_hazard_ratios(frame: pl.DataFrame, duration: str, event: str, covariates: list[str]) -> list[HazardRatio]:
    """Cox proportional hazards, Efron ties, Wald 95 % CIs (``analysis.cox``): one
    ``HazardRatio`` per covariate, empty with its reason where a standard error is
    zero or infinite. A coefficient that runs off to infinity (monotone likelihood)
    raises ValueError."""
    from trial_outcomes.analysis.cox import fit_cox

    x = np.column_stack([frame[c].cast(pl.Float64).to_numpy() for c in covariates])
    fit = fit_cox(frame[duration].to_numpy(), frame[event].to_numpy(), x)
    if not np.all(np.isfinite(fit.se)) or np.abs(fit.beta).max() > 15:
        raise ValueError("Cox model not estimable (monotone likelihood)")
    return [_estimable(*values) for values in fit.hazard_ratios()]


def group_hazard_ratio(frame: pl.DataFrame, duration: str, event: str, in_group: str) -> HazardRatio:
    """The Cox hazard ratio of the 0/1 column ``in_group`` against the rest, or empty
    with the reason: no event, everyone in one group, a monotone likelihood (no
    event in one group) or a singular information matrix."""

    def empty(reason: str) -> HazardRatio:
        return HazardRatio(None, None, None, None, reason)

    if frame.height == 0 or frame[event].sum() == 0:
        return empty("no events")
    if not 0 < frame[in_group].sum() < frame.height:
        return empty("one group only")
    if not 0 < frame.filter(pl.col(in_group) == 1)[event].sum() < frame[event].sum():
        # asked before fitting, as the pooled analysis does: a group without events has no finite
        # estimate, and one never at risk at an event time left a standard error of 5e8 from
        # rounding, whose CI overflowed (a red team's landmark, one HSCT subject censored first)
        return empty("not estimable: no event in one of the groups (monotone likelihood)")
    try:
        (fit,) = cox_hazard_ratios(frame, duration, event, [in_group])
    except ValueError:  # each group has events (asked above), yet the coefficient runs off
        return empty("not estimable: monotone likelihood")
    except np.linalg.LinAlgError:
        return empty("not estimable: singular information matrix")
    return fit


def factor_hazard_ratios(
    frame: pl.DataFrame, duration: str, event: str, factor: str, reference: str, others: list[str]
) -> list[HazardRatio]:
    """One Cox model with ``factor`` as indicator columns for ``others`` against
    ``reference`` (R ``coxph(Surv(t, e) ~ relevel(factor(x), reference))``): one
    ``HazardRatio`` per level of ``others``.

    A level without events has an empty hazard ratio with its reason, and only that
    level (endpoints.md, Estimation conventions): its coefficient runs to minus
    infinity in R's fit, so its subjects' weight exp(beta) vanishes from every risk
    set, and the other coefficients converge to the fit without those subjects,
    which is what is fitted here (R's estimates equal it to the precision of its
    convergence). A reference level without events leaves every ratio infinite:
    all empty. No events at all, or a model that still cannot be estimated, empties
    the remaining levels with the reason."""

    def empty(reason: str) -> HazardRatio:
        return HazardRatio(None, None, None, None, reason)

    if not others:
        return []
    if frame.height == 0 or frame[event].sum() == 0:
        return [empty("no events") for _ in others]
    events = dict(frame.group_by(factor).agg(pl.col(event).sum()).iter_rows())
    if not events.get(reference):
        return [empty(f"not estimable: no events in the reference level ({reference})") for _ in others]
    fitted = [level for level in others if events.get(level)]
    out = {level: empty("not estimable: no events in this level") for level in others if level not in fitted}
    if fitted:
        names = [f"_level_{i}" for i in range(len(fitted))]
        data = frame.filter(pl.col(factor).is_in([reference, *fitted])).with_columns(
            (pl.col(factor) == level).cast(pl.Int8).alias(name) for level, name in zip(fitted, names, strict=True)
        )
        try:
            ratios = cox_hazard_ratios(data, duration, event, names)
        except ValueError:
            ratios = [empty("not estimable: monotone likelihood") for _ in fitted]
        except np.linalg.LinAlgError:
            ratios = [empty("not estimable: singular information matrix") for _ in fitted]
        out.update(zip(fitted, ratios, strict=True))
    return [out[level] for level in others]
