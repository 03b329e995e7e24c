"""Fine-Gray proportional subdistribution hazards: R's ``cmprsk::crr``, vectorized.

lifelines has no Fine-Gray estimator, so the project's own code fits it, to
crr's conventions (cmprsk 2.2, Gray's Fortran ``crrfsv``, ``crrf``, ``crrvv``):

- Censoring: G, the Kaplan-Meier of the censoring times, taken just before each
  time (G(t-)); one censoring group.
- Risk set at a cause-1 time t: every subject with time >= t at full weight, and
  every subject with a competing event before t at weight G(t-)/G(T_i-).
- Ties among cause-1 times: Breslow (d log S0 at each time).
- Fit: Newton-Raphson from beta = 0 with crr's step halving (Armijo, 1e-4) and
  its stopping rule (max |score| max(|beta|, 1) < max(|loglik|, 1) gtol, gtol
  1e-6, at most 10 iterations), so that the coefficients are crr's own, not a
  more converged neighbour.
- Variance: crr's sandwich I^-1 (sum_i (eta_i + psi_i)(eta_i + psi_i)') I^-1
  (Fine and Gray 1999, section 3): eta_i the subject's score residual, psi_i the
  term for estimating G. Computed with cumulative sums over the cause-1 times,
  O(n log n) where crrvv loops O(n^2).

Held to ``crr`` in tests/analysis/test_models_reference.py (a public data set with
ties, and the sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FineGrayFit:
    beta: np.ndarray
    se: np.ndarray
    loglik: float
    converged: bool
    iterations: int


def censoring_left_limits(time: np.ndarray, cause: np.ndarray) -> np.ndarray:
    """G(t_i-) for each subject: the Kaplan-Meier of the censoring times (cause 0 the
    event, everything else censored) just before t_i."""
    times, inverse = np.unique(time, return_inverse=True)
    leaving = np.bincount(inverse, minlength=len(times)).astype(float)
    censored = np.bincount(inverse, weights=(cause == 0).astype(float), minlength=len(times))
    at_risk = np.cumsum(leaving[::-1])[::-1]
    surv = np.cumprod(1 - censored / at_risk)
    before = np.concatenate([[1.0], surv[:-1]])
    return before[inverse]


@dataclass(frozen=True)
class _Data:
    t: np.ndarray  # sorted ascending
    cause: np.ndarray  # 0 censored, 1 the event of interest, 2 competing
    x: np.ndarray
    g: np.ndarray  # G(t_i-)
    tau: np.ndarray  # distinct cause-1 times
    d: np.ndarray  # cause-1 events at each
    g_tau: np.ndarray  # G(tau-)
    first_at: np.ndarray  # index of the first subject with t >= tau
    comp: np.ndarray  # indices of the competing subjects (sorted by time)
    comp_before: np.ndarray  # competing subjects with t < tau


def _prepare(time: np.ndarray, cause: np.ndarray, x: np.ndarray) -> _Data:
    order = np.argsort(time, kind="stable")
    t, c, x = time[order], cause[order], x[order]
    g = censoring_left_limits(t, c)
    tau, d = np.unique(t[c == 1], return_counts=True)
    first_at = np.searchsorted(t, tau, side="left")
    g_tau = g[first_at]  # G is a function of time: the first subject at tau carries G(tau-)
    comp = np.flatnonzero(c == 2)
    comp_before = np.searchsorted(t[comp], tau, side="left")
    return _Data(t, c, x, g, tau, d.astype(float), g_tau, first_at, comp, comp_before)


def _sums(data: _Data, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """S0, S1, S2 of the Fine-Gray risk set at each cause-1 time, on exp(x beta - c),
    and the shift c."""
    x = data.x
    eta = x @ beta
    shift = float(eta.max()) if len(eta) else 0.0
    e = np.exp(eta - shift)
    p = x.shape[1]
    ex = e[:, None] * x

    def tail(values: np.ndarray) -> np.ndarray:  # sum over subjects with t >= tau
        rev = np.cumsum(values[::-1], axis=0)[::-1]
        padded = np.concatenate([rev, np.zeros((1, *values.shape[1:]))])
        out: np.ndarray = padded[data.first_at]
        return out

    def before(values: np.ndarray) -> np.ndarray:  # sum over competing subjects with t < tau, / G(T_i-)
        w = values[data.comp] / data.g[data.comp].reshape(-1, *([1] * (values.ndim - 1)))
        cum = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(w, axis=0)])
        out: np.ndarray = cum[data.comp_before]
        return out

    g = data.g_tau
    s0 = tail(e) + g * before(e)
    s1 = tail(ex) + g[:, None] * before(ex)
    s2 = np.zeros((len(g), p, p))
    for a in range(p):  # pair by pair: an n x p x p array is 300 MB at a million subjects
        for b in range(a + 1):
            exx = e * x[:, a] * x[:, b]
            s2[:, a, b] = s2[:, b, a] = tail(exx) + g * before(exx)
    return s0, s1, s2, shift


def _loglik_score_info(data: _Data, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    s0, s1, s2, shift = _sums(data, beta)
    events = data.cause == 1
    xbar = s1 / s0[:, None]
    loglik = float((data.x[events] @ beta).sum() - (data.d * (np.log(s0) + shift)).sum())
    score = data.x[events].sum(axis=0) - (data.d[:, None] * xbar).sum(axis=0)
    info = (data.d[:, None, None] * (s2 / s0[:, None, None] - xbar[:, :, None] * xbar[:, None, :])).sum(axis=0)
    return loglik, score, info


def _sandwich_middle(data: _Data, beta: np.ndarray) -> np.ndarray:
    """sum_i (eta_i + psi_i)(eta_i + psi_i)' of crr's variance (``crrvv``)."""
    t, c, x, g = data.t, data.cause, data.x, data.g
    s0, s1, _, shift = _sums(data, beta)
    e = np.exp(x @ beta - shift)
    xbar = s1 / s0[:, None]
    a = data.d / s0  # dLambda at each cause-1 time
    b = a[:, None] * xbar
    # eta_i: dN part minus the compensator over the times subject i is in the risk set
    upto = np.searchsorted(data.tau, t, side="right")  # cause-1 times <= t_i
    cum_a = np.concatenate([[0.0], np.cumsum(a)])
    cum_b = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(b, axis=0)])
    ga, gb = data.g_tau * a, data.g_tau[:, None] * b
    after_a = ga.sum() - np.concatenate([[0.0], np.cumsum(ga)])[upto]  # cause-1 times > t_i
    after_b = gb.sum(axis=0) - np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(gb, axis=0)])[upto]
    compensator = x * cum_a[upto][:, None] - cum_b[upto]
    competing = (c == 2)[:, None] / g[:, None] * (x * after_a[:, None] - after_b)
    eta = -e[:, None] * (compensator + competing)
    events = c == 1
    own = np.searchsorted(data.tau, t[events], side="left")
    eta[events] += x[events] - xbar[own]
    # psi_i: the estimation of G, through q(u) at each censoring time u
    times, first, inverse = np.unique(t, return_index=True, return_inverse=True)
    n_cens = np.bincount(inverse, weights=(c == 0).astype(float), minlength=len(times))
    at_risk = len(t) - first  # subjects with t >= u
    from_u = np.searchsorted(data.tau, times, side="left")  # cause-1 times >= u
    tail_ga = np.concatenate([np.cumsum(ga[::-1])[::-1], [0.0]])[from_u]
    tail_gb = np.concatenate([np.cumsum(gb[::-1], axis=0)[::-1], np.zeros((1, x.shape[1]))])[from_u]
    comp = data.comp
    comp_below = np.searchsorted(t[comp], times, side="left")  # competing with t < u
    w = e[comp] / g[comp]
    c0 = np.concatenate([[0.0], np.cumsum(w)])[comp_below]
    c1 = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(w[:, None] * x[comp], axis=0)])[comp_below]
    q = c1 * tail_ga[:, None] - c0[:, None] * tail_gb
    increments = np.where(n_cens[:, None] > 0, q * (n_cens / at_risk**2)[:, None], 0.0)
    psi = -np.cumsum(increments, axis=0)[inverse]
    censored = c == 0
    psi[censored] += q[inverse[censored]] / at_risk[inverse[censored], None]
    total = eta + psi
    middle: np.ndarray = total.T @ total
    return middle


def fine_gray(
    time: np.ndarray, cause: np.ndarray, x: np.ndarray, gtol: float = 1e-6, max_iter: int = 10
) -> FineGrayFit:
    """crr(time, cause, x, failcode = 1, cencode = 0): ``cause`` 1 the event of
    interest, 2 a competing event, 0 censored."""
    time = np.asarray(time, dtype=float)
    cause = np.asarray(cause, dtype=int)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    data = _prepare(time, cause, x)
    beta = np.zeros(x.shape[1])
    converged = False
    iteration = 0
    for iteration in range(max_iter + 1):
        loglik, score, info = _loglik_score_info(data, beta)
        # crr minimizes -loglik: its "s" is -score
        if np.max(np.abs(score) * np.maximum(np.abs(beta), 1)) < max(abs(loglik), 1) * gtol:
            converged = True
            break
        if iteration == max_iter:
            break
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:  # collinear covariates: a singular information matrix
            break
        new = beta + step
        halvings = 0
        while True:
            new_loglik = _loglik_score_info(data, new)[0]
            if np.isfinite(new_loglik) and -new_loglik <= -loglik - 1e-4 * float(step @ score):
                break
            halvings += 1
            step = step * 0.5
            new = beta + step
            if halvings > 20:
                break
        if halvings > 20:
            break
        beta = new
    loglik, _, info = _loglik_score_info(data, beta)
    try:
        inverse = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return FineGrayFit(
            beta=beta, se=np.full(len(beta), np.nan), loglik=loglik, converged=False, iterations=iteration
        )
    variance = inverse @ _sandwich_middle(data, beta) @ inverse.T
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(variance))
    return FineGrayFit(beta=beta, se=se, loglik=loglik, converged=converged, iterations=iteration)
