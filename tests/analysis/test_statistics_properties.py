"""No statistic stops a run (endpoints.md, Interim analyses): the whole analysis on
random small drops with degenerate groups (one level, no events, everyone
censored, everyone an event, ties everywhere) gives tables, with empty values
and reasons where a statistic is undefined, never an exception."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import Trial, day
from tests.helpers import examples
from trial_outcomes.analysis import ae_tables, exposure, relapse, safety_summary
from trial_outcomes.analysis.landmark import hsct_landmark
from trial_outcomes.analysis.rates import response_summary
from trial_outcomes.analysis.stopping import evaluate_rules
from trial_outcomes.analysis.survival_summary import followup_summary, subgroup_hazard_ratios, summarise_survival
from trial_outcomes.plan import load_plan

SUBGROUPS = ("SEX", "PRHSCTFL", "DISSTAT", "AGEGR1", "EMDFL")
DAYS = st.sampled_from([5, 10, 10, 28, 60, 60, 120, 400])  # few distinct days: ties everywhere

subject = st.fixed_dictionaries(
    {
        "infused": st.booleans(),
        "sex": st.sampled_from(["M", "F"]),
        "status": st.sampled_from(["relapsed", "primary_refractory", "mrd_persistent"]),
        "response": st.sampled_from(["CR", "CRi", "NR", "PR", None]),
        "mrd": st.sampled_from([0.001, 0.5, None]),
        "relapse": st.one_of(st.none(), DAYS),
        "death": st.one_of(st.none(), DAYS),
        "cause": st.sampled_from(["Relapsed leukemia", "Sepsis", "Cytokine release syndrome", ""]),
        "hsct": st.one_of(st.none(), DAYS),
        "crs": st.one_of(st.none(), st.integers(1, 5)),
    }
)


def _trial(subjects: list[dict[str, object]], same_sex: bool) -> Trial:
    t = Trial()
    for i, s in enumerate(subjects):
        sid = f"S{i}"
        t.enrol(
            sid,
            sex="M" if same_sex else s["sex"],
            disease_status=s["status"],
            age_years=3.0 if same_sex else 3.0 + 3 * i,
        )
        if not s["infused"]:
            continue
        t.infuse(sid)
        death = s["death"]
        if s["response"]:
            t.assess(sid, 28, str(s["response"]), s["mrd"])  # type: ignore[arg-type]
        if s["relapse"] and (death is None or s["relapse"] < death) and s["relapse"] > 28:  # type: ignore[operator]
            t.assess(sid, int(s["relapse"]), "RELAPSE", site="BM", cd19="NEG")  # type: ignore[call-overload]
        if s["hsct"] and (death is None or s["hsct"] < death):  # type: ignore[operator]
            t.event(sid, int(s["hsct"]), "HSCT", "Donor")  # type: ignore[call-overload]
        if s["crs"]:
            t.ae(sid, "Cytokine release syndrome", 2, int(s["crs"]))  # type: ignore[call-overload]
        if death is not None:
            t.event(sid, int(death), "DEATH", str(s["cause"]))  # type: ignore[call-overload]
    return t


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subjects=st.lists(subject, min_size=1, max_size=7),
    same_sex=st.booleans(),
    cut_day=st.sampled_from([1, 20, 45, 200, 1000]),
)
def test_degenerate_drops_give_tables_never_an_exception(subjects, same_sex, cut_day):
    plan = load_plan()
    d = _trial(subjects, same_sex).derive(cut_day=cut_day, subgroups=SUBGROUPS)
    tables = summarise_survival(d.adtte, SUBGROUPS, (1, 6, 12))
    cox = subgroup_hazard_ratios(d.adtte, SUBGROUPS, {})
    follow = followup_summary(d.adtte)
    landmark = hsct_landmark(d.adtte, d.adsl, 100)
    response = response_summary(d.adsl, SUBGROUPS)
    for frame in (
        ae_tables.ae_summary(d.adae, d.adsl),
        ae_tables.ae_soc_summary(d.adae, d.adsl),
        ae_tables.aesi_summary(d.adae, d.adsl),
        safety_summary.safety_headline(d.adsl, day(cut_day)),
        safety_summary.deaths_summary(d.adsl),
        exposure.exposure_summary(d.adsl),
        relapse.relapse_summary(d.adsl, (6, 12)).summary,
        safety_summary.syndrome_summary(d.adsl, {"CRS": True, "ICANS": True}),
    ):
        assert isinstance(frame, pl.DataFrame)
    evaluate_rules(d.adsl, d.adae, d.records["enrolment"]["enrol_date"].max() or d.adsl["enrol_date"].max(), plan)
    # every empty test or hazard ratio says why
    empty_tests = tables.summary.filter((pl.col("group_var") != "all") & pl.col("logrank_p").is_null())
    reasons = tables.details.join(
        empty_tests.select("endpoint", "analysis", "group_var", "group"),
        on=["endpoint", "analysis", "group_var", "group"],
        how="semi",
    )
    assert reasons["notes"].str.contains("test not computed").all()
    # every empty limit beside a known estimate says why, as does every empty rate
    for row, details in zip(tables.summary.iter_rows(named=True), tables.details.iter_rows(named=True), strict=True):
        notes = details["notes"] or ""
        if row["median_days"] is not None:
            assert row["median_lcl_days"] is not None or "median CI lower bound" in notes
            assert row["median_ucl_days"] is not None or "median CI upper bound" in notes
        for m in (1, 6, 12):
            rate, lcl, ucl = row[f"rate_{m}m"], row[f"rate_{m}m_lcl"], row[f"rate_{m}m_ucl"]
            assert rate is not None or row["n"] == 0 or f"{m}-month rate" in notes
            assert rate is None or (lcl is not None and ucl is not None) or f"{m}-month rate" in notes
    # the AE table's first row counts the subjects with any TEAE, none included
    assert ae_tables.ae_summary(d.adae, d.adsl)["term"][0] == ae_tables.ANY_AE
    assert cox.filter(pl.col("hr").is_null())["note"].is_not_null().all()
    assert follow.height == 1 and landmark.height == 4
    # rates are proportions of evaluable subjects, or empty when there are none
    assert response.filter(pl.col("n") == 0)["rate"].is_null().all()
    assert (response["responders"] <= response["n"]).all()


@settings(max_examples=examples(100), deadline=None)
@given(
    st.lists(st.one_of(st.text(max_size=4), st.sampled_from(["Ph+", "Ph-", "é", "É", "ß", "<5%", "≥5%"])), max_size=30)
)
def test_group_codes_are_numpys_unique_with_inverse(values):
    """The levels of a group or stratum coded by polars for text: the same sorted levels
    and indices as ``np.unique(values, return_inverse=True)`` for any text (accents, signs
    and the empty string among it), and numbers as numpy codes them."""
    import numpy as np

    from trial_outcomes.analysis.comparisons import group_codes

    for array in (np.array(values, dtype=object), np.array(values, dtype=str)):
        levels, codes = group_codes(array)
        expected_levels, expected_codes = np.unique(array, return_inverse=True)
        assert [str(v) for v in levels] == [str(v) for v in expected_levels]
        assert codes.tolist() == expected_codes.tolist()
    numbers = np.array([len(v) for v in values], dtype=float)
    levels, codes = group_codes(numbers)
    expected_levels, expected_codes = np.unique(numbers, return_inverse=True)
    assert (levels.tolist(), codes.tolist()) == (expected_levels.tolist(), expected_codes.tolist())
