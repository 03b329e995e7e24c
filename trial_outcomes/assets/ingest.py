"""Raw layer: one asset per record type, each with a blocking schema check."""

from __future__ import annotations

import dagster as dg

from trial_outcomes.assets.metadata import problems_check, table_metadata
from trial_outcomes.assets.shared import DATA_CUTS, DropSettings
from trial_outcomes.errors import DataDropError
from trial_outcomes.io.parse import parse_records
from trial_outcomes.io.readers import empty_raw_frame, find_file, read_raw
from trial_outcomes.io.records import RawRecords
from trial_outcomes.schema import SCHEMAS, RecordSchema


def _raw_asset(schema: RecordSchema) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", schema.record])

    @dg.asset(
        partitions_def=DATA_CUTS,
        key=key,
        group_name="ingest",
        code_version="1",
        description=(
            f"Every row of `{schema.record}` (.csv, .xlsx or .parquet) as text, with its source file, "
            "row number and the file's SHA-256, and typed by its schema. Required file."
            if schema.required_file
            else f"Every row of the optional `{schema.record}` file as text and typed, with provenance; empty if absent."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                "schema_conformance",
                asset=key,
                blocking=True,
                description="Every value has its declared type, code and range (data-contract.md section 1).",
            )
        ],
    )
    def raw(settings: DropSettings):
        try:
            path = find_file(settings.data_path, schema)
            if path is None:
                frame, facts = empty_raw_frame(schema), {"file": "(absent)", "rows": 0}
            else:
                frame, facts = read_raw(path, schema)
        except DataDropError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        typed, problems = parse_records(frame, schema)
        value = RawRecords(text=frame, typed=typed, file=path.name if path else None, sha256=facts.get("sha256"))
        metadata = {**table_metadata(frame), **{k: str(v) for k, v in facts.items() if k != "rows"}}
        yield dg.Output(value, metadata=metadata)
        yield problems_check("schema_conformance", problems, f"{schema.record}: types, codes and ranges")

    return raw


RAW_ASSETS = [_raw_asset(schema) for schema in SCHEMAS.values()]
