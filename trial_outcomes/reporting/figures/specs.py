"""What each figure of a cut shows, built from the analysis tables (polars, in the
calling process) as plain data that ``render.render_all`` draws, possibly in
worker processes. Names are the SVG file names under ``plots/``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from trial_outcomes import labels
from trial_outcomes.analysis.adtte import COMPETING, ENDPOINT_ORDER
from trial_outcomes.analysis.kinetics import NOT_EVALUABLE, PENDING, RESPONSE_GROUPS, KineticsTables
from trial_outcomes.analysis.labs import LabTables, bcell_recovery_fit
from trial_outcomes.analysis.models import PH_REJECTS, is_number
from trial_outcomes.analysis.rates import EFFICACY_POPULATION
from trial_outcomes.analysis.stopping import RULES, SAFETY, STATISTICS
from trial_outcomes.analysis.survival_results import SurvivalResults
from trial_outcomes.dates import DAYS_PER_MONTH
from trial_outcomes.formatting import few_followed, landmark_rate, months, p_stated, ratio_ci
from trial_outcomes.reporting.figures.flow import ConsortSpec, SwimmerSpec
from trial_outcomes.reporting.figures.forest import ForestRow, ForestSpec
from trial_outcomes.reporting.figures.kinetics import Profile, SpaghettiSpec
from trial_outcomes.reporting.figures.models import ResidualPanel, SchoenfeldSpec
from trial_outcomes.reporting.figures.monitoring import RulePanel, StoppingHistorySpec
from trial_outcomes.reporting.figures.survival import Curve, SurvivalSpec, time_ticks

SWIMMER_LANES = 60  # subjects per swimmer figure (one page)
SWIMMER_LIMIT = 180  # the most recently infused subjects shown; all are in ADSL
SPAGHETTI_LIMIT = 150  # transgene profiles drawn; beyond it an even selection by identifier


def _largest(values: pl.Series) -> float:
    """The largest value of a numeric column; 0 when it is empty or all null."""
    largest = values.max()
    return float(largest) if isinstance(largest, int | float) else 0.0


def at_risk(time_days: np.ndarray, n_risk: np.ndarray, ticks_months: list[float]) -> list[int]:
    """Subjects still at risk at each tick: the number at risk at the first observed
    time on or after it (0 past the last one)."""
    idx = np.searchsorted(time_days, np.asarray(ticks_months) * DAYS_PER_MONTH, side="left")
    return [int(n_risk[i]) if i < len(n_risk) else 0 for i in idx]


def _curve(
    part: pl.DataFrame,
    summary: dict[str, Any],
    details: dict[str, Any],
    label: str,
    ticks: list[float],
    cumulative: bool,
) -> Curve:
    part = part.sort("time_days")
    t = part["time_days"].to_numpy()
    censored = part.filter(pl.col("n_censor") > 0)
    events = summary["n_events"]
    counts = f"n={summary['n']}, {events} event{'' if events == 1 else 's'}"
    if cumulative and details.get("n_competing") is not None:
        counts += f", {details['n_competing']} competing"
    if not cumulative:
        median = summary["median_days"]
        counts += f"; median {'NR' if median is None else months(median) + ' mo'}"
        # a median few are followed at says so in the legend, as in its table (a DSMB reader's
        # "median 11.1 mo" on 1 event with 1 at risk: 2026-12-07)
        followed = details.get("median_nrisk")
        if median is not None and few_followed(followed):
            counts += f" ({followed} at risk)"
    return Curve(
        label=f"{label} ({counts})",
        time=list(t / DAYS_PER_MONTH),
        estimate=part["estimate"].fill_null(0.0).to_list(),
        lcl=part["lcl"].to_list(),
        ucl=part["ucl"].to_list(),
        censor_time=list(censored["time_days"].to_numpy() / DAYS_PER_MONTH),
        censor_estimate=censored["estimate"].fill_null(0.0).to_list(),
        at_risk=at_risk(t, part["n_risk"].to_numpy(), ticks),
        median_months=None if cumulative or summary["median_days"] is None else summary["median_days"] / DAYS_PER_MONTH,
    )


def survival_specs(
    summary: pl.DataFrame, details: pl.DataFrame, curves: pl.DataFrame, landmarks: tuple[int, ...]
) -> dict[str, SurvivalSpec]:
    """One figure per endpoint and subgroup variable of the primary analysis (the
    sensitivity analyses are tables in the report, not figures)."""
    found = curves.filter(pl.col("analysis") == "primary").select("endpoint", "analysis", "group_var").unique()
    order = {e: i for i, e in enumerate(ENDPOINT_ORDER)}
    keys = sorted(found.iter_rows(), key=lambda k: (order[k[0]], k[1] != "primary", k[2] != "all", k[2]))
    details_by = {(r["endpoint"], r["analysis"], r["group_var"], r["group"]): r for r in details.iter_rows(named=True)}
    specs = {}
    for endpoint, analysis, group_var in keys:
        select = (
            (pl.col("endpoint") == endpoint) & (pl.col("analysis") == analysis) & (pl.col("group_var") == group_var)
        )
        rows = summary.filter(select)
        part = curves.filter(select)
        cumulative = endpoint in COMPETING
        ticks = time_ticks(_largest(part["time_days"]) / DAYS_PER_MONTH)
        made = []
        for r in rows.sort("group").iter_rows(named=True):
            d = details_by.get((endpoint, analysis, group_var, r["group"]), {})
            label = "All" if group_var == "all" else labels.level(group_var, r["group"])
            made.append(_curve(part.filter(pl.col("group") == r["group"]), r, d, label, ticks, cumulative))
        title = f"{labels.endpoint(endpoint)} ({endpoint})"
        if group_var != "all":
            p = rows["logrank_p"][0] if rows.height else None
            test = "Gray's test" if cumulative else "log-rank"
            title += f" by {labels.in_sentence(labels.variable(group_var))}" + (
                f"; {test} {p_stated(p)}" if p is not None else ""
            )
        n_all = int(rows["n"].sum()) if rows.height else 0
        subtitle = f"{labels.ANALYSES[analysis]}; {n_all} subjects"
        notes = []
        if group_var == "all" and rows.height:
            r = rows.row(0, named=True)
            d = details_by.get((endpoint, analysis, "all", "all"), {})
            notes = [f"{m} mo: {landmark_rate(r, d, m)}" for m in landmarks if r[f"rate_{m}m"] is not None]
        specs[f"{endpoint}_{analysis}_{group_var}.svg"] = SurvivalSpec(
            title, subtitle, cumulative, labels.ORIGINS[endpoint], ticks, made, notes
        )
    return specs


def forest_right(estimate: float | None, lcl: float | None, ucl: float | None, note: str | None) -> str:
    """The text at the right of a forest row: ``1.23 (0.80-1.90)``, or ``NE:`` and why."""
    return ratio_ci(estimate, lcl, ucl) if estimate is not None else f"NE: {note or 'not estimable'}"


def hazard_ratio_spec(cox: pl.DataFrame, endpoint: str) -> ForestSpec:
    rows: list[ForestRow] = []
    part = cox.filter((pl.col("endpoint") == endpoint) & (pl.col("analysis") == "primary"))
    for var in part["group_var"].unique(maintain_order=True).to_list():
        sub = part.filter(pl.col("group_var") == var)
        reference = labels.level(var, sub["reference"][0])
        # each level's row is that level against the reference (its n in cox_summary.csv counts the two
        # levels only): a count on the heading would read as the model's and was wrong for 3+ levels
        rows.append(ForestRow(f"{labels.variable(var)} (vs {reference})", None, None, None, "", heading=True))
        for r in sub.iter_rows(named=True):
            right = forest_right(r["hr"], r["hr_lcl"], r["hr_ucl"], r["note"] and labels.in_note(r["note"], var))
            rows.append(
                ForestRow(
                    f"   {labels.level(var, r['group'])}",
                    r["hr"],
                    r["hr_lcl"],
                    r["hr_ucl"],
                    right,
                )
            )
    return ForestSpec(
        f"{labels.endpoint(endpoint)}: hazard ratios by subgroup (Cox, Efron ties)",
        "Hazard ratio against the reference level (log scale)",
        rows,
        True,
        1.0,
        "no difference",
        "HR (95% CI)",
    )


#: the multivariable models drawn as forest plots: file name -> (model, endpoint)
MODEL_FORESTS = {
    "forest_mv_OS.svg": ("Cox", "OS"),
    "forest_mv_EFS.svg": ("Cox", "EFS"),
    "forest_mv_CIR.svg": ("Cox", "CIR"),
    "forest_fg_CIR.svg": ("Fine-Gray", "CIR"),
}


def model_term_label(covariate: str, level: str) -> str:
    """``CD19+ blasts, per 10 percentage points``; a factor's level ``   Yes``."""
    return labels.variable(covariate) if is_number(covariate) else f"   {labels.level(covariate, level)}"


def model_forest_spec(models: pl.DataFrame, model: str, endpoint: str) -> ForestSpec:
    """One multivariable model as a forest plot: each covariate (a factor under a
    heading naming its reference level) with its ratio adjusted for the others."""
    part = models.filter((pl.col("model") == model) & (pl.col("endpoint") == endpoint))
    rows: list[ForestRow] = []
    for covariate in part["covariate"].unique(maintain_order=True).to_list():
        sub = part.filter((pl.col("covariate") == covariate) & (pl.col("level") != ""))
        if sub.height == 0:  # left out of the model: the table says why
            continue
        if not is_number(covariate):
            reference = labels.level(covariate, sub["reference"][0])
            rows.append(ForestRow(f"{labels.variable(covariate)} (vs {reference})", None, None, None, "", heading=True))
        for r in sub.iter_rows(named=True):
            right = forest_right(r["estimate"], r["lcl"], r["ucl"], r["note"] and labels.in_note(r["note"], covariate))
            rows.append(ForestRow(model_term_label(covariate, r["level"]), r["estimate"], r["lcl"], r["ucl"], right))
    what = "subdistribution hazard ratios (Fine-Gray)" if model == "Fine-Gray" else "hazard ratios (Cox, Efron ties)"
    name = "Relapse" if endpoint == "CIR" else labels.endpoint(endpoint)
    if model == "Cox" and endpoint == "CIR":
        name = "Relapse (cause-specific)"
    return ForestSpec(
        f"{name}: multivariable {what}",
        "Adjusted ratio against the reference level (log scale)",
        rows,
        True,
        1.0,
        "no difference",
        "SHR (95% CI)" if model == "Fine-Gray" else "HR (95% CI)",
    )


def schoenfeld_specs(
    ph_tests: pl.DataFrame, residuals: pl.DataFrame, models: pl.DataFrame
) -> dict[str, SchoenfeldSpec]:
    """A residual plot for each covariate whose proportional-hazards test rejects
    (the verdict in ph_tests.csv), named ``ph_<endpoint>_<covariate>.svg``."""
    specs: dict[str, SchoenfeldSpec] = {}
    rejected = ph_tests.filter(pl.col("verdict").str.starts_with(PH_REJECTS) & (pl.col("covariate") != "GLOBAL"))
    for r in rejected.iter_rows(named=True):
        endpoint, covariate = r["endpoint"], r["covariate"]
        part = residuals.filter((pl.col("endpoint") == endpoint) & (pl.col("covariate") == covariate))
        panels = []
        for level in part["level"].unique(maintain_order=True).to_list():
            rows = part.filter(pl.col("level") == level)
            estimate = models.filter(
                (pl.col("model") == "Cox")
                & (pl.col("endpoint") == endpoint)
                & (pl.col("covariate") == covariate)
                & (pl.col("level") == level)
            )["estimate"]
            coefficient = float(np.log(estimate[0])) if estimate.len() and estimate[0] is not None else None
            panels.append(
                ResidualPanel(
                    model_term_label(covariate, level).strip(),
                    rows["km_time"].to_list(),
                    list(rows["time_days"].to_numpy() / DAYS_PER_MONTH),
                    rows["residual"].to_list(),
                    coefficient,
                )
            )
        name = "relapse (cause-specific)" if endpoint == "CIR" else labels.endpoint(endpoint)
        specs[f"ph_{endpoint}_{covariate}.svg"] = SchoenfeldSpec(
            f"{name}: {labels.variable(covariate)}, scaled Schoenfeld residuals (PH test {p_stated(r['p'])})", panels
        )
    return specs


def response_forest_spec(response: pl.DataFrame, parameter: str = "CR/CRi by day 28") -> ForestSpec:
    part = response.filter((pl.col("parameter") == parameter) & (pl.col("population") == EFFICACY_POPULATION))
    overall = part.filter(pl.col("group_var") == "all").row(0, named=True)
    rows = [
        ForestRow(
            f"All evaluable (n={overall['n']})",
            overall["rate"],
            overall["rate_lcl"],
            overall["rate_ucl"],
            _rate_text(overall),
        )
    ]
    for var in part.filter(pl.col("group_var") != "all")["group_var"].unique(maintain_order=True).to_list():
        rows.append(ForestRow(labels.variable(var), None, None, None, "", heading=True))
        for r in part.filter(pl.col("group_var") == var).iter_rows(named=True):
            rows.append(
                ForestRow(
                    f"   {labels.level(var, r['group'])} (n={r['n']})",
                    r["rate"],
                    r["rate_lcl"],
                    r["rate_ucl"],
                    _rate_text(r),
                )
            )
    reference = overall["rate"] if overall["rate"] is not None else 0.5
    return ForestSpec(
        f"{parameter}: rate by subgroup (exact 95% CI)",
        "Response rate",
        rows,
        False,
        reference,
        "overall rate",
        "x/n, rate (95% CI)",
    )


def _rate_text(r: dict[str, Any]) -> str:
    if r["rate"] is None:
        return "no evaluable subject"
    return f"{r['responders']}/{r['n']}, {100 * r['rate']:.0f}% ({100 * r['rate_lcl']:.0f}-{100 * r['rate_ucl']:.0f})"


def consort_spec(adsl: pl.DataFrame) -> ConsortSpec:
    from trial_outcomes.analysis.exposure import NOT_INFUSED

    def flag(col: str) -> int:
        return int((adsl[col] == "Y").sum())

    not_infused = adsl.filter(pl.col("SAFFL") == "N")
    reasons = [(label, int((not_infused["NINFCAT"] == code).sum())) for code, label in NOT_INFUSED.items()]
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    status = {s: int((safety["DISPSTAT"] == s).sum()) for s in ("ONGOING", "DIED", "WITHDRAWN", "LOST")}
    both = int(((adsl["EFFFL"] == "Y") & (adsl["PPROTFL"] == "Y")).sum())
    return ConsortSpec(adsl.height, flag("SAFFL"), flag("EFFFL"), flag("PPROTFL"), reasons, status, both)


def swimmer_specs(adsl: pl.DataFrame) -> dict[str, SwimmerSpec]:
    """The most recently infused subjects (up to ``SWIMMER_LIMIT``), ``SWIMMER_LANES``
    to a figure, each lane from day 0 to death or the last known alive date."""
    infused = adsl.filter(pl.col("SAFFL") == "Y").sort("TRTSDT", "USUBJID", descending=True).head(SWIMMER_LIMIT)

    def months(col: str) -> pl.Expr:
        return ((pl.col(col) - pl.col("TRTSDT")).dt.total_days() / DAYS_PER_MONTH).alias(col)

    lanes = infused.select(
        "USUBJID",
        "DISPSTAT",
        ((pl.coalesce("DTHDT", "LSTALVDT") - pl.col("TRTSDT")).dt.total_days() / DAYS_PER_MONTH).alias("_end"),
        months("FRMDT"),
        months("HSCTDT"),
        months("NTHERDT"),
        months("RELDT"),
        months("DTHDT"),
    ).sort("_end", "USUBJID", descending=True, nulls_last=True)
    specs = {}
    longest = _largest(lanes["_end"])  # one time axis for every page
    chunks = max(1, -(-lanes.height // SWIMMER_LANES))
    for k in range(chunks):
        # the longest follow-up first: on page 1, and at the top of each page (lanes are drawn
        # bottom up); page 1 held the shortest until 2026-12-07, against the caption
        part = lanes.slice(k * SWIMMER_LANES, SWIMMER_LANES).reverse()
        title = "Course of each infused subject" + (f" ({k + 1} of {chunks})" if chunks > 1 else "")
        specs[f"swimmer_{k + 1}.svg"] = SwimmerSpec(
            part["USUBJID"].to_list(),
            part["_end"].fill_null(0).to_list(),
            part["FRMDT"].to_list(),
            part["HSCTDT"].to_list(),
            part["NTHERDT"].to_list(),
            part["RELDT"].to_list(),
            part["DTHDT"].to_list(),
            (part["DISPSTAT"] == "ONGOING").to_list(),
            title,
            longest,
            part["DISPSTAT"].is_in(["WITHDRAWN", "LOST"]).to_list(),
        )
    return specs


def _table_curve(curve: pl.DataFrame, label: str, ticks: list[float], median_days: float | None = None) -> Curve:
    """One curve from a published curve table (time_days, n_risk, n_censor, estimate, lcl, ucl)."""
    t = curve["time_days"].to_numpy() if curve.height else np.array([])
    censored = curve.filter(pl.col("n_censor") > 0)
    return Curve(
        label,
        list(t / DAYS_PER_MONTH),
        curve["estimate"].fill_null(0.0).to_list(),
        curve["lcl"].to_list(),
        curve["ucl"].to_list(),
        list(censored["time_days"].to_numpy() / DAYS_PER_MONTH),
        censored["estimate"].fill_null(0.0).to_list(),
        at_risk(t, curve["n_risk"].to_numpy(), ticks) if curve.height else [0] * len(ticks),
        None if median_days is None else median_days / DAYS_PER_MONTH,
    )


def cd19_negative_spec(curve: pl.DataFrame, n: int, landmarks: tuple[int, ...]) -> SurvivalSpec:
    ticks = time_ticks(_largest(curve["time_days"]) / DAYS_PER_MONTH if curve.height else 12)
    events = int(curve["n_event"].sum()) if curve.height else 0
    made = _table_curve(curve, f"CD19-negative relapse (n={n}, {events} events)", ticks)
    return SurvivalSpec(
        "Cumulative incidence of CD19-negative relapse",
        "CD19-positive or unknown relapse and death in remission competing; subjects in remission",
        True,
        "first remission",
        ticks,
        [made],
    )


def bcell_aplasia_spec(curve: pl.DataFrame, median_days: float | None) -> SurvivalSpec:
    """The Kaplan-Meier of continuing B-cell aplasia (``bcell_curve.csv``)."""
    ticks = time_ticks(_largest(curve["time_days"]) / DAYS_PER_MONTH if curve.height else 12)
    n = int(curve["n_risk"][0]) if curve.height else 0
    events = int(curve["n_event"].sum())
    median = "NR" if median_days is None else months(median_days) + " mo"
    made = _table_curve(curve, f"B-cell aplasia (n={n}, {events} recovered; median {median})", ticks, median_days)
    return SurvivalSpec(
        "Duration of B-cell aplasia",
        "Probability of continuing B-cell aplasia; event: B-cell recovery; censored at the last B-cell count "
        "before HSCT or new therapy",
        False,
        "infusion",
        ticks,
        [made],
        ylabel="Probability of continuing aplasia",
    )


def kinetics_spec(adpc: pl.DataFrame, params: pl.DataFrame) -> SpaghettiSpec:
    """The CAR transgene of the infused subjects over time, by day-28 response: every
    subject up to ``SPAGHETTI_LIMIT``, beyond it every k-th by subject identifier (the
    figure says so; the kinetics table has them all). A subject's samples are those its
    parameters use: from day 0, the first ``n_samples`` in day order (the later ones, from
    an HSCT, a new therapy or a second infusion on, are not the first product's)."""
    groups = [*RESPONSE_GROUPS[:2], PENDING, NOT_EVALUABLE]
    response = dict(params.select("USUBJID", "response").iter_rows())
    used = dict(params.select("USUBJID", "n_samples").iter_rows())
    subjects = sorted(response)
    step = max(1, math.ceil(len(subjects) / SPAGHETTI_LIMIT))
    chosen = subjects[::step]
    profiles = []
    shown = adpc.filter((pl.col("ADY") >= 0) & pl.col("USUBJID").is_in(chosen)).sort("USUBJID", "ADY")
    for sid, part in shown.group_by("USUBJID", maintain_order=True):
        group = response.get(str(sid[0]))
        if group not in groups:
            continue
        own = part.head(used[str(sid[0])])
        if not own.height:
            continue  # every sample set aside: none is the first product's
        profiles.append(
            Profile(
                groups.index(group),
                own["ADY"].cast(pl.Float64).to_list(),
                own["AVAL"].to_list(),
                (own["BLQFL"] == "Y").fill_null(False).to_list(),  # empty: not collected, quantified
            )
        )
    drawn = sorted({p.group for p in profiles})
    remap = {g: i for i, g in enumerate(drawn)}
    return SpaghettiSpec(
        "CAR transgene in peripheral blood",
        (
            f"{len(profiles)} infused subjects"
            if step == 1
            else f"{len(profiles)} of {len(subjects)} infused subjects (one in {step} by identifier)"
        )
        + "; qPCR copies per ug genomic DNA, log scale",
        [groups[g] for g in drawn],
        [Profile(remap[p.group], p.day, p.value, p.blq) for p in profiles],
    )


def stopping_history_spec(history: pl.DataFrame) -> StoppingHistorySpec:
    """One panel per stopping rule: its statistic at each published cut of the drop
    and this one, against the boundary it crosses."""
    panels = []
    for rule_id in (r for r in RULES if r in set(history["rule_id"].to_list())):
        part = history.filter(pl.col("rule_id") == rule_id).sort("cut")
        boundaries = part.filter(pl.col("current"))["boundary_value"].drop_nulls()
        boundary = float(boundaries[0]) if boundaries.len() else None
        probability = rule_id == SAFETY
        label = (
            (f"stop above {boundary:g}" if probability else f"futility at or below {boundary:g}")
            if boundary is not None
            else ""
        )
        panels.append(
            RulePanel(
                RULES[rule_id],
                STATISTICS[rule_id],
                part["cut"].to_list(),
                part["statistic"].to_list(),
                part["crossed"].fill_null(False).to_list(),
                boundary,
                label,
                probability,
                tuple(part["boundary_value"].to_list()),
            )
        )
    return StoppingHistorySpec(panels)


def all_specs(
    adsl: pl.DataFrame,
    survival: SurvivalResults,
    response: pl.DataFrame,
    relapse_curve: pl.DataFrame,
    landmarks: tuple[int, ...],
    history: pl.DataFrame | None = None,
    lab: LabTables | None = None,
    kin: KineticsTables | None = None,
) -> dict[str, Any]:
    """Every figure of a cut, by file name."""
    specs: dict[str, Any] = {"consort.svg": consort_spec(adsl)}
    if lab is not None and lab.bcell_curve.height:
        specs["bcell_aplasia.svg"] = bcell_aplasia_spec(lab.bcell_curve, bcell_recovery_fit(lab.subjects).median()[0])
    if kin is not None and kin.parameters.height:
        specs["kinetics.svg"] = kinetics_spec(kin.adpc, kin.parameters)
    if history is not None and history.height:
        specs["stopping_history.svg"] = stopping_history_spec(history)
    specs.update(survival_specs(survival.survival_summary, survival.survival_details, survival.km_curves, landmarks))
    cox = survival.cox_summary
    for endpoint in ("OS", "EFS", "DFS", "DOR"):
        if cox.filter(pl.col("endpoint") == endpoint).height:
            specs[f"forest_hr_{endpoint}.svg"] = hazard_ratio_spec(cox, endpoint)
    if response.height:
        specs["forest_response.svg"] = response_forest_spec(response)
    models = survival.multivariable_models
    for name, (model, endpoint) in MODEL_FORESTS.items():
        if models.filter((pl.col("model") == model) & (pl.col("endpoint") == endpoint)).height:
            specs[name] = model_forest_spec(models, model, endpoint)
    specs.update(schoenfeld_specs(survival.ph_tests, survival.ph_residuals, models))
    remission_n = int(((adsl["SAFFL"] == "Y") & adsl["FRMDT"].is_not_null()).sum())
    specs["relapse_cd19_negative.svg"] = cd19_negative_spec(relapse_curve, remission_n, landmarks)
    specs.update(swimmer_specs(adsl))
    return specs
