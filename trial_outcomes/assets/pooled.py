"""The portfolio's pooled analysis: one asset that reads each trial's published cut
(the portfolio file's named cut, else the trial's latest), pools ADSL and ADTTE with
the trial as a variable, analyses them (``analysis/pooled.py``), draws the figures,
renders the pooled report, and publishes all of it as a new version of the pooled
folder. It runs after the trials' cuts are published, never inside their runs."""

import datetime as dt

import dagster as dg

from trial_outcomes.analysis.pooled import TrialCut, pooled_analysis, trial_code
from trial_outcomes.assets.files import contract_problems
from trial_outcomes.assets.shared import OWNERS, code_version
from trial_outcomes.contracts import POOLED_OUTPUTS
from trial_outcomes.io.outputs import Table, ToPublish
from trial_outcomes.io.pooled import (
    PooledInputError,
    pooled_input,
    pooled_inputs_changed,
    read_published_cut,
    refuse_counting_twice,
)
from trial_outcomes.io.publishing import PublishRefused
from trial_outcomes.io.store import PooledStore
from trial_outcomes.portfolio import Portfolio
from trial_outcomes.provenance import code_version as git_version
from trial_outcomes.provenance import environment, short_version

POOLED_KEY = dg.AssetKey("pooled_analysis")
PORTFOLIO = "portfolio"
POOLED_STORE = "pooled_store"
#: the pooled asset's own IO manager: the trials' one needs a run of one (trial, cut)
POOLED_IO = "pooled_io_manager"


def read_trials(portfolio: Portfolio) -> list[TrialCut]:
    """Each trial's cut to pool, in the portfolio's order."""
    cuts = {t.id: read_published_cut(t.id, t.out, portfolio.pooled.cuts.get(t.id)) for t in portfolio.trials}
    refuse_counting_twice(cuts)
    out = []
    for trial in portfolio.trials:
        cut = cuts[trial.id]
        out.append(
            TrialCut(
                trial=trial.id,
                label=trial.label,
                cut=dt.date.fromisoformat(cut.cut),
                version=cut.version,
                manifest_sha256=cut.manifest_sha256,
                adsl=cut.adsl,
                adtte=cut.adtte,
                code=cut.code,
            )
        )
    return out


@dg.asset(
    key=POOLED_KEY,
    group_name="pooled",
    code_version=code_version("assets/pooled.py", "reporting/pooled.py", "reporting/figures"),
    owners=OWNERS,
    kinds={"polars", "pdf"},
    tags={"domain": "pooled"},
    io_manager_key=POOLED_IO,
)
def pooled_analysis_asset(
    context: dg.AssetExecutionContext,
    portfolio: dg.ResourceParam[Portfolio],
    pooled_store: dg.ResourceParam[PooledStore],
) -> dg.MaterializeResult:
    """Pooled ADSL and ADTTE (the trial a variable), survival by trial with the
    trial-stratified log-rank and Cox models, the forest plot by trial, pooled
    CRS/ICANS grade >= 3 and NRM with the trials' heterogeneity, and the pooled
    report (HTML and PDF), published as one version of the pooled folder."""
    from trial_outcomes.reporting.figures.render import draw
    from trial_outcomes.reporting.pooled import build_pooled_document, figure_specs
    from trial_outcomes.reporting.render import render_html, render_pdf

    try:
        trials = read_trials(portfolio)
    except PooledInputError as exc:
        raise dg.Failure(description=f"nothing was pooled: {exc}", allow_retries=False) from None
    factor = portfolio.pooled.factor
    tables = pooled_analysis(trials, factor, git_version())
    frames = {
        "pooled_trials.csv": tables.trials,
        "pooled_adsl.parquet": tables.adsl,
        "pooled_adtte.parquet": tables.adtte,
        "pooled_survival.csv": tables.survival,
        "pooled_tests.csv": tables.tests,
        "pooled_forest.csv": tables.forest,
        "pooled_safety.csv": tables.safety,
    }
    checked = {
        name: Table(frame, POOLED_OUTPUTS[name], tuple(contract_problems(frame, POOLED_OUTPUTS[name])))
        for name, frame in frames.items()
    }
    broken = [f"{name}: {'; '.join(t.problems)}" for name, t in checked.items() if t.problems]
    if broken:
        raise dg.Failure(description="nothing was pooled: a pooled table breaks its contract: " + " | ".join(broken))
    titles = {t.trial: t.label for t in trials}
    svgs = {name: draw(spec) for name, spec in figure_specs(tables, titles).items()}
    doc = build_pooled_document(tables, titles, list(svgs), portfolio.path.name, short_version())
    files = {
        "pooled_report.html": render_html(doc, svgs).encode("utf-8"),
        "pooled_report.pdf": render_pdf(doc, svgs),
        **{f"plots/{name}": svg for name, svg in svgs.items()},
    }
    latest = max(t.cut for t in trials)
    manifest = {
        "pooled": {
            "portfolio": portfolio.path.name,
            "factor": factor,
            "trials": [
                {
                    "trial": t.trial,
                    "data_cut": str(t.cut),
                    "version": t.version,
                    "manifest_sha256": t.manifest_sha256,
                    "code": trial_code(t),
                }
                for t in trials
            ],
        },
        "code": git_version(),
        "environment": environment(),
    }

    def moved() -> list[str]:
        """What differs between the trials' cuts this run read and those it would read now."""
        try:
            now = [pooled_input(t.id, t.out, portfolio.pooled.cuts.get(t.id)) for t in portfolio.trials]
        except PooledInputError as exc:
            return [str(exc)]
        return pooled_inputs_changed(manifest["pooled"], factor, now, was="read")

    try:
        final, new, written = pooled_store.publish(
            context.run.run_id, ToPublish(None, checked, files), latest, manifest, moved
        )
    except PublishRefused as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return dg.MaterializeResult(
        metadata={
            "folder": dg.MetadataValue.path(str(final.absolute())),
            "report (pdf)": dg.MetadataValue.path(str(final.absolute() / "pooled_report.pdf")),
            "version": final.resolve().name + ("" if new else " (unchanged: the same outputs were already published)"),
            "trials": dg.MetadataValue.md("\n".join(f"- `{t.trial}` at {t.cut} ({t.version})" for t in trials)),
            "files": len(written["outputs"]),
        }
    )
