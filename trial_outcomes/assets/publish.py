"""The last step of a run: write the manifest, then publish the cut's outputs as one set."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.io.publishing import publish, work_dir
from trial_outcomes.io.records import TrialDrop, drop_fingerprint
from trial_outcomes.io.writers import atomic_write_bytes
from trial_outcomes.provenance import code_version, environment, sha256_file

#: every asset that writes a file into the cut's work folder
OUTPUT_ASSETS = [
    "eligibility_deviations",
    "adsl",
    "adrs",
    "adtte",
    "adae",
    "crs_grading",
    "response_summary",
    "ae_summary",
    "survival_analysis",
    "survival_plots",
    "stopping_rules",
    "report",
]


def build_manifest(settings: DropSettings, drop: TrialDrop, files: list[Path], work: Path) -> dict:
    """What produced this cut: input hashes, cut, code and environment, plan, output hashes.
    No timestamp and no absolute path, so the same inputs give the same bytes."""
    plan = settings.analysis_plan()
    outputs = {}
    for path in files:
        members = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for member in members:
            outputs[member.relative_to(work).as_posix()] = sha256_file(member)
    return {
        "trial": "NCT04325841",
        "data_cut": str(drop.cut),
        "data_drop": {
            "folder": settings.data_path.resolve().name,
            "files": drop.files,
            "sha256": drop_fingerprint(drop.files),
        },
        "code": code_version(),
        "environment": environment(),
        "analysis_plan": {"file": Path(plan.path).name, "sha256": plan.sha256, "parameters": plan.parameters()},
        "outputs": dict(sorted(outputs.items())),
    }


@dg.asset(partitions_def=DATA_CUTS, group_name="report", code_version="1", deps=OUTPUT_ASSETS)
def published_cut(settings: DropSettings, trial_drop: TrialDrop) -> dg.MaterializeResult:
    """Write `manifest.json` and swap `<out>/<cut>` to this run's files, atomically: a
    failed run never reaches this step, so earlier outputs of the cut stay as they were."""
    cut = str(trial_drop.cut)
    work = work_dir(settings.out_path, cut)
    files = sorted(p for p in work.iterdir() if not p.name.startswith(".") and p.name != "manifest.json")
    manifest = build_manifest(settings, trial_drop, files, work)
    atomic_write_bytes(work / "manifest.json", (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    final = publish(settings.out_path, cut, files + [work / "manifest.json"])
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(final)),
            "files": dg.MetadataValue.md("\n".join(f"- `{name}`" for name in manifest["outputs"])),
            "data cut": cut,
            "code version": manifest["code"]["git_commit"],
        }
    )
