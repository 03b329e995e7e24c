"""Validated drop: typed records with the cross-file checks, and eligibility."""

from __future__ import annotations

import dagster as dg

from trial_outcomes.analysis import eligibility as elig
from trial_outcomes.assets.files import save_table
from trial_outcomes.assets.metadata import listing_check, problems_check
from trial_outcomes.assets.shared import DATA_CUTS, DROP_FINGERPRINT_TAG, DropSettings
from trial_outcomes.dates import parse_cut
from trial_outcomes.io import validation
from trial_outcomes.io.records import RawRecords, TrialDrop, drop_fingerprint
from trial_outcomes.schema import SCHEMAS

DROP_KEY = dg.AssetKey("trial_drop")
RULES = {
    "unique_keys": (validation.duplicate_keys, "Each record's key is unique in its file"),
    "subjects_enrolled": (validation.orphan_records, "Every record's subject is in enrolment"),
    "date_order": (validation.date_order, "Dates are in clinical order; nothing but the death after a death"),
}


@dg.asset(
    partitions_def=DATA_CUTS,
    key=DROP_KEY,
    group_name="validation",
    code_version="1",
    ins={record: dg.AssetIn(key=dg.AssetKey(["raw", record])) for record in SCHEMAS},
    check_specs=[
        dg.AssetCheckSpec(name, asset=DROP_KEY, blocking=True, description=text) for name, (_, text) in RULES.items()
    ],
)
def trial_drop(
    context,
    settings: DropSettings,
    enrolment: RawRecords,
    eligibility: RawRecords,
    infusion: RawRecords,
    assessments: RawRecords,
    followup: RawRecords,
    adverse_events: RawRecords,
    crs_monitoring: RawRecords,
):
    """The drop typed by its schemas, with its data cut (the partition key).
    Blocking checks: unique keys, enrolled subjects, date order."""
    raw = {
        "enrolment": enrolment,
        "eligibility": eligibility,
        "infusion": infusion,
        "assessments": assessments,
        "followup": followup,
        "adverse_events": adverse_events,
        "crs_monitoring": crs_monitoring,
    }
    records = {record: raw[record].typed for record in SCHEMAS}
    try:
        cut = parse_cut(context.partition_key)
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    files = {r.file: r.sha256 for r in raw.values() if r.file}
    fingerprint = drop_fingerprint(files)
    expected = context.run.tags.get(DROP_FINGERPRINT_TAG)
    if expected and expected != fingerprint:
        raise dg.Failure(
            description=(
                f"the files of drop {settings.data_path.name} changed after the new-drop sensor saw them "
                f"(drop SHA-256 {expected[:16]}... then, {fingerprint[:16]}... now); nothing is published. "
                "The sensor requests a run of the new files once they stop changing."
            ),
            allow_retries=False,
        )
    drop = TrialDrop(records=records, cut=cut, files=dict(sorted(files.items())))
    yield dg.Output(
        drop,
        metadata={
            "data cut": str(cut),
            "data drop": settings.data_path.resolve().name,
            "drop sha256": fingerprint,
            "subjects enrolled": records["enrolment"].height,
            **{f"rows: {r}": f.height for r, f in records.items()},
        },
    )
    for name, (rule, text) in RULES.items():
        yield problems_check(name, rule(records), text)


@dg.asset(
    partitions_def=DATA_CUTS,
    group_name="validation",
    code_version="1",
    check_specs=[
        dg.AssetCheckSpec(
            "checklist_agrees",
            asset="eligibility_deviations",
            blocking=False,
            description="Computed eligibility agrees with the investigator's checklist",
        )
    ],
)
def eligibility_deviations(settings: DropSettings, trial_drop: TrialDrop):
    """Each computable criterion evaluated from enrolment and compared with the checklist;
    every disagreement, failure or missing criterion is listed (protocol.md). A
    deviation does not stop the run: infused subjects stay in the safety set."""
    table = elig.eligibility_deviations(trial_drop["enrolment"], trial_drop["eligibility"])
    meta = save_table(settings, str(trial_drop.cut), "eligibility_deviations.csv", table)
    yield dg.Output(table, metadata={**meta, "subjects": table["subject_id"].n_unique()})
    subjects = sorted(table["subject_id"].unique().to_list())
    yield listing_check(
        "checklist_agrees",
        table,
        "no deviations"
        if table.is_empty()
        else f"{len(subjects)} subject(s) with eligibility findings: " + ", ".join(subjects[:30]),
    )
