"""The validated drop: typed records with the cross-file checks, and the records at the cut."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from trial_outcomes.analysis.cut import records_at_cut
from trial_outcomes.analysis.deaths import cause_category_from_text, death_details
from trial_outcomes.analysis.terms import counted_spellings, is_crs, syndrome
from trial_outcomes.assets.metadata import problems_check, problems_text
from trial_outcomes.assets.shared import DROP_FINGERPRINT_TAG, TRIGGER_TAG, Run, code_version, cut_asset
from trial_outcomes.errors import DataDropError
from trial_outcomes.io import validation
from trial_outcomes.io.publishing import PublishRefused, plan_publication
from trial_outcomes.io.readers import read_drop_info
from trial_outcomes.io.records import Frames, RawRecords, TrialDrop, drop_fingerprint
from trial_outcomes.io.validation import cut_in_drop, latest_record
from trial_outcomes.reporting.content import subjects_named
from trial_outcomes.schema import SCHEMAS
from trial_outcomes.text import first_of

DROP_KEY = dg.AssetKey("trial_drop")
#: bytes of records the validation and the cut hold at once; a record type read again when asked
RECORDS_HELD_BYTES = 512 * 2**20
Rule = Callable[[Mapping[str, pl.DataFrame]], pl.DataFrame]
RULES: dict[str, tuple[Rule, str]] = {
    "unique_keys": (
        validation.unique_keys,
        "Each record's key is unique in its file; no two subject ids differ only in letter case",
    ),
    "subjects_enrolled": (validation.orphan_records, "Every record's subject is in enrolment"),
    "date_order": (
        validation.date_order,
        "Dates are in clinical order (follow-up events included); nothing but the death after a death",
    ),
    "dependent_values": (
        validation.dependent_values,
        "Values that depend on other records: cause of death, ICANS instrument by age, the apheresis file "
        "against the infusions, laboratory units and ceilings, RCL results",
    ),
}


#: the drop's warnings (queries, never refusals), each check's finding said by this text, in this order
WARNINGS = {
    "no_assessment_after_withdrawal": "assessments after a withdrawal or a loss to follow-up, contacts after a loss",
    "latest_date_plausible": "the drop's latest date, and its extraction date",
    "one_spelling_per_value": "AE terms, SOCs and sites written more than one way, each counted under one spelling",
    "adverse_events_current": (
        "infusions followed 30 days, or dead, with no adverse event since (an AE export older than the others?)"
    ),
    "early_deaths_have_fatal_ae": (
        "deaths within the safety rule's window, not from the leukaemia, CRS or ICANS, with no treatment-emergent "
        "grade-5 adverse event (counted by no stopping rule)"
    ),
    "crs_resolved": (
        f"CRS adverse events lasting, or left open while followed, more than {validation.CRS_OPEN_DAYS} days (a "
        "treated CRS masks the fever of its monitoring days to its end, to the cut while open)"
    ),
    "new_therapy_plausible": (
        "new therapies naming supportive care (a treatment of CRS or ICANS, immunoglobulin, a growth factor, "
        "prophylaxis, a transfusion, an anti-infective) or a transplant, or before the day-28 response window or a "
        "remission assessed in it (each ends the treatment-emergent window and response attribution)"
    ),
    "hsct_plausible": (
        "HSCTs before the day-28 response window or a remission assessed in it (each ends response attribution: "
        "the remission counts for nothing)"
    ),
    "relapse_recorded": (
        "follow-up records (a new therapy, a contact, a loss, a withdrawal, an HSCT) or long-term events whose text "
        "names a relapse for a subject with no RELAPSE assessment (counted by no relapse endpoint)"
    ),
    "rule_toxicity_before_other_therapy": (
        "grade >= 4 CRS or ICANS, related fatal adverse events or deaths from CRS or ICANS on or after a first HSCT "
        "or new therapy (counted by no stopping rule)"
    ),
    "awaiting_infusion_plausible": (
        f"subjects awaiting infusion more than {validation.AWAITING_INFUSION_DAYS} days after enrolment with nothing "
        "recorded to say why (pending, out of the intention-to-treat denominator)"
    ),
    "malignancy_category_plausible": (
        "long-term events whose detail names a malignancy of another category (a SECONDARY_MALIGNANCY naming a T-cell "
        "malignancy or the trial's own leukaemia coming back, a new disorder naming a malignancy)"
    ),
    "lab_units_plausible": "lab tests whose median, over the file or from a quarter on, reads in another unit or "
    "measure than the contract's",
    "transgene_after_infusion": "CAR transgene quantified in a subject never infused or before the first infusion",
    "not_infused_death_recorded": "subjects not infused because of death by the apheresis file, with no death in "
    "follow-up",
    "death_recorded": "follow-up records other than a death, or long-term events, whose text names a death, for a "
    "subject with no death in follow-up",
    "enrolment_plausible": "enrolment rows the same as another subject's but for the id, or relapsed or refractory "
    "entrants with marrow blasts below 5 % (percentages written as fractions?)",
    "ae_entered_once": "adverse events the same as another in subject, term, onset date and grade under another "
    "ae_id (both counted)",
    "assessments_plausible": "disease assessments whose date contradicts the visit schedule or the day-28 window, or "
    "whose values contradict the response (relapse values on a remission, a remission with 5 % MRD or more, a marrow "
    "relapse with less)",
}


@cut_asset(
    key=DROP_KEY,
    group="validation",
    version=code_version("assets/validation.py"),
    kinds={"polars"},
    domain="validation",
    published=False,
    ins={record: dg.AssetIn(key=dg.AssetKey(["raw", record])) for record in SCHEMAS},
    check_specs=[
        *[
            dg.AssetCheckSpec(name, asset=DROP_KEY, blocking=True, description=text)
            for name, (_, text) in RULES.items()
        ],
        dg.AssetCheckSpec(
            "required_rows",
            asset=DROP_KEY,
            blocking=True,
            description="Required files have rows while subjects are enrolled, unless drop_info.toml "
            "says a file is empty on purpose",
        ),
        dg.AssetCheckSpec(
            "known_files",
            asset=DROP_KEY,
            blocking=False,
            description="The drop folder holds only the data contract's files and drop_info.toml (any other "
            "file is never read: a death in followup_update.csv would be lost)",
        ),
        dg.AssetCheckSpec(
            "no_assessment_after_withdrawal",
            asset=DROP_KEY,
            blocking=False,
            description="No disease assessment after the subject's withdrawal or loss to follow-up (a "
            "withdrawal dated too early takes an assessed subject out of the efficacy set), and no contact after a "
            "loss (the subject was not lost)",
        ),
        dg.AssetCheckSpec(
            "latest_date_plausible",
            asset=DROP_KEY,
            blocking=False,
            description=f"The drop's latest date is within {validation.ISOLATED_LATEST_DAYS} days of the next "
            "latest (one mistyped year would move a default cut), and drop_info.toml's extracted_on within "
            f"{validation.EXTRACTION_GAP_DAYS} days after it (it makes the export complete to the cut)",
        ),
        dg.AssetCheckSpec(
            "one_spelling_per_value",
            asset=DROP_KEY,
            blocking=False,
            description="Each AE term, SOC and site is written one way: rows whose value differs from another only in "
            "case, spacing, punctuation, accents, British English or '&' for 'and' in a MedDRA name are listed, "
            "and counted under one spelling",
        ),
        dg.AssetCheckSpec(
            "adverse_events_current",
            asset=DROP_KEY,
            blocking=False,
            description=f"The AE export is as current as the others: fewer than {validation.STALE_AE_SUBJECTS} "
            f"subjects followed {validation.AE_WINDOW_DAYS} days after an infusion later than the export's latest "
            f"onset, and fewer than {validation.RECENT_WITHOUT_AE} of the {validation.RECENT_SUBJECTS} most "
            f"recently infused, without an adverse event in their first {validation.AE_WINDOW_DAYS} days",
        ),
        dg.AssetCheckSpec(
            "early_deaths_have_fatal_ae",
            asset=DROP_KEY,
            blocking=False,
            description="Each death within the safety rule's window after the first infusion (before any HSCT or "
            "new therapy), not from the leukaemia, CRS or ICANS, has a treatment-emergent grade-5 adverse event: the "
            "safety stopping rule counts an early death only as a related grade-5 treatment-emergent AE or a death "
            "from CRS or ICANS",
        ),
        dg.AssetCheckSpec(
            "crs_resolved",
            asset=DROP_KEY,
            blocking=False,
            description=f"Each CRS adverse event resolves within {validation.CRS_OPEN_DAYS} days of its onset, or "
            "has a resolution date once its subject has been followed that long: a treated CRS masks the fever of "
            "its monitoring days to its end, to the cut while open",
        ),
        dg.AssetCheckSpec(
            "new_therapy_plausible",
            asset=DROP_KEY,
            blocking=False,
            description="Each subject's first new therapy (before any HSCT) names no supportive care (a treatment "
            "of CRS or ICANS, immunoglobulin, a growth factor, prophylaxis, a transfusion, an anti-infective) and no "
            f"transplant, and comes on or after day {validation.NEW_THERAPY_QUERIED_BEFORE_DAY}: a new therapy ends "
            "the treatment-emergent window and response attribution on its day",
        ),
        dg.AssetCheckSpec(
            "hsct_plausible",
            asset=DROP_KEY,
            blocking=False,
            description=f"Each subject's first HSCT (before any new therapy) comes on or after day "
            f"{validation.NEW_THERAPY_QUERIED_BEFORE_DAY}: an HSCT ends response attribution on its day",
        ),
        dg.AssetCheckSpec(
            "relapse_recorded",
            asset=DROP_KEY,
            blocking=False,
            description="A new therapy or a long-term event whose detail names a relapse follows a RELAPSE "
            "assessment of its subject: the relapse endpoints take a relapse from a RELAPSE assessment only",
        ),
        dg.AssetCheckSpec(
            "rule_toxicity_before_other_therapy",
            asset=DROP_KEY,
            blocking=False,
            description="No grade >= 4 CRS or ICANS, related grade-5 adverse event within the safety rule's window, "
            "or death from CRS or ICANS falls on or after its subject's first HSCT or new therapy: the therapy ends "
            "the treatment-emergent window, and the safety stopping rule counts none of them",
        ),
        dg.AssetCheckSpec(
            "awaiting_infusion_plausible",
            asset=DROP_KEY,
            blocking=False,
            description=f"No subject enrolled more than {validation.AWAITING_INFUSION_DAYS} days before the cut "
            "awaits infusion with nothing recorded to say why (no infusion, death, withdrawal, loss to follow-up, "
            "failed product or reason not infused): such a subject is pending, out of the intention-to-treat "
            "denominator",
        ),
        dg.AssetCheckSpec(
            "malignancy_category_plausible",
            asset=DROP_KEY,
            blocking=False,
            description="No long-term event coded SECONDARY_MALIGNANCY names a T-cell malignancy (counted apart, "
            "an alert) or the trial's own leukaemia coming back (a relapse) in its detail",
        ),
        dg.AssetCheckSpec(
            "lab_units_plausible",
            asset=DROP_KEY,
            blocking=False,
            description="The median of the labs file's values of a test is at least "
            + ", ".join(f"{v:g} ({t})" for t, v in validation.LAB_MEDIAN_LEAST.items())
            + " and at most "
            + ", ".join(f"{v:g} ({t})" for t, v in validation.LAB_MEDIAN_MOST.items())
            + " in the contract's units: lower, the file may be in a unit that reads lower (mmol/L, 10^4/uL, g/dL); "
            "higher, another measure (a neutrophil percentage)",
        ),
        dg.AssetCheckSpec(
            "transgene_after_infusion",
            asset=DROP_KEY,
            blocking=False,
            description="CAR transgene is quantified only in infused subjects, on or after their first infusion",
        ),
        dg.AssetCheckSpec(
            "not_infused_death_recorded",
            asset=DROP_KEY,
            blocking=False,
            description="A subject the apheresis file says was not infused because of death has the death in "
            "follow-up, with its date and cause (the deaths table counts no other)",
        ),
        dg.AssetCheckSpec(
            "death_recorded",
            asset=DROP_KEY,
            blocking=False,
            description="A long-term event whose detail names a death is of a subject whose death follow-up records, "
            "with its date and cause (overall survival and the deaths table count no other)",
        ),
        dg.AssetCheckSpec(
            "enrolment_plausible",
            asset=DROP_KEY,
            blocking=False,
            description="No enrolment row is the same as another subject's in every value but the id (one child "
            "registered twice), and every subject enrolled relapsed or refractory without extramedullary disease "
            f"has marrow blasts of {validation.MORPHOLOGIC_BLASTS_LEAST:g} % or more (below, a percentage written as "
            "a fraction, or an MRD-persistent entrant)",
        ),
        dg.AssetCheckSpec(
            "ae_entered_once",
            asset=DROP_KEY,
            blocking=False,
            description="No adverse event is the same as another in subject, term, onset date and grade under "
            "another ae_id (entered twice, both would be counted)",
        ),
        dg.AssetCheckSpec(
            "assessments_plausible",
            asset=DROP_KEY,
            blocking=False,
            description="Every scheduled visit's assessment is dated in the order of the schedule and a day-28 "
            "visit within the day-28 response window; no relapse values on an assessment that is no relapse, no "
            "remission with an MRD of 5 % or more, no marrow relapse with an MRD below it (fractions?)",
        ),
    ],
)
def trial_drop(context: AssetExecutionContext, settings: Run, **raw: RawRecords) -> Iterator[Any]:
    """The drop typed by its schemas, with its data cut (the partition key) and its
    SHA-256. Refuses, before any analysis: a cut outside the drop's dates, files
    that changed since the run was requested, and a cut already published from
    another drop (unless the run supersedes it with a reason). Blocking checks:
    unique keys, enrolled subjects, rows in required files, date order, values
    that depend on another column."""
    # each record type read from its stored file when a check reads it, and held while
    # those read last fit in RECORDS_HELD_BYTES (a million subjects' records are 3.9 GB)
    records = Frames({record: raw[record].frames.entry("typed") for record in SCHEMAS}, held_bytes=RECORDS_HELD_BYTES)
    files = {r.file: r.sha256 for r in raw.values() if r.file and r.sha256}
    try:
        info = read_drop_info(settings.data_dir)
    except DataDropError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    info_path = settings.data_dir / "drop_info.toml"
    if info_path.is_file():
        from trial_outcomes.io.records import drop_files

        files["drop_info.toml"] = drop_files(settings.data_dir)["drop_info.toml"]
    fingerprint = drop_fingerprint(files)
    expected = context.run.tags.get(DROP_FINGERPRINT_TAG)
    if expected and expected != fingerprint:
        raise dg.Failure(
            description=(
                f"the files of drop {settings.data_dir.name} changed after the run was requested "
                f"(drop SHA-256 {expected[:16]}... then, {fingerprint[:16]}... now); nothing is published"
            ),
            allow_retries=False,
        )
    missing = {
        tag: value
        for tag, value in ((DROP_FINGERPRINT_TAG, fingerprint), (TRIGGER_TAG, "ui"))
        if tag not in context.run.tags
    }
    if missing:  # a run launched from the UI carries the drop it read and its launcher too (issue 22)
        context.instance.add_run_tags(context.run.run_id, missing)
    file_names = {record: r.file for record, r in raw.items()}
    empty = validation.empty_required_files(records, file_names, info.empty_files)
    if empty.height:  # say this first: an empty file also makes a cut look outside the drop
        raise dg.Failure(
            description="; ".join(f"{r['file']}: {r['rule']}" for r in empty.iter_rows(named=True)), allow_retries=False
        )
    late = validation.dates_after_extraction(records, info.extracted_on)
    if late.height:  # before the cut: a default cut is the latest date, one of these
        raise dg.Failure(description=problems_text("records dated after the extraction", late), allow_retries=False)
    problem = cut_in_drop(settings.cut, records, info.extracted_on)
    if problem:
        raise dg.Failure(description=problem, allow_retries=False)
    findings = {name: rule(records) for name, (rule, _) in RULES.items()}
    try:
        publication = plan_publication(settings.out_dir, settings.cut_key, fingerprint, settings.supersede_reason)
    except PublishRefused as exc:  # said with the drop's own faults, which --supersede would not mend
        faults = [problems_text(RULES[name][1], found) for name, found in findings.items() if found.height]
        also = "\n\nThis drop would be refused anyway: " + "\n".join(faults) if faults else ""
        raise dg.Failure(description=str(exc) + also, allow_retries=False) from None
    if settings.supersede_reason.strip():  # said now, not after the whole run (a red team's reason named one)
        named = subjects_named(settings.supersede_reason, records["enrolment"]["subject_id"].to_list())
        if named:
            raise dg.Failure(
                description=f"the --supersede reason names subject(s) {first_of(named, 5)}: the reason is "
                "printed in the open report, which names no subject; give it without subject identifiers "
                "(the closed report's listings name them)",
                allow_retries=False,
            )
    absent = {record: r.absent_columns for record, r in raw.items() if r.absent_columns}
    for record, blank in validation.blank_flags(records).items():  # blank on every row: as if absent
        absent[record] = (*absent.get(record, ()), *blank)
    unread = validation.unknown_files(settings.data_dir)
    dropped = {r.file or record: r.dropped_columns for record, r in raw.items() if r.dropped_columns}
    spellings = counted_spellings(records)
    latest = latest_record(records)
    # the last day the drop shows for the cut (TrialDrop.seen_to, before there is one)
    seen_to = settings.cut if info.extracted_on is not None or latest is None else min(settings.cut, latest)
    causes = death_details(records).select(
        "subject_id", "DTHCAT", cause_category_from_text(pl.col("DTHCAUS")).alias("TEXTCAT")
    )
    window = settings.plan.safety.window_days
    warned = {  # the drop's warning checks (validation.QUERY_SENTENCES, WARNINGS) and their findings
        "no_assessment_after_withdrawal": validation.assessments_after_withdrawal(records),
        "latest_date_plausible": validation.latest_date_queried(records, info.extracted_on),
        "one_spelling_per_value": validation.spelling_variants(records, spellings),
        "adverse_events_current": (  # a drop saying it has no AEs (drop_info.toml empty_files) is taken at its word
            validation.adverse_events_current(records, seen_to)
            if "adverse_events" not in info.empty_files
            else validation.empty_problems()
        ),
        "early_deaths_have_fatal_ae": validation.early_deaths_without_fatal_ae(records, seen_to, window, causes),
        "crs_resolved": validation.crs_left_open(records, seen_to, is_crs),
        "new_therapy_plausible": validation.new_therapy_queried(records, seen_to),
        "hsct_plausible": validation.early_hsct_queried(records, seen_to),
        "relapse_recorded": validation.relapse_not_assessed(records, seen_to),
        "rule_toxicity_before_other_therapy": validation.toxicity_after_other_therapy(
            records,
            seen_to,
            window,
            lambda term: syndrome(term).is_not_null(),  # CRS or ICANS, each distinct term read once
            causes.select("subject_id", "DTHCAT"),
        ),
        "awaiting_infusion_plausible": validation.awaiting_infusion_queried(records, seen_to),
        "malignancy_category_plausible": validation.malignancy_category_queried(records),
        "lab_units_plausible": validation.lab_units_queried(records),
        "transgene_after_infusion": validation.transgene_before_infusion(records),
        "not_infused_death_recorded": validation.death_only_in_apheresis(records),
        "death_recorded": validation.death_not_recorded(records, seen_to),
        "enrolment_plausible": validation.enrolment_queried(records),
        "ae_entered_once": validation.ae_entered_twice(records),
        "assessments_plausible": validation.assessments_queried(records),
    }
    drop = TrialDrop(
        records=records,
        cut=settings.cut,
        files=dict(sorted(files.items())),
        absent=absent,
        latest_record=latest,
        extracted_on=info.extracted_on,
        queries=validation.drop_queries(unread, dropped, warned),
        spellings=spellings,
    )
    yield dg.Output(
        drop,
        metadata={
            "data cut": settings.cut_key,
            "data drop": settings.data_dir.resolve().name,
            "drop sha256": fingerprint,
            "subjects enrolled": records["enrolment"].height,
            "publication": (
                f"supersedes {publication.previous_version} (drop {publication.previous_drop_sha256})"
                if publication.supersedes
                else "a new cut, or the drop already published for it"
            ),
            **{f"rows: {r}": records.height(r) for r in records},
        },
    )
    for name, (_, text) in RULES.items():
        yield problems_check(name, findings[name], text)
    yield problems_check("required_rows", empty, "rows in required files")
    yield dg.AssetCheckResult(
        check_name="known_files",
        passed=not unread,
        severity=dg.AssetCheckSeverity.WARN,
        description=validation.unread_files_finding(unread) if unread else "only the data contract's files",
        metadata={"files not read": len(unread)},
    )
    for name, found in warned.items():
        yield problems_check(name, found, WARNINGS[name], severity=dg.AssetCheckSeverity.WARN)


#: the decorator of the unpublished assets derived from the validated drop
_derived_from_the_drop = cut_asset(
    group="validation",
    version=code_version("assets/validation.py"),
    kinds={"polars"},
    domain="validation",
    published=False,
)


@_derived_from_the_drop
def cut_records(trial_drop: TrialDrop) -> dg.Output[TrialDrop]:
    """The drop as known at the data cut: records dated after it ignored, AEs
    resolving after it ongoing, subjects enrolled after it left out of every
    record type. Every output after this step sees only these records. A record
    type the cut keeps whole is passed on as the file it was stored in; one at a
    time is read (a million subjects' records are 3.9 GB)."""
    stored = trial_drop.frames
    drop = Frames({r: stored.entry(r) for r in stored}, held_bytes=RECORDS_HELD_BYTES)
    records: dict[str, Any] = {}
    dropped: dict[str, int] = {}
    for record, frame, whole in records_at_cut(drop, trial_drop.cut):
        source = drop.source(record)
        records[record] = source if whole and source is not None else frame
        dropped[record] = drop.height(record) - frame.height
    at_cut = Frames(records)
    return dg.Output(
        replace(trial_drop, records=at_cut),
        metadata={
            "data cut": str(trial_drop.cut),
            "subjects at the cut": at_cut.height("enrolment"),
            **{f"rows after the cut: {r}": n for r, n in dropped.items() if n},
        },
    )


@_derived_from_the_drop
def drop_identity(cut_records: TrialDrop) -> dg.Output[TrialDrop]:
    """The drop without its records: the files and their SHA-256, the cut, the optional
    columns and files it lacks, its latest record and extraction date. The figures, the
    report and the publisher read this, so the records leave memory once the last
    derivation has them (a million subjects' records were held to the end of the run)."""
    identity = replace(cut_records, records={})
    return dg.Output(identity, metadata={"data cut": str(identity.cut), "drop sha256": identity.fingerprint})
