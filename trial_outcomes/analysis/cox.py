"""Cox proportional hazards with Efron's tie correction, vectorized over event times.

Written here because lifelines' fitter takes about 2 s per model on 100 000
subjects with heavily tied days (it loops in Python), and the subgroup table
fits dozens of models. Same likelihood as R ``coxph(ties = "efron")``:
at an event time with d tied deaths D and risk set R, for l = 0..d-1,
s_k(l) = sum_R w x^k - (l/d) sum_D w x^k (w = exp(x beta)), and

    loglik = sum_D x beta - sum_l log s_0(l)
    score  = sum_D x     - sum_l s_1(l) / s_0(l)
    info   = sum_l [s_2(l) / s_0(l) - s_1(l) s_1(l)' / s_0(l)^2].

Identical subjects (same time, status and covariates) are summed as one row
with a multiplicity, which leaves the likelihood unchanged and makes the fit
cost grow with the number of distinct rows rather than subjects.
Newton-Raphson from beta = 0 with step halving, to a change in the log
likelihood below 1e-12; Wald CI exp(beta +- z se). Held to R's numbers in
tests/analysis/test_km_reference.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trial_outcomes.analysis.comparisons import group_codes
from trial_outcomes.analysis.km import Z95


@dataclass(frozen=True)
class CoxFit:
    beta: np.ndarray
    se: np.ndarray
    loglik: float
    iterations: int
    var: np.ndarray | None = None  # the inverse information (model-based variance)

    def hazard_ratios(self, z: float = Z95) -> list[tuple[float, float, float, float]]:
        """(HR, lower, upper, Wald p) per covariate; a limit past the floating-point range is
        infinite, without a warning (the callers empty a ratio with a limit not finite)."""
        from scipy.stats import norm

        out = []
        for b, s in zip(self.beta, self.se, strict=True):
            p = float(2 * norm.sf(abs(b / s))) if s > 0 and np.isfinite(s) else float("nan")
            with np.errstate(over="ignore"):
                out.append((float(np.exp(b)), float(np.exp(b - z * s)), float(np.exp(b + z * s)), p))
        return out


@dataclass(frozen=True)
class _RiskSets:
    """What does not change with beta: the data collapsed to distinct rows
    (time, event, x) with their multiplicity ``n``, sorted by time descending,
    and the indexing of risk sets and Efron terms. A collapsed row of n
    identical subjects enters every sum n times, so the likelihood is the same
    as on the subjects themselves; at 100,000 subjects with times in days and
    one binary covariate, a few thousand rows remain."""

    x: np.ndarray  # centred covariates, one row per distinct (time, event, x)
    n: np.ndarray  # multiplicity of each row
    dead: np.ndarray  # rows that are deaths
    last: np.ndarray  # last row of each distinct time: risk-set sums are cumulative to it
    group: np.ndarray  # distinct-time index of each row
    j: np.ndarray  # distinct-time index of each Efron term (one per death)
    frac: np.ndarray  # l / d of each Efron term, l = 0..d-1
    n_times: int
    times: np.ndarray  # the distinct times, descending (index = ``group``)


def _risk_sets(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> _RiskSets:
    import polars as pl

    p = x.shape[1]
    frame = pl.DataFrame({"t": time, "e": event, **{f"x{k}": x[:, k] for k in range(p)}})
    rows = frame.group_by(frame.columns).len().sort("t", "e", *[f"x{k}" for k in range(p)], descending=True)
    time, event = rows["t"].to_numpy(), rows["e"].to_numpy()
    x, n = rows.select(f"x{k}" for k in range(p)).to_numpy().astype(float), rows["len"].to_numpy().astype(float)
    uniq, first = np.unique(-time, return_index=True)  # -time ascending = time descending
    last = np.append(first[1:], len(time)) - 1
    group = np.repeat(np.arange(len(uniq)), np.diff(np.append(first, len(time))))
    dead = event == 1
    d = np.bincount(group[dead], weights=n[dead], minlength=len(uniq)).astype(np.int64)
    has = d > 0
    j = np.repeat(np.flatnonzero(has), d[has])
    rank = np.arange(len(j)) - np.repeat(np.cumsum(d[has]) - d[has], d[has])  # 0..d-1 within each tied time
    return _RiskSets(x=x, n=n, dead=dead, last=last, group=group, j=j, frac=rank / d[j], n_times=len(uniq), times=-uniq)


def _efron_terms(rs: _RiskSets, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(loglik, score, information) at ``beta``."""
    loglik, score, _, info_terms = _efron_parts(rs, beta)
    return loglik, score, info_terms.sum(axis=0)


def _efron_parts(rs: _RiskSets, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(loglik, score, the weighted mean of x in each Efron term, each term's
    information s_2/s_0 - mean mean') at ``beta``: one term per death."""
    x, n, dead, group, j, frac, m = rs.x, rs.n, rs.dead, rs.group, rs.j, rs.frac, rs.n_times
    p = x.shape[1]
    eta = x @ beta
    eta -= eta.max()  # scale-free: exp of large values would overflow
    w = n * np.exp(eta)
    wx = w[:, None] * x
    wxx = w[:, None, None] * x[:, :, None] * x[:, None, :]
    # risk-set sums: cumulative over descending time, taken at the last row of each time
    s0_all, s1_all, s2_all = np.cumsum(w)[rs.last], np.cumsum(wx, axis=0)[rs.last], np.cumsum(wxx, axis=0)[rs.last]
    # death sums per time
    t0 = np.bincount(group[dead], weights=w[dead], minlength=m)
    t1 = np.stack([np.bincount(group[dead], weights=wx[dead, k], minlength=m) for k in range(p)], axis=1)
    t2 = np.zeros((m, p, p))
    np.add.at(t2, group[dead], wxx[dead])
    # each event time's d Efron terms
    s0 = s0_all[j] - frac * t0[j]
    s1 = s1_all[j] - frac[:, None] * t1[j]
    s2 = s2_all[j] - frac[:, None, None] * t2[j]
    loglik = float((n[dead] * eta[dead]).sum() - np.log(s0).sum())
    score = (n[dead, None] * x[dead]).sum(axis=0) - (s1 / s0[:, None]).sum(axis=0)
    mean = s1 / s0[:, None]
    info_terms = s2 / s0[:, None, None] - np.einsum("ni,nj->nij", mean, mean)
    return loglik, score, mean, info_terms


def fit_cox(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    tol: float = 1e-12,
    max_iter: int = 50,
    strata: np.ndarray | None = None,
) -> CoxFit:
    """Efron Cox model of ``time``/``event`` (1/0) on covariates ``x`` (n x p); with
    ``strata``, R's ``coxph(Surv ~ x + strata(s))``: each stratum its own baseline
    hazard, its own risk sets, one common beta (the log-likelihood, score and
    information are sums over the strata)."""
    time = np.asarray(time, dtype=float)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    x = x - x.mean(axis=0)  # centring changes no estimate, only the numbers' size
    event = np.asarray(event, dtype=int)
    if strata is None:
        risk_sets = [_risk_sets(time, event, x)]
    else:
        _, s = group_codes(strata)
        risk_sets = [_risk_sets(time[s == k], event[s == k], x[s == k]) for k in np.unique(s)]

    def terms(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        parts = [_efron_terms(rs, b) for rs in risk_sets if rs.dead.any()]
        if not parts:
            return 0.0, np.zeros(x.shape[1]), np.zeros((x.shape[1], x.shape[1]))
        return (
            float(sum(p[0] for p in parts)),
            np.sum([p[1] for p in parts], axis=0),
            np.sum([p[2] for p in parts], axis=0),
        )

    beta = np.zeros(x.shape[1])
    loglik, score, info = terms(beta)
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        step = np.linalg.lstsq(info, score, rcond=None)[0]
        for _ in range(30):  # step halving keeps the likelihood rising
            new_loglik, new_score, new_info = terms(beta + step)
            if np.isfinite(new_loglik) and new_loglik >= loglik - 1e-12:
                break
            step = step / 2
        beta = beta + step
        converged = abs(new_loglik - loglik) <= tol * max(1.0, abs(loglik))
        loglik, score, info = new_loglik, new_score, new_info
        if converged and np.abs(step).max() < 1e-8:
            break
    var = np.linalg.pinv(info)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(var))
    return CoxFit(beta=beta, se=se, loglik=loglik, iterations=iteration, var=var)


@dataclass(frozen=True)
class ZphTest:
    """R's ``cox.zph`` (survival 3.x, ``transform = "km"``): a score test per term and
    a global one, and the scaled Schoenfeld residuals its plot draws."""

    chisq: list[float]  # per term, in the order of ``terms``
    df: list[int]
    p: list[float]
    global_chisq: float
    global_df: int
    global_p: float
    transformed_time: np.ndarray  # g(t) of each death, before centring: 1 - S(t-) (KM of the data)
    scaled_residuals: np.ndarray  # deaths x covariates: n_events V r + beta (R's plot.cox.zph y)


def cox_zph(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, var: np.ndarray, terms: list[list[int]]
) -> ZphTest:
    """The proportional-hazards test R's ``cox.zph(fit)`` reports (survival >= 3.0).

    The model is widened with x g(t) for each covariate, g(t) = 1 - S(t-) (the
    left-continuous Kaplan-Meier of the data: R's default "km" transform), centred
    on its mean over the deaths; the test is the score test of the new
    coefficients at (beta-hat, 0): u' I^-1 u with u = (0, sum_deaths g (x - xbar))
    and I the 2p x 2p Efron information of the widened model, the beta block
    included (so the test allows for beta being estimated). A term of several
    columns (a factor) is tested on its columns together. This is not lifelines'
    ``proportional_hazard_test``, which computes the older Grambsch-Therneau
    approximation (survival < 3.0; it uses the information of beta alone, scaled):
    its statistics differ from R's current ones. Held to R in
    tests/analysis/test_models_reference.py.
    """
    from scipy.special import chdtrc

    time = np.asarray(time, dtype=float)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    x = x - x.mean(axis=0)
    event = np.asarray(event, dtype=int)
    rs = _risk_sets(time, event, x)
    p = x.shape[1]
    _, _, mean, info_terms = _efron_parts(rs, np.asarray(beta, dtype=float))
    # g at each distinct time: 1 - S(t-), S the Kaplan-Meier of (time, event)
    deaths = np.bincount(rs.group[rs.dead], weights=rs.n[rs.dead], minlength=rs.n_times)[::-1]
    leaving = np.bincount(rs.group, weights=rs.n, minlength=rs.n_times)[::-1]
    at_risk = np.cumsum(leaving[::-1])[::-1]
    surv = np.cumprod(1 - deaths / at_risk)
    g_asc = 1 - np.concatenate([[1.0], surv[:-1]])  # S(t-)
    g_time = g_asc[::-1]  # by descending-time index, as rs.group
    death_rows = np.flatnonzero(rs.dead)
    mean_g = float((rs.n[death_rows] * g_time[rs.group[death_rows]]).sum() / rs.n[death_rows].sum())
    g = g_time - mean_g
    g_terms = g[rs.j]  # one per Efron term
    u = (rs.n[death_rows, None] * g[rs.group[death_rows], None] * rs.x[death_rows]).sum(axis=0) - (
        g_terms[:, None] * mean
    ).sum(axis=0)
    imat = np.zeros((2 * p, 2 * p))
    imat[:p, :p] = info_terms.sum(axis=0)
    imat[:p, p:] = imat[p:, :p] = (g_terms[:, None, None] * info_terms).sum(axis=0)
    imat[p:, p:] = (g_terms[:, None, None] ** 2 * info_terms).sum(axis=0)
    full_u = np.concatenate([np.zeros(p), u])

    def test(cols: list[int]) -> float:
        keep = list(range(p)) + [p + c for c in cols]
        uu = full_u[keep]
        try:
            return float(uu @ np.linalg.solve(imat[np.ix_(keep, keep)], uu))
        except np.linalg.LinAlgError:  # a singular widened information: no test
            return float("nan")

    chisq = [test(cols) for cols in terms]
    df = [len(cols) for cols in terms]
    global_chisq = test(list(range(p)))
    # scaled Schoenfeld residuals: each death's x minus the mean of its Efron terms' means
    d_per_time = np.bincount(rs.j, minlength=rs.n_times)
    mean_of_means = np.zeros((rs.n_times, p))
    np.add.at(mean_of_means, rs.j, mean)
    mean_of_means /= np.maximum(d_per_time, 1)[:, None]
    reps = rs.n[death_rows].astype(int)
    r = np.repeat(rs.x[death_rows] - mean_of_means[rs.group[death_rows]], reps, axis=0)
    order = np.argsort(np.repeat(rs.times[rs.group[death_rows]], reps), kind="stable")  # ascending time
    n_events = int(reps.sum())
    scaled = (r @ np.asarray(var).reshape(p, p)) * n_events + np.asarray(beta)
    return ZphTest(
        chisq=chisq,
        df=df,
        p=[float(chdtrc(d, c)) for d, c in zip(df, chisq, strict=True)],
        global_chisq=global_chisq,
        global_df=p,
        global_p=float(chdtrc(p, global_chisq)),
        transformed_time=np.repeat(g_time[rs.group[death_rows]], reps)[order],
        scaled_residuals=scaled[order],
    )
