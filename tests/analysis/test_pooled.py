"""The pooled analysis held to R (tests/reference/pooled/make_pooled.R): survival::lung
with the institution made a trial (a, b, c) and sex the comparison factor, so each
number is R's ``survdiff``, ``coxph(... + strata(TRIAL))``, ``survfit`` and
``prop.test`` on the same rows. Hand-worked examples are in the docstrings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from trial_outcomes.analysis.pooled import (
    POOLED,
    cochran_q,
    forest,
    homogeneity,
    pooled_safety,
    pooled_tests,
    survival_by_trial,
)
from trial_outcomes.analysis.rates import clopper_pearson

HERE = Path(__file__).resolve().parents[1] / "reference" / "pooled"
R = json.loads((HERE / "pooled.json").read_text())
TRIALS = ["a", "b", "c"]


def close(a: float | None, b: float, rel: float = 1e-6) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


@pytest.fixture(scope="module")
def adtte() -> pl.DataFrame:
    """lung as two endpoints (OS and EFS the same rows), the layout ``pool_adtte`` makes."""
    lung = pl.read_csv(HERE / "pooled.csv")
    rows = lung.with_row_index("i").select(
        "TRIAL",
        pl.format("S{}", "i").alias("USUBJID"),
        pl.col("time").cast(pl.Float64).alias("AVAL"),
        (1 - pl.col("event")).cast(pl.Int64).alias("CNSR"),
        "SEX",
    )
    return pl.concat([rows.with_columns(pl.lit(e).alias("PARAMCD")) for e in ("OS", "EFS")])


def test_tests_equal_survdiff_and_stratified_coxph(adtte: pl.DataFrame) -> None:
    tests = pooled_tests(adtte, "SEX", "M", ["F"]).filter(pl.col("endpoint") == "OS")
    across = tests.filter(pl.col("test") == "log-rank across trials").row(0, named=True)
    assert close(across["statistic"], R["across"]["chisq"]) and across["df"] == 2
    assert close(across["p"], R["across"]["p"])
    strat = tests.filter(pl.col("test") == "stratified log-rank").row(0, named=True)
    assert close(strat["statistic"], R["stratified"]["chisq"]) and close(strat["p"], R["stratified"]["p"])
    cox = tests.filter(pl.col("test") == "stratified Cox").row(0, named=True)
    assert close(cox["hr"], R["cox"]["hr"]) and close(cox["hr_lcl"], R["cox"]["lcl"], 1e-5)
    assert close(cox["hr_ucl"], R["cox"]["ucl"], 1e-5) and close(cox["p"], R["cox"]["p"], 1e-4)


def test_forest_per_trial_and_heterogeneity(adtte: pl.DataFrame) -> None:
    rows = forest(adtte, "SEX", "F", "M", TRIALS).filter(pl.col("endpoint") == "OS")
    for trial in TRIALS:
        row = rows.filter(pl.col("trial") == trial).row(0, named=True)
        assert close(row["hr"], R["per_trial"][trial]["hr"]), trial
        assert close(row["hr_lcl"], R["per_trial"][trial]["lcl"], 1e-5)
        assert close(row["p"], R["per_trial"][trial]["p"], 1e-4)
    pooled = rows.filter(pl.col("trial") == POOLED).row(0, named=True)
    assert close(pooled["hr"], R["cox"]["hr"])
    assert close(pooled["q"], R["q"]["q"], 1e-5) and pooled["q_df"] == 2
    assert close(pooled["q_p"], R["q"]["p"], 1e-5) and close(pooled["i2"], R["q"]["i2"], 1e-4)


def test_survival_by_trial_equals_survfit(adtte: pl.DataFrame) -> None:
    table = survival_by_trial(adtte, TRIALS).filter(pl.col("endpoint") == "OS")
    for trial, key in [*((t, t) for t in TRIALS), (POOLED, "all")]:
        row = table.filter(pl.col("trial") == trial).row(0, named=True)
        want = R["km"][key]
        assert row["median_days"] == want["median"] and row["median_lcl_days"] == want["lcl"], trial
        assert row["median_ucl_days"] == want["ucl"]
        assert close(row["rate_12m"], want["rate"]) and close(row["rate_12m_lcl"], want["rate_lcl"], 1e-6)


def test_homogeneity_equals_prop_test() -> None:
    """prop.test(c(5, 9, 14), c(40, 50, 45), correct = FALSE) in R; and the docstring's
    example by hand: x = (2, 8) of 10 each gives chi-square 7.2."""
    chisq, df, p, note = homogeneity([5, 9, 14], [40, 50, 45])
    assert close(chisq, R["prop_test"]["chisq"]) and df == 2 and close(p, R["prop_test"]["p"])
    assert note is None
    chisq, df, p, _ = homogeneity([2, 8], [10, 10])
    assert close(chisq, 7.2) and df == 1
    assert homogeneity([0, 0], [10, 12])[3] == "not testable: no events in any trial"
    assert homogeneity([1, 0], [10, 0])[3] == "not testable: 1 trial(s) with infused subjects"
    lcl, ucl = clopper_pearson(9, 50)
    assert close(lcl, R["clopper_pearson"]["lcl"]) and close(ucl, R["clopper_pearson"]["ucl"])


def test_cochran_q_by_hand() -> None:
    """b = (0, 1), se = (1, 1): pooled 0.5, Q = 0.25 + 0.25 = 0.5 on 1 df, I^2 = 0 (Q < df);
    p = P(chi-square on 1 df > 0.5) = 0.4795001 (R: pchisq(0.5, 1, lower.tail = FALSE))."""
    q, df, p, i2 = cochran_q([0.0, 1.0], [1.0, 1.0])
    assert q == pytest.approx(0.5) and df == 1 and i2 == 0.0 and p == pytest.approx(0.4795001, rel=1e-6)
    assert cochran_q([0.3], [0.1]) == (None, 0, None, None)


def test_degenerate_trials_give_notes_not_errors() -> None:
    """A trial with one group only, a trial without events, a factor with no level but
    the reference, a trial without EFS rows: empty values with the reason."""
    adtte = pl.DataFrame(
        {
            "TRIAL": ["a"] * 4 + ["b"] * 4,
            "USUBJID": [f"S{i}" for i in range(8)],
            "PARAMCD": ["OS"] * 8,
            "AVAL": [10.0, 20, 30, 40, 10, 20, 30, 40],
            "CNSR": [0, 1, 0, 1, 1, 1, 1, 1],
            "SEX": ["M", "M", "M", "M", "F", "M", "F", "M"],
        }
    )
    rows = forest(adtte, "SEX", "F", "M", ["a", "b"]).filter(pl.col("endpoint") == "OS")
    assert rows["note"].to_list()[:2] == ["one group only", "no events"]
    assert rows["hr"].null_count() == 3
    adsl = pl.DataFrame(
        {
            "TRIAL": ["a", "b"],
            "SAFFL": ["Y", "Y"],
            "CRSGRAJ": [None, 4],
            "ICANGRAJ": [None, None],
            "NRMFL": ["N", "N"],
        }
    )
    safety = pooled_safety(adsl, ["a", "b"])
    assert safety.filter(pl.col("trial") == POOLED)["note"].to_list() == [
        "an expected count is below 5: the chi-square approximation may be poor",
        "not testable: no events in any trial",
        "not testable: no events in any trial",
    ]


def test_an_unrecorded_factor_and_a_missing_endpoint_say_so(adtte: pl.DataFrame) -> None:
    only_os = adtte.filter((pl.col("PARAMCD") == "OS") | (pl.col("TRIAL") != "c"))
    tests = pooled_tests(only_os.with_columns(pl.lit("M").alias("SEX")), "SEX", "M", [])
    cox = tests.filter(pl.col("test") == "stratified Cox")
    assert cox["level"].to_list() == ["none", "none"]
    assert cox["note"][0] == "no level of SEX other than the reference (M) was recorded"
    table = survival_by_trial(only_os, TRIALS)
    efs_c = table.filter((pl.col("endpoint") == "EFS") & (pl.col("trial") == "c")).row(0, named=True)
    assert efs_c["n"] == 0 and efs_c["median_days"] is None
    assert efs_c["note"] == "no EFS rows of infused subjects in this trial's ADTTE"


def test_a_third_level_is_left_out_of_a_comparison_with_the_reference(adtte: pl.DataFrame) -> None:
    """A level other than the two compared (an unexpected code) changes nothing: the
    hazard ratio is of the level against the reference, as R's relevel() fit."""
    odd = adtte.with_columns(
        pl.when(pl.col("USUBJID").is_in(["S0", "S1", "S2"])).then(pl.lit("U")).otherwise(pl.col("SEX")).alias("SEX")
    )
    plain = forest(adtte.filter(~pl.col("USUBJID").is_in(["S0", "S1", "S2"])), "SEX", "F", "M", TRIALS)
    with_odd = forest(odd, "SEX", "F", "M", TRIALS)
    assert with_odd["hr"].to_list() == plain["hr"].to_list()


def test_a_trial_that_did_not_record_the_factor_is_said_to_be_left_out(adtte: pl.DataFrame) -> None:
    """A red team's trial whose drop did not collect bridging therapy (BRIDGFL empty for
    its 114 subjects) was left out of the stratified tests without a word, and its forest
    row read "n=0, 0 events: no events". Here trial c records no SEX and one subject of a
    has none: every comparison is R's on the subjects with SEX (``unrecorded`` in
    make_pooled.R: coxph and survdiff leave a missing covariate's rows out, 139 subjects,
    72 of them in a), and each table says who is left out."""
    a_first = adtte.filter(pl.col("TRIAL") == "a")["USUBJID"][0]
    unrecorded = adtte.with_columns(
        pl.when((pl.col("TRIAL") == "c") | (pl.col("USUBJID") == a_first))
        .then(None)
        .otherwise(pl.col("SEX"))
        .alias("SEX")
    )
    recorded = unrecorded.filter(pl.col("SEX").is_not_null())
    n_a = adtte.filter((pl.col("TRIAL") == "a") & (pl.col("PARAMCD") == "OS")).height
    n_c = adtte.filter((pl.col("TRIAL") == "c") & (pl.col("PARAMCD") == "OS")).height
    left_out = (
        f"{n_c + 1} subject(s) without SEX recorded are left out: a (1 of {n_a}), c (not recorded for any of its {n_c})"
    )

    want = R["unrecorded"]
    assert recorded.filter(pl.col("PARAMCD") == "OS").height == want["n"]

    rows = forest(unrecorded, "SEX", "F", "M", TRIALS).filter(pl.col("endpoint") == "OS")
    by_trial = {r["trial"]: r for r in rows.iter_rows(named=True)}
    assert (by_trial["c"]["n"], by_trial["c"]["n_unrecorded"], by_trial["c"]["hr"]) == (0, n_c, None)
    assert by_trial["c"]["note"] == "SEX not recorded: not in the pooled estimate"
    a = by_trial["a"]
    assert (a["n"], a["n_unrecorded"]) == (want["n_a"], 1) and a["n"] == n_a - 1
    assert close(a["hr"], want["a"]["hr"]) and close(a["hr_lcl"], want["a"]["lcl"], 1e-5)
    assert close(a["hr_ucl"], want["a"]["ucl"], 1e-5) and close(a["p"], want["a"]["p"], 1e-4)
    assert a["note"] == "1 subject(s) without SEX left out"
    pooled = by_trial[POOLED]
    assert close(pooled["hr"], want["cox"]["hr"]) and pooled["n"] == want["n"] and pooled["n_unrecorded"] == n_c + 1
    assert close(pooled["q"], want["q"]["q"], 1e-5) and pooled["q_df"] == 1
    assert close(pooled["q_p"], want["q"]["p"], 1e-5)
    assert pooled["note"] == f"stratified by trial; 2 trial(s) in Q; {left_out}"

    only_b = unrecorded.with_columns(pl.when(pl.col("TRIAL") != "b").then(None).otherwise(pl.col("SEX")).alias("SEX"))
    alone = forest(only_b, "SEX", "F", "M", TRIALS).filter((pl.col("endpoint") == "OS") & (pl.col("trial") == POOLED))
    assert alone["note"][0].startswith(
        "stratified by trial; b alone records the factor: the estimate is that trial's; "
    )
    tests = pooled_tests(unrecorded, "SEX", "M", ["F"]).filter(pl.col("endpoint") == "OS")
    strat = tests.filter(pl.col("test") == "stratified log-rank").row(0, named=True)
    assert close(strat["statistic"], want["stratified"]["chisq"]) and close(strat["p"], want["stratified"]["p"])
    cox = tests.filter(pl.col("test") == "stratified Cox").row(0, named=True)
    assert close(cox["hr"], want["cox"]["hr"]) and close(cox["hr_lcl"], want["cox"]["lcl"], 1e-5)
    assert close(cox["hr_ucl"], want["cox"]["ucl"], 1e-5) and close(cox["p"], want["cox"]["p"], 1e-4)
    for row in (strat, cox):
        assert (row["n"], row["n_unrecorded"], row["note"]) == (want["n"], n_c + 1, left_out)
    across = tests.filter(pl.col("test") == "log-rank across trials").row(0, named=True)
    assert across["n"] == adtte.filter(pl.col("PARAMCD") == "OS").height and across["n_unrecorded"] is None


def test_a_factor_recorded_in_no_trial_says_so(adtte: pl.DataFrame) -> None:
    """A red team's portfolio whose three drops had no bridging column: the Cox row said
    "no level of BRIDGFL other than the reference (N) was recorded", as if N had been.
    Every subject without SEX: both factor tests are not testable, saying SEX was recorded
    for no subject, and name every subject left out; no forest row is made (no level)."""
    unrecorded = adtte.with_columns(pl.lit(None, pl.String).alias("SEX"))
    n = adtte.filter(pl.col("PARAMCD") == "OS").height
    by_trial = adtte.filter(pl.col("PARAMCD") == "OS").group_by("TRIAL").len().sort("TRIAL").rows()
    tests = pooled_tests(unrecorded, "SEX", "M", []).filter(pl.col("endpoint") == "OS")
    left_out = f"{n} subject(s) without SEX recorded are left out: " + ", ".join(
        f"{t} (not recorded for any of its {k})" for t, k in by_trial
    )
    for test in ("stratified log-rank", "stratified Cox"):
        row = tests.filter(pl.col("test") == test).row(0, named=True)
        assert (row["n"], row["n_unrecorded"], row["p"]) == (0, n, None)
        assert row["note"] == f"not testable: SEX was recorded for no subject; {left_out}"
