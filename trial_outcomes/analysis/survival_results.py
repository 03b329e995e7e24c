"""Every survival table of one cut as one typed value: what the survival step hands to
the figures, the report, the comparison with an earlier cut and the publisher."""

from __future__ import annotations

from dataclasses import dataclass, fields

import polars as pl

from trial_outcomes.contracts import ADTTE, MODEL_COVARIATES, SUBGROUP_VARIABLES
from trial_outcomes.plan import AnalysisPlan


@dataclass(frozen=True)
class SurvivalResults:
    """The survival analysis of one cut; each field is the table of the file of its name
    (``FILES``), with the columns ``contracts.py`` declares for it."""

    survival_summary: pl.DataFrame  # one row per endpoint x analysis x subgroup level
    survival_details: pl.DataFrame  # competing events and the reason for each empty statistic
    km_curves: pl.DataFrame  # every curve, step by step
    cox_summary: pl.DataFrame  # hazard ratio of each subgroup level against its reference
    followup_summary: pl.DataFrame  # median follow-up by reverse Kaplan-Meier, and its range
    hsct_landmark: pl.DataFrame
    hsct_time_dependent: pl.DataFrame
    multivariable_models: pl.DataFrame
    ph_tests: pl.DataFrame
    ph_residuals: pl.DataFrame
    fine_gray_subgroups: pl.DataFrame
    stratified_logrank: pl.DataFrame

    def tables(self) -> dict[str, pl.DataFrame]:
        """The tables by name, in the order of the fields."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: the published file of each table
FILES = {
    f.name: f"{f.name}.parquet" if f.name in ("km_curves", "ph_residuals") else f"{f.name}.csv"
    for f in fields(SurvivalResults)
}


#: ADTTE's columns that no survival analysis reads (text: half of ADTTE's memory)
UNREAD_ADTTE = ("STUDYID", "PARAM", "AVALU", "EVNTDESC", "CNSDTDSC")
#: the ADTTE columns the survival analyses may read (those ADTTE has: the plan's subgroups)
ADTTE_COLUMNS = tuple(c for c in (*ADTTE.column_names(), *SUBGROUP_VARIABLES) if c not in UNREAD_ADTTE)
#: those of them that are codes and flags (a few values each, eight rows a subject): the
#: analyses compare, group and sort them by their text, so they may be read as categories
#: (``tests/analysis/test_columns_read.py::test_the_survival_analyses`` holds every table to that)
ADTTE_CODED = tuple(c for c in ADTTE_COLUMNS if c != "USUBJID")
#: the ADSL columns they read: the models' covariates (``models.covariate_values``: blasts
#: from BMBLPCT), the subgroups and strata, the HSCT landmark and time-dependent dates, and
#: the infused (``trial_references``)
ADSL_COLUMNS = tuple(
    dict.fromkeys(
        ("USUBJID", "SAFFL", "TRTSDT", "FRMDT", "RELDT", "HSCTDT", "BMBLPCT", *MODEL_COVARIATES, *SUBGROUP_VARIABLES)
    )
)


def analyse_survival(adtte: pl.DataFrame, adsl: pl.DataFrame, plan: AnalysisPlan) -> SurvivalResults:
    """Kaplan-Meier and Aalen-Johansen per endpoint, analysis and subgroup, Cox hazard
    ratios by subgroup, follow-up, the HSCT landmark and time-dependent analyses, the
    multivariable models with their proportional-hazards tests, the Fine-Gray models and
    the stratified log-rank tests, as the plan asks."""
    # numpy, scipy and the statistics load when the step runs, not when the UI loads the definitions
    from trial_outcomes.analysis.adtte import ENDPOINT_ORDER
    from trial_outcomes.analysis.landmark import hsct_landmark
    from trial_outcomes.analysis.models import fine_gray_subgroups, multivariable_cox, stratified_logrank
    from trial_outcomes.analysis.survival_summary import (
        followup_summary,
        subgroup_hazard_ratios,
        summarise_survival,
        trial_references,
    )
    from trial_outcomes.analysis.time_dependent import hsct_time_dependent

    survival = summarise_survival(adtte, plan.subgroups, plan.landmark_months, always=ENDPOINT_ORDER)
    # one reference level per factor, whichever endpoint or model
    references = trial_references(adsl, (*plan.subgroups, *plan.models.covariates), plan.forest_reference)
    models = multivariable_cox(adtte, adsl, plan.models.covariates, references, plan.models.ph_alpha)
    return SurvivalResults(
        survival_summary=survival.summary,
        survival_details=survival.details,
        km_curves=survival.curves,
        cox_summary=subgroup_hazard_ratios(adtte, plan.subgroups, references),
        followup_summary=followup_summary(adtte),
        hsct_landmark=hsct_landmark(adtte, adsl, plan.hsct_landmark_day),
        hsct_time_dependent=hsct_time_dependent(adtte, adsl),
        multivariable_models=models.models,
        ph_tests=models.ph_tests,
        ph_residuals=models.ph_residuals,
        fine_gray_subgroups=fine_gray_subgroups(adtte, adsl, plan.subgroups, references),
        stratified_logrank=stratified_logrank(adtte, adsl, plan.subgroups, plan.models.logrank_strata),
    )
