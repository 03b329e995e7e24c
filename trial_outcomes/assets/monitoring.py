"""Stopping rules at every cut: non-blocking checks, a run tag, and a table for the report."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from trial_outcomes.analysis.cut_comparison import COLUMNS as COMPARISON_COLUMNS
from trial_outcomes.analysis.cut_comparison import compare_cuts
from trial_outcomes.assets.files import save_table
from trial_outcomes.assets.metadata import markdown_table
from trial_outcomes.assets.shared import DATA_CUTS, STOPPING_TAG, DropSettings
from trial_outcomes.dates import parse_cut
from trial_outcomes.io.records import TrialDrop

CHECKS = {
    "safety_boundary": "Safety (Bayesian beta-binomial)",
    "efficacy_futility_boundary": "Efficacy (Simon two-stage, CR/CRi by day 28)",
}


@dg.asset(
    partitions_def=DATA_CUTS,
    group_name="monitoring",
    code_version="1",
    check_specs=[
        dg.AssetCheckSpec(name, asset="stopping_rules", blocking=False, description=f"{rule}: boundary not crossed")
        for name, rule in CHECKS.items()
    ],
)
def stopping_rules(context, settings: DropSettings, cut_records: TrialDrop, adsl: pl.DataFrame, adae: pl.DataFrame):
    """The analysis plan's stopping rules evaluated on this cut: Bayesian safety
    monitoring of grade >= 4 CRS/ICANS or treatment-related death within 30 days,
    and Simon's two-stage futility rule on the day-28 CR/CRi rate. A crossed
    boundary fails its (non-blocking) check and tags the run."""
    from trial_outcomes.analysis.stopping import evaluate_safety, evaluate_simon  # numpy/scipy: load when run

    plan = settings.analysis_plan()
    statuses = [evaluate_safety(adsl, adae, cut_records.cut, plan.safety), evaluate_simon(adsl, plan.efficacy)]
    table = pl.DataFrame(
        [s.as_row() for s in statuses],
        schema={
            "rule": pl.String,
            "data": pl.String,
            "boundary": pl.String,
            "crossed": pl.Boolean,
            "statistic": pl.Float64,
        },
    )
    crossed = [s.rule for s in statuses if s.crossed]
    if crossed:
        context.instance.add_run_tags(context.run_id, {STOPPING_TAG: "CROSSED: " + "; ".join(crossed)})
    yield dg.Output(
        table,
        metadata={
            **save_table(settings, str(cut_records.cut), "stopping_rules.csv", table),
            "boundaries crossed": len(crossed),
            "rules": dg.MetadataValue.md(markdown_table(table)),
        },
    )
    for (name, _), status in zip(CHECKS.items(), statuses):
        yield dg.AssetCheckResult(
            check_name=name,
            passed=not status.crossed,
            severity=dg.AssetCheckSeverity.WARN,
            description=("BOUNDARY CROSSED: " if status.crossed else "not crossed: ")
            + status.data
            + ". Rule: "
            + status.boundary,
            metadata={"statistic": dg.MetadataValue.float(status.statistic) if status.statistic is not None else None},
        )


def previous_cut(out_dir: Path, cut: str) -> str | None:
    """The latest published cut in ``out_dir`` before ``cut``."""
    earlier = []
    for path in out_dir.iterdir() if out_dir.is_dir() else []:
        try:
            when = parse_cut(path.name)
        except ValueError:
            continue
        if str(when) < cut and (path / "adsl.parquet").exists():
            earlier.append(path.name)
    return max(earlier) if earlier else None


@dg.asset(partitions_def=DATA_CUTS, group_name="monitoring", code_version="1")
def cut_comparison(
    settings: DropSettings, cut_records: TrialDrop, adsl: pl.DataFrame, survival_analysis: dict
) -> dg.Output:
    """What changed since the previous interim analysis published in the output
    folder (new subjects, new events, changed medians); empty for the first cut."""
    cut = str(cut_records.cut)
    previous = previous_cut(settings.out_path, cut)
    if previous is None:
        table = pl.DataFrame(schema=COMPARISON_COLUMNS)
    else:
        folder = settings.out_path / previous
        table = compare_cuts(
            pl.read_parquet(folder / "adsl.parquet"),
            pl.read_csv(folder / "survival_summary.csv"),
            adsl,
            survival_analysis["survival_summary"],
        )
        table = table.with_columns(pl.lit(previous).alias("previous_cut"))
    meta = save_table(settings, cut, "cut_comparison.csv", table) if previous else {}
    return dg.Output(table, metadata={**meta, "previous cut": previous or "none"})
