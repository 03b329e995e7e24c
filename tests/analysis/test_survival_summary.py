"""survival_summary / survival_details / km_curves as the contract defines them, on R's
data sets and on hand-made subjects."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.analysis.reference import load
from tests.builders import Trial
from tests.helpers import SURVIVAL_SUMMARY_COLUMNS
from trial_outcomes.analysis.competing import fit_cif
from trial_outcomes.analysis.km import fit_km
from trial_outcomes.analysis.landmark import HSCT_GROUP, NO_HSCT_GROUP, hsct_landmark
from trial_outcomes.analysis.survival_summary import reference_level, subgroup_hazard_ratios, summarise_survival
from trial_outcomes.contracts import KmCurves, survival_summary_schema

LANDMARKS = (6, 12, 24)


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


def test_contract_columns_exactly_and_the_landmarks_of_the_plan():
    """The default plan's landmarks give data-contract.md's columns exactly; a plan with
    landmarks [3, 12] gives rate_3m and rate_12m triples in the same place."""
    data, _ = load("aml")
    adtte = _as_adtte(data, "OS", "x")
    tables = summarise_survival(adtte, ("grp",), LANDMARKS)
    assert tables.summary.columns == SURVIVAL_SUMMARY_COLUMNS
    assert tables.curves.columns == KmCurves.column_names()
    other = summarise_survival(adtte, ("grp",), (3, 12)).summary
    assert other.columns == survival_summary_schema((3, 12)).column_names()
    assert "rate_3m" in other.columns and "rate_24m" not in other.columns


def test_os_rows_match_r_for_lung():
    """lung (days): the overall and per-sex rows equal R's survfit/survdiff."""
    data, ref = load("lung")
    tables = summarise_survival(_as_adtte(data, "OS", "sex"), ("grp",), LANDMARKS)
    rows = {r["group"]: r for r in tables.summary.iter_rows(named=True)}
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
    f_curve = tables.curves.filter(pl.col("group") == "F")
    assert f_curve["time_days"].to_list() == ref["F"]["curve"]["time"]
    assert f_curve["estimate"].to_list() == pytest.approx(ref["F"]["curve"]["surv"], abs=1e-9)


def test_cir_rows_are_incidences_with_grays_test_and_competing_counts():
    data, ref = load("competing")
    tables = summarise_survival(_as_adtte(data, "CIR", "group"), ("grp",), LANDMARKS)
    rows = {r["group"]: r for r in tables.summary.iter_rows(named=True)}
    details = {r["group"]: r for r in tables.details.iter_rows(named=True)}
    assert rows["all"]["rate_6m"] == pytest.approx(ref["all"]["rate_6m"], abs=1e-9)
    assert rows["all"]["median_days"] is None
    a = ref["A"]  # R: 58 relapses and 20 competing deaths among 100
    assert (
        (rows["A"]["n_events"], details["A"]["n_competing"], rows["A"]["n_censored"])
        == (a["n_relapse"], a["n_competing"], a["n"] - a["n_relapse"] - a["n_competing"])
        == (58, 20, 22)
    )
    assert rows["A"]["logrank_chisq"] == pytest.approx(ref["gray"]["chisq"], rel=1e-6)


def test_a_curve_at_zero_before_a_landmark_gives_zero_not_empty():
    """Three subjects, deaths on days 10, 20, 30: S reaches 0 on day 30, so the rate at
    6 months (182.6 days) is 0, known (CI empty). With the last subject censored on
    day 30 instead, S = 1/3 until day 30 and nothing is known after: empty."""
    dead = fit_km(np.array([10.0, 20, 30]), np.array([1, 1, 1]))
    censored = fit_km(np.array([10.0, 20, 30]), np.array([1, 1, 0]))
    assert dead.at(182.6) == (0.0, None, None)
    assert censored.at(182.6) == (None, None, None)
    assert censored.at(25)[0] == pytest.approx(1 / 3)


def test_a_cumulative_incidence_ended_by_events_is_known_after_the_last_time():
    """Relapse on day 5, death in remission on day 8: everyone had an event, F(1 year)
    = 1/2 is known; if the day-8 subject were censored instead, F(1 year) is empty."""
    assert fit_cif(np.array([5.0, 8]), np.array([1, 2])).at(365)[0] == pytest.approx(0.5)
    assert fit_cif(np.array([5.0, 8]), np.array([1, 0])).at(365)[0] is None


def test_details_say_why_a_statistic_is_empty():
    """aml's Maintained arm (times in weeks; R: median 31, 95% CI 18-NA) is followed to
    161: the CI's upper bound is not reached, and every landmark (6 x 30.4375 = 182.6
    and more) is past the last time."""
    data, ref = load("aml")
    tables = summarise_survival(_as_adtte(data, "OS", "x"), ("grp",), LANDMARKS)
    row = tables.summary.filter(pl.col("group") == "Maintained").row(0, named=True)
    notes = tables.details.filter(pl.col("group") == "Maintained")["notes"][0]
    assert (row["median_days"], row["median_ucl_days"]) == (ref["Maintained"]["median"], None)
    assert notes.split("; ") == [
        "median CI upper bound not reached",
        *[f"{m}-month rate: no follow-up that long (last day 161)" for m in LANDMARKS],
    ]


def test_a_median_carries_the_number_followed_at_it():
    """aml (weeks), R's ``summary(fit, times = median)$n.risk``. Maintained: 9, 13, 13+,
    18, 23, 28+, 31, 34, 45+, 48, 161+, median 31, still followed there 31, 34, 45+, 48 and
    161+: 5. Nonmaintained: 5, 5, 8, 8, 12, 16+, 23, 27, 30, 33, 43, 45, median 23, followed
    there 23, 27, 30, 33, 43, 45: 6. All 23: median 27, followed there those 5 less 23, and
    28+, 31, 34, 45+, 48, 161+: 11 (R: 7 at 23 and 5 at 31 for Maintained, 6 at 23 for
    Nonmaintained, 11 at 27 for all). A median not reached, or a competing endpoint's
    incidence, has none."""
    data, _ = load("aml")
    tables = summarise_survival(_as_adtte(data, "OS", "x"), ("grp",), LANDMARKS)
    medians = dict(zip(tables.summary["group"], tables.summary["median_days"], strict=True))
    at_median = dict(zip(tables.details["group"], tables.details["median_nrisk"], strict=True))
    assert medians == {"all": 27, "Maintained": 31, "Nonmaintained": 23}
    assert at_median == {"all": 11, "Maintained": 5, "Nonmaintained": 6}
    alive = fit_km(np.array([10.0, 20, 30]), np.array([1, 0, 0]))
    assert alive.median()[0] is None
    followed = pl.DataFrame({"time": [10.0, 20, 30], "status": [1, 0, 0], "g": ["a"] * 3})
    assert summarise_survival(_as_adtte(followed, "OS", "g"), (), LANDMARKS).details["median_nrisk"].to_list() == [None]
    competing, _ = load("competing")
    cir = summarise_survival(_as_adtte(competing, "CIR", "group"), (), LANDMARKS)
    assert cir.details["median_nrisk"].to_list() == [None]


def test_hazard_ratios_use_the_largest_group_or_the_plans_reference():
    """lung: 138 men and 90 women. Default reference: the largest group (M), so the row
    is F vs M, HR = 1 / R's M-vs-F HR; with the plan's reference F the row is M vs F."""
    data, _ = load("lung")
    adtte = _as_adtte(data, "OS", "sex").rename({"grp": "sex"})
    assert reference_level(adtte, "sex", None) == "M"
    default = subgroup_hazard_ratios(adtte, ("sex",)).row(0, named=True)
    chosen = subgroup_hazard_ratios(adtte, ("sex",), {"sex": "F"}).row(0, named=True)
    assert (default["group"], default["reference"]) == ("F", "M")
    assert (chosen["group"], chosen["reference"]) == ("M", "F")
    assert default["hr"] == pytest.approx(1 / chosen["hr"], rel=1e-9)


def test_one_reference_level_per_factor_whatever_the_endpoint():
    """A statistician's finding: the largest group was chosen within each endpoint's
    population, so age group's reference was "<10" for OS and ">=10" for DFS at one cut
    (forest plots of one factor pointing opposite ways). Here 5 infused subjects: 3 "<10"
    (A, B, C) and 2 ">=10" (D, E); DFS holds only B, D and E (2 ">=10"). The trial's
    reference is "<10", used for OS and DFS alike; the plan's choice wins; an endpoint
    without that level takes its own largest group (DFS of D and E alone: ">=10")."""
    from trial_outcomes.analysis.survival_summary import trial_references

    adsl = pl.DataFrame({"USUBJID": list("ABCDEF"), "SAFFL": ["Y"] * 5 + ["N"], "AGEGR1": ["<10"] * 3 + [">=10"] * 3})
    assert trial_references(adsl, ("AGEGR1", "NOTINADSL"), {}) == {"AGEGR1": "<10"}  # F not infused
    assert trial_references(adsl, ("AGEGR1",), {"AGEGR1": ">=10"}) == {"AGEGR1": ">=10"}
    # a planned level no infused subject has: the trial's largest group, for every endpoint
    assert trial_references(adsl, ("AGEGR1",), {"AGEGR1": "<1"}) == {"AGEGR1": "<10"}
    assert trial_references(adsl, ("AGEGR1",), {"SEX": "M"}) == {"AGEGR1": "<10", "SEX": "M"}

    def rows(endpoint: str, ids: str, times: list[float], events: list[int]) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "USUBJID": list(ids),
                "PARAMCD": endpoint,
                "ANALYSIS": "primary",
                "AVAL": times,
                "CNSR": [1 - e for e in events],
                "EVNTTYPE": events,
                "AGEGR1": adsl.filter(pl.col("USUBJID").is_in(list(ids)))["AGEGR1"],
            }
        )

    adtte = pl.concat(
        [rows("OS", "ABCDE", [10, 20, 30, 15, 25], [1, 0, 1, 1, 1]), rows("DFS", "BDE", [5, 8, 12], [1, 1, 0])]
    )
    cox = subgroup_hazard_ratios(adtte, ("AGEGR1",), trial_references(adsl, ("AGEGR1",), {}))
    assert dict(cox.select("endpoint", "reference").unique().iter_rows()) == {"OS": "<10", "DFS": "<10"}
    dfs_of_d_and_e = adtte.filter((pl.col("PARAMCD") == "DFS") & pl.col("USUBJID").is_in(["D", "E"]))
    assert reference_level(dfs_of_d_and_e, "AGEGR1", "<10") == ">=10"


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
    table = hsct_landmark(d.adtte, d.adsl, 100).filter(pl.col("endpoint") == "OS")
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    assert (rows[HSCT_GROUP]["n"], rows[HSCT_GROUP]["n_events"]) == (1, 0)
    assert (
        rows[NO_HSCT_GROUP]["n"],
        rows[NO_HSCT_GROUP]["n_events"],
        rows[NO_HSCT_GROUP]["median_days_from_landmark"],
    ) == (1, 1, 100)


def test_details_say_why_every_empty_limit_is_empty():
    """Ten subjects all dead on day 100. R (survival 3.x, conf.type = "log-log"):
    quantile(fit, 0.5) gives 100 with lower NA and upper NA (the band is undefined at
    S = 1 before day 100 and at S = 0 from it), and summary(fit, times = 182.625)
    gives surv 0 with lower NA and upper NA. Each empty limit has its reason; the
    rate of 0 itself is known (the curve ended in events)."""
    adtte = pl.DataFrame(
        {"PARAMCD": ["OS"] * 10, "ANALYSIS": ["primary"] * 10, "AVAL": [100] * 10, "CNSR": [0] * 10}
    ).with_columns(EVNTTYPE=pl.lit(1), grp=pl.lit("a"))
    tables = summarise_survival(adtte, (), LANDMARKS)
    row = tables.summary.row(0, named=True)
    assert (row["median_days"], row["median_lcl_days"], row["median_ucl_days"]) == (100.0, None, None)
    assert (row["rate_6m"], row["rate_6m_lcl"], row["rate_6m_ucl"]) == (0.0, None, None)
    assert tables.details["notes"][0].split("; ") == [
        "median CI lower bound not estimable",
        "median CI upper bound not estimable",
        *[f"{m}-month rate: no confidence interval at an estimate of 0" for m in LANDMARKS],
    ]


def test_every_empty_statistic_of_a_summary_has_a_reason_in_its_details():
    """On R's data sets by subgroup (KM and cumulative incidence): wherever a median
    limit or a rate's limit is empty while its estimate is not, the details row
    names it."""
    for name, paramcd, group in (("aml", "OS", "x"), ("lung", "OS", "sex"), ("competing", "CIR", "group")):
        data, _ = load(name)
        tables = summarise_survival(_as_adtte(data, paramcd, group), ("grp",), LANDMARKS)
        for row, details in zip(
            tables.summary.iter_rows(named=True), tables.details.iter_rows(named=True), strict=True
        ):
            notes = details["notes"] or ""
            if row["median_days"] is not None:
                assert (row["median_lcl_days"] is not None) or "median CI lower bound" in notes, (name, row)
                assert (row["median_ucl_days"] is not None) or "median CI upper bound" in notes, (name, row)
            for m in LANDMARKS:
                if row[f"rate_{m}m"] is not None and (row[f"rate_{m}m_lcl"] is None or row[f"rate_{m}m_ucl"] is None):
                    assert f"{m}-month rate: no confidence interval" in notes, (name, row)


def test_the_survival_analyses_use_one_reference_level_per_factor():
    """Seven infused subjects: four aged 5 (age group "<10"; one, Y1, in CR on day 28)
    and three aged 15 (">=10"; all in CR on day 28), each dying on a different day. OS
    holds all seven (4 "<10" against 3), DFS the four responders (1 "<10" against 3):
    the largest group of each endpoint differs, and both take "<10", the trial's."""
    from trial_outcomes.analysis.survival_results import analyse_survival
    from trial_outcomes.plan import load_plan

    t = Trial()
    young = [("Y1", 5.0, True), ("Y2", 5.0, False), ("Y3", 5.0, False), ("Y4", 5.0, False)]
    old = [("O1", 15.0, True), ("O2", 15.0, True), ("O3", 15.0, True)]
    for i, (sid, age, responds) in enumerate([*young, *old]):
        t.enrol(sid, age_years=age).infuse(sid).assess(sid, 28, "CR" if responds else "NR", 0.0)
        t.event(sid, 60 + 30 * i, "DEATH", "Sepsis", category="INFECTION")
    d = t.derive(cut_day=400)
    results = analyse_survival(d.adtte, d.adsl, load_plan())
    ages = results.cox_summary.filter((pl.col("group_var") == "AGEGR1") & (pl.col("analysis") == "primary"))
    assert set(ages["endpoint"]) >= {"OS", "DFS"}
    assert set(ages["reference"]) == {"<10"}
