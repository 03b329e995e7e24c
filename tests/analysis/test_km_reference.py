"""Kaplan-Meier, medians, landmarks, log-rank, reverse KM and Cox against R
(shared/reference: survival 3.5-3). Tolerances from its README: estimates
1e-9, CI bounds 1e-6, medians exactly, statistics 1e-6 relative."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.analysis.reference import LANDMARKS, approx_or_none, load
from trial_outcomes.analysis.comparisons import cox_hazard_ratios, logrank_test
from trial_outcomes.analysis.km import fit_km, median_followup

CASES = [("aml", "x"), ("lung", "sex")]


def _groups(data: pl.DataFrame, group: str, ref: dict):
    yield "all", data
    for level in sorted(data[group].unique().to_list()):
        yield level, data.filter(pl.col(group) == level)


def _none_if_nan(values):
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values]


@pytest.mark.parametrize(("name", "group"), CASES)
def test_curve_rows_match_r_summary(name, group):
    data, ref = load(name)
    for level, part in _groups(data, group, ref):
        fit = fit_km(part["time"].to_numpy(), part["status"].to_numpy())
        curve = ref[level]["curve"]
        assert fit.time.tolist() == curve["time"]
        assert fit.n_risk.tolist() == curve["n_risk"]
        assert fit.n_event.tolist() == curve["n_event"]
        assert fit.n_censor.tolist() == curve["n_censor"]
        np.testing.assert_allclose(fit.surv, curve["surv"], rtol=0, atol=1e-9)
        expected_se = np.array([np.nan if v is None else v for v in curve["std_err"]])
        np.testing.assert_allclose(fit.std_err, expected_se, rtol=1e-9, atol=1e-12, equal_nan=True)
        for ours, theirs in ((fit.lcl, curve["lcl"]), (fit.ucl, curve["ucl"])):
            np.testing.assert_allclose(
                ours, np.array([np.nan if v is None else v for v in theirs]), rtol=0, atol=1e-6, equal_nan=True
            )


@pytest.mark.parametrize(("name", "group"), CASES)
def test_median_and_brookmeyer_crowley_ci_match_r_exactly(name, group):
    data, ref = load(name)
    for level, part in _groups(data, group, ref):
        fit = fit_km(part["time"].to_numpy(), part["status"].to_numpy())
        assert fit.median() == (ref[level]["median"], ref[level]["median_lcl"], ref[level]["median_ucl"]), level
        assert fit.n == ref[level]["n"] and fit.n_events == ref[level]["n_events"]


@pytest.mark.parametrize(("name", "group"), CASES)
def test_reverse_km_median_followup_matches_r(name, group):
    data, ref = load(name)
    for level, part in _groups(data, group, ref):
        assert (
            median_followup(part["time"].to_numpy(), part["status"].to_numpy())[0]
            == ref[level]["median_followup_reverse_km"]
        )


@pytest.mark.parametrize(("name", "group"), CASES)
def test_landmark_rates_match_r_summary_with_extend(name, group):
    """R's reference uses summary(fit, times, extend = TRUE), which carries the
    last value past the last observation; our contract leaves those empty
    (test_landmark_past_last_observation_is_empty), so compare with extend."""
    data, ref = load(name)
    for level, part in _groups(data, group, ref):
        fit = fit_km(part["time"].to_numpy(), part["status"].to_numpy())
        for key, t in LANDMARKS.items():
            est, lcl, ucl = fit.at(t, extend=True)
            r = ref[level]
            assert est == approx_or_none(r[key], abs=1e-9)
            assert lcl == approx_or_none(r[f"{key}_lcl"], abs=1e-6)
            assert ucl == approx_or_none(r[f"{key}_ucl"], abs=1e-6)


def test_landmark_past_last_observation_is_empty():
    """aml's last time is 161 weeks; at 182.6 (6 'months' of weeks) the contract
    says empty, where R with extend = TRUE gives S(161) = 0.0828."""
    data, _ = load("aml")
    fit = fit_km(data["time"].to_numpy(), data["status"].to_numpy())
    assert fit.at(LANDMARKS["rate_6m"]) == (None, None, None)
    assert fit.at(161)[0] == pytest.approx(0.082815734989648, abs=1e-12)


# EFS (primary analysis) of a synthetic drop (synth --subjects 150 --seed 77, cut
# 2023-06-30), as its ADTTE has it: the log-log upper limit first falls below 0.5 at day
# 519 (0.4926, 33 at risk) and rises again to 0.5021 at day 901, an event with 2 at risk
_EFS_TIME = [1] * 39 + [
    10, 30, 35, 43, 54, 77, 77, 81, 87, 87, 87, 89, 89, 92, 95, 97, 105, 112, 114, 123, 141, 141, 142, 153, 155,
    163, 169, 169, 172, 177, 178, 178, 184, 187, 191, 192, 192, 195, 205, 222, 233, 234, 260, 263, 263, 264, 264,
    269, 269, 270, 276, 277, 285, 288, 313, 314, 347, 355, 356, 366, 368, 372, 372, 375, 377, 379, 428, 450, 476,
    519, 529, 533, 545, 553, 555, 709, 709, 709, 710, 712, 714, 717, 720, 720, 728, 728, 729, 732, 734, 736, 737,
    739, 743, 744, 745, 746, 749, 749, 750, 751, 901, 1070,
]  # fmt: skip
_EFS_CNSR = (
    "000000000000000000000000000000000000000000000000111101100000000000010011100110000111111111111000110111111"
    "000001111111111111111111111111111101"
)


def test_a_confidence_limit_that_rises_again_is_read_as_r_reads_it():
    """R 4.2, survival 3.5-3:
    ``f <- survfit(Surv(time, 1 - cnsr) ~ 1, conf.type = "log-log"); quantile(f, 0.5)``
    gives 234 (155-519). The upper limit is below 0.5 from day 519, above it again after
    day 901, so it is not "not reached" (as reading only its last value said, an
    independent statistician found). And ``survival:::findq(c(0, 1, 2, 3, 4),
    c(0, 0.3, 0.55, 0.52, 0.45), 0.5, sqrt(.Machine$double.eps))`` is 3: R takes the
    smallest value at or above p, wherever it falls, not the first crossing (2)."""
    from trial_outcomes.analysis.km import TOL, r_quantile

    cnsr = np.array([int(c) for c in _EFS_CNSR])
    assert len(_EFS_TIME) == len(cnsr) == 141
    assert fit_km(np.array(_EFS_TIME, dtype=float), 1 - cnsr).median() == (234.0, 155.0, 519.0)
    x, y = np.array([0.0, 1, 2, 3, 4]), np.array([0, 0.3, 0.55, 0.52, 0.45])
    assert r_quantile(x, y, 0.5, TOL) == 3.0
    # ... and R: findq(..., c(0, 0.3, 0.55, 0.52, NA), c(0.5, 0.55, 0.6), tol) is 3 NA NA
    y[-1] = np.nan
    assert r_quantile(x, y, 0.5, TOL) == 3.0
    assert np.isnan(r_quantile(x, y, 0.55, TOL)) and np.isnan(r_quantile(x, y, 0.6, TOL))


def test_lifelines_median_differs_from_r_midpoint_rule():
    """Four subjects with events at 1, 2, 3, 4: S = 0.75, 0.5, 0.25, 0. S equals 0.5 exactly on [2, 3):
    R's median is (2 + 3) / 2 = 2.5; lifelines' median_survival_time_ is 2."""
    from lifelines import KaplanMeierFitter

    t, e = np.array([1, 2, 3, 4]), np.array([1, 1, 1, 1])
    assert fit_km(t, e).median()[0] == 2.5
    assert KaplanMeierFitter().fit(t, e).median_survival_time_ == 2


def test_lifelines_ci_is_the_same_log_log_interval():
    """lifelines' KM CI is already the log(-log) one: equal to ours where defined."""
    from lifelines import KaplanMeierFitter

    data, _ = load("lung")
    t, e = data["time"].to_numpy(), data["status"].to_numpy()
    ours = fit_km(t, e)
    theirs = KaplanMeierFitter().fit(t, e).confidence_interval_.loc[ours.time]
    mask = np.isfinite(ours.lcl)
    np.testing.assert_allclose(ours.lcl[mask], theirs.iloc[:, 0].to_numpy()[mask], atol=1e-9)


@pytest.mark.parametrize(("name", "group"), CASES)
def test_logrank_matches_survdiff(name, group):
    data, ref = load(name)
    test = logrank_test(data["time"].to_numpy(), data["status"].to_numpy(), data[group].to_numpy())
    assert test.statistic == pytest.approx(ref["logrank"]["chisq"], rel=1e-6)
    assert test.df == ref["logrank"]["df"]
    assert test.p_value == pytest.approx(ref["logrank"]["p"], rel=1e-6)


def test_cox_efron_matches_coxph_aml():
    data, ref = load("aml")
    frame = data.with_columns((pl.col("x") == "Nonmaintained").cast(pl.Int8).alias("xNonmaintained"))
    (row,) = cox_hazard_ratios(frame, "time", "status", ["xNonmaintained"])
    assert row.hr == pytest.approx(ref["cox"]["hr"], rel=1e-6)
    assert (row.lcl, row.ucl) == (
        pytest.approx(ref["cox"]["lcl"], rel=1e-6),
        pytest.approx(ref["cox"]["ucl"], rel=1e-6),
    )


def test_cox_efron_matches_coxph_lung_two_covariates():
    data, ref = load("lung")
    frame = data.with_columns((pl.col("sex") == "M").cast(pl.Int8).alias("sexM"))
    rows = cox_hazard_ratios(frame, "time", "status", ["sexM", "age"])
    assert ref["cox"]["term"] == ["sexM", "age"]
    for r, hr, lcl, ucl in zip(rows, ref["cox"]["hr"], ref["cox"]["lcl"], ref["cox"]["ucl"], strict=True):
        assert (r.hr, r.lcl, r.ucl) == (
            pytest.approx(hr, rel=1e-6),
            pytest.approx(lcl, rel=1e-6),
            pytest.approx(ucl, rel=1e-6),
        )


def test_our_efron_cox_equals_lifelines_on_heavily_tied_data():
    """Our vectorized Efron fit (used for speed) against lifelines' CoxPHFitter on
    2000 subjects with integer times 1-60 (many ties) and a binary covariate."""
    import warnings

    import pandas as pd
    from lifelines import CoxPHFitter

    from trial_outcomes.analysis.cox import fit_cox

    rng = np.random.default_rng(5)
    x = rng.integers(0, 2, 2000)
    t = np.minimum(np.ceil(rng.exponential(20 / np.exp(0.4 * x))), 60)
    e = (t < 60).astype(int)
    ours = fit_cox(t, e, x).hazard_ratios()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = (
            CoxPHFitter()
            .fit(
                pd.DataFrame({"t": t, "e": e, "x": x}), "t", "e", fit_options={"precision": 1e-14, "r_precision": 1e-14}
            )
            .summary.loc["x"]
        )
    assert ours[0] == pytest.approx(theirs["exp(coef)"], rel=1e-8)
    assert ours[1] == pytest.approx(theirs["exp(coef) lower 95%"], rel=1e-8)
    assert ours[3] == pytest.approx(theirs["p"], rel=1e-6)


def test_cox_with_no_event_in_one_level_is_not_estimable():
    from trial_outcomes.analysis.comparisons import cox_hazard_ratios

    frame = pl.DataFrame({"t": [1.0, 2, 3, 4, 5, 6], "e": [1, 1, 1, 0, 0, 0], "x": [0, 0, 0, 1, 1, 1]})
    with pytest.raises(ValueError, match="not estimable"):
        cox_hazard_ratios(frame, "t", "e", ["x"])


def test_group_hazard_ratio_is_empty_with_its_reason_where_no_model_can_be_fitted():
    """Empty, with the reason, for no event in one group (monotone likelihood), no event
    at all, and everyone in one group; otherwise the numbers of ``cox_hazard_ratios``
    (R's aml reference)."""
    from trial_outcomes.analysis.comparisons import group_hazard_ratio

    frame = pl.DataFrame({"t": [1.0, 2, 3, 4, 5, 6], "e": [1, 1, 1, 0, 0, 0], "x": [0, 0, 0, 1, 1, 1]})
    assert group_hazard_ratio(frame, "t", "e", "x").reason.startswith("not estimable: no event in one")
    assert group_hazard_ratio(frame.with_columns(pl.lit(0).alias("e")), "t", "e", "x").reason == "no events"
    assert group_hazard_ratio(frame.with_columns(pl.lit(1).alias("x")), "t", "e", "x").reason == "one group only"
    # a red team's HSCT landmark (seed 5, 25 subjects): the one subject of its group censored on
    # day 251, before the first event (day 371): the group is at risk at no event time, so the
    # information is 0 and R's coxph gives NA; the fit left 5e8 from rounding, and exp(beta +
    # 1.96 x 5e8) overflowed with a RuntimeWarning (an error under the tests' warning filter)
    landmark = pl.DataFrame(
        {
            "t": [234.0, 251, 338, 371, 395, 420, 500, 685, 836, 949, 982, 1194, 600],
            "e": [0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            "x": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        }
    )
    assert group_hazard_ratio(landmark, "t", "e", "x").reason.startswith("not estimable: no event in one")
    data, ref = load("aml")
    aml = data.with_columns((pl.col("x") == "Nonmaintained").cast(pl.Int8).alias("xNonmaintained"))
    fit = group_hazard_ratio(aml, "time", "status", "xNonmaintained")
    assert (fit.hr, fit.reason) == (pytest.approx(ref["cox"]["hr"], rel=1e-6), None)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_logrank_with_three_groups_and_ties_matches_lifelines(seed):
    """R's references have two groups only; for k = 3 the vectorized statistic is
    held to lifelines' ``multivariate_logrank_test`` (an independent
    implementation, equal to ``survdiff`` on the references above), on
    day-rounded times so that ties across groups are common."""
    from lifelines.statistics import multivariate_logrank_test

    rng = np.random.default_rng(seed)
    n = 300
    group = rng.choice(["a", "b", "c"], n)
    time = np.ceil(rng.exponential(np.where(group == "a", 100, np.where(group == "b", 140, 200)))) + 1
    event = (rng.uniform(size=n) < 0.7).astype(int)
    test = logrank_test(time, event, group)
    theirs = multivariate_logrank_test(time, group, event)
    assert test.df == 2
    assert test.statistic == pytest.approx(theirs.test_statistic, rel=1e-9)
    assert test.p_value == pytest.approx(theirs.p_value, rel=1e-9)


def test_logrank_without_events_or_with_one_group_is_empty_with_its_reason():
    """No events at all, or a single group: no test, the statistic empty and why."""
    no_events = logrank_test(np.array([5.0, 7.0, 9.0, 11.0]), np.zeros(4, dtype=int), np.array(["a", "b", "a", "b"]))
    one_group = logrank_test(np.array([5.0, 7.0]), np.array([1, 1]), np.array(["a", "a"]))
    assert (no_events.statistic, no_events.p_value, no_events.reason) == (None, None, "no events")
    assert (one_group.statistic, one_group.reason) == (None, "one group only")


#: A: 5+ 8+ 12 15+ ("+" an event), B: 6+ 9 14+ 20, C: 1 2 (censored before the first event)
_A_B_C = (
    np.array([5, 8, 12, 15, 6, 9, 14, 20, 1, 2], dtype=float),
    np.array([1, 1, 0, 1, 1, 0, 1, 0, 0, 0]),
    np.array(["A"] * 4 + ["B"] * 4 + ["C"] * 2),
)


def test_a_group_nobody_at_risk_at_an_event_drops_out_with_its_degree_of_freedom():
    """R 4.2, survival 3.5 (``survdiff(Surv(t, e) ~ g)``): C's expected count is 0, so
    survdiff tests A against B: "Chisq= 0.4 on 1 degrees of freedom", chisq
    0.4476013041, p 0.5034762633, the same as on A and B alone. Before, C kept a
    degree of freedom (2 df, p 0.80)."""
    test = logrank_test(*_A_B_C)
    assert test.df == 1
    assert test.statistic == pytest.approx(0.4476013041, rel=1e-9)
    assert test.p_value == pytest.approx(0.5034762633, rel=1e-9)
    # three levels on 1 df: the table says which level was left out, and why
    assert test.note == "on 1 df, not 2: C with no one at risk at an event time, so compared with none"
    assert logrank_test(*(part[:8] for part in _A_B_C)).note is None  # A and B alone: 1 df of 1


def test_a_stratified_level_alone_in_a_stratum_without_events_drops_out():
    """A and B in stratum S1 as above, C alone in S2 at 3 and 30, both censored:
    ``survdiff(Surv(t, e) ~ g + strata(s))`` gives 0.4476013041 on 1 df, p
    0.5034762633 (a reviewer's MRD-persistent stratum without events: "not testable"
    before). With an event at 3 in S2, C's expected count is 1 and its variance 0: C is
    never at risk with A or B, so the test is A against B on 1 df, the same 0.4476013041
    (SAS's generalized inverse; survdiff stops, "system is exactly singular", and on
    other data counts C's degree of freedom: a reviewer's 2.943 on 2 df, p 0.230, where
    A against B alone gives 1 df, p 0.086). The note says C was compared with none."""
    time, event, group = _A_B_C
    time = np.concatenate([time[:8], [3.0, 30.0]])
    strata = np.array(["S1"] * 8 + ["S2"] * 2)
    test = logrank_test(time, event, group, strata)
    assert (test.df, test.statistic, test.p_value) == (
        1,
        pytest.approx(0.4476013041, rel=1e-9),
        pytest.approx(0.5034762633, rel=1e-9),
    )
    assert test.note == "on 1 df, not 2: C with no one at risk at an event time within a stratum, so compared with none"
    alone = logrank_test(time, np.concatenate([event[:8], [1, 0]]), group, strata)
    assert (alone.df, alone.statistic, alone.p_value, alone.reason) == (
        1,
        pytest.approx(0.4476013041, rel=1e-9),
        pytest.approx(0.5034762633, rel=1e-9),
        None,
    )
    assert alone.note == (
        "on 1 df, not 2: C never at risk together with another level within a stratum, so compared with none"
    )


def test_levels_compared_only_in_separate_strata_lose_the_comparisons_no_one_informs():
    """A, B in S1 and C, D in S2 (the same times in each): V is block-diagonal, of rank 2,
    so the test has 2 df, not 3, and equals the sum of the two strata's own 1-df
    statistics, 0.4476013041 each (the A-B data above): 0.8952026082, p exp(-0.895/2)
    = 0.6392 (a chi-square on 2 df has survival exp(-x/2))."""
    time, event, _ = _A_B_C
    time, event = np.concatenate([time[:8], time[:8]]), np.concatenate([event[:8], event[:8]])
    group = np.array(["A"] * 4 + ["B"] * 4 + ["C"] * 4 + ["D"] * 4)
    strata = np.array(["S1"] * 8 + ["S2"] * 8)
    test = logrank_test(time, event, group, strata)
    assert test.df == 2 and test.statistic == pytest.approx(2 * 0.4476013041, rel=1e-9)
    assert test.p_value == pytest.approx(np.exp(-0.4476013041), rel=1e-9)
    assert (
        test.note
        == "on 2 df, not 3: some levels are never at risk together within a stratum, and those comparisons are left out"
    )


def test_one_group_at_risk_at_every_event_is_not_a_test():
    """A: events at 5 and 8; B: censored at 1 and 2. R's survdiff returns chisq 0 on 0
    degrees of freedom (p 1): no comparison is made, so the statistic is empty with why."""
    test = logrank_test(np.array([5.0, 8.0, 1.0, 2.0]), np.array([1, 1, 0, 0]), np.array(["A", "A", "B", "B"]))
    assert (test.statistic, test.p_value, test.df) == (None, None, 0)
    assert test.reason == "not testable: only one group has anyone at risk at an event time"


def test_km_equals_lifelines_product_limit():
    """Our vectorized product-limit estimate against lifelines' KaplanMeierFitter on
    lung: the same survival at every distinct time."""
    from lifelines import KaplanMeierFitter

    data, _ = load("lung")
    t, e = data["time"].to_numpy(), data["status"].to_numpy()
    ours = fit_km(t, e)
    theirs = KaplanMeierFitter().fit(t, e).survival_function_.loc[ours.time].to_numpy().ravel()
    np.testing.assert_allclose(ours.surv, theirs, atol=1e-12)


def test_the_runtime_product_limit_is_lifelines_with_the_event_table_of_r():
    """The estimate comes from lifelines' KaplanMeierFitter (weighted distinct pairs),
    the table from its event table: aml's maintained arm (R: survfit(Surv(time, status)
    ~ 1, aml[aml$x == "Maintained", ])) has times 9 13 13+ 18 23 28+ 31 34 45+ 48 161+,
    n.risk 11 10 8 7 6 5 4 3 2 1 at the distinct times 9 13 18 23 28 31 34 45 48 161
    and S(13) = 10/11 * 9/10 = 0.8181818 (R: 0.818)."""
    import numpy as np

    from trial_outcomes.analysis.lifelines_fit import product_limit

    time = np.array([9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161], dtype=float)
    event = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0])
    fit = product_limit(time, event)
    assert fit.time.tolist() == [9, 13, 18, 23, 28, 31, 34, 45, 48, 161]
    assert fit.n_risk.tolist() == [11, 10, 8, 7, 6, 5, 4, 3, 2, 1]
    assert fit.n_censor.tolist() == [0, 1, 0, 0, 1, 0, 0, 1, 0, 1]
    assert abs(fit.surv[1] - 10 / 11 * 9 / 10) < 1e-12 and fit.notes == []
