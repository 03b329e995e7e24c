"""The pooled report of a portfolio: what was pooled, survival by trial with the
trial-stratified comparison, the forest plot by trial, and pooled safety with the
trials' heterogeneity. The same content model, HTML and PDF as a trial's report
(``content.py``, ``render.py``); aggregate tables only, no subject identifier."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from trial_outcomes import labels
from trial_outcomes.analysis.km import fit_km
from trial_outcomes.analysis.pooled import POOLED, POOLED_ENDPOINTS, REFERENCE, PooledTables
from trial_outcomes.formatting import count_pct, fmt, median_ci_months, p_stated, p_value, pct_ci, ratio_ci
from trial_outcomes.reporting.content import Block, Document, Figure, Paragraph, Section, Table
from trial_outcomes.reporting.figures import forest, survival
from trial_outcomes.reporting.figures.specs import DAYS_PER_MONTH, at_risk, forest_right

POPULATION = "Safety set (infused) of each trial at its pooled cut"


def _curve(label: str, rows: pl.DataFrame, ticks: list[float]) -> survival.Curve:
    time = rows["AVAL"].to_numpy().astype(float)
    event = (1 - rows["CNSR"].to_numpy()).astype(int)
    fit = fit_km(time, event)
    median = fit.median()[0]
    censored = fit.n_censor > 0
    counts = (
        f"n={fit.n}, {fit.n_events} events; median {'NR' if median is None else f'{median / DAYS_PER_MONTH:.1f} mo'}"
    )
    return survival.Curve(
        label=f"{label} ({counts})",
        time=list(fit.time / DAYS_PER_MONTH),
        estimate=list(np.nan_to_num(fit.surv)),
        lcl=[None if not np.isfinite(v) else float(v) for v in fit.lcl],
        ucl=[None if not np.isfinite(v) else float(v) for v in fit.ucl],
        censor_time=list(fit.time[censored] / DAYS_PER_MONTH),
        censor_estimate=list(np.nan_to_num(fit.surv[censored])),
        at_risk=at_risk(fit.time, fit.n_risk, ticks),
        median_months=None if median is None else median / DAYS_PER_MONTH,
    )


#: a trial's title in a figure's legend or row label at most (else its portfolio id)
FIGURE_TITLE = 32


def figure_name(trial: str, titles: dict[str, str]) -> str:
    """A trial as a figure names it: its title, or, when the title is longer than a label
    holds, its portfolio id (table 1 gives both). A red team's three titles alike in their
    first 90 characters ("A phase II multicentre study of ..., cohort A") were cut to one
    label on three forest rows, and ran off the survival legend."""
    title = titles.get(trial, trial)
    if len(title) <= FIGURE_TITLE:
        return title
    return trial if len(trial) <= FIGURE_TITLE else trial[: FIGURE_TITLE - 1] + "\u2026"


def figure_specs(tables: PooledTables, titles: dict[str, str]) -> dict[str, object]:
    """Kaplan-Meier by trial and the forest plot by trial, per endpoint."""
    specs: dict[str, object] = {}
    for endpoint in POOLED_ENDPOINTS:
        rows = tables.adtte.filter(pl.col("PARAMCD") == endpoint)
        if rows.height == 0:
            continue
        ticks = survival.time_ticks(float(rows["AVAL"].cast(pl.Float64).max() or 0.0) / DAYS_PER_MONTH)  # type: ignore[arg-type]
        across = tables.tests.filter((pl.col("endpoint") == endpoint) & (pl.col("test") == "log-rank across trials"))
        p = across["p"][0] if across.height else None
        curves = [
            _curve(figure_name(trial, titles), rows.filter(pl.col("TRIAL") == trial), ticks)
            for trial in titles
            if rows.filter(pl.col("TRIAL") == trial).height
        ]
        specs[f"pooled_{endpoint}_by_trial.svg"] = survival.SurvivalSpec(
            f"{labels.endpoint(endpoint)} ({endpoint}) by trial"
            + (f"; log-rank across trials {p_stated(p)}" if p is not None else ""),
            f"{POPULATION}; {rows.height} subjects",
            False,
            labels.ORIGINS[endpoint],
            ticks,
            curves,
        )
        part = tables.forest.filter(pl.col("endpoint") == endpoint)
        for level in part["level"].unique(maintain_order=True).to_list():
            level_rows = part.filter(pl.col("level") == level)
            factor = level_rows["factor"][0]
            reference = REFERENCE.get(factor, "the reference")
            rows_out = [
                forest.ForestRow(
                    label=("Pooled, stratified by trial" if r["trial"] == POOLED else figure_name(r["trial"], titles))
                    + _forest_counts(r),
                    estimate=r["hr"],
                    lcl=r["hr_lcl"],
                    ucl=r["hr_ucl"],
                    right=forest_right(r["hr"], r["hr_lcl"], r["hr_ucl"], r["note"]),
                )
                for r in level_rows.iter_rows(named=True)
            ]
            specs[f"pooled_{endpoint}_forest_{factor}_{level}.svg".replace(">=", "ge").replace("<", "lt")] = (
                forest.ForestSpec(
                    title=f"{endpoint}: hazard ratio of {labels.variable(factor)} = {level} against {reference}, "
                    "by trial",
                    xlabel="Hazard ratio (log scale)",
                    rows=rows_out,
                    log_scale=True,
                    reference=1.0,
                    reference_label="HR = 1",
                    right_header="HR (95% CI)",
                )
            )
    return specs


def _trials_table(tables: PooledTables) -> Table:
    return Table(
        "Trials pooled",
        ["Trial", "Title", "Data cut", "Version", "Code", "Enrolled", "Infused", "Manifest SHA-256"],
        [
            [
                r["trial"],
                r["title"],
                str(r["data_cut"]),
                r["version"],
                r["code"],
                str(r["enrolled"]),
                str(r["infused"]),
                r["manifest_sha256"][:16] + "...",
            ]
            for r in tables.trials.iter_rows(named=True)
        ],
        population="Each trial's published cut, as the portfolio file names it (or its latest)",
    )


def _code_notes(tables: PooledTables, code_version: str) -> list[Paragraph]:
    """A warning when a trial's cut was made by other code than this analysis's
    (``PooledTables.other_code``, by the source's SHA-256, not the printed label: a copy of
    the same commit outside git prints another): an upgrade red team's pooled report said
    "Code 472f2ffdb3" over a trial published by it and two by 59dcd35302, whose endpoint
    rules differ."""
    if not tables.other_code:
        return []
    made = tables.trials.select("trial", "code").rows()
    by_code: dict[str, list[str]] = {}
    for trial, code in made:
        by_code.setdefault(code, []).append(trial)
    shown = "; ".join(f"{code}: {', '.join(trials)}" for code, trials in by_code.items())
    return [
        Paragraph(
            f"The trials' cuts were not all made by this analysis's code ({code_version}): {shown}. A rule that "
            "changed between code versions is applied differently to the trials pooled; to pool them alike, run "
            "each cut again with one code version (a new version of the same drop) before pooling.",
            "alert",
        )
    ]


def _forest_counts(r: dict[str, Any]) -> str:
    """A forest row's subjects and events, with those left out for want of the factor: a
    trial that did not record it is said so, not "n=0, 0 events" (a red team's)."""
    factor, unrecorded = labels.variable(r["factor"]), r.get("n_unrecorded") or 0
    if unrecorded and not r["n"]:
        return f" ({factor} not recorded for its {unrecorded} subjects)"
    left_out = f"; {unrecorded} without {factor}, left out" if unrecorded else ""
    return f" (n={r['n']}, {r['n_events']} events{left_out})"


def _survival_table(tables: PooledTables, endpoint: str, titles: dict[str, str]) -> Table:
    rows = []
    for r in tables.survival.filter(pl.col("endpoint") == endpoint).iter_rows(named=True):
        rows.append(
            [
                "All trials" if r["trial"] == POOLED else titles.get(r["trial"], r["trial"]),
                str(r["n"]),
                str(r["n_events"]),
                median_ci_months(r["median_days"], r["median_lcl_days"], r["median_ucl_days"]),
                pct_ci(r["rate_12m"], r["rate_12m_lcl"], r["rate_12m_ucl"]),
            ]
        )
    tests = tables.tests.filter(pl.col("endpoint") == endpoint)
    notes = []
    for t in tests.iter_rows(named=True):
        if t["test"] == "stratified Cox":
            value = (
                ratio_ci(t["hr"], t["hr_lcl"], t["hr_ucl"]) if t["hr"] is not None else f"not estimable ({t['note']})"
            )
            level = "" if t["level"] == "none" else f" {t['level']}"
            what = f"{labels.variable(t['factor'])}{level}, strata: trial"
            if t["hr"] is None:  # no p either: the reason alone (a "p" with nothing after it was printed)
                notes.append(f"{t['test']} ({what}): HR {value}")
            else:
                caveat = f"; {t['note']}" if t["note"] else ""
                notes.append(f"{t['test']} ({what}): HR {value}, p {p_value(t['p'])}{caveat}")
        else:
            stat = (
                f"chi-square {fmt(t['statistic'], 2)} on {t['df']} df, p {p_value(t['p'])}"
                + (f"; {t['note']}" if t["note"] else "")
                if t["p"] is not None
                else t["note"]
            )
            notes.append(f"{t['test']} ({'trial' if t['factor'] == 'TRIAL' else labels.variable(t['factor'])}): {stat}")
    return Table(
        f"{labels.endpoint(endpoint)} ({endpoint}) by trial",
        ["Trial", "N", "Events", "Median, months (95% CI)", "12-month rate (95% CI)"],
        rows,
        population=POPULATION,
        method="Kaplan-Meier, log-log limits (R survfit); the pooled row puts every trial's subjects together, "
        "the tests below keep each trial's baseline hazard (survdiff / coxph with strata(TRIAL))",
        notes=notes,
        bold_rows=[len(rows) - 1],
    )


def _safety_table(tables: PooledTables, titles: dict[str, str]) -> Table:
    rows, notes = [], []
    for r in tables.safety.iter_rows(named=True):
        rows.append(
            [
                r["measure"],
                "All trials" if r["trial"] == POOLED else titles.get(r["trial"], r["trial"]),
                count_pct(r["n"], r["denominator"]),
                "" if r["lcl"] is None else f"{r['lcl']:.1f}-{r['ucl']:.1f}",
            ]
        )
        if r["trial"] == POOLED:
            text = f"chi-square {fmt(r['chisq'], 2)} on {r['df']} df, p {p_value(r['p'])}" if r["p"] is not None else ""
            notes.append(
                f"{r['measure']}, heterogeneity across trials: " + "; ".join(x for x in (text, r["note"]) if x)
            )
    return Table(
        "Pooled safety: CRS and ICANS grade >= 3, non-relapse mortality",
        ["Measure", "Trial", "n (%)", "95% CI, %"],
        rows,
        population=POPULATION,
        method="Clopper-Pearson limits; heterogeneity: Pearson chi-square of the trials x (yes, no) table "
        "(R prop.test(x, n, correct = FALSE))",
        notes=notes,
        bold_rows=[i for i, r in enumerate(tables.safety.iter_rows(named=True)) if r["trial"] == POOLED],
    )


def _forest_notes(tables: PooledTables, endpoint: str) -> list[str]:
    out = []
    for r in tables.forest.filter((pl.col("endpoint") == endpoint) & (pl.col("trial") == POOLED)).iter_rows(named=True):
        if r["q"] is None:
            out.append(f"{r['level']}: heterogeneity not estimable (fewer than two trials with an estimate)")
        else:
            out.append(
                f"{labels.variable(r['factor'])} {r['level']}: Cochran's Q {fmt(r['q'], 2)} on {r['q_df']} df, "
                f"p {p_value(r['q_p'])}; I-squared {fmt(r['i2'], 1)}%"
            )
    return out


def _cuts_shown(cuts: list[str]) -> str:
    """The data cut as each page's header and the HTML title give it: the one date, or
    every date when the trials were pooled at different cuts ("by trial, 2023-12-31 and
    2024-03-31": the header gave the latest alone, as if every trial were cut there)."""
    distinct = sorted(set(cuts))
    if len(distinct) <= 1:
        return distinct[0] if distinct else ""
    return "by trial, " + ", ".join(distinct[:-1]) + " and " + distinct[-1]


def build_pooled_document(
    tables: PooledTables, titles: dict[str, str], figures: list[str], name: str, code_version: str
) -> Document:
    """The pooled report's content; ``figures``: the file names ``figure_specs`` drew."""
    cuts = ", ".join(f"{r['trial']} {r['data_cut']}" for r in tables.trials.iter_rows(named=True))
    sections = [
        Section(
            "What was pooled",
            "pooled-inputs",
            [
                _trials_table(tables),
                *_code_notes(tables, code_version),
                Paragraph(
                    "Each trial keeps its own baseline: comparisons are stratified by trial"
                    + (
                        ", and the forest plot shows each trial's estimate beside the stratified one"
                        if tables.forest.height
                        else "; there is no forest plot: no level of the comparison factor but the reference was "
                        "recorded, or none was"
                    )
                    + ". A crude pooled proportion or curve adds subjects across trials of different populations and "
                    "follow-up; read it with the heterogeneity below.",
                    "note",
                ),
            ],
        )
    ]
    for endpoint in POOLED_ENDPOINTS:
        blocks: list[Block] = [_survival_table(tables, endpoint, titles)]
        blocks += [
            Figure(f"plots/{f}", f"{labels.endpoint(endpoint)} by trial")
            for f in figures
            if f == f"pooled_{endpoint}_by_trial.svg"
        ]
        forest_files = [f for f in figures if f.startswith(f"pooled_{endpoint}_forest_")]
        blocks += [
            Figure(
                f"plots/{f}",
                f"{endpoint}: hazard ratio by trial and stratified by trial",
                footnote="; ".join(_forest_notes(tables, endpoint)),
            )
            for f in forest_files
        ]
        sections.append(Section(f"{labels.endpoint(endpoint)} ({endpoint})", f"pooled-{endpoint.lower()}", blocks))
    sections.append(Section("Pooled safety", "pooled-safety", [_safety_table(tables, titles)]))
    return Document(
        title="Pooled analysis of the CAR-T portfolio",
        subtitle=f"{name}: {cuts}",
        cut=_cuts_shown(tables.trials["data_cut"].cast(pl.String).to_list()),
        code_version=code_version,
        sections=sections,
        header="Pooled analysis of the portfolio",
    ).number()
