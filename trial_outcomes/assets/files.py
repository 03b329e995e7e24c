"""Writing an asset's tables into its run's work folder, checked against their
declared contracts (``contracts.py``), with the metadata the UI shows."""

from pathlib import Path
from typing import Any

import dagster as dg
import dataframely as dy
import polars as pl
from dagster import AssetExecutionContext

from trial_outcomes.assets.metadata import column_schema, table_metadata
from trial_outcomes.assets.shared import DropSettings
from trial_outcomes.contracts import ADAM_BY_OUTPUT, OUTPUT_BY_FILE, Output
from trial_outcomes.dates import parse_cut
from trial_outcomes.io.publishing import run_work_dir
from trial_outcomes.io.writers import write_csv, write_parquet
from trial_outcomes.io.xpt import write_xpt

CONTRACT_CHECK = "output_contract"


def work_folder(context: AssetExecutionContext, settings: DropSettings) -> Path:
    """This run's folder for the cut: ``<out>/.work/<cut>/<run id>/``."""
    return run_work_dir(settings.out_path, context.partition_key, context.run.run_id)


def contract_check_spec(asset: str, files: list[str]) -> dg.AssetCheckSpec:
    names = ", ".join(files)
    return dg.AssetCheckSpec(
        CONTRACT_CHECK,
        asset=asset,
        blocking=True,
        description=f"{names}: the declared columns, types, keys and rules (contracts.py)",
    )


def contract_problems(frame: pl.DataFrame, schema: type[dy.Schema]) -> list[str]:
    """What breaks the contract: missing or extra columns, types, nulls, keys, rules."""
    expected = schema.column_names()
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    problems = [f"missing column {c}" for c in missing] + [f"undeclared column {c}" for c in extra]
    if problems:
        return problems
    try:
        _, failures = schema.filter(frame.select(expected), cast=False)
    except Exception as exc:
        return [str(exc).splitlines()[0]]
    return [f"{rule}: {n} row(s)" for rule, n in sorted(failures.counts().items())]


def save_table(
    context: AssetExecutionContext,
    settings: DropSettings,
    file: str,
    frame: pl.DataFrame,
    schema: type[dy.Schema] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Check ``frame`` against the contract of ``file``, put its columns in the declared
    order and write it (CSV neutralised against formulas, or Parquet) into the run's
    work folder. Returns the UI metadata and the contract problems (empty: kept)."""
    output: Output = OUTPUT_BY_FILE[file]
    if schema is None:
        plan = settings.analysis_plan()
        schema = output.schema_for(plan.landmark_months, plan.subgroups)
    problems = contract_problems(frame, schema)
    if not problems:
        frame = frame.select(schema.column_names())
    path = work_folder(context, settings) / file
    (write_parquet if file.endswith(".parquet") else write_csv)(frame, path)
    adam = ADAM_BY_OUTPUT.get(file)
    if adam is not None and not problems:
        write_xpt(frame, schema, adam.name, adam.label, path.with_name(adam.xpt), parse_cut(context.partition_key))
    return {**table_metadata(frame), "dagster/column_schema": column_schema(schema)}, problems


def contract_result(asset: str, checked: dict[str, list[str]]) -> dg.AssetCheckResult:
    """The blocking contract check of an asset over the files it wrote."""
    failed = {f: p for f, p in checked.items() if p}
    lines = [f"{f}: " + "; ".join(p[:5]) for f, p in failed.items()]
    return dg.AssetCheckResult(
        check_name=CONTRACT_CHECK,
        asset_key=dg.AssetKey(asset),
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "every table meets its declared contract"
            if not failed
            else "table does not meet its contract (a defect in the pipeline, not in the data): " + " | ".join(lines)
        ),
        metadata={"tables": dg.MetadataValue.text(", ".join(checked))},
    )
