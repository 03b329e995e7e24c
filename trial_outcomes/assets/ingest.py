"""Raw layer: one asset per record type, each with a blocking schema check and a
warning that names any column outside the data contract (dropped unread)."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from trial_outcomes.assets.metadata import problems_check, table_metadata
from trial_outcomes.assets.shared import Run, code_version, cut_asset
from trial_outcomes.errors import DataDropError
from trial_outcomes.io.parse import parse_records
from trial_outcomes.io.readers import empty_raw_frame, find_file, read_raw
from trial_outcomes.io.records import RawRecords
from trial_outcomes.io.validation import dropped_columns_finding
from trial_outcomes.schema import SCHEMAS, RecordSchema


def _describe(schema: RecordSchema) -> str:
    what = "Required file." if schema.required_file else "Optional file: empty when the drop does not have it."
    return (
        f"Every row of `{schema.record}` (.csv, .xlsx or .parquet): the contract's columns as text and typed "
        f"by the schema, with the source file, row and the file's SHA-256. {what} Columns outside the data "
        "contract are dropped unread (never stored, previewed or logged)."
    )


def _raw_asset(schema: RecordSchema) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", schema.record])

    @cut_asset(
        key=key,
        group="ingest",
        version=code_version("assets/ingest.py"),
        description=_describe(schema),
        kinds={"polars", "csv"},
        domain="ingest",
        published=False,
        check_specs=[
            dg.AssetCheckSpec(
                "schema_conformance",
                asset=key,
                blocking=True,
                description="Every value has its declared type, code and range (docs/data-contract.md)",
            ),
            dg.AssetCheckSpec(
                "known_columns",
                asset=key,
                blocking=False,
                description="No column outside the data contract (such columns are dropped unread)",
            ),
        ],
    )
    def raw(settings: Run) -> Iterator[Any]:
        try:
            path = find_file(settings.data_dir, schema)
            raw_file = read_raw(path, schema) if path is not None else None
        except DataDropError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        frame = raw_file.frame if raw_file else empty_raw_frame(schema)
        typed, problems = parse_records(frame, schema)
        absent = raw_file.absent_columns if raw_file else tuple(schema.column_names)
        dropped = raw_file.dropped_columns if raw_file else ()
        value = RawRecords.of(
            typed,
            file=path.name if path else None,
            sha256=raw_file.sha256 if raw_file else None,
            absent_columns=absent,
            dropped_columns=dropped,
        )
        facts = {k: str(v) for k, v in raw_file.facts.items() if k != "rows"} if raw_file else {"file": "(absent)"}
        if raw_file and absent:
            facts["optional columns absent"] = ", ".join(absent)
        yield dg.Output(value, metadata={**table_metadata(frame.drop("_source_sha256")), **facts})
        yield problems_check("schema_conformance", problems, f"{schema.record}: types, codes and ranges")
        yield dg.AssetCheckResult(
            check_name="known_columns",
            passed=not dropped,
            severity=dg.AssetCheckSeverity.WARN,
            description="every column is in the data contract"
            if not dropped
            else dropped_columns_finding(path.name if path else schema.record, dropped),
        )

    return raw


RAW_ASSETS = [_raw_asset(schema) for schema in SCHEMAS.values()]
