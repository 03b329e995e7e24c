"""Independent double programming of the cut: the R QC program on this run's files."""

import hashlib
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from trial_outcomes.assets.shared import code_version, cut_asset
from trial_outcomes.io.qc import DISAGREE, PROGRAM, QC_REPORT, qc_parameters, run_qc
from trial_outcomes.io.records import TrialDrop
from trial_outcomes.io.store import OutputStore

CHECK = "double_programming"


def _version() -> str:
    program = PROGRAM.read_bytes() if PROGRAM.is_file() else b""
    return hashlib.sha256(code_version("assets/qc.py").encode() + program).hexdigest()[:16]


@cut_asset(
    group="report",
    version=_version(),
    kinds={"r"},
    domain="report",
    deps=["adsl", "adrs", "adtte", "response_summary", "survival_analysis"],
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset="independent_qc",
            blocking=False,
            description="R (survival, cmprsk) re-derives the key numbers from the XPT datasets and the raw drop "
            "and agrees with the pipeline (qc/qc.R)",
        )
    ],
)
def independent_qc(
    context: AssetExecutionContext, output_store: dg.ResourceParam[OutputStore], drop_identity: TrialDrop
) -> Iterator[Any]:
    """`qc_report.csv`: an independent program in R (`qc/qc.R`) reads this cut's XPT
    datasets and, for OS and EFS of every subject, the raw drop, and re-derives CR/CRi
    by day 28 and ORR3M with exact CIs, the OS/EFS/DFS medians and landmark rates, CIR
    and NRM, and the subgroup hazard ratios; each number beside the pipeline's. Where
    R is not installed the cut still publishes and page 1 of the report says no QC
    ran. The R program writes its report into the run's working folder itself."""
    folder = output_store.work_dir
    spec = output_store.spec
    parameters = qc_parameters(spec.plan.parameters())
    result = run_qc(
        folder,
        spec.cut,
        spec.data_dir,
        folder / QC_REPORT,
        parameters,
        drop_identity.seen_to,
        drop_identity.latest_record,
    )
    context.log.info(result.summary)
    yield dg.Output(
        result,
        metadata={"status": result.status, "summary": result.summary, "numbers compared": result.compared},
    )
    yield dg.AssetCheckResult(
        check_name=CHECK,
        asset_key=dg.AssetKey("independent_qc"),
        passed=result.status != DISAGREE and result.ran,
        severity=dg.AssetCheckSeverity.ERROR if result.status == DISAGREE else dg.AssetCheckSeverity.WARN,
        description=result.summary,
        metadata={"disagreements": result.disagreements, "numbers compared": result.compared, "status": result.status},
    )
