"""An asset's published tables checked against their declared contracts
(``contracts.py``), with the metadata the UI shows. The asset returns them; the IO
manager writes them (``io/outputs.py``)."""

from typing import Any

import dagster as dg
import dataframely as dy
import polars as pl

from trial_outcomes.assets.metadata import column_schema, table_metadata
from trial_outcomes.contracts import OUTPUT_BY_FILE, with_declared_text
from trial_outcomes.io.outputs import Table, ToPublish
from trial_outcomes.io.validation import repeated_keys
from trial_outcomes.runspec import RunSpec

CONTRACT_CHECK = "output_contract"


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
        # the usual case, a table that holds, is checked without copying it (``filter`` keeps
        # the valid rows: a second ADAE at a million subjects); the failures are counted after
        if _holds(frame.select(expected), schema):
            return []
        _, failures = schema.filter(with_declared_text(frame.select(expected)), cast=False)
    except Exception as exc:
        return [str(exc).splitlines()[0]]
    return [f"{rule}: {n} row(s)" for rule, n in sorted(failures.counts().items())]


def _holds(frame: pl.DataFrame, schema: type[dy.Schema]) -> bool:
    """``schema.is_valid(frame)``, its primary key checked by the keys' hashes
    (``io.validation.repeated_keys``): dataframely's rule, the key's rows made into one
    value each and counted, held 1.5 GB for the 4.7 million listed events of a million
    subjects and 1.6 GB for ADRS, where the hashes take 0.1 GB. The other rules are
    dataframely's own, evaluated as ``is_valid`` does (``tests/assets/test_contract_check.py``
    holds the two to the same answers), by polars' streaming engine over the columns held
    as categories made text (``contracts.with_declared_text``) a batch at a time."""
    from dataframely._match_to_schema import match_to_schema
    from dataframely._plugin import all_rules
    from dataframely._rule import with_evaluation_rules
    from dataframely.exc import SchemaError

    key = schema.primary_key()
    if key and not repeated_keys(frame, key).is_empty():
        return False
    rules = {name: rule for name, rule in schema._validation_rules(with_cast=False).items() if name != "primary_key"}
    checked = with_declared_text(frame.lazy()).pipe(match_to_schema, schema, casting="none")
    try:
        if not rules:
            return bool(checked.select(pl.lit(True)).collect().item())
        query = checked.pipe(with_evaluation_rules, rules).select(all_rules(rules.keys()))
        return bool(query.collect(engine="streaming").item())
    except SchemaError:  # a column of another type (``cast=False``): not valid, as ``is_valid`` says
        return False


def checked_table(spec: RunSpec, file: str, frame: pl.DataFrame, schema: type[dy.Schema] | None = None) -> Table:
    """``frame`` as the table of ``file``, with its contract (the plan's landmarks and
    subgroups decide some columns) and what breaks it."""
    if schema is None:
        schema = OUTPUT_BY_FILE[file].schema_for(spec.plan.landmark_months, spec.plan.subgroups)
    return Table(frame, schema, tuple(contract_problems(frame, schema)))


def table_meta(table: Table) -> dict[str, Any]:
    """The UI's row count, preview and column schema of a published table."""
    shown = table.frame if table.problems else table.frame.select(table.schema.column_names())  # as written
    return {**table_metadata(shown), "dagster/column_schema": column_schema(table.schema)}


def published(
    asset: str,
    value: Any,
    spec: RunSpec,
    files: dict[str, pl.DataFrame],
    metadata: dict[str, Any] | None = None,
    shown: str | None = None,
) -> tuple[dg.Output, dg.AssetCheckResult]:
    """The asset's output (``value`` for the steps after it, and ``files`` for the IO
    manager to write from their contracts) with the UI metadata of the table ``shown``
    (the first by default), and the blocking contract check over those tables."""
    tables = {file: checked_table(spec, file, frame) for file, frame in files.items()}
    main = tables[shown or next(iter(tables))]
    output = dg.Output(ToPublish(value, tables), metadata={**table_meta(main), **(metadata or {})})
    return output, contract_result(asset, {file: list(t.problems) for file, t in tables.items()})


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
