"""survival_summary / km_curves as the contract defines them, on R's data sets."""

from __future__ import annotations

import polars as pl
import pytest

from tests.analysis.reference import load
from tests.builders import Trial
from trial_outcomes.analysis.landmark import HSCT_GROUP, NO_HSCT_GROUP, hsct_landmark
from trial_outcomes.analysis.survival_summary import CURVE_SCHEMA, SUMMARY_COLUMNS, summarise_survival


def _as_adtte(data: pl.DataFrame, paramcd: str, group: str, status: str = "status") -> pl.DataFrame:
    """A reference data set in ADTTE shape (AVAL, CNSR, EVNTTYPE, a subgroup column)."""
    event = pl.col(status)
    return data.select(
        pl.lit(paramcd).alias("PARAMCD"),
        pl.lit("primary").alias("ANALYSIS"),
        pl.col("time").alias("AVAL"),
        pl.when(event > 0).then(0).otherwise(1).alias("CNSR"),
        event.alias("EVNTTYPE"),
        pl.col(group).alias("grp"),
    )


def test_contract_columns_exactly():
    data, _ = load("aml")
    summary, curves = summarise_survival(_as_adtte(data, "OS", "x"), ("grp",))
    assert summary.columns == SUMMARY_COLUMNS
    assert curves.columns == list(CURVE_SCHEMA)


def test_os_rows_match_r_for_lung():
    """lung (days): the overall and per-sex rows equal R's survfit/survdiff."""
    data, ref = load("lung")
    summary, curves = summarise_survival(_as_adtte(data, "OS", "sex"), ("grp",))
    rows = {r["group"]: r for r in summary.iter_rows(named=True)}
    for level in ("all", "F", "M"):
        r, expected = rows[level], ref[level]
        assert (r["n"], r["n_events"], r["n_censored"]) == (
            expected["n"],
            expected["n_events"],
            expected["n"] - expected["n_events"],
        )
        assert (r["median_days"], r["median_lcl_days"], r["median_ucl_days"]) == (
            expected["median"],
            expected["median_lcl"],
            expected["median_ucl"],
        )
        for key in ("rate_6m", "rate_12m", "rate_24m"):
            assert r[key] == pytest.approx(expected[key], abs=1e-9)
            assert r[f"{key}_lcl"] == pytest.approx(expected[f"{key}_lcl"], abs=1e-6)
    assert rows["all"]["logrank_chisq"] is None
    assert rows["F"]["logrank_chisq"] == pytest.approx(ref["logrank"]["chisq"], rel=1e-6) == rows["M"]["logrank_chisq"]
    f_curve = curves.filter(pl.col("group") == "F")
    assert f_curve["time_days"].to_list() == ref["F"]["curve"]["time"]
    assert f_curve["estimate"].to_list() == pytest.approx(ref["F"]["curve"]["surv"], abs=1e-9)


def test_cir_rows_are_incidences_with_grays_test():
    data, ref = load("competing")
    summary, _ = summarise_survival(_as_adtte(data, "CIR", "group"), ("grp",))
    rows = {r["group"]: r for r in summary.iter_rows(named=True)}
    assert rows["all"]["rate_6m"] == pytest.approx(ref["all"]["rate_6m"], abs=1e-9)
    assert rows["all"]["median_days"] is None
    a = ref["A"]  # R: 58 relapses and 20 competing deaths among 100
    assert (
        (rows["A"]["n_events"], rows["A"]["n_censored"])
        == (a["n_relapse"], a["n"] - a["n_relapse"] - a["n_competing"])
        == (58, 22)
    )
    assert rows["A"]["logrank_chisq"] == pytest.approx(ref["gray"]["chisq"], rel=1e-6)


def test_hsct_landmark_groups_at_the_landmark_and_measures_from_it():
    """Landmark day 100. S1: CR day 28, HSCT day 60, contact day 400 -> HSCT group,
    OS censored 300 days after the landmark. S2: CR day 28, HSCT day 150 -> no-HSCT
    group (the group is fixed at the landmark), death day 200 -> event at 100.
    S3: CR day 28, relapse day 80 -> not in the landmark cohort. S4: death day 90
    -> not in the cohort."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "CR", 0.0)
        .event("S1", 60, "HSCT")
        .event("S1", 400, "CONTACT")
        .enrol("S2")
        .infuse("S2")
        .assess("S2", 28, "CR", 0.0)
        .event("S2", 150, "HSCT")
        .event("S2", 200, "DEATH", "GVHD")
        .enrol("S3")
        .infuse("S3")
        .assess("S3", 28, "CR", 0.0)
        .assess("S3", 80, "RELAPSE")
        .event("S3", 300, "CONTACT")
        .enrol("S4")
        .infuse("S4")
        .assess("S4", 28, "CR", 0.0)
        .event("S4", 90, "DEATH", "Infection")
    )
    d = t.derive()
    table = hsct_landmark(d["adtte"], d["adsl"], 100).filter(pl.col("endpoint") == "OS")
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    assert (rows[HSCT_GROUP]["n"], rows[HSCT_GROUP]["n_events"]) == (1, 0)
    assert (
        rows[NO_HSCT_GROUP]["n"],
        rows[NO_HSCT_GROUP]["n_events"],
        rows[NO_HSCT_GROUP]["median_days_from_landmark"],
    ) == (1, 1, 100)
