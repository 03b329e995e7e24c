"""The report's Models section: the multivariable Cox and Fine-Gray models of the
plan's covariates, their proportional-hazards tests with a plain-language verdict
and residual plots where a test rejects, consolidative HSCT as a time-dependent
covariate, and the stratified log-rank tests."""

from __future__ import annotations

from typing import Any

import polars as pl

from trial_outcomes import labels
from trial_outcomes.analysis.models import PH_REJECTS, is_number
from trial_outcomes.formatting import p_stated, p_value, ratio_ci
from trial_outcomes.reporting.content import Figure, Paragraph, Section, Table
from trial_outcomes.reporting.figures.specs import MODEL_FORESTS, model_term_label
from trial_outcomes.reporting.inputs import ReportInputs


def _endpoint(model: str, endpoint: str) -> str:
    if endpoint == "CIR":
        return "Relapse (cause-specific)" if model == "Cox" else "Relapse (death competing)"
    return labels.endpoint(endpoint)


def _covariate_row(r: dict[str, Any]) -> tuple[str, str]:
    """(covariate, comparison) as the tables print them."""
    if is_number(r["covariate"]) and r["level"]:
        return labels.variable(r["covariate"]), r["level"]
    if r["level"] == "":
        return labels.variable(r["covariate"]), "not in the model"
    reference = labels.level(r["covariate"], r["reference"]) if r["reference"] else ""
    return labels.variable(r["covariate"]), f"{model_term_label(r['covariate'], r['level']).strip()} vs {reference}"


def _notes(frame: pl.DataFrame) -> list[str]:
    return sorted({labels.in_note(n) for n in frame["note"].drop_nulls().to_list() for n in n.split("; ")})


def model_table(models: pl.DataFrame, model: str, title: str, method: str, population: str) -> Table:
    part = models.filter(pl.col("model") == model)
    rows = []
    for r in part.iter_rows(named=True):
        covariate, comparison = _covariate_row(r)
        rows.append(
            [
                _endpoint(model, r["endpoint"]),
                covariate,
                comparison,
                f"{r['n']} / {r['n_events']}",
                ratio_ci(r["estimate"], r["lcl"], r["ucl"]),
                p_value(r["p"]),
            ]
        )
    ratio = "SHR (95% CI)" if model == "Fine-Gray" else "HR (95% CI)"
    return Table(
        title,
        ["Endpoint", "Covariate", "Comparison", "N / events", ratio, "p"],
        rows,
        align=["left", "left", "left", "right", "right", "right"],
        population=population + " Subjects without a value of a covariate are left out of the model.",
        method=method,
        notes=_notes(part),
    )


def ph_paragraph(ph: pl.DataFrame, alpha: float) -> Paragraph:
    """The verdict in words: which hazard ratios may change with time."""
    rejected = ph.filter(pl.col("verdict").str.starts_with(PH_REJECTS))
    if ph.height == 0:
        return Paragraph(
            "No multivariable Cox model could be fitted at this cut: no proportional-hazards test.", "note"
        )
    if rejected.height == 0:
        return Paragraph(
            f"Proportional hazards: no test rejects at the {alpha:g} level (per covariate or global), so each "
            "hazard ratio can be read as constant over follow-up. With few events the tests have little power: "
            "this is absence of evidence, not proof.",
            "ok",
        )
    parts = []
    for r in rejected.iter_rows(named=True):
        what = (
            "the model as a whole"
            if r["covariate"] == "GLOBAL"
            else labels.in_sentence(labels.variable(r["covariate"]))
        )
        parts.append(f"{what} for {labels.in_sentence(_endpoint('Cox', r['endpoint']))} ({p_stated(r['p'])})")
    return Paragraph(
        "Proportional hazards: the test rejects for "
        + "; ".join(parts)
        + f" at the {alpha:g} level. That hazard ratio changes over follow-up: read it as an average over the "
        "observed times, and see its residual plot below (a trend in the points is the change).",
        "alert",
    )


def ph_table(ph: pl.DataFrame) -> Table:
    rows = [
        [
            _endpoint("Cox", r["endpoint"]),
            "Global" if r["covariate"] == "GLOBAL" else labels.variable(r["covariate"]),
            "" if r["chisq"] is None else f"{r['chisq']:.2f}",
            str(r["df"]),
            p_value(r["p"]),
            "rejects" if r["verdict"].startswith(PH_REJECTS) else ("consistent" if r["p"] is not None else "-"),
        ]
        for r in ph.iter_rows(named=True)
    ]
    return Table(
        "Proportional-hazards tests of the multivariable Cox models",
        ["Endpoint", "Covariate", "Chi-square", "df", "p", "Reading"],
        rows,
        align=["left", "left", "right", "right", "right", "left"],
        bold_rows=[i for i, r in enumerate(ph.iter_rows(named=True)) if r["covariate"] == "GLOBAL"],
        notes=[
            "Reading: 'rejects' = evidence against proportional hazards at the plan's level; 'consistent' = "
            "no such evidence (ph_tests.csv gives the verdict in words)."
        ],
        method="R's cox.zph (survival 3.x): score test of the coefficients of x g(t), g(t) = 1 - KM(t-) "
        "(the 'km' transform), per covariate (a factor's columns together) and global. lifelines' "
        "proportional_hazard_test computes the older approximation; these are R's current numbers.",
    )


def fine_gray_table(inp: ReportInputs) -> Table:
    table = inp.table("fine_gray_subgroups")
    rows = [
        [
            labels.variable(r["group_var"]),
            f"{labels.level(r['group_var'], r['group'])} vs {labels.level(r['group_var'], r['reference'])}",
            f"{r['n']} / {r['n_events']} / {r['n_competing']}",
            ratio_ci(r["shr"], r["shr_lcl"], r["shr_ucl"]),
            p_value(r["p"]),
            labels.in_note(r["note"] or "", r["group_var"]),
        ]
        for r in table.iter_rows(named=True)
    ]
    return Table(
        "Relapse with death competing: subdistribution hazard ratios by subgroup (Fine-Gray)",
        ["Subgroup", "Comparison", "N / relapses / deaths", "SHR (95% CI)", "p", "Note"],
        rows,
        align=["left", "left", "right", "right", "right", "left"],
        population="Subjects in remission, from the first remission; one model per subgroup, over all of its "
        "levels. N, relapses and deaths count the two groups compared.",
        method="Fine-Gray model as R's cmprsk::crr: censoring weights G(t-)/G(T-) for a death in remission, "
        "Breslow ties, crr's robust variance; Wald 95% CI and p. A subdistribution hazard ratio describes the "
        "cumulative incidence of relapse, not the rate among those still at risk.",
    )


def logrank_table(inp: ReportInputs) -> Table | None:
    table = inp.table("stratified_logrank")
    if table.height == 0:
        return None
    strata = " x ".join(labels.variable(s) for s in inp.plan.models.logrank_strata)
    rows = [
        [
            labels.endpoint(r["endpoint"]),
            labels.variable(r["group_var"]),
            f"{r['n']} / {r['n_events']}",
            "" if r["chisq"] is None else f"{r['chisq']:.2f}",
            str(r["df"]),
            p_value(r["p"]),
            labels.in_note(r["note"] or "", r["group_var"]),
        ]
        for r in table.iter_rows(named=True)
    ]
    return Table(
        f"Log-rank tests stratified by {labels.in_sentence(strata)}",
        ["Endpoint", "Subgroup", "N / events", "Chi-square", "df", "p", "Note"],
        rows,
        align=["left", "left", "right", "right", "right", "right", "left"],
        population="As each endpoint; subjects without a value of the subgroup or a stratum left out.",
        method="R's survdiff(Surv ~ subgroup + strata(...)): observed minus expected and its variance summed over "
        "the strata (the analysis plan's [models] logrank_strata); df = the rank of that variance (SAS's "
        "generalized inverse), so a level never at risk with another within a stratum is compared with none "
        "(where survdiff stops on the singular variance), and a level with no one at risk at an event time "
        "within a stratum is left out, as survdiff leaves it; the note names each such level.",
    )


def models_section(inp: ReportInputs) -> Section:
    from trial_outcomes.reporting.efficacy import hsct_time_dependent_table

    models = inp.table("multivariable_models")
    covariates = ", ".join(labels.in_sentence(labels.variable(c)) for c in inp.plan.models.covariates)
    blocks: list[Any] = [
        Paragraph(
            f"The analysis plan's covariates, fitted together: {covariates}. Each ratio is adjusted for the "
            "others. With a phase II sample these models describe; they do not confirm."
        )
    ]
    titles = {
        ("Cox", "OS"): "Overall survival: multivariable Cox model",
        ("Cox", "EFS"): "Event-free survival: multivariable Cox model",
        ("Cox", "CIR"): "Relapse (cause-specific hazard): multivariable Cox model",
        ("Fine-Gray", "CIR"): "Relapse with death competing: multivariable Fine-Gray model",
    }
    for name, key in MODEL_FORESTS.items():
        if name in inp.figures:
            blocks.append(Figure(f"plots/{name}", titles[key], "Adjusted ratios, log scale; Wald 95% CIs."))
    blocks.append(
        model_table(
            models,
            "Cox",
            "Multivariable Cox models",
            "Cox proportional hazards, Efron ties (R coxph), Wald 95% CI and p; relapse as the cause-specific "
            "hazard (a death in remission censored).",
            "OS and EFS: safety set from day 0; relapse: subjects in remission, from the first remission.",
        )
    )
    ph = inp.table("ph_tests")
    blocks.append(ph_paragraph(ph, inp.plan.models.ph_alpha))
    blocks.append(ph_table(ph))
    for name in sorted(f for f in inp.figures if f.startswith("ph_")):
        blocks.append(
            Figure(
                f"plots/{name}",
                "Scaled Schoenfeld residuals over time",
                "R's plot(cox.zph(fit)) for "
                "the covariate whose test rejects; the dashed line is the model's coefficient.",
            )
        )
    blocks.append(
        model_table(
            models,
            "Fine-Gray",
            "Relapse with death competing: multivariable Fine-Gray model",
            "Fine-Gray proportional subdistribution hazards as R's cmprsk::crr (robust variance); Wald 95% CI and p.",
            "Subjects in remission, from the first remission; a death in remission is the competing event.",
        )
    )
    blocks.append(fine_gray_table(inp))
    blocks.append(hsct_time_dependent_table(inp))
    logrank = logrank_table(inp)
    if logrank is not None:
        blocks.append(logrank)
    return Section("Models", "models", blocks, new_page=True)
