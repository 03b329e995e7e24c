"""The last step of a run: publish the cut's outputs as one complete set."""

from __future__ import annotations

import dagster as dg

from trial_outcomes.analysis.drop import TrialDrop
from trial_outcomes.io.outputs import publish, work_dir
from trial_outcomes.pipelines.resources import DropSettings

#: every asset that writes a file into the cut's work folder
OUTPUT_ASSETS = ["eligibility_deviations", "adsl", "adrs", "adtte", "adae", "crs_grading", "response_summary",
                 "ae_summary", "survival_analysis", "survival_plots"]


@dg.asset(group_name="report", code_version="1", deps=OUTPUT_ASSETS)
def published_cut(settings: DropSettings, trial_drop: TrialDrop) -> dg.MaterializeResult:
    """Swap `<out>/<cut>` to the files this run wrote, atomically: a failed run never
    reaches this step, so earlier outputs of the cut stay as they were."""
    cut = str(trial_drop.cut)
    work = work_dir(settings.out_path, cut)
    files = sorted(p for p in work.iterdir() if not p.name.startswith("."))
    final = publish(settings.out_path, cut, files)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(final)),
        "files": dg.MetadataValue.md("\n".join(f"- `{p.name}{'/' if p.is_dir() else ''}`" for p in files)),
        "data cut": cut,
    })
