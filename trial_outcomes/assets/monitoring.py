"""Interim monitoring at every cut: the stopping rules (non-blocking checks keyed by
rule id, a run tag, a table) and the comparison with an earlier published cut."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from trial_outcomes.analysis import stopping
from trial_outcomes.analysis.cut_comparison import Publication, compare_publications
from trial_outcomes.analysis.stopping import CHECK_NAMES, RULES, StoppingResult, check_name
from trial_outcomes.analysis.survival_results import SurvivalResults
from trial_outcomes.assets.files import contract_check_spec, contract_result, published
from trial_outcomes.assets.metadata import records_table
from trial_outcomes.assets.shared import (
    NOT_CROSSED,
    RESULT_TAG,
    STOPPING_TAG,
    Run,
    code_version,
    cut_asset,
    reading,
)
from trial_outcomes.contracts import with_current_names
from trial_outcomes.io.publishing import (
    plan_publication,
    plan_sha256,
    published_code,
    published_cuts,
    revised_version,
)
from trial_outcomes.io.records import TrialDrop
from trial_outcomes.runspec import RunSpec

VERSION = code_version("assets/monitoring.py")


def check_description(rule_id: str) -> str:
    return f"{RULES[rule_id]}: the analysis plan's stopping rule, evaluated on this cut (fails when crossed)"


@cut_asset(
    group="monitoring",
    version=VERSION,
    kinds={"polars", "csv"},
    domain="monitoring",
    check_specs=[
        contract_check_spec("stopping_rules", ["stopping_rules.csv"]),
        *[
            dg.AssetCheckSpec(name, asset="stopping_rules", blocking=False, description=check_description(rid))
            for name, rid in CHECK_NAMES.items()
        ],
    ],
    ins=reading(adsl=stopping.ADSL_COLUMNS, adae=stopping.ADAE_COLUMNS),
)
def stopping_rules(
    context: AssetExecutionContext,
    settings: Run,
    cut_records: TrialDrop,
    adsl: pl.DataFrame,
    adae: pl.DataFrame,
) -> Iterator[Any]:
    """The analysis plan's stopping rules on this cut: Bayesian safety monitoring of
    grade >= 4 CRS/ICANS (adjudicated) or treatment-related death within 30 days,
    and Simon's two-stage futility rule on the day-28 CR/CRi rate with symmetric
    evaluability. A crossed boundary fails its (non-blocking) check, tags the run
    and is announced by the boundary sensor. A run that carried its parent's crossing
    (a re-execution from the UI copies every tag) and does not cross says so over it."""
    from trial_outcomes.analysis.stopping import evaluate_rules  # numpy/scipy: load when run

    result = evaluate_rules(adsl, adae, cut_records.cut, settings.plan, cut_records.seen_to)
    if result.crossed:
        context.instance.add_run_tags(context.run.run_id, {STOPPING_TAG: result.tag(), RESULT_TAG: result.to_json()})
    elif STOPPING_TAG in context.run.tags:  # its parent's crossing, copied by a re-execution: this run's word
        verdict = f"{NOT_CROSSED} (this run's own stopping rules; the crossing it carried was its parent's)"
        context.instance.add_run_tags(context.run.run_id, {STOPPING_TAG: verdict, RESULT_TAG: result.to_json()})
    rows = [
        {"rule": s.rule, "status": "BOUNDARY CROSSED" if s.crossed else "not crossed", "data": s.data}
        for s in result.statuses
    ]
    yield from published(
        "stopping_rules",
        result,
        settings,
        {"stopping_rules.csv": result.table()},
        {"boundaries crossed": len(result.crossed), "rules": records_table(rows, ["status", "rule", "data"])},
    )
    for status in result.statuses:
        yield dg.AssetCheckResult(
            check_name=check_name(status.rule_id),
            passed=not status.crossed,
            # red in the UI wherever the asset or the run appears; non-blocking: the report still publishes
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.description(status),
            metadata={
                # text, not a number: the UI plotted a number against wall-clock time, mixing cuts and drops
                # (issue 22); the statistic across cuts is the report's stopping-history figure
                "statistic": dg.MetadataValue.text("NE" if status.statistic is None else f"{status.statistic:.4g}"),
                "data cut": settings.cut_key,
            },
        )


def earlier_cuts(out_dir: Path, before: str) -> list[str]:
    """The cuts published in ``out_dir`` (one trial's interim analyses: a portfolio gives
    each trial its own) before ``before``, oldest first, whatever drop folder each came
    from: each interim analysis reads the export of its day, and the sensor's landing
    folder holds one folder per export (keyed by the drop folder's name, the history of
    a DSMB's page 1 held one cut, and never showed a trend)."""
    return sorted(c for c in published_cuts(out_dir) if c < before)


def choose_previous_cut(out_dir: Path, cut: str, choice: str) -> str | None:
    """The cut to compare with: ``none``; a date, which must be a published earlier
    cut (anything else is refused: version 2 silently compared nothing); or ``auto``:
    the latest earlier published cut, the interim analysis before this one, whichever
    drop folder it came from."""
    if choice == "none":
        return None
    earlier = earlier_cuts(out_dir, cut)
    if choice != "auto":
        if choice not in earlier:
            shown = ", ".join(earlier[-5:]) or "none"
            raise ValueError(
                f"previous cut {choice!r} to compare with is not a cut published in {out_dir} before {cut} "
                f"(published earlier: {shown}); name one of them, or 'auto' or 'none'"
            )
        return choice
    return max(earlier, default=None)


@cut_asset(
    group="monitoring",
    version=VERSION,
    kinds={"polars", "csv"},
    domain="monitoring",
    check_specs=[contract_check_spec("stopping_history", ["stopping_history.csv"])],
)
def stopping_history(settings: Run, stopping_rules: StoppingResult) -> Iterator[Any]:
    """Each stopping rule's statistic at every earlier published cut of the trial (its
    output folder) and at this cut, for the plot on page 1 of the report."""
    from trial_outcomes.analysis.stopping import stopping_history as history

    cut = settings.cut_key
    earlier = {}
    for c in earlier_cuts(settings.out_dir, cut):
        path = settings.out_dir / c / "stopping_rules.csv"
        if path.is_file():
            earlier[c] = pl.read_csv(path, infer_schema_length=None)
    table = history(earlier, cut, stopping_rules.table())
    yield from published(
        "stopping_history", table, settings, {"stopping_history.csv": table}, {"cuts": len(earlier) + 1}
    )


def previous_cut(settings: RunSpec) -> str | None:
    """The published cut this run compares with (the run's choice, else the plan's), or
    None; a named cut that is not published fails the run, saying so."""
    try:
        return choose_previous_cut(settings.out_dir, settings.cut_key, settings.comparison)
    except ValueError as exc:
        raise dg.Failure(description=str(exc)) from None


def _details(folder: Path) -> pl.DataFrame | None:
    """An earlier publication's ``survival_details.csv`` (its numbers at risk), or None."""
    path = folder / "survival_details.csv"
    return pl.read_csv(path, infer_schema_length=None) if path.is_file() else None


@cut_asset(
    group="monitoring",
    version=VERSION,
    kinds={"polars", "csv"},
    domain="monitoring",
    check_specs=[contract_check_spec("cut_comparison", ["cut_comparison.csv"])],
)
def cut_comparison(
    settings: Run, adsl: pl.DataFrame, survival_analysis: SurvivalResults, drop_identity: TrialDrop
) -> Iterator[Any]:
    """What changed since an earlier interim analysis published in the output folder
    (new subjects, new events, what it published that is withdrawn or re-dated, changed
    medians and rates): the cut named by the run or the plan (``[comparison]
    previous_cut``; auto: the latest earlier published cut), and, for a version that
    supersedes another of this cut (another drop, ``--supersede``), that version too: a
    corrected export's changes were told only against the previous cut; and the version
    of this cut from this same drop that this run revises with other code or another plan
    (``revised_version``). Each comparison says when the two publications were made by
    other code (an upgrade's changed rule read as a withdrawn response). Empty, and no
    file, when there is none."""
    from trial_outcomes.provenance import code_version

    code = code_version()
    compared: list[tuple[str, str | None, Path]] = []
    previous = previous_cut(settings)
    if previous is not None:
        compared.append((previous, None, settings.out_dir / previous))
    publication = plan_publication(
        settings.out_dir, settings.cut_key, drop_identity.fingerprint, settings.supersede_reason
    )
    versions = settings.out_dir / ".versions" / settings.cut_key
    shown = {"previous cut": previous or "none"}
    for label, version in (
        ("superseded version", (publication.manifest_entry().get("supersedes") or {}).get("version")),
        (
            "revised version",
            revised_version(settings.out_dir, settings.cut_key, publication, settings.plan.sha256, code),
        ),
    ):
        # superseded: this version's, or (a re-run of the same drop) the one it re-publishes
        shown[label] = "none" if version is None else str(version)
        if version is None:
            continue
        folder = versions / str(version)
        if (folder / "adsl.parquet").is_file() and (folder / "survival_summary.csv").is_file():
            compared.append((settings.cut_key, str(version), folder))
        else:  # said, not quietly left out
            shown[label] += f" (not compared: its adsl.parquet or survival_summary.csv is gone from {folder})"
    earlier = [
        Publication(
            cut,
            version,
            with_current_names(pl.read_parquet(folder / "adsl.parquet")),
            pl.read_csv(folder / "survival_summary.csv", infer_schema_length=None),
            plan_sha256(folder),
            published_code(folder),
            _details(folder),
        )
        for cut, version, folder in compared
    ]
    table = compare_publications(
        earlier,
        adsl,
        survival_analysis.survival_summary,
        settings.plan.sha256,
        code,
        survival_analysis.survival_details,
    )
    if table.is_empty():
        yield dg.Output(table, metadata=shown)
        yield contract_result("cut_comparison", {})
        return
    yield from published("cut_comparison", table, settings, {"cut_comparison.csv": table}, shown)
