"""Aalen-Johansen incidence, cmprsk variance and Gray's test against R cmprsk 2.2-11."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.analysis.reference import LANDMARKS, load
from trial_outcomes.analysis.competing import fit_cif, gray_test


def _parts(data):
    yield "all", data
    for g in ("A", "B"):
        yield g, data.filter(pl.col("group") == g)


def test_cumulative_incidence_and_variance_match_cuminc():
    data, ref = load("competing")
    for level, part in _parts(data):
        fit = fit_cif(part["time"].to_numpy(), part["status"].to_numpy())
        r = ref[level]
        assert (
            fit.n == r["n"]
            and int(fit.n_event.sum()) == r["n_relapse"]
            and int(fit.n_competing.sum()) == r["n_competing"]
        )
        for key, t in LANDMARKS.items():
            assert fit.at(t)[0] == pytest.approx(r[key], abs=1e-9), (level, key)
            assert fit.variance_at(t) == pytest.approx(r[f"{key}_var"], rel=1e-6), (level, key)


def test_grays_test_matches_cuminc():
    data, ref = load("competing")
    test = gray_test(data["time"].to_numpy(), data["status"].to_numpy(), data["group"].to_numpy())
    assert test.statistic == pytest.approx(ref["gray"]["chisq"], rel=1e-6)
    assert test.df == ref["gray"]["df"]
    assert test.p_value == pytest.approx(ref["gray"]["p"], rel=1e-6)


def test_grays_test_on_a_singular_variance_is_empty_with_its_reason():
    """Group B has one subject, censored before any event: its variance row is zero,
    the matrix singular (R's cuminc stops with an error): empty, with the reason."""
    time = np.array([1.0, 2, 3, 4, 0.5])
    status = np.array([1, 2, 1, 0, 0])
    test = gray_test(time, status, np.array(["A", "A", "A", "A", "B"]))
    assert test.statistic is None and test.p_value is None and "singular" in (test.reason or "")


def test_ties_are_not_jittered():
    """Four subjects, relapse at 1, death at 1, relapse at 2, censored at 3.
    At t=1: n=4, S(0)=1, F = 1/4; S(1) = 2/4. At t=2: n=2, F = 1/4 + (1/2)(1/2) = 1/2.
    (lifelines' AalenJohansenFitter breaks the tie at 1 with random jitter.)"""
    fit = fit_cif(np.array([1, 1, 2, 3]), np.array([1, 2, 1, 0]))
    assert fit.cif.tolist() == [0.25, 0.5, 0.5]


def test_cif_ci_brackets_the_estimate_on_the_log_log_scale():
    data, _ = load("competing")
    fit = fit_cif(data["time"].to_numpy(), data["status"].to_numpy())
    est, lcl, ucl = fit.at(365)
    se = np.sqrt(fit.variance_at(365))
    # F^exp(z se / (F log F)): computed independently here
    z = 1.959963984540054
    assert lcl == pytest.approx(est ** np.exp(z * se / (est * abs(np.log(est)))), rel=1e-12)
    assert ucl == pytest.approx(est ** np.exp(-z * se / (est * abs(np.log(est)))), rel=1e-12)
    assert lcl < est < ucl


def test_grays_test_on_three_groups_with_tied_times_matches_cuminc():
    """Three groups, 30 subjects, times tied within and across groups, events of both
    causes at one time. R 4.2, cmprsk: ``cuminc(time, status, group)$Tests`` gives for
    cause 1 stat 2.96480544428619, p 0.227091394827957, df 2."""
    time = np.array(
        [2, 2, 3, 3, 3, 5, 5, 6, 7, 7, 7, 8, 9, 9, 10, 10, 11, 12, 12, 12, 14, 15, 15, 16, 18, 18, 20, 21, 21, 25]
    )
    status = np.array([1, 2, 0, 1, 1, 2, 1, 0, 1, 2, 2, 1, 0, 1, 1, 0, 2, 1, 1, 0, 1, 2, 0, 1, 1, 2, 0, 1, 0, 1])
    group = np.array(list("abc" * 10))
    test = gray_test(time, status, group)
    assert test.statistic == pytest.approx(2.96480544428619, rel=1e-9)
    assert test.p_value == pytest.approx(0.227091394827957, rel=1e-9)
    assert test.df == 2
