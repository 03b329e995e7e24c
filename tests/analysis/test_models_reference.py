"""The models a CAR-T paper reports, held to R (tests/reference/models/make_models.R):
multivariable Cox (coxph, Efron), its proportional-hazards tests (cox.zph, KM
transform), Fine-Gray (cmprsk::crr) and the stratified log-rank test
(survdiff + strata()), on two public data sets (survival::lung, survival::mgus2,
with tied times) and on the sample at its default cut.

Tolerances (issue 24): coefficients 1e-6, standard errors 1e-4, p-values 1e-4
relative. Regenerate the sample's frame with ``python -m tests.analysis.test_models_reference``
(then ``Rscript make_models.R`` in tests/reference/models) when the sample changes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.helpers import derive_sample
from trial_outcomes.analysis.comparisons import logrank_test
from trial_outcomes.analysis.cox import cox_zph, fit_cox
from trial_outcomes.analysis.fine_gray import fine_gray
from trial_outcomes.analysis.models import (
    _endpoint_rows,
    fine_gray_subgroups,
    level_text,
    multivariable_cox,
    stratified_logrank,
)
from trial_outcomes.plan import DEFAULT_MODEL_COVARIATES

HERE = Path(__file__).resolve().parents[1] / "reference" / "models"
R = json.loads((HERE / "models.json").read_text())
SUBGROUPS = ("SEX", "PRHSCTFL", "DISSTAT", "AGEGR1")
SAMPLE_COLUMNS = ("USUBJID", "endpoint", "time", "cause", *DEFAULT_MODEL_COVARIATES, "SEX", "STRATUM")


def sample_frame() -> pl.DataFrame:
    """What the pipeline's models read from the sample at 2024-03-31: per endpoint and
    subject, time, cause (1 event, 2 competing, 0 censored) and the covariates."""
    d = derive_sample()
    covariates = (*DEFAULT_MODEL_COVARIATES, "SEX", "STRATUM")
    frames = [
        _endpoint_rows(d.adtte, d.adsl, endpoint, covariates).with_columns(pl.lit(endpoint).alias("endpoint"))
        for endpoint in ("OS", "EFS", "DFS", "CIR")
    ]
    return pl.concat(frames).rename({"_time": "time", "_cause": "cause"}).select(SAMPLE_COLUMNS)


def close(ours: float, theirs: float, rel: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=rel * 1e-3)


def assert_model(coef, se, p, r: dict) -> None:
    np.testing.assert_allclose(coef, r["coef"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(se, r["se"], rtol=1e-4)
    np.testing.assert_allclose(p, r["p"], rtol=1e-4)


def wald_p(coef, se):
    from scipy.stats import norm

    return 2 * norm.sf(np.abs(np.asarray(coef) / np.asarray(se)))


# --- public data --------------------------------------------------------------------------


def test_multivariable_cox_and_cox_zph_equal_r_on_lung():
    """lung: coxph(Surv(time, status) ~ age + sex + factor(ph.ecog) + ph.karno); cox.zph
    rejects for ph.karno (R: chisq 5.1638, p 0.0231), the other terms do not."""
    d = pl.read_csv(HERE / "lung_models.csv")
    x = np.column_stack(
        [d["age"], d["sex"] == 2, d["ph.ecog"] == 1, d["ph.ecog"] == 2, d["ph.ecog"] == 3, d["ph.karno"]]
    ).astype(float)
    fit = fit_cox(d["time"].to_numpy(), d["status"].to_numpy(), x)
    assert_model(fit.beta, fit.se, wald_p(fit.beta, fit.se), R["lung"]["cox"])
    zph = cox_zph(d["time"].to_numpy(), d["status"].to_numpy(), x, fit.beta, fit.var, [[0], [1], [2, 3, 4], [5]])
    r = R["lung"]["zph"]
    np.testing.assert_allclose([*zph.chisq, zph.global_chisq], r["chisq"], rtol=1e-6)
    np.testing.assert_allclose([*zph.p, zph.global_p], r["p"], rtol=1e-4)
    assert [*zph.df, zph.global_df] == r["df"]


def test_scaled_schoenfeld_residuals_equal_r_on_lung():
    """cox.zph(fit, terms = FALSE)$y for ph.karno, at R's transformed times; within tied
    times R and we order the deaths differently, so each time's residuals are compared
    as a sorted set."""
    d = pl.read_csv(HERE / "lung_models.csv")
    x = np.column_stack(
        [d["age"], d["sex"] == 2, d["ph.ecog"] == 1, d["ph.ecog"] == 2, d["ph.ecog"] == 3, d["ph.karno"]]
    ).astype(float)
    fit = fit_cox(d["time"].to_numpy(), d["status"].to_numpy(), x)
    zph = cox_zph(d["time"].to_numpy(), d["status"].to_numpy(), x, fit.beta, fit.var, [[0], [1], [2, 3, 4], [5]])
    r = R["lung"]["zph_karno"]
    ours = sorted(zip(np.round(zph.transformed_time, 12), np.round(zph.scaled_residuals[:, 5], 9), strict=True))
    theirs = sorted(zip(np.round(r["x"], 12), np.round(r["y"], 9), strict=True))
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-6, atol=1e-9)


def test_stratified_logrank_equals_survdiff_on_lung():
    d = pl.read_csv(HERE / "lung_models.csv")
    for group, strata, key in (("sex", "ph.ecog", "sex_by_ecog"), ("ph.ecog", "sex", "ecog_by_sex")):
        test = logrank_test(d["time"].to_numpy(), d["status"].to_numpy(), d[group].to_numpy(), d[strata].to_numpy())
        assert test.statistic == pytest.approx(R["lung"]["strat"][key]["chisq"], rel=1e-9)
        assert test.p_value == pytest.approx(R["lung"]["strat"][key]["p"], rel=1e-6)


def test_fine_gray_equals_crr_on_mgus2_with_ties():
    """mgus2: progression (1) with death competing (2); 1,338 subjects, times in months
    with many ties. crr's coefficients, its robust standard errors and its p."""
    d = pl.read_csv(HERE / "mgus2_models.csv")
    fit = fine_gray(d["etime"].to_numpy(), d["cause"].to_numpy(), d.select("age", "male", "mspike").to_numpy())
    assert fit.converged
    assert_model(fit.beta, fit.se, wald_p(fit.beta, fit.se), R["mgus2"]["crr"])
    assert fit.loglik == pytest.approx(R["mgus2"]["crr"]["loglik"], rel=1e-9)


# --- the sample ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    return derive_sample()


def test_the_sample_frame_is_the_one_r_read(sample):
    """The frame R was given (sample_models.csv) is what the pipeline's models read now;
    if the sample or a derivation changes, regenerate both (module docstring)."""
    committed = pl.read_csv(HERE / "sample_models.csv", schema_overrides={"cause": pl.Int64, "time": pl.Float64})
    ours = sample_frame()
    assert ours.columns == committed.columns
    from polars.testing import assert_frame_equal

    assert_frame_equal(ours.sort("endpoint", "USUBJID"), committed.sort("endpoint", "USUBJID"), check_dtypes=False)


def test_the_sample_models_equal_r(sample):
    """The published multivariable_models.csv and ph_tests.csv of the sample, against
    coxph + cox.zph (OS, EFS, relapse cause-specific) and crr (relapse)."""
    tables = multivariable_cox(sample.adtte, sample.adsl, DEFAULT_MODEL_COVARIATES, {})
    models = tables.models
    for model, endpoint, key in (
        ("Cox", "OS", "OS"),
        ("Cox", "EFS", "EFS"),
        ("Cox", "CIR", "CIR"),
        ("Fine-Gray", "CIR", "crr"),
    ):
        rows = models.filter(
            (pl.col("model") == model) & (pl.col("endpoint") == endpoint) & pl.col("estimate").is_not_null()
        )
        r = R["sample"][key]
        # R's script names a number's column "per unit"; the table publishes its unit (models.UNITS)
        assert rows.select("covariate", "level").rows() == [(c, level_text(c, lv)) for c, lv in r["terms"]]
        np.testing.assert_allclose(np.log(rows["estimate"].to_numpy()), r["coef"], rtol=1e-6, atol=1e-9)
        se = (np.log(rows["ucl"].to_numpy()) - np.log(rows["lcl"].to_numpy())) / (2 * 1.959963984540054)
        np.testing.assert_allclose(se, r["se"], rtol=1e-4)
        np.testing.assert_allclose(rows["p"].to_numpy(), r["p"], rtol=1e-4)
        assert set(rows["reference"].drop_nulls().to_list()) <= set(r["references"])
        if model == "Cox":
            ph = tables.ph_tests.filter(pl.col("endpoint") == endpoint)
            np.testing.assert_allclose(ph["chisq"].to_numpy(), r["zph"]["chisq"], rtol=1e-6)
            np.testing.assert_allclose(ph["p"].to_numpy(), r["zph"]["p"], rtol=1e-4)
            assert ph["df"].to_list() == r["zph"]["df"]


def test_the_sample_fine_gray_by_subgroup_equals_crr(sample):
    table = fine_gray_subgroups(sample.adtte, sample.adsl, SUBGROUPS, {})
    for var in SUBGROUPS:
        rows = table.filter(pl.col("group_var") == var)
        r = R["sample"]["crr_subgroups"][var]
        np.testing.assert_allclose(np.log(rows["shr"].to_numpy()), r["coef"], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(rows["p"].to_numpy(), r["p"], rtol=1e-4)


def test_the_sample_stratified_logrank_equals_survdiff(sample):
    table = stratified_logrank(sample.adtte, sample.adsl, SUBGROUPS, ("STRATUM",))
    for row in table.iter_rows(named=True):
        r = R["sample"]["strat"][row["endpoint"]][row["group_var"]]
        # disease status within the response stratum: survdiff stops (singular), and R's
        # reference is survdiff over the levels that share a stratum (make_models.R)
        assert row["chisq"] == pytest.approx(r["chisq"], rel=1e-9)
        assert row["p"] == pytest.approx(r["p"], rel=1e-6)
        assert row["df"] == r["df"]
        assert (row["note"] is not None) == (row["group_var"] == "DISSTAT"), row


if __name__ == "__main__":  # regenerate the sample's frame (module docstring)
    sample_frame().write_csv(HERE / "sample_models.csv")
    print(f"wrote {HERE / 'sample_models.csv'}")


def test_a_stratified_logrank_with_one_level_per_stratum_is_not_testable():
    """Two strata, each holding one level (days 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, an event
    on all but the first and the seventh; level Y in stratum a, the same rows at level N in
    stratum b): no two levels are ever at risk together, so the test compares nothing.
    Each time's variance terms cancel exactly in arithmetic (n_g = n: d (n - d)/(n - 1)
    (1 - 1) = 0), but in floating point these days left 8.9e-16 on each diagonal, and a
    red team's pooled trials, one level of the factor each, read "chi-square 0.00 on 2 df,
    p 1.000" for a two-level factor. Not testable, with the reason (R's survdiff prints
    "Chisq= 0 on 1 degrees of freedom, p= 1" for these rows: V is 0, and 0/0 is read as
    0; a board would read it as a comparison made). With lung's 113 subjects of ph.ecog 1
    as a stratum holding both sexes beside them, the test is that stratum's alone, as R's:
    survdiff(Surv(time, status) ~ sex + strata(st)) on the mixed rows and survdiff(... ~
    sex) on the 113 both give chisq 7.33478522462101 (1 df)."""
    days = np.repeat(np.arange(1.0, 6.0), 2)
    events = np.array([0, 1, 1, 1, 1, 1, 0, 1, 1, 1])
    time, status = np.concatenate([days, days]), np.concatenate([events, events])
    level, stratum = np.array(["Y"] * 10 + ["N"] * 10), np.array(["a"] * 10 + ["b"] * 10)
    test = logrank_test(time, status, level, stratum)
    assert (test.statistic, test.df, test.p_value) == (None, 0, None)
    assert test.reason == "not testable: no two groups are at risk at an event time within a stratum"
    d = pl.read_csv(HERE / "lung_models.csv")
    ecog1 = (d["ph.ecog"] == 1).to_numpy()
    sex = d["sex"].to_numpy().astype(str)
    alone = logrank_test(d["time"].to_numpy()[ecog1], d["status"].to_numpy()[ecog1], sex[ecog1])
    mixed = logrank_test(
        np.concatenate([d["time"].to_numpy()[ecog1], time]),
        np.concatenate([d["status"].to_numpy()[ecog1], status]),
        np.concatenate([sex[ecog1], np.where(level == "Y", "1", "2")]),
        np.concatenate([np.array(["both"] * int(ecog1.sum())), stratum]),
    )
    assert int(ecog1.sum()) == 113
    assert alone.statistic == pytest.approx(7.33478522462101, rel=1e-10)
    assert mixed.df == 1 and mixed.statistic == pytest.approx(7.33478522462101, rel=1e-10)
