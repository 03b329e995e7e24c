"""Statistics at their edges (endpoints.md v3, Estimation conventions; issue 19):
probabilities in [0, 1] with the 1e-12 rule, the median tolerance, R's 1-1 limits
at S = 1, a hazard ratio per level, and nothing non-finite leaving an estimator."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from trial_outcomes.analysis.comparisons import _estimable, factor_hazard_ratios
from trial_outcomes.analysis.competing import fit_cif
from trial_outcomes.analysis.km import as_probability, fit_km
from trial_outcomes.analysis.survival_summary import followup_summary

from .reference import REFERENCE


def test_an_incidence_whose_last_subject_at_risk_has_the_event_is_exactly_one():
    """Times 3c 4c 4c 5(1) 6(1) 8c 8(1) 9(1), by hand: at day 5, 5 at risk, F = 1/5;
    day 6, 4 at risk, F += 4/5 * 1/4 = 0.4; day 8, 3 at risk, F += 0.6 / 3 = 0.6;
    day 9, 1 at risk, F += 0.4 = 1. The floating-point sum is 1.0000000000000002."""
    time = np.array([3, 4, 4, 5, 6, 8, 8, 9], dtype=float)
    status = np.array([0, 0, 0, 1, 1, 0, 1, 1])
    fit = fit_cif(time, status)
    assert fit.cif[-1] == 1.0
    assert fit.at(9) == (1.0, None, None)  # F = 1: no log-log limits, as tidycmprsk
    for curve in (fit.cif, fit.lcl, fit.ucl):
        finite = curve[np.isfinite(curve)]
        assert ((finite >= 0) & (finite <= 1)).all()


def test_as_probability_snaps_only_within_1e_12_of_a_bound():
    v = as_probability(np.array([1 + 2e-16, -1e-15, 0.5, 1 - 1e-13, 1 + 1e-9, np.nan]))
    assert v[:4].tolist() == [1.0, 0.0, 0.5, 1.0]
    assert v[4] == 1 + 1e-9  # further out is a defect the contract reports, not hidden
    assert np.isnan(v[5])


def test_median_of_a_curve_ending_at_one_half_uses_the_tolerance():
    """Days 1, 2, 2, 4, 4 events and 7, 9, 13, 14, 14 censored: S = 0.9 x 7/9 x 5/7 =
    1/2 exactly from day 4 to the last follow-up, day 14, which R's end-of-curve
    midpoint rule makes (4 + 14) / 2 = 9 (R gives 9, CI 4-NA, for five events on
    day 4 of ten subjects, where its product lands on 0.5). The product here lands
    on 0.5000000000000001: the tolerance applies before "not reached"."""
    fit = fit_km(np.array([4, 1, 7, 9, 2, 14, 13, 14, 2, 4.0]), np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 1]))
    assert fit.median()[0] == 9.0
    exact = fit_km(np.array([4, 4, 4, 4, 4, 9, 13, 14, 14, 7.0]), np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]))
    assert exact.median() == (9.0, 4.0, None)  # R: quantile 9, lower 4, upper NA


def test_log_log_limits_where_s_is_one_are_those_of_r():
    """R 4.2, survival 3.5-3: f <- survfit(Surv(c(1, 2, 3, 4), c(0, 1, 0, 1)) ~ 1,
    conf.type = "log-log"); summary(f, times = c(0.5, 1.5)) gives surv 1 and 1, lower
    1 and NA, upper 1 and NA: before the first time the limits are 1 and 1, at the
    observed time 1 (a censoring, S = 1) they are NA; quantile(f, 0.5) is 4 (2-NA).
    (The red team's 4-subject drop, every subject censored, hit this at every landmark.)"""
    fit = fit_km(np.array([1, 2, 3, 4.0]), np.array([0, 1, 0, 1]))
    assert fit.at(0.5) == (1.0, 1.0, 1.0)
    assert fit.at(1.5) == (1.0, None, None)
    assert np.isnan(fit.lcl[0]) and np.isnan(fit.ucl[0])
    assert fit.median() == (4.0, 2.0, None)
    censored = fit_km(np.array([478, 1066, 1085, 1245.0]), np.zeros(4))
    assert [censored.at(t)[1] for t in (182.6, 365.25, 730.5)] == [1.0, 1.0, None]


def test_a_level_without_events_blanks_its_own_hazard_ratio_only():
    """R 4.2, survival 3.5-3: coxph(Surv(time, status) ~ g, ties = "efron") on the
    rows below (level c has no events): gb coef -1.02949164925, se 0.945860443332
    (HR 0.3571884915, 95 % CI 0.05594735875-2.280422548, p 0.2764106); gc -20.06
    with se 17183 ("coefficient may be infinite")."""
    data = pl.DataFrame(
        {
            "t": [5.0, 8, 12, 3, 9, 15, 20, 7, 11, 6, 14, 4],
            "e": [1, 0, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0],
            "g": list("aaabbbbccabc"),
        }
    )
    b, c = factor_hazard_ratios(data, "t", "e", "g", "a", ["b", "c"])
    assert b.hr is not None and b.lcl is not None and b.ucl is not None and b.p_value is not None
    assert math.log(b.hr) == pytest.approx(-1.02949164925, abs=1e-6)
    assert (math.log(b.ucl) - math.log(b.hr)) / 1.959963984540054 == pytest.approx(0.945860443332, abs=1e-4)
    assert b.p_value == pytest.approx(0.2764106, rel=1e-4)
    assert (c.hr, c.reason) == (None, "not estimable: no events in this level")
    none = factor_hazard_ratios(data, "t", "e", "g", "c", ["a", "b"])
    assert all(r.hr is None and "reference level (c)" in (r.reason or "") for r in none)


def test_a_zero_or_infinite_standard_error_gives_an_empty_ratio_with_its_reason():
    assert _estimable(1.0, float("nan"), float("nan"), float("nan")).reason == (
        "not estimable: zero or infinite standard error"
    )
    assert _estimable(2.0, 1.0, 4.0, 0.05).hr == 2.0


def test_the_followup_summary_is_the_reverse_km_held_to_r():
    """followup_summary runs km.median_followup: on lung, R's
    quantile(survfit(Surv(time, 1 - status) ~ 1), 0.5) (tests/reference/lung.json)."""
    data = pl.read_csv(REFERENCE / "lung.csv")
    ref = json.loads((REFERENCE / "lung.json").read_text())["all"]
    adtte = data.select(
        pl.lit("OS").alias("PARAMCD"),
        pl.lit("primary").alias("ANALYSIS"),
        pl.col("time").alias("AVAL"),
        (1 - pl.col("status")).alias("CNSR"),
    )
    row = followup_summary(adtte).row(0, named=True)
    assert row["median_followup_days"] == ref["median_followup_reverse_km"]
