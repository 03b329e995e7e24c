"""HSCT as a time-dependent covariate: counting-process rows built with polars and
R's coxph(Surv(start, stop, event) ~ hsct) fitted by lifelines' CoxTimeVaryingFitter."""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import Trial
from trial_outcomes.analysis.lifelines_fit import time_varying_cox
from trial_outcomes.analysis.time_dependent import counting_process, hsct_time_dependent

# 12 subjects; R 4.x, survival: coxph(Surv(start, stop, event) ~ hsct, ties = "efron") gives
# coef -0.5445091359, se 0.9201775694, HR 0.5801264767 (0.0955577950-3.5219181125), p 0.5540223333
ROWS = [
    ("S01", 0, 50, 1, 0),
    ("S02", 0, 80, 0, 0),
    ("S02", 80, 200, 1, 1),
    ("S03", 0, 120, 1, 0),
    ("S04", 0, 60, 0, 0),
    ("S04", 60, 400, 0, 1),
    ("S05", 0, 30, 1, 0),
    ("S06", 0, 90, 0, 0),
    ("S06", 90, 150, 1, 1),
    ("S07", 0, 365, 0, 0),
    ("S08", 0, 70, 0, 0),
    ("S08", 70, 500, 0, 1),
    ("S09", 0, 45, 1, 0),
    ("S10", 0, 100, 0, 0),
    ("S10", 100, 260, 1, 1),
    ("S11", 0, 210, 1, 0),
    ("S12", 0, 75, 0, 0),
    ("S12", 75, 600, 0, 1),
]


def test_the_time_dependent_hazard_ratio_equals_rs_coxph():
    rows = pl.DataFrame(ROWS, schema=["USUBJID", "start", "stop", "event", "hsct"], orient="row").with_columns(
        pl.col("start", "stop").cast(pl.Float64)
    )
    fit = time_varying_cox(rows)
    assert fit.reason is None
    assert fit.hr == pytest.approx(0.5801264767, rel=1e-5)
    assert (fit.lcl, fit.ucl) == (pytest.approx(0.0955577950, rel=1e-4), pytest.approx(3.5219181125, rel=1e-4))
    assert fit.p == pytest.approx(0.5540223333, rel=1e-4)


def test_follow_up_is_split_at_the_transplant():
    """S1: OS 300 days, HSCT on day 100, alive -> (0, 100, 0, 0) and (100, 300, 0, 1).
    S2: no HSCT, dies on day 50 -> (0, 50, 1, 0). S3: no HSCT, dies on day 80 ->
    (0, 80, 1, 0)."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "CR", 0.0)
        .event("S1", 100, "HSCT", "Donor")
        .event("S1", 300, "CONTACT")
        .enrol("S2")
        .infuse("S2")
        .event("S2", 50, "DEATH", "Sepsis")
        .enrol("S3")
        .infuse("S3")
        .event("S3", 80, "DEATH", "Refractory leukemia")
    )
    d = t.derive(cut_day=300)
    rows = counting_process(d.adtte, d.adsl, "OS")
    assert rows.select("USUBJID", "start", "stop", "event", "hsct").rows() == [
        ("S1", 0.0, 100.0, 0, 0),
        ("S1", 100.0, 300.0, 0, 1),
        ("S2", 0.0, 50.0, 1, 0),
        ("S3", 0.0, 80.0, 1, 0),
    ]
    table = hsct_time_dependent(d.adtte, d.adsl)
    os_row = table.filter(pl.col("paramcd") == "OS").row(0, named=True)
    # two deaths, both before any transplant: the hazard ratio is not estimable, and said so
    assert os_row["hr"] is None and "no event on one side" in os_row["note"]
    assert (os_row["n_subjects"], os_row["n_events"], os_row["n_transplanted"]) == (3, 2, 1)


def test_a_diverging_fit_is_empty_with_its_reason_not_an_overflow():
    """A generated drop gave a coefficient whose upper limit overflowed math.exp and the
    run failed. coef -0.5445, se 0.9202 (R's example above) gives exp(-0.5445) = 0.5801;
    coef 25 with se 120 has an upper limit exp(260.2) past 1e100: empty, with the reason."""
    from trial_outcomes.analysis.lifelines_fit import wald_estimate

    fine = wald_estimate(-0.5445091359, 0.9201775694, 0.554)
    assert fine.hr == pytest.approx(0.5801264767, rel=1e-9) and fine.ucl == pytest.approx(3.5219181125, rel=1e-6)
    diverging = wald_estimate(25.0, 120.0, 0.83)
    assert diverging.hr is None and "diverges" in (diverging.reason or "")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fit_equals_lifelines_time_varying_cox_on_random_rows_with_ties(seed):
    """The fit is ours (lifelines' fitter took 64 s at 100,000 subjects): on 400
    subjects with whole-day times (many ties), a third transplanted, it gives
    lifelines' CoxTimeVaryingFitter's coefficient, standard error and p."""
    import numpy as np
    import pandas as pd
    from lifelines import CoxTimeVaryingFitter

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(400):
        end = float(rng.integers(5, 400))
        dies = int(rng.random() < 0.6)
        h = float(rng.integers(1, 300)) if rng.random() < 0.35 else None
        if h is not None and h < end:
            rows += [(f"S{i}", 0.0, h, 0, 0), (f"S{i}", h, end, int(rng.random() < 0.4) if dies else 0, 1)]
        else:
            rows.append((f"S{i}", 0.0, end, dies, 0))
    frame = pl.DataFrame(rows, schema=["USUBJID", "start", "stop", "event", "hsct"], orient="row")
    ours = time_varying_cox(frame)
    theirs = CoxTimeVaryingFitter().fit(
        pd.DataFrame({c: frame[c].to_numpy() for c in frame.columns}),
        id_col="USUBJID",
        event_col="event",
        start_col="start",
        stop_col="stop",
    )
    summary = theirs.summary.loc["hsct"]
    assert ours.reason is None
    assert ours.hr == pytest.approx(float(summary["exp(coef)"]), rel=1e-6)
    assert ours.lcl == pytest.approx(float(summary["exp(coef) lower 95%"]), rel=1e-6)
    assert ours.ucl == pytest.approx(float(summary["exp(coef) upper 95%"]), rel=1e-6)
    assert ours.p == pytest.approx(float(summary["p"]), rel=1e-5)


def test_an_event_on_one_side_only_is_not_estimable_in_words():
    """Every event before the transplant: the likelihood rises without end as the
    coefficient falls; the fit says it diverges rather than print a number."""
    rows = pl.DataFrame(
        [("A", 0.0, 10.0, 1, 0), ("B", 0.0, 20.0, 1, 0), ("C", 0.0, 5.0, 0, 0), ("C", 5.0, 30.0, 0, 1)],
        schema=["USUBJID", "start", "stop", "event", "hsct"],
        orient="row",
    )
    fit = time_varying_cox(rows)
    assert fit.hr is None and fit.reason is not None and "not estimable" in fit.reason


def _efron_level_loop(start, stop, event, x, beta):
    """The partial likelihood, score and information at ``beta`` as Efron's formula
    reads: a pass per tie level l = 0 .. max(d) - 1 over the event times with more
    than l tied events, summed level after level (the fit's code before it grouped
    the levels into blocks, its risk-set sums included; that they are R's is the
    other tests' business)."""
    import numpy as np

    times = np.unique(stop[event])
    tie = np.searchsorted(times, stop[event])
    d = np.bincount(tie, minlength=times.size).astype(float)

    by_stop, by_start = np.argsort(stop, kind="stable"), np.argsort(start, kind="stable")

    def risk(v):  # rows with start < t <= stop at each event time: over stop >= t less over start >= t
        over_stop = np.concatenate([np.cumsum(v[by_stop][::-1])[::-1], [0.0]])
        over_start = np.concatenate([np.cumsum(v[by_start][::-1])[::-1], [0.0]])
        return (
            over_stop[np.searchsorted(stop[by_stop], times, side="left")]
            - over_start[np.searchsorted(start[by_start], times, side="left")]
        )

    w = np.exp(beta * x)
    (s0, a0), (s1, a1), (s2, a2) = (
        (risk(w * x**k), np.bincount(tie, weights=(w * x**k)[event], minlength=times.size)) for k in (0, 1, 2)
    )
    loglik, grad, hess = float(beta * x[event].sum()), float(x[event].sum()), 0.0
    for level in range(int(d.max())):
        active = d > level
        f = level / d[active]
        denom = s0[active] - f * a0[active]
        mean = (s1[active] - f * a1[active]) / denom
        loglik -= float(np.log(denom).sum())
        grad -= float(mean.sum())
        hess -= float(((s2[active] - f * a2[active]) / denom - mean**2).sum())
    return loglik, grad, hess


@pytest.mark.parametrize("seed", range(6))
def test_the_blocked_tie_levels_equal_the_level_by_level_loop_to_the_bit(seed):
    """Efron's tie levels are summed in blocks of levels that share a risk set (an
    event time with 21,658 tied events at 100,000 subjects made 21,658 passes, 4 s):
    on random rows with heavy ties, in blocks as small as seven terms, the likelihood,
    score and information at several coefficients equal the literal level loop
    exactly, so no published number moves."""
    import numpy as np

    from trial_outcomes.analysis.lifelines_fit import _counting_process_newton, _efron_sums

    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 3000))
    start = np.floor(rng.uniform(0, 50, n))
    stop = start + np.ceil(rng.exponential(200, n))  # past 128 event times: numpy sums those pairwise
    stop[rng.random(n) < 0.4] = 60.0  # one time with many tied events
    event = rng.random(n) < 0.6
    x = (rng.random(n) < 0.4).astype(float)
    fit = _counting_process_newton(start, stop, event, x)
    assert not isinstance(fit, str)
    parts = _efron_sums(start, stop, event, x, cells=7 if seed % 2 else 1 << 20)
    for beta in (0.0, 0.4, -1.3, fit[0]):
        assert parts(beta) == _efron_level_loop(start, stop, event, x, beta), beta
