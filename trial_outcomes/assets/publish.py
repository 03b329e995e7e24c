"""The last step of a run: check the run's files are complete and the drop unchanged,
write the manifest and a copy of the plan, and publish the cut's outputs as one
set (a new version, or nothing when identical to the current one)."""

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation

from trial_outcomes.assets.shared import (
    FAILED_CHECKS_TAG,
    PUBLISHED_FOLDER_TAG,
    carried_alert,
    code_version,
    cut_asset,
)
from trial_outcomes.contracts import ADAM_DATASETS, DEFINE_XML, OPTIONAL_OUTPUTS, OUTPUT_BY_FILE, OUTPUTS, RULES_DOC
from trial_outcomes.io.publishing import (
    PublishRefused,
    interrupts_deferred,
    plan_publication,
    published_cuts,
    readable,
    revision,
    version_outputs,
)
from trial_outcomes.io.qc import QC_REPORT
from trial_outcomes.io.records import TrialDrop, drop_files, drop_fingerprint
from trial_outcomes.io.store import OutputStore
from trial_outcomes.provenance import code_version as git_version
from trial_outcomes.provenance import environment, sha256_file, short_version
from trial_outcomes.reporting.define_xml import build_define
from trial_outcomes.reporting.report import ReportMade
from trial_outcomes.runspec import RunSpec

PLAN_COPY = "analysis_plan.toml"
REPORT_FILES = ("report.html", "report.pdf", "report_open.html", "report_open.pdf")


def expected_files() -> list[str]:
    """Every file a complete run writes before publishing (``plots/`` apart): the tables,
    each ADaM dataset's XPT, and the report."""
    tables = [o.file for o in OUTPUTS if o.file not in OPTIONAL_OUTPUTS]
    return tables + [d.xpt for d in ADAM_DATASETS] + list(REPORT_FILES)


#: docs/endpoints.md of the code that ran (the repository's, beside the package)
RULES_SOURCE = Path(__file__).resolve().parents[2] / "docs" / "endpoints.md"


def rules_document() -> bytes:
    """The derivation rules define.xml's methods point at, published beside it."""
    if not RULES_SOURCE.is_file():
        raise dg.Failure(
            description=f"{RULES_SOURCE} is missing: define.xml points at the derivation rules, published "
            "with each cut; run from a checkout of the repository (README, the two commands)",
            allow_retries=False,
        )
    return RULES_SOURCE.read_bytes()


def define_xml(work: Path, spec: RunSpec) -> bytes:
    """``define.xml`` of the ADaM datasets this run wrote, under the run's plan."""
    plan = spec.plan
    schemas = {
        adam.name: OUTPUT_BY_FILE[adam.output].schema_for(plan.landmark_months, plan.subgroups)
        for adam in ADAM_DATASETS
    }
    # scans, read a column at a time by build_define (all six datasets at once were 3 GB at a
    # million subjects)
    scans = {adam.name: pl.scan_parquet(work / adam.output) for adam in ADAM_DATASETS}
    return build_define(scans, schemas, spec.cut, short_version())


def compared_with(work: Path) -> str:
    """The published cut this cut was compared with (``cut_comparison.csv``), or none."""
    table = work / "cut_comparison.csv"
    if not table.is_file():
        return "none"
    compared = pl.read_csv(table, infer_schema=False)
    if "previous_version" in compared.columns:  # not the version of this cut it supersedes
        compared = compared.filter(pl.col("previous_version").is_null())
    previous = compared["previous_cut"].drop_nulls()
    return str(previous[0]) if previous.len() else "none"


def build_manifest(
    settings: RunSpec,
    drop: TrialDrop,
    files: list[Path],
    work: Path,
    publication: dict[str, Any],
    death_queries: Sequence[str] = (),
) -> dict[str, Any]:
    """What produced this cut: input hashes, cut, code and environment, plan, the
    version it supersedes (if any), output hashes. No timestamp and no absolute
    path, so the same inputs give the same bytes. ``death_queries``: the Deaths
    section's open data queries as page 1 names them (``safety.death_query_titles``)."""
    plan = settings.plan
    outputs = {}
    for path in files:
        members = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for member in members:
            outputs[member.relative_to(work).as_posix()] = sha256_file(member)
    return {
        "trial": "NCT04325841",
        "data_cut": str(drop.cut),
        "data_drop": {
            "folder": settings.data_dir.resolve().name,
            "files": drop.files,
            "sha256": drop_fingerprint(drop.files),
            "latest_record": drop.latest_record.isoformat() if drop.latest_record else None,
            # the last day the drop can show: windows close by it (``TrialDrop.seen_to``)
            "seen_to": drop.seen_to.isoformat(),
            # the warnings on the whole drop (none: no key), and the Deaths section's queries on
            # causes of death: page 1 of the report counts both
            **({"data_queries": [asdict(q) for q in drop.queries]} if drop.queries else {}),
            **({"death_queries": list(death_queries)} if death_queries else {}),
        },
        "code": git_version(),
        "compared_with": compared_with(work),
        "environment": environment(),
        "analysis_plan": {
            "file": Path(plan.path).name,
            "copy": PLAN_COPY,
            "sha256": plan.sha256,
            "parameters": plan.parameters(),
        },
        **publication,
        "outputs": dict(sorted(outputs.items())),
    }


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """``check (asset)`` of every check that failed in the run, errors first."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    failed = []
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event is not None else None
        if isinstance(evaluation, AssetCheckEvaluation) and not evaluation.passed:
            error = evaluation.severity == dg.AssetCheckSeverity.ERROR
            failed.append((not error, f"{evaluation.check_name} ({evaluation.asset_key.to_user_string()})"))
    return [text for _, text in sorted(failed)]


def published_cuts_table(out: Path) -> str:
    """Every cut published in ``out``, in date order, with its current version and the
    drop it was made from (issue 22: the partition list shows neither order nor drop)."""
    rows = ["| data cut | version | drop SHA-256 | supersedes | revises (same drop) |", "|---|---|---|---|---|"]
    for cut in published_cuts(out):
        shown = readable(out, cut)
        if shown is None:
            rows.append(f"| {cut} | (manifest.json unreadable) | | | |")
            continue
        superseded = shown.manifest.get("supersedes", {}).get("version", "")
        revised = shown.manifest.get("revises") or {}
        # the causes in a word each (the manifest names the SHA-256s and every file)
        causes = [c.split(" (")[0] for c in revised.get("changed", []) if not c[:1].isdigit()]
        why = f"{revised['version']}: {', '.join(causes) or 'outputs'}" if revised else ""
        rows.append(f"| {cut} | {shown.version} | `{shown.drop_sha256[:16]}` | {superseded} | {why} |")
    return "\n".join(rows)


def not_in_this_run(run: dg.DagsterRun, steps: Sequence[str]) -> list[str]:
    """The steps of the cut (its assets' ops) a run does not execute, named; empty for a
    run of them all (``step_keys_to_execute`` None or every step)."""
    planned = run.step_keys_to_execute
    if planned is None:
        return []
    return sorted(set(steps) - set(planned))


#: the check that a cut's stopping history holds every earlier cut published by its end
EARLIER_CUTS_CHECK = "earlier_cuts_included"


def missed_earlier_cuts(folder: Path, out_dir: Path, published: Sequence[str], cut: str) -> list[str]:
    """The cuts before ``cut`` among ``published`` (``out_dir``'s, as this cut is published)
    with stopping rules that the stopping history in ``folder`` does not hold: published by
    another run while this one went on (a red team's two cuts run at once into one folder
    published the later without the earlier, saying nothing). None without a history
    file; a cut published without ``stopping_rules.csv`` is in no history."""
    path = folder / "stopping_history.csv"
    if not path.is_file():
        return []
    held = set(pl.read_csv(path, columns=["cut"], schema_overrides={"cut": pl.String})["cut"].to_list())
    return [c for c in published if c < cut and c not in held and (out_dir / c / "stopping_rules.csv").is_file()]


def build_published_cut(output_assets: Sequence[dg.AssetKey], steps: Sequence[str] = ()) -> dg.AssetsDefinition:
    """``published_cut``, after every asset that writes a published file (the assets
    tagged ``trial/output``, found by the definitions)."""

    read = {"report": dg.AssetIn()}  # its value: the Deaths section's queries for the manifest
    keys = {dg.AssetKey(name) for name in read}

    @cut_asset(
        group="report",
        version=code_version("assets/publish.py"),
        deps=[key for key in output_assets if key not in keys],
        ins=read,
        kinds={"json"},
        domain="report",
        published=False,
        check_specs=[
            dg.AssetCheckSpec(
                EARLIER_CUTS_CHECK,
                asset="published_cut",
                blocking=False,
                description="The stopping history (and so the comparison) holds every cut published before this "
                "one in the output folder when this one is published",
            )
        ],
    )
    def published_cut(
        context: AssetExecutionContext,
        output_store: dg.ResourceParam[OutputStore],
        drop_identity: TrialDrop,
        report: ReportMade,
    ) -> dg.MaterializeResult:
        """Publish `<out>/<cut>`: the run's files are checked complete and the drop's
        files unchanged since the run read them; `manifest.json` and a copy of the
        analysis plan are written; the cut then shows the new version, in one
        atomic step (earlier versions stay under `.versions/`). A failed run never
        reaches this step, so nothing it made is published; nor does a run of a
        selection of the cut's assets (the values it left out are an earlier run's)."""
        settings = output_store.spec
        cut = settings.cut_key
        work = output_store.work_dir
        # a re-execution of a failed run runs its failed steps only: the others were its first
        # attempt's, on its drop (the portfolio's retry continues them in the lease's folder)
        unselected = not_in_this_run(context.run, steps) if context.run.parent_run_id is None else []
        if unselected:  # their stored values are another run's: another drop, plan or cut folder
            raise dg.Failure(
                description=f"publishing data cut {cut} needs every one of its assets materialized in one run; "
                f"this run left out {len(unselected)} ({', '.join(unselected[:8])}"
                f"{', ...' if len(unselected) > 8 else ''}), whose stored values are an earlier run's, perhaps "
                "of another drop: materialize the whole cut (the job all_outcomes, or every asset)",
                allow_retries=False,
            )
        missing = [name for name in expected_files() if not (work / name).is_file()]
        if missing:
            raise dg.Failure(
                description="publishing needs every output of the cut in this run (materialize the "
                "whole job); missing: "
                + ", ".join(missing)
                + (
                    ". A re-execution from failure of a run made in one process starts with an empty working "
                    "folder (its first attempt's files are not kept): launch the whole cut again"
                    if context.run.parent_run_id is not None and output_store.leased_by is None
                    else ". A re-execution whose cut was released (portfolio release) or run since starts with an "
                    "empty working folder: run the cut again (portfolio run)"
                    if context.run.parent_run_id is not None
                    else ""
                ),
                allow_retries=False,
            )
        on_disk = drop_files(settings.data_dir)
        if on_disk != drop_identity.files:
            changed = sorted(set(on_disk.items()) ^ set(drop_identity.files.items()))
            raise dg.Failure(
                description=f"the drop's files changed while the run read them ({changed[0][0]}); "
                "nothing is published: run again on the settled drop",
                allow_retries=False,
            )
        try:
            publication = plan_publication(settings.out_dir, cut, drop_identity.fingerprint, settings.supersede_reason)
        except PublishRefused as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None

        def manifest_for(files: list[Path], folder: Path) -> dict[str, Any]:
            manifest = build_manifest(settings, drop_identity, files, folder, publication.manifest_entry(), deaths)
            revised = revision(readable(settings.out_dir, cut), manifest, version_outputs(settings.out_dir, cut))
            return {**manifest, "revises": revised} if revised else manifest

        deaths = report.death_queries
        extra = {
            PLAN_COPY: settings.plan.text.encode("utf-8"),
            DEFINE_XML: define_xml(work, settings),
            RULES_DOC: rules_document(),
        }
        with interrupts_deferred() as interrupts:  # published, and said so, or neither
            final, new, manifest = output_store.publish(extra, manifest_for)
            folder = str(final.resolve())
            run = context.instance.get_run_by_id(context.run.run_id) or context.run  # its tags as they stand
            carried = carried_alert(run.tags, run.parent_run_id, folder)  # about its parent's version, not this
            context.instance.add_run_tags(context.run.run_id, {PUBLISHED_FOLDER_TAG: folder, **carried})
            failed = failed_checks(context.instance, context.run.run_id)
            if failed:  # the run's page leads with what failed (issue 22); the checks hold why
                context.instance.add_run_tags(
                    context.run.run_id, {FAILED_CHECKS_TAG: f"{len(failed)} failed: " + "; ".join(failed)}
                )
        if interrupts:
            context.log.warning(
                f"an interrupt arrived while data cut {cut} was being published: it was published first "
                f"({final.resolve().name}), and the run ends here"
            )
        shown = final.resolve()
        from trial_outcomes.io.file_server import file_url

        links = {
            f"open the report ({kind})": dg.MetadataValue.url(url)
            for kind in ("pdf", "html")
            if (url := file_url(cut, f"report.{kind}", settings.out_dir))
        }
        links.update(
            {
                f"open the open report ({kind})": dg.MetadataValue.url(url)
                for kind in ("pdf", "html")
                if (url := file_url(cut, f"report_open.{kind}", settings.out_dir))
            }
        )
        # the datasets as a SAS or R user takes them (issue 25), and their metadata
        for name in (*(d.xpt for d in ADAM_DATASETS), DEFINE_XML, QC_REPORT):
            if (final / name).is_file() and (url := file_url(cut, name, settings.out_dir)):
                links[f"download {name}"] = dg.MetadataValue.url(url)
        missed = missed_earlier_cuts(shown, settings.out_dir, published_cuts(settings.out_dir), cut)
        return dg.MaterializeResult(
            check_results=[
                dg.AssetCheckResult(
                    check_name=EARLIER_CUTS_CHECK,
                    passed=not missed,
                    severity=dg.AssetCheckSeverity.WARN,
                    description="every earlier published cut is in the stopping history"
                    if not missed
                    else f"data cut {', '.join(missed)} was published in this folder while this run went on: this "
                    f"cut's stopping history and comparison do not include it; run data cut {cut} again to publish "
                    "a version that does",
                )
            ],
            metadata={
                **links,  # one click from the asset page, served by `trial-outcomes ui` (issue 22)
                # the cut's stable path (it always shows the latest version), not .versions/...
                "folder": dg.MetadataValue.path(str(final.absolute())),
                "report (pdf)": dg.MetadataValue.path(str(final.absolute() / "report.pdf")),
                "report (html)": dg.MetadataValue.path(str(final.absolute() / "report.html")),
                "version": shown.name + ("" if new else " (unchanged: the same outputs were already published)"),
                "supersedes": publication.previous_version if publication.supersedes else "none",
                "data cut": cut,
                "drop sha256": drop_identity.fingerprint,
                "code version": manifest["code"]["git_commit"],
                "files": dg.MetadataValue.md("\n".join(f"- `{name}`" for name in manifest["outputs"])),
                "published cuts": dg.MetadataValue.md(published_cuts_table(settings.out_dir)),
            },
        )

    return published_cut
