"""A step that names the columns it reads of a frame input (``assets.shared.reading``)
gets those columns alone: its analysis must give the same result from them as from the
whole dataset. Checked on the sample at two cuts (at the first, some subjects have no
remission, HSCT or death yet), under a plan naming every subgroup, covariate and
stratum the plan allows, for every column list a step declares."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

from tests.helpers import derive_sample
from trial_outcomes.analysis import (
    adrs,
    adtte,
    ae_tables,
    conduct,
    exposure,
    kinetics,
    labs,
    listings,
    long_term,
    rates,
    relapse,
    safety_summary,
    stopping,
    survival_results,
    syndromes,
)
from trial_outcomes.contracts import MODEL_COVARIATES, SUBGROUP_VARIABLES, held_as_categories, with_declared_text
from trial_outcomes.plan import DEFAULT_PLAN, load_plan
from trial_outcomes.reporting import figures
from trial_outcomes.reporting import safety as report_safety
from trial_outcomes.reporting.figures import specs


def _read(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """What the IO manager gives a step naming ``columns`` (``FrameStore.load_from_path``)."""
    return frame.select(c for c in dict.fromkeys(columns) if c in frame.columns)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pl.DataFrame):
        return isinstance(b, pl.DataFrame) and a.equals(b) and a.schema == b.schema
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


# the early cut, where some subjects have no remission, HSCT or death yet, in the fast tier;
# the sample's default cut in the whole suite (its survival analyses take 15 s)
@pytest.fixture(scope="module", params=["2021-06-30", pytest.param("2024-03-31", marks=pytest.mark.slow)])
def derived(request, tmp_path_factory):
    everything = tmp_path_factory.mktemp("plan") / "plan.toml"
    named = {
        "subgroups = ": list(SUBGROUP_VARIABLES),
        "covariates = ": list(MODEL_COVARIATES),
        "logrank_strata = ": ["STRATUM", "SITEID"],
    }

    def widened(line: str) -> str:
        key = next((k for k in named if line.startswith(k)), None)
        return line if key is None else key + repr(named[key]).replace("'", '"')

    everything.write_text("\n".join(widened(line) for line in DEFAULT_PLAN.read_text().splitlines()) + "\n")
    plan = load_plan(everything)
    assert plan.subgroups == SUBGROUP_VARIABLES and plan.models.covariates == MODEL_COVARIATES
    return derive_sample(request.param, plan.subgroups), dt.date.fromisoformat(request.param), plan


def test_the_ae_tables_listings_and_stopping_rules(derived):
    d, cut, plan = derived
    adae = _read(d.adae, ae_tables.TABLE_COLUMNS)
    safety_set = _read(d.adsl, ae_tables.SAFETY_COLUMNS)
    for table in (ae_tables.ae_summary, ae_tables.ae_soc_summary, ae_tables.aesi_summary):
        assert _same(table(adae, safety_set), table(d.adae, d.adsl)), table.__name__
    listed = _read(d.adae, listings.ADAE_COLUMNS)
    told = _read(d.adsl, listings.NARRATIVE_FIELDS)
    assert _same(listings.ae_listings(listed, None, d.adsl), listings.ae_listings(d.adae, None, d.adsl))
    assert _same(listings.narratives(told, listed), listings.narratives(d.adsl, d.adae))
    read_adsl, read_adae = _read(d.adsl, stopping.ADSL_COLUMNS), _read(d.adae, stopping.ADAE_COLUMNS)
    rules = stopping.evaluate_rules(read_adsl, read_adae, cut, plan)
    whole = stopping.evaluate_rules(d.adsl, d.adae, cut, plan)
    assert _same(rules.table(), whole.table()) and rules.to_json() == whole.to_json()


def test_the_crs_grading_carries_the_days_its_query_lists(derived):
    """The organ-support check and the report's page-1 line read these days from the CRS
    grading (``SyndromeGrading.queried``), computed once where the days are graded; the
    ICANS grading has no such query."""
    from trial_outcomes.analysis.crs import support_without_fever

    d, _, _ = derived
    assert d.crs.queried is not None and _same(d.crs.queried, support_without_fever(d.crs.daily))
    assert d.icans.queried is None


def test_the_gradings_adsl_adrs_adtte_and_conduct(derived):
    d, cut, plan = derived
    reported = _read(d.adae, syndromes.REPORTED_COLUMNS)
    assert _same(syndromes.grade_crs(d.records, reported), syndromes.grade_crs(d.records, d.adae))
    assert _same(syndromes.grade_icans(d.records, reported), syndromes.grade_icans(d.records, d.adae))
    details = _read(d.adae, syndromes.DETAIL_COLUMNS)
    gradings = (d.crs, d.icans)
    assert _same(syndromes.syndrome_variables(details, gradings), syndromes.syndrome_variables(d.adae, gradings))
    assert _same(adrs.derive_adrs(d.records, _read(d.adsl, adrs.ADSL_COLUMNS)), d.adrs)
    assert _same(adtte.derive_adtte(_read(d.adsl, adtte.ADSL_COLUMNS), plan.subgroups), d.adtte)
    target, months = plan.conduct.target_enrolment, plan.conduct.accrual_months
    assert _same(
        conduct.conduct_summary(
            _read(d.adsl, conduct.ADSL_COLUMNS), _read(d.adrs, conduct.ADRS_COLUMNS), cut, target, months
        ),
        conduct.conduct_summary(d.adsl, d.adrs, cut, target, months),
    )


def test_the_survival_analyses(derived):
    """With the columns read and ADTTE's coded columns as categories, as the survival step
    reads them (``reading(categories=...)``; ``derive_adtte`` holds them so): every table
    the same as from ADTTE all text, value for value and type for type. The columns read
    as text are a path no step takes, and are not run: each run of the survival analyses
    costs the fast tier about 8 s."""
    d, _, plan = derived
    text = with_declared_text(d.adtte)
    assert not held_as_categories(text.schema)
    whole = survival_results.analyse_survival(text, d.adsl, plan).tables()
    adsl = _read(d.adsl, survival_results.ADSL_COLUMNS)
    read = _read(text, survival_results.ADTTE_COLUMNS)
    coded = read.with_columns(
        pl.col(c).cast(pl.Categorical) for c in survival_results.ADTTE_CODED if read.schema.get(c) == pl.String
    )
    assert sum(dtype == pl.Categorical for dtype in coded.schema.values()) >= 15
    assert _same(survival_results.analyse_survival(coded, adsl, plan).tables(), whole)


def test_the_figures_and_the_report(derived):
    d, _, _ = derived
    adsl = _read(d.adsl, figures.ADSL_COLUMNS)
    assert specs.consort_spec(adsl) == specs.consort_spec(d.adsl)
    assert specs.swimmer_specs(adsl) == specs.swimmer_specs(d.adsl)
    adae = _read(d.adae, report_safety.ADAE_COLUMNS)
    assert report_safety.syndrome_term_notes(adae, 9) == report_safety.syndrome_term_notes(d.adae, 9)
    late = report_safety.after_window_listing(SimpleNamespace(adae=adae))  # type: ignore[arg-type]
    assert late == report_safety.after_window_listing(SimpleNamespace(adae=d.adae))  # type: ignore[arg-type]


def test_the_summaries_and_the_laboratory_tables(derived):
    d, cut, plan = derived
    adsl = d.adsl
    monitored = ({"CRS": True, "ICANS": True}, {"CRS": False, "ICANS": True})
    for seen in monitored:
        read = _read(adsl, safety_summary.SYNDROME_COLUMNS)
        assert _same(safety_summary.syndrome_summary(read, seen), safety_summary.syndrome_summary(adsl, seen))
    headline = safety_summary.safety_headline
    assert _same(headline(_read(adsl, safety_summary.HEADLINE_COLUMNS), cut), headline(adsl, cut))
    deaths = safety_summary.deaths_summary
    assert _same(deaths(_read(adsl, safety_summary.DEATHS_COLUMNS)), deaths(adsl))
    doses = (plan.labs.dose_low_per_kg, plan.labs.dose_high_per_kg)
    summary = exposure.exposure_summary
    assert _same(summary(_read(adsl, exposure.SUMMARY_COLUMNS), doses), summary(adsl, doses))
    landmarks = plan.landmark_months
    assert _same(
        relapse.relapse_summary(_read(adsl, relapse.ADSL_COLUMNS), landmarks), relapse.relapse_summary(adsl, landmarks)
    )
    assert _same(
        rates.response_summary(_read(adsl, rates.ADSL_COLUMNS), plan.subgroups),
        rates.response_summary(adsl, plan.subgroups),
    )
    limits = labs.Limits(
        plan.labs.anc_lln, plan.labs.plt_lln, plan.labs.hgb_lln, plan.labs.bcell_aplasia_below, plan.labs.igg_low
    )
    adlb = labs.derive_adlb(d.records["labs"], adsl, limits)
    assert adlb.height and _same(labs.derive_adlb(d.records["labs"], _read(adsl, labs.ADLB_ADSL_COLUMNS), limits), adlb)
    toxicity = _read(adsl, labs.TOXICITY_ADSL_COLUMNS)
    lab_read = _read(adlb, labs.TOXICITY_ADLB_COLUMNS)
    assert _same(labs.lab_subjects(lab_read, toxicity, cut, limits), labs.lab_subjects(adlb, adsl, cut, limits))
    assert _same(labs.lab_shifts(lab_read, toxicity), labs.lab_shifts(adlb, adsl))
    assert _same(labs.igg_summary(lab_read, limits), labs.igg_summary(adlb, limits))
    adpc = kinetics.derive_adpc(adlb)
    read = _read(adsl, kinetics.ADSL_COLUMNS)
    assert _same(kinetics.parameters(adpc, read, cut), kinetics.parameters(adpc, adsl, cut))
    ltfu = d.records["long_term_followup"]
    assert _same(
        long_term.incidence(ltfu, _read(adsl, long_term.ADSL_COLUMNS), cut), long_term.incidence(ltfu, adsl, cut)
    )
