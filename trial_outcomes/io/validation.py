"""Rules that span rows and files: keys, identifiers, orphans, empty files, date
order, values that depend on another column.

Each rule returns a problems frame (``file, row, column, value, subject, rule``);
an empty frame means the rule holds. ``records`` maps a record type to its
typed frame (from ``io.parse``), which carries ``_source_file`` and
``_source_row`` so every finding points back into the drop, and names the
subject so that a data manager can raise a query.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import polars as pl

from trial_outcomes.dates import (
    DAYS_PER_MONTH,
    ICE_FROM_AGE,
    RESPONSE_WINDOW_FIRST_DAY,
    RESPONSE_WINDOW_LAST_DAY,
    age_bounds,
    written_in_completed_years,
)
from trial_outcomes.io.parse import empty_problems
from trial_outcomes.io.readers import EXTENSIONS
from trial_outcomes.io.records import DropQuery, Frames
from trial_outcomes.schema import LAB_UNITS, SCHEMAS
from trial_outcomes.text import first_of, printable, skeleton, spelling_key, term_words

Records = Mapping[str, pl.DataFrame]


def _problems(found: pl.DataFrame, column: str, value: pl.Expr, rule: pl.Expr | str) -> pl.DataFrame:
    rule_expr = pl.lit(rule) if isinstance(rule, str) else rule
    subject = pl.col("subject_id").cast(pl.String) if "subject_id" in found.columns else pl.lit(None, pl.String)
    return found.select(
        pl.col("_source_file").cast(pl.String).alias("file"),
        pl.col("_source_row").cast(pl.Int64).alias("row"),
        pl.lit(column).alias("column"),
        value.cast(pl.String).alias("value"),
        subject.alias("subject"),
        rule_expr.cast(pl.String).alias("rule"),
    )


def _narrow(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """``columns`` of ``frame`` with what a finding names (file, row, subject): a join or a
    filter that keeps most rows then copies these, not the whole record (19 million
    checklist rows at a million subjects)."""
    wanted = ["subject_id", *columns, "_source_file", "_source_row"]
    return frame.select(list(dict.fromkeys(c for c in wanted if c in frame.columns)))


def _scan(records: Records, record: str) -> pl.LazyFrame:
    """A query of ``record``: of its stored file where it has one (``Frames.scan``), not loaded."""
    return records.scan(record) if isinstance(records, Frames) else records[record].lazy()


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The problems of ``frames`` by file, row and column; a cell's problems in the order
    of ``frames`` (polars keeps the order of rows that tie only when told to)."""
    frames = [f for f in frames if f.height]
    return pl.concat(frames).sort("file", "row", "column", maintain_order=True) if frames else empty_problems()


def duplicate_keys(records: Records) -> pl.DataFrame:
    """Every key in ``schema.key`` is unique within its file (e.g. one enrolment row per subject)."""
    out = []
    for record, frame in records.items():
        key = list(SCHEMAS[record].key)
        keyed = _narrow(frame, *key)
        if keyed.select(pl.any_horizontal(pl.col(k).is_null() for k in key).any()).item():
            keyed = keyed.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in key))
        # rows whose key is held more than once, then the first row of each such key
        repeated = repeated_keys(keyed, key)
        if repeated.is_empty():
            continue
        first = pl.col("_source_row").min().over(key)
        dup = repeated.with_columns(first.alias("_first")).filter(pl.col("_source_row") != pl.col("_first"))
        value = pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / ")
        rule = pl.format("duplicate key: the same {} is at row {}", pl.lit(" + ".join(key)), pl.col("_first"))
        out.append(_problems(dup, " + ".join(key), value, rule))
    return _concat(out)


def ae_entered_twice(records: Records) -> pl.DataFrame:
    """Each adverse event the same as an earlier row of the file in subject, term (its
    case, spacing and punctuation aside), onset date and grade, under another ``ae_id``:
    the same event entered twice, or two events the data manager should confirm. Both
    are counted (the event counts, a syndrome's duration, the listings): a red team's
    copy of a CRS under a new id made the AESI's CRS events 33 to 34 without a word.
    Worked example (test): S1's "CRS" grade 2 on 2021-01-22 as AE1, "crs" grade 2 that
    day as AE3: AE3 queried, naming AE1 and its row; a grade 3 that day, or the next
    day, is another event."""
    aes = records["adverse_events"]
    keyed = _narrow(aes, "ae_id", "term", "onset_date", "grade").with_columns(term_words(pl.col("term")).alias("_term"))
    key = ["subject_id", "_term", "onset_date", "grade"]
    repeated = repeated_keys(keyed.drop_nulls(key), key)
    if repeated.is_empty():
        return empty_problems()
    first = pl.col("_source_row").min().over(key)
    marked = repeated.with_columns(
        first.alias("_first"), pl.col("ae_id").sort_by("_source_row").first().over(key).alias("_first_id")
    )
    again = marked.filter(pl.col("_source_row") != pl.col("_first"))
    rule = pl.format(
        "the same subject, term, onset date and grade as ae_id {} at row {}: entered twice, or two events to "
        "confirm; both are counted (event counts, durations, listings)",
        pl.col("_first_id"),
        pl.col("_first"),
    )
    return _problems(again.sort("_source_row"), "ae_id", pl.col("ae_id"), rule)


def repeated_keys(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """The rows of ``frame`` whose ``key`` another row also holds. The keys' 64-bit hashes
    are sorted and neighbours compared; only rows whose hash repeats are compared by
    their keys. Hashing the keys into a table took 3 GB for the 19 million checklist
    rows of a million subjects; this takes a tenth of it."""
    import numpy as np

    hashed = pl.struct(key).hash()
    # sorted by polars (both cores): numpy's sort of the 7.6 million lab keys' hashes at
    # 100,000 subjects took 0.6 s, polars' 0.2 s, the same array
    ordered = frame.select(hashed.sort()).to_series().to_numpy()
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    if not twice.size:
        return frame.clear()
    suspects = frame.filter(hashed.is_in(pl.Series(np.unique(twice)).implode()))
    return suspects.filter(pl.struct(key).is_duplicated())


def case_twins(records: Records) -> pl.DataFrame:
    """Identifiers are case-sensitive, so ``BR-001`` and ``br-001`` would be two
    subjects; two enrolled ids that look alike (``text.skeleton``: differing only in
    letter case, in an invisible character or in a Cyrillic or Greek look-alike
    letter) are refused as a likely error."""
    enrol = records["enrolment"].filter(pl.col("subject_id").is_not_null())
    folded = pl.col("subject_id").map_elements(skeleton, return_dtype=pl.String)
    enrol = enrol.with_columns(folded.alias("_skeleton"))
    twins = enrol.filter(pl.col("subject_id").n_unique().over("_skeleton") > 1)
    first = pl.col("_source_row").min().over("_skeleton")
    later = twins.with_columns(first.alias("_first")).filter(pl.col("_source_row") != pl.col("_first"))
    rule = pl.format(
        "subject id looks like the one at row {} (it differs only in letter case or in look-alike characters)",
        pl.col("_first"),
    )
    return _concat([_problems(later, "subject_id", pl.col("subject_id"), rule)])


def orphan_records(records: Records) -> pl.DataFrame:
    """Every record's ``subject_id`` is an enrolled subject."""
    enrolled = records["enrolment"].select("subject_id").drop_nulls()
    out = []
    for record, frame in records.items():
        if record == "enrolment":
            continue
        orphans = _narrow(frame).filter(pl.col("subject_id").is_not_null()).join(enrolled, on="subject_id", how="anti")
        out.append(_problems(orphans, "subject_id", pl.col("subject_id"), "subject is not in enrolment"))
    return _concat(out)


def empty_required_files(
    records: Records, files: dict[str, str | None], declared_empty: tuple[str, ...]
) -> pl.DataFrame:
    """A required file, or an optional one the drop has, with a header and no rows while
    subjects are enrolled, is refused unless ``drop_info.toml`` lists it in
    ``empty_files`` (a header-only ``followup.csv`` once gave 100 % overall survival
    without a word; a header-only ``apheresis.csv`` would report nobody apheresed). An
    optional file the drop does not have is not empty: it is absent. A file listed in
    ``empty_files`` that has rows is refused too: the drop contradicts itself (a red
    team's listed ``adverse_events`` beside its rows, which also silenced the query on a
    stale AE export)."""
    enrolled = records["enrolment"].height
    rows = []

    def whole_file(record: str, rule: str, subject: str | None = None) -> None:
        rows.append(
            {"file": files.get(record) or f"{record}.csv", "row": None, "column": None, "value": None}
            | {"subject": subject, "rule": rule}
        )

    for record in declared_empty:
        if not SCHEMAS[record].required_file and files.get(record) is None:
            # a red team's empty_files = ["labs"] without a labs file published "the drop has none"
            # (not collected), where a header-only file gave tables of subjects without samples
            whole_file(
                record,
                f"drop_info.toml lists {record} in empty_files, but the drop has no {record} file: a record "
                f"collected without rows is its file with a header alone; if {record} is not collected, take it "
                "out of empty_files",
            )
        elif records[record].height:
            whole_file(
                record,
                f"drop_info.toml lists {record} in empty_files, but the file has {records[record].height} row(s): "
                f"if the rows are this export's, take {record} out of empty_files",
            )
    for record, schema in SCHEMAS.items():
        absent = not schema.required_file and files.get(record) is None
        if absent or record == "enrolment" or records[record].height or record in declared_empty:
            continue
        whole_file(
            record,
            f"file has a header but no rows while {enrolled} subject(s) are enrolled; if that is "
            f'true at this export, say so in drop_info.toml: empty_files = ["{record}"]',
        )
    infused = records["infusion"]["subject_id"].unique(maintain_order=True)
    # declared empty, the file present or not: an infusion needs a product, and the rule "an
    # infused subject has no row in the apheresis file" has no row to run on (a red team's drop
    # showed "Leukapheresis 0 (0.0%)" beside "Infused 56 (93.3%)")
    if "apheresis" in declared_empty and records["apheresis"].is_empty() and infused.len():
        whole_file(
            "apheresis",
            f"file has no rows while {infused.len()} subject(s) were infused ({', '.join(infused[:5])}"
            f"{', ...' if infused.len() > 5 else ''}), though drop_info.toml lists it in empty_files: every "
            "infused subject has an apheresis; give their rows, or, if apheresis is not collected, leave the "
            "file out of the drop and out of empty_files",
            infused[0],
        )
    return pl.DataFrame(rows, schema=empty_problems().schema) if rows else empty_problems()


def _order(frame: pl.DataFrame, earlier: str, later: str, column: str, rule: str, strict: bool = False) -> pl.DataFrame:
    bad = (pl.col(later) <= pl.col(earlier)) if strict else (pl.col(later) < pl.col(earlier))
    found = frame.filter(bad.fill_null(False))
    return _problems(found, column, pl.col(column), rule)


def date_order(records: Records) -> pl.DataFrame:
    """Consent <= enrolment <= lymphodepletion <= infusion; diagnosis <= enrolment;
    assessments after the first infusion; AE onset >= consent, resolution >= onset; follow-up events
    not before consent (death), enrolment (any) or the first infusion (HSCT, new
    therapy) of an infused subject; and nothing but the death itself dated after a
    death."""
    enr = records["enrolment"]
    inf = records["infusion"]
    first_inf = inf.group_by("subject_id").agg(pl.col("infusion_date").min().alias("_day0"))
    out = [
        _order(enr, "consent_date", "enrol_date", "enrol_date", "enrolment is before consent"),
        _order(enr, "diagnosis_date", "enrol_date", "diagnosis_date", "diagnosis is after enrolment"),
        _order(
            inf.join(enr.select("subject_id", "enrol_date"), on="subject_id", how="left"),
            "enrol_date",
            "ld_start_date",
            "ld_start_date",
            "lymphodepletion starts before enrolment",
        ),
        _order(inf, "ld_start_date", "infusion_date", "infusion_date", "infusion is before lymphodepletion start"),
        _order(
            _narrow(records["adverse_events"], "onset_date", "resolution_date"),
            "onset_date",
            "resolution_date",
            "resolution_date",
            "AE resolves before its onset",
        ),
        # a red team's grade-4 ICANS dated a year before consent left the safety rule without a word
        _order(
            _narrow(records["adverse_events"], "onset_date").join(
                enr.select("subject_id", "consent_date"), on="subject_id", how="left"
            ),
            "consent_date",
            "onset_date",
            "onset_date",
            "AE onset is before consent (adverse events are collected from consent; an earlier condition is "
            "medical history)",
        ),
    ]
    assess = _narrow(records["assessments"], "assessment_date").join(first_inf, on="subject_id", how="left")
    out.append(
        _order(
            assess,
            "_day0",
            "assessment_date",
            "assessment_date",
            "disease assessment is not after the first infusion",
            strict=True,
        )
    )
    never = assess.filter(pl.col("_day0").is_null() & pl.col("subject_id").is_not_null())
    out.append(
        _problems(never, "subject_id", pl.col("subject_id"), "disease assessment for a subject with no infusion")
    )
    out.append(_followup_order(records, first_inf))
    out.append(_after_death(records))
    out.append(_apheresis_order(records, first_inf))
    out.append(_long_term_order(records, first_inf))
    return _concat(out)


def _long_term_order(records: Records, first_inf: pl.DataFrame) -> pl.DataFrame:
    """Long-term follow-up is of infused subjects, after their first infusion
    (data-contract.md, optional long_term_followup file)."""
    ltfu = records.get("long_term_followup")
    if ltfu is None or ltfu.is_empty():
        return _concat([])
    dated = ltfu.join(first_inf, on="subject_id", how="left")
    return _concat(
        [
            _problems(
                dated.filter(pl.col("_day0").is_null()),
                "subject_id",
                pl.col("subject_id"),
                "long-term follow-up of a subject never infused",
            ),
            _order(dated, "_day0", "event_date", "event_date", "long-term follow-up event before the first infusion"),
        ]
    )


def _apheresis_order(records: Records, first_inf: pl.DataFrame) -> pl.DataFrame:
    """Leukapheresis not before enrolment, a release not before the apheresis, and an
    infusion not before the release (data-contract.md, optional apheresis file)."""
    aph = records.get("apheresis")
    if aph is None or aph.is_empty():
        return _concat([])
    enrolled = aph.join(records["enrolment"].select("subject_id", "enrol_date"), on="subject_id", how="left")
    released = aph.join(first_inf, on="subject_id", how="left")
    return _concat(
        [
            _order(enrolled, "enrol_date", "apheresis_date", "apheresis_date", "apheresis is before enrolment"),
            _order(aph, "apheresis_date", "release_date", "release_date", "product released before the apheresis"),
            _order(released, "release_date", "_day0", "release_date", "infused before the product's release"),
        ]
    )


def _followup_order(records: Records, first_inf: pl.DataFrame) -> pl.DataFrame:
    fu = (
        _narrow(records["followup"], "event", "event_date")
        .join(records["enrolment"].select("subject_id", "consent_date", "enrol_date"), on="subject_id", how="left")
        .join(first_inf, on="subject_id", how="left")
    )
    event = pl.col("event")
    death = fu.filter(event == "DEATH")
    other = fu.filter(event != "DEATH")
    therapy = fu.filter(event.is_in(["HSCT", "NEW_THERAPY"]) & pl.col("_day0").is_not_null())
    return _concat(
        [
            _order(death, "consent_date", "event_date", "event_date", "death is dated before consent"),
            _order(other, "enrol_date", "event_date", "event_date", "follow-up event is dated before enrolment"),
            _order(
                therapy,
                "_day0",
                "event_date",
                "event_date",
                "HSCT or new therapy is dated on or before the day of the first CAR-T infusion (bridging belongs "
                "in infusion.bridging; on day 0 it would end the treatment-emergent window at once)",
                strict=True,
            ),
        ]
    )


def _after_death(records: Records) -> pl.DataFrame:
    fu = _narrow(records["followup"], "event", "event_date")
    deaths = fu.filter(pl.col("event") == "DEATH")
    out = [
        _problems(
            deaths.filter(pl.len().over("subject_id") > 1),
            "event",
            pl.col("event"),
            "subject has more than one DEATH record",
        )
    ]
    consent = records["enrolment"].select("subject_id", "consent_date")
    # a death dated before consent is itself refused (``_followup_order``): records after it are not findings
    death_day = (
        deaths.group_by("subject_id")
        .agg(pl.col("event_date").min().alias("_death"))
        .join(consent, on="subject_id", how="left")
        .filter(pl.col("consent_date").is_null() | (pl.col("_death") >= pl.col("consent_date")))
        .select("subject_id", "_death")
    )
    dated = {
        "infusion": ["infusion_date"],
        "assessments": ["assessment_date"],
        "adverse_events": ["onset_date", "resolution_date"],
        "crs_monitoring": ["obs_date"],
        "icans_monitoring": ["obs_date"],
        "followup": ["event_date"],
        "labs": ["sample_date"],
        "long_term_followup": ["event_date"],
        # a leukapheresis needs its patient alive (a release may follow a death: not checked)
        "apheresis": ["apheresis_date"],
    }
    for record, columns in dated.items():
        if record not in records:
            continue
        kept = [*columns, "event"] if record == "followup" else columns
        frame = _narrow(records[record], *kept).join(death_day, on="subject_id", how="inner")
        if record == "followup":
            frame = frame.filter(pl.col("event") != "DEATH")
        for column in columns:
            out.append(_order(frame, column, "_death", column, "dated after the subject's death"))
    return _concat(out)


def dependent_values(records: Records) -> pl.DataFrame:
    """Values that depend on another column: ``cause_category`` only on DEATH rows; a
    grade-5 AE only for a subject who died (``fatal_events_without_death``); ICANS
    monitoring uses the instrument of the child's age at the observation
    (ICE from 12 years, CAPD below; data-contract.md)."""
    fu = records["followup"]
    out = [
        _problems(
            fu.filter((pl.col("event") != "DEATH") & pl.col("cause_category").is_not_null()),
            "cause_category",
            pl.col("cause_category"),
            "cause_category is for DEATH rows only",
        )
    ]
    out.append(fatal_events_without_death(records))
    out.append(relapse_without_remission(records))
    aph = records.get("apheresis")
    if aph is not None and not aph.is_empty():
        infused = records["infusion"].select("subject_id").unique().with_columns(pl.lit(True).alias("_infused"))
        aph = aph.join(infused, on="subject_id", how="left")
        out.append(
            _problems(
                aph.filter(
                    ~pl.col("product_status").is_in(["RELEASED", "OOS_INFUSED"]) & pl.col("release_date").is_not_null()
                ),
                "release_date",
                pl.col("release_date"),
                "a release date is for a RELEASED or OOS_INFUSED product only",
            )
        )
        out.append(
            _problems(
                aph.filter(pl.col("_infused").fill_null(False) & pl.col("not_infused_reason").is_not_null()),
                "not_infused_reason",
                pl.col("not_infused_reason"),
                "the subject was infused: not_infused_reason must be blank",
            )
        )
        infused_product = pl.col("product_status").is_in(["RELEASED", "OOS_INFUSED"])
        out.append(
            _problems(
                aph.filter(pl.col("_infused").fill_null(False) & ~infused_product),
                "product_status",
                pl.col("product_status"),
                "the subject was infused: a FAILED or PENDING product contradicts the infusion",
            )
        )
        out.append(
            _problems(
                aph.filter(~pl.col("_infused").fill_null(False) & (pl.col("product_status") == "OOS_INFUSED")),
                "product_status",
                pl.col("product_status"),
                "OOS_INFUSED for a subject with no infusion",
            )
        )
        out.append(
            _problems(
                aph.filter(infused_product & pl.col("release_date").is_null()),
                "release_date",
                pl.col("release_date"),
                "a RELEASED or OOS_INFUSED product needs its release date",
            )
        )
        missing = records["infusion"].join(records["apheresis"].select("subject_id"), on="subject_id", how="anti")
        out.append(
            _problems(
                missing.unique("subject_id", keep="first", maintain_order=True),
                "subject_id",
                pl.col("subject_id"),
                "an infused subject has no row in the apheresis file",
            )
        )
    out.append(_rcl_results(records))
    out.append(_lab_units(records))
    icans = _narrow(records["icans_monitoring"], "obs_date", "ice_score", "capd_score", "unable_capd").join(
        records["enrolment"].select("subject_id", "age_years", "enrol_date"), on="subject_id", how="left"
    )
    # only an instrument the child cannot have been old (or young) enough for is refused:
    # near the 12th birthday the written age cannot tell (dates.age_bounds)
    completed = written_in_completed_years(records["enrolment"]["age_years"])
    youngest, oldest = age_bounds(pl.col("age_years"), pl.col("enrol_date"), pl.col("obs_date"), completed)
    icans = icans.with_columns(youngest.alias("_youngest"), oldest.alias("_oldest"))
    aged = pl.format(
        "aged {} to {} at the observation ({} years at enrolment on {}, {} days before)",
        pl.col("_youngest").round(2),
        pl.col("_oldest").round(2),
        pl.col("age_years"),
        pl.col("enrol_date"),
        (pl.col("obs_date") - pl.col("enrol_date")).dt.total_days(),
    )
    out.append(
        _problems(
            icans.filter((pl.col("_oldest") < ICE_FROM_AGE) & pl.col("ice_score").is_not_null()),
            "ice_score",
            pl.col("ice_score"),
            pl.format("ICE score for a child {}; under 12 the CAPD is used", aged),
        )
    )
    teen = icans.filter(pl.col("_youngest") >= ICE_FROM_AGE)
    out.append(
        _problems(
            teen.filter(pl.col("capd_score").is_not_null()),
            "capd_score",
            pl.col("capd_score"),
            pl.format("CAPD for a subject {}; from 12 the ICE score is used", aged),
        )
    )
    # the cell at fault named, with its value: a red team's unable_capd = Y (no CAPD score) was
    # named as column capd_score, without a value
    out.append(
        _problems(
            teen.filter(pl.col("capd_score").is_null() & pl.col("unable_capd").fill_null(False)),
            "unable_capd",
            pl.lit("Y"),
            pl.format("'unable to perform the CAPD' for a subject {}; from 12 the ICE score is used", aged),
        )
    )
    return _concat(out)


#: the most a laboratory value can be in the contract's unit (``schema.LAB_UNITS``): a
#: value above it was entered in another unit. A red team's IgG in mg/dL (250 for 2.5
#: g/L) passed silently and halved the hypogammaglobulinaemia rate (85 to 62 subjects).
#: Each bound is past any patient's value and below the same value in the usual other
#: unit: neutrophils in cells/uL, platelets in cells/uL, haemoglobin in g/L, IgG in mg/dL.
#: B cells, CRP, ferritin and the transgene have no such bound (their other units read
#: lower, or their range spans the other unit's).
LAB_MOST = {"ANC": 100.0, "PLT": 5000.0, "HGB": 25.0, "IGG": 40.0}
#: the most an assay of the other tests reads, far past any patient's value (B cells in a
#: hyperleukocytosis, ferritin in HLH, a transgene at several copies per cell of a
#: microgram's 150,000 cells): a red team's transgene at 1e308 made AUC0-28d infinite
#: and failed the kinetics contract as "a defect in the pipeline", and one at 1e80 became
#: 7.2e75 in the XPT files (the largest number SAS holds) but 1e80 in the Parquet
LAB_CEILING = {"BCELL": 1e7, "CAR_TRANSGENE": 1e8, "CRP": 1e4, "FERRITIN": 1e7}


def _lab_units(records: Records) -> pl.DataFrame:
    """A laboratory value above the most its test can read in the contract's unit, or
    past any assay's reading."""
    labs = records.get("labs")
    if labs is None or labs.is_empty():
        return empty_problems()
    return _concat(
        [
            _labs_above(
                labs,
                LAB_MOST,
                "more than the test reads in the contract's unit: a value in another unit? Check every value of "
                "this test in the file: one in the other unit below this bound (a nadir) passes unseen",
            ),
            _labs_above(labs, LAB_CEILING, "past any assay's reading: a mistyped value?"),
        ]
    )


def _labs_above(labs: pl.DataFrame, bounds: dict[str, float], why: str) -> pl.DataFrame:
    """The lab values above their test's bound in ``bounds``, each said with its bound,
    unit and ``why``."""
    # a mask per test, not a column of bounds: 50 million lab rows at a million subjects
    above = pl.any_horizontal((pl.col("test") == test) & (pl.col("value") > bound) for test, bound in bounds.items())
    return _problems(
        _narrow(labs, "test", "value").filter(above),
        "value",
        pl.col("value"),
        pl.format(
            "{} above {} {}, " + why,
            pl.col("test"),
            pl.col("test").replace_strict(bounds, default=None, return_dtype=pl.Float64),
            pl.col("test").replace_strict(LAB_UNITS, default="", return_dtype=pl.String),
        ),
    )


#: the least the median of a test's values can be in the contract's unit, over a file of at
#: least ``LAB_MEDIAN_VALUES`` of them: haemoglobin in mmol/L reads 0.62 of g/dL (a
#: red team's file, median about 6.6, made all 37 subjects' anaemia grade 3), platelets in
#: 10^4/uL a tenth of 10^9/L (37 of 37 below 50 and none recovered). Transfusion keeps
#: haemoglobin above 7 g/dL, and a file's platelets, recovery included, are far above 20
#: (the synthetic drops' medians: 10.5 g/dL and about 100 x 10^9/L). A unit that reads
#: higher is refused instead (``LAB_MOST``). IgG in g/dL reads a tenth of g/L (a red team's
#: file made 37 of 37 subjects hypogammaglobulinaemic, median 0.5): replacement keeps a
#: file's IgG far above 1.5 g/L (the synthetic drops' median: about 5)
LAB_MEDIAN_LEAST = {"HGB": 7.0, "PLT": 20.0, "IGG": 1.5}
#: the most the median can be: a neutrophil percentage exported as the absolute count (a
#: red team's file, median 54, left no subject with an ANC below 0.5 and none with early
#: ICAHT) passes every single-value bound (the synthetic drops' median: about 1.5 x 10^9/L)
LAB_MEDIAN_MOST = {"ANC": 15.0}
LAB_MEDIAN_VALUES = 20


def blank_flags(records: Records) -> dict[str, tuple[str, ...]]:
    """The optional yes/no columns present but blank on every row of their file, as if
    absent (file -> columns): a red team's blank ``below_lloq`` took the 60 values below
    the limit, written at the limit, as quantified, and the report's note on a drop
    without the column was not said."""
    found = {}
    for record, frame in records.items():
        schema = SCHEMAS.get(record)
        if schema is None or frame.is_empty():
            continue
        blank = tuple(
            c.name
            for c in schema.columns
            if c.kind == "yn" and c.optional and c.name in frame.columns and frame[c.name].null_count() == frame.height
        )
        if blank:
            found[record] = blank
    return found


def _bound(bounds: Mapping[str, float]) -> pl.Expr:
    """Each row's test's bound in ``bounds`` (``LAB_MEDIAN_LEAST`` or ``LAB_MEDIAN_MOST``), null without one."""
    return pl.col("test").replace_strict(bounds, default=None, return_dtype=pl.Float64)


def _medians_beyond(labs: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The groups (``by``, the test among them) of at least ``LAB_MEDIAN_VALUES`` values
    whose median is beyond the test's bound, each with its first row."""
    first = pl.col("_source_row").arg_min()  # the group's first row, without sorting millions of rows
    return (
        labs.group_by(by)
        .agg(
            pl.col("value").median().alias("_median"),
            pl.len().alias("_n"),
            pl.col("subject_id").get(first),
            pl.col("_source_file").get(first),
            pl.col("_source_row").min(),
        )
        .with_columns(_bound(LAB_MEDIAN_LEAST).alias("_least"), _bound(LAB_MEDIAN_MOST).alias("_most"))
        .filter(
            (pl.col("_n") >= LAB_MEDIAN_VALUES)
            & ((pl.col("_median") < pl.col("_least")) | (pl.col("_median") > pl.col("_most"))).fill_null(False)
        )
    )


def _changed_from(settled: pl.DataFrame) -> pl.DataFrame:
    """Per test, the first calendar quarter (``_quarter``) from which the settled values
    beyond the test's bound are most: most of its own, and most of its and the later
    quarters' together, at least ``LAB_MEDIAN_VALUES`` of them, so that their median is
    beyond it (counted, not sorted: the quarters' values are millions at 100,000
    subjects). ``_median`` is the median of the values from that quarter on; the row is
    the quarter's first."""
    least, most = _bound(LAB_MEDIAN_LEAST), _bound(LAB_MEDIAN_MOST)
    beyond = ((pl.col("value") < least) | (pl.col("value") > most)).fill_null(False)
    earliest = pl.col("_source_row").arg_min()
    by_quarter = (
        settled.group_by("test", "_quarter")
        .agg(
            pl.len().alias("_in"),
            beyond.sum().alias("_beyond_in"),
            pl.col("subject_id").get(earliest),
            pl.col("_source_file").get(earliest),
            pl.col("_source_row").min(),
        )
        .sort("test", "_quarter", descending=[False, True])
        .with_columns(
            pl.col("_in").cum_sum().over("test").alias("_n"),
            pl.col("_beyond_in").cum_sum().over("test").alias("_beyond"),
        )
    )
    first = (
        by_quarter.filter(
            (pl.col("_n") >= LAB_MEDIAN_VALUES)
            & (2 * pl.col("_beyond") > pl.col("_n"))
            & (2 * pl.col("_beyond_in") > pl.col("_in"))
        )
        .sort("_quarter")
        .unique("test", keep="first")
    )
    medians = (
        settled.join(first.select("test", pl.col("_quarter").alias("_from")), on="test")
        .filter(pl.col("_quarter") >= pl.col("_from"))
        .group_by("test")
        .agg(pl.col("value").median().alias("_median"))
    )
    return first.join(medians, on="test").with_columns(least.alias("_least"), most.alias("_most"))


#: from this day after the first infusion a subject's counts have settled (no nadir), and a
#: calendar quarter's median of them shows a unit that changed partway through the file
LAB_SETTLED_DAY = 60


def lab_units_queried(records: Records) -> pl.DataFrame:
    """The tests of ``LAB_MEDIAN_LEAST`` whose values' median over the labs file is below
    its bound, and of ``LAB_MEDIAN_MOST`` above it: the sign of a unit that reads lower
    than the contract's, or of another measure, which no bound on a single value can see.
    Else, the first calendar quarter from which the samples drawn ``LAB_SETTLED_DAY`` days
    or more after the subject's first infusion have such a median (``_changed_from``):
    a unit that changed partway
    (a red team's platelets in 10^4/uL and haemoglobin in mmol/L from 2022-03 on, 220 of
    464 rows, left the file's medians above the bounds and doubled the grade-4 platelets).
    One finding a test, at its first row (the quarter's). Worked example: HGB values
    5.0-8.0 (median 6.5) over 20 rows: queried; the same over 19 rows, or with a median
    of 7.0: not. A query, not a refusal: a file of early samples may be that low."""
    labs = records.get("labs")
    if labs is None or labs.is_empty():
        return empty_problems()
    tests = [*LAB_MEDIAN_LEAST, *LAB_MEDIAN_MOST]
    values = _narrow(labs, "test", "value", "sample_date").filter(pl.col("test").is_in(tests))
    whole = _medians_beyond(values, ["test"]).with_columns(pl.lit(None, pl.Date).alias("_quarter"))
    day0 = records["infusion"].group_by("subject_id").agg(pl.col("infusion_date").min().alias("_day0"))
    settled = (
        values.filter(~pl.col("test").is_in(whole["test"].to_list()))
        .join(day0, on="subject_id", how="inner")
        .filter((pl.col("sample_date") - pl.col("_day0")).dt.total_days() >= LAB_SETTLED_DAY)
        .with_columns(pl.col("sample_date").dt.truncate("1q").alias("_quarter"))
    )
    quarters = _changed_from(settled)
    found = pl.concat([whole, quarters.select(whole.columns)]).sort("test")
    unit = pl.col("test").replace_strict(LAB_UNITS, default="", return_dtype=pl.String)
    among = (
        pl.when(pl.col("_quarter").is_null())
        .then(pl.format("the file's {} {} values", pl.col("_n"), pl.col("test")))
        .otherwise(
            pl.format(
                "the {} {} values from the quarter of {} on, drawn {} days or more after infusion,",
                pl.col("_n"),
                pl.col("test"),
                pl.col("_quarter"),
                pl.lit(LAB_SETTLED_DAY),
            )
        )
    )
    rule = (
        pl.when(pl.col("_least").is_not_null())
        .then(
            pl.format(
                "the median of {} is {}, below {} {}: values in a unit that reads lower than the contract's "
                "(haemoglobin in mmol/L, platelets in 10^4/uL, IgG in g/dL)? Every grade and recovery of the test "
                "would be wrong; convert the file, or confirm",
                among,
                pl.col("_median").round(2),
                pl.col("_least"),
                unit,
            )
        )
        .otherwise(
            pl.format(
                "the median of {} is {}, above {} {}: another measure or unit (a neutrophil percentage for the "
                "absolute count)? Every grade, ICAHT and recovery of the test would be wrong; convert the file, or "
                "confirm",
                among,
                pl.col("_median").round(2),
                pl.col("_most"),
                unit,
            )
        )
    )
    return _concat([_problems(found, "value", pl.col("_median").round(2), rule)])


def _registered_twice(enrolment: pl.DataFrame) -> pl.DataFrame:
    """The enrolment rows the same as another subject's in every value but the id
    (consent, enrolment and diagnosis dates, age, sex, site and every baseline value): a
    red team's child registered twice, BR-041 a copy of BR-040 withdrawn as "Duplicate
    registration", was counted twice, and the intention-to-treat rate read 27/41 for
    27/40."""
    values = [c for c in enrolment.columns if c not in ("subject_id", "_source_file", "_source_row")]
    keyed = enrolment.with_columns(pl.struct(values).hash().alias("_same"))
    # the twins named by their rows, not their ids: the sentence goes into the open report
    twins = (
        keyed.group_by("_same").agg(pl.col("_source_row").sort().alias("_rows")).filter(pl.col("_rows").list.len() > 1)
    )
    found = _narrow(keyed.join(twins, on="_same", how="inner"), "_rows")
    others = pl.col("_rows").list.set_difference(pl.concat_list(pl.col("_source_row"))).cast(pl.List(pl.String))
    rule = pl.format(
        TWICE_RULE + " {}: one child registered twice? Each id is counted "
        "(the intention-to-treat denominators, the deaths among the enrolled); remove the copy, or confirm",
        others.list.join(", "),
    )
    return _problems(found, "subject_id", pl.col("subject_id"), rule)


#: the least marrow blast percentage of morphologic disease (relapsed or refractory B-ALL:
#: 5 % blasts or more, or extramedullary disease)
MORPHOLOGIC_BLASTS_LEAST = 5.0


def _percent_as_fraction(enrolment: pl.DataFrame) -> pl.DataFrame:
    """Each subject enrolled with morphologic disease (relapsed or primary refractory)
    without extramedullary disease whose marrow blast percentage is below
    ``MORPHOLOGIC_BLASTS_LEAST``: a percentage written as a fraction (0.35 for 35 %), or
    an MRD-persistent entrant coded otherwise. A red team's marrow blasts divided by 100
    (76.9 to 0.769) gave a baseline median of 0.4 % and left marrow blasts out of every
    model, without a word; a second divided only some subjects' (those entered before a
    change of EDC), which a median over the file did not see. Worked example (test): S1
    relapsed, 0.769, no EMD: queried; S2 relapsed, 4.9: queried; S3 relapsed, 5.0: not;
    S4 relapsed, 0.5, with EMD (an isolated CNS relapse): not; S5 MRD-persistent, 0.01:
    not."""
    if "bm_blast_pct" not in enrolment.columns:
        return empty_problems()
    emd = pl.col("emd") if "emd" in enrolment.columns else pl.lit(False)
    found = _narrow(
        enrolment.filter(
            pl.col("disease_status").is_in(["relapsed", "primary_refractory"])
            & (pl.col("bm_blast_pct") < MORPHOLOGIC_BLASTS_LEAST)
            & ~emd.fill_null(False)
        ),
        "bm_blast_pct",
    )
    rule = (
        f"relapsed or refractory without extramedullary disease, with marrow blasts below {MORPHOLOGIC_BLASTS_LEAST:g} "
        "%: a percentage written as a fraction (0.35 for 35 %), or an MRD-persistent entrant? The baseline table and "
        "every model reading marrow blasts would be wrong; correct the value or the disease status, or confirm"
    )
    return _problems(found, "bm_blast_pct", pl.col("bm_blast_pct").cast(pl.String), rule)


def enrolment_queried(records: Records) -> pl.DataFrame:
    """The check ``enrolment_plausible``'s findings: a child registered twice
    (``_registered_twice``) and percentages written as fractions
    (``_percent_as_fraction``). Queries, not refusals: the data manager decides."""
    enrolment = records["enrolment"]
    return _concat([_registered_twice(enrolment), _percent_as_fraction(enrolment)])


def _nominal_day(visit: pl.Expr) -> pl.Expr:
    """The target day from infusion a visit label names: "D28", "Day 28", "Day +28", "D28
    repeat", "Day 28 +/- 7" are 28; "M3", "Mo 3", "Month 3" 91 (months of
    ``DAYS_PER_MONTH``); "Week 4" 28; "Year 1" 365; any other label (an unscheduled visit,
    "EOT", "Screening", "Day -5", "Month 12 LTFU") none (a third red team's "Day +28" and
    "Mo 3" were not read, and "Day -5" was read as day 5)."""
    key = visit.str.to_uppercase().str.replace_all(r"[\s_]+", "")
    tail = r"(?:(?:\+/?-|±)\d+)?(?:R|REPEAT|REP)?$"
    units = {r"D|DAY": 1.0, r"W|WK|WEEK": 7.0, r"M|MO|MTH|MONTH": DAYS_PER_MONTH, r"Y|YR|YEAR": 365.25}
    day: pl.Expr = pl.lit(None, pl.Int64)
    for unit, days in reversed(units.items()):
        number = key.str.extract(rf"^(?:{unit})\+?(\d{{1,3}}){tail}").cast(pl.Float64)
        day = pl.when(number.is_not_null()).then((number * days).round().cast(pl.Int64)).otherwise(day)
    return day


def _visits_out_of_place(assessments: pl.DataFrame, records: Records) -> pl.DataFrame:
    """Each assessment of a scheduled visit (``_nominal_day``) dated after an assessment of
    a later visit of the same subject (a D28 dated after the subject's M3), and each day-28
    visit's assessment outside the day-28 response window (days
    ``NEW_THERAPY_QUERIED_BEFORE_DAY`` to ``RESPONSE_WINDOW_LAST_DAY``), which the best
    response by day 28 does not read. A second red team's D28 CR typed two months late
    (day 91, after the subject's M2 and M3) made the subject not evaluable and crossed the
    futility rule, without a word. Worked example (test): S1's D14 on day 14, M2 on day 64,
    M3 on day 84, D28 on day 91: the D28 queried (after M3, and outside the window); S2's
    D28 on day 44 (late): queried, outside the window; S3's D28 on day 30 and an unscheduled
    assessment on day 20: not."""
    day = (pl.col("assessment_date") - pl.col("infusion_date")).dt.total_days()
    # each distinct label read once (a few labels over half a million rows at 100,000 subjects)
    labels = (
        assessments.select(pl.col("visit").unique())
        .with_columns(_nominal_day(pl.col("visit")).alias("_nominal"))
        .filter(pl.col("_nominal").is_not_null())
    )
    rows = (
        _narrow(assessments, "assessment_date", "visit")
        .join(labels, on="visit", how="inner")
        .join(_first_infusions(records).select("subject_id", "infusion_date"), on="subject_id", how="inner")
        .with_columns(day.alias("_day"))
        .sort("subject_id", "assessment_date")
        .with_columns(pl.col("_nominal").cum_max().shift(1).over("subject_id").alias("_later"))
    )
    early = rows.filter(pl.col("_nominal") < pl.col("_later"))
    out_of_order = pl.format(
        "a {} assessment on day {}, dated after an assessment of a later visit (target day {}): its date or a visit "
        "label is wrong; correct it, or confirm",
        pl.col("visit"),
        pl.col("_day"),
        pl.col("_later"),
    )
    window = rows.filter(
        (pl.col("_nominal") == 28)
        & ((pl.col("_day") < NEW_THERAPY_QUERIED_BEFORE_DAY) | (pl.col("_day") > RESPONSE_WINDOW_LAST_DAY))
    )
    outside = pl.format(
        f"a {{}} assessment on day {{}}, outside the day-28 response window (days {NEW_THERAPY_QUERIED_BEFORE_DAY}-"
        f"{RESPONSE_WINDOW_LAST_DAY}): the best response by day 28 and the futility rule read none of it; correct "
        "the date, or confirm",
        pl.col("visit"),
        pl.col("_day"),
    )
    return _concat(
        [
            _problems(early, "assessment_date", pl.col("assessment_date"), out_of_order),
            _problems(window, "assessment_date", pl.col("assessment_date"), outside),
        ]
    ).unique(["file", "row"], keep="first", maintain_order=True)


#: a morphologic remission has fewer marrow blasts than this (%), and a marrow relapse this many or more
MORPHOLOGIC_REMISSION_BELOW = 5.0


def _assessment_values_queried(assessments: pl.DataFrame) -> pl.DataFrame:
    """An assessment whose values contradict its response: a relapse site or a CD19 status
    at relapse on an assessment that is not a ``RELAPSE`` (no relapse endpoint reads it: a
    second red team's isolated CNS relapse written on a marrow CR row was counted by none);
    an MRD of ``MORPHOLOGIC_REMISSION_BELOW`` % or more on a CR or CRi (a morphologic
    remission has fewer blasts: a relapse coded CR, the subject censored in remission); a
    marrow relapse with an MRD below it (MRD written as a fraction, 0.0001 for 0.01 %, reads
    every remission MRD-negative). Worked example (test): S1's CR with relapse site CNS:
    queried; S2's CR with MRD 62: queried; S3's BM RELAPSE with MRD 0.743: queried; S4's
    BM RELAPSE with MRD 74.3, CR with MRD 0.004, NR with MRD 30: not."""
    site = pl.col("relapse_site").is_not_null() | pl.col("cd19_at_relapse").is_in(["POS", "NEG"])
    not_relapse = pl.col("response") != "RELAPSE"
    named = _narrow(assessments.filter(not_relapse & site), "response", "relapse_site", "cd19_at_relapse")
    named_rule = pl.format(
        "a relapse site or CD19 status at relapse on a {} assessment: only a RELAPSE assessment records a relapse, so "
        "no relapse endpoint (EFS, DFS, CIR, DOR) counts this one; code the relapse, or clear the relapse values",
        pl.col("response"),
    )
    mrd = pl.col("mrd_pct")
    high = _narrow(
        assessments.filter(pl.col("response").is_in(["CR", "CRi"]) & (mrd >= MORPHOLOGIC_REMISSION_BELOW)),
        "response",
        "mrd_pct",
    )
    high_rule = pl.format(
        "an MRD of {} % on a {} assessment: a morphologic remission has fewer than "
        f"{MORPHOLOGIC_REMISSION_BELOW:g} % blasts, so this may be a relapse coded as a remission (the subject is "
        "counted in remission); correct the response or the MRD, or confirm",
        mrd,
        pl.col("response"),
    )
    # not a CD19-negative relapse: a CD19-gated panel reads its blasts low (a third red team's)
    marrow = (
        (pl.col("response") == "RELAPSE")
        & (pl.col("relapse_site") == "BM")
        & (pl.col("cd19_at_relapse") != "NEG").fill_null(True)
        & (mrd < MORPHOLOGIC_REMISSION_BELOW)
    )
    low = _narrow(assessments.filter(marrow), "mrd_pct")
    low_rule = pl.format(
        f"an MRD of {{}} % at a marrow relapse, which has {MORPHOLOGIC_REMISSION_BELOW:g} % blasts or more: MRD "
        "written as a fraction (0.0001 for 0.01 %)? Every remission would read MRD-negative (below 0.01 %); correct "
        "the values, or confirm",
        mrd,
    )
    return _concat(
        [
            _problems(
                named, "relapse_site", pl.coalesce(pl.col("relapse_site"), pl.col("cd19_at_relapse")), named_rule
            ),
            _problems(high, "mrd_pct", mrd, high_rule),
            _problems(low, "mrd_pct", mrd, low_rule),
        ]
    )


def assessments_queried(records: Records) -> pl.DataFrame:
    """The check ``assessments_plausible``'s findings: a visit's date out of place
    (``_visits_out_of_place``) and values contradicting the response
    (``_assessment_values_queried``). Queries, not refusals: the data manager decides."""
    assessments = records["assessments"]
    return _concat([_visits_out_of_place(assessments, records), _assessment_values_queried(assessments)])


def transgene_before_infusion(records: Records) -> pl.DataFrame:
    """CAR transgene quantified (a value above zero, not below the limit of
    quantification) in a subject never infused, or sampled before the first infusion: the
    CAR-T's own DNA cannot be in a patient before the cells are, so the sample is another
    subject's, or mis-dated. A red team's 5,000 copies/ug in a subject whose product
    failed went into ADPC without a word (the kinetics read it nowhere: before day 0 and
    without an infusion there is no day). Worked example: S1 infused 2021-01-20 with 0 on
    01-15 and 0.5 below the limit on 01-18: not; 120 on 01-19: queried; 900 on 01-21:
    not; S2 never infused, 5,000 on 02-01: queried. A query, not a refusal."""
    labs = records.get("labs")
    if labs is None or labs.is_empty():
        return empty_problems()
    blq = pl.col("below_lloq").fill_null(False) if "below_lloq" in labs.columns else pl.lit(False)
    quantified = _narrow(
        labs.filter((pl.col("test") == "CAR_TRANSGENE") & (pl.col("value") > 0) & ~blq), "sample_date", "value"
    )
    found = quantified.join(
        _first_infusions(records).select("subject_id", "infusion_date"), on="subject_id", how="left"
    )
    found = found.filter(pl.col("infusion_date").is_null() | (pl.col("sample_date") < pl.col("infusion_date")))
    rule = pl.when(pl.col("infusion_date").is_null()).then(
        pl.lit("CAR transgene quantified in a subject never infused")
    ).otherwise(
        pl.format("CAR transgene quantified before the first infusion on {}", pl.col("infusion_date"))
    ) + pl.lit(": the sample is another subject's, or mis-dated; check the subject and the date")
    return _concat([_problems(found, "value", pl.col("value"), rule)])


def death_only_in_apheresis(records: Records) -> pl.DataFrame:
    """The apheresis rows giving ``DEATH`` as the reason a subject was not infused, for a
    subject whose follow-up records no death on any date. The disposition counts the
    subject as not infused for death (``exposure.not_infused_reason``: the reason has no
    date, so only at a cut that sees the whole drop), but a death is dated and caused only
    in follow-up: the deaths table (its "All" and "before infusion") and the board's
    death listing count none. Worked example: S1 not infused, reason DEATH, no follow-up
    death: queried; S2 the same with a follow-up death (after the cut or not): not; S3's
    reason PROGRESSION: not. A query, not a refusal: the subject may be alive and the
    reason miscoded."""
    aph = records.get("apheresis")
    if aph is None or aph.is_empty():
        return empty_problems()
    stated = _narrow(aph.filter(pl.col("not_infused_reason") == "DEATH"), "not_infused_reason")
    died = _deaths(records).select("subject_id")
    found = stated.join(died, on="subject_id", how="anti")
    rule = (
        "not infused for DEATH by the apheresis file, with no DEATH in followup on any date: the deaths table counts "
        "no death for the subject; enter the date and cause of death in followup, or correct the reason"
    )
    return _concat([_problems(found, "not_infused_reason", pl.col("not_infused_reason"), rule)])


def _rcl_results(records: Records) -> pl.DataFrame:
    """A replication-competent lentivirus test has a result; no other long-term event has one."""
    ltfu = records.get("long_term_followup")
    if ltfu is None or ltfu.is_empty():
        return _concat([])
    rcl = pl.col("event") == "RCL_TEST"
    return _concat(
        [
            _problems(
                ltfu.filter(rcl & pl.col("result").is_null()),
                "result",
                pl.col("result"),
                "an RCL_TEST needs its result (NEGATIVE, POSITIVE or PENDING)",
            ),
            _problems(
                ltfu.filter(~rcl & pl.col("result").is_not_null()),
                "result",
                pl.col("result"),
                "result is for RCL_TEST rows only",
            ),
        ]
    )


def relapse_without_remission(records: Records) -> pl.DataFrame:
    """A ``RELAPSE`` assessment needs an earlier CR/CRi of the subject (any, after other
    therapy included), except for an MRD-persistent entrant, who enters in remission:
    a relapse of a subject never in remission is a miscoded NR, which version 2 let
    vanish from every count (BOR28 NE)."""
    assess = records["assessments"]
    first_cr = (
        assess.filter(pl.col("response").is_in(["CR", "CRi"]))
        .group_by("subject_id")
        .agg(pl.col("assessment_date").min().alias("_first_cr"))
    )
    status = records["enrolment"].select("subject_id", "disease_status")
    relapses = (
        assess.filter(pl.col("response") == "RELAPSE")
        .join(first_cr, on="subject_id", how="left")
        .join(status, on="subject_id", how="left")
    )
    bad = relapses.filter(
        (pl.col("disease_status") != "mrd_persistent").fill_null(True)
        & (pl.col("_first_cr").is_null() | (pl.col("_first_cr") >= pl.col("assessment_date")))
    )
    return _problems(
        bad,
        "response",
        pl.col("response"),
        "RELAPSE before any CR/CRi of this subject: a subject never in remission cannot relapse (code NR, or "
        "record the remission)",
    )


def fatal_events_without_death(records: Records) -> pl.DataFrame:
    """A grade-5 (fatal) adverse event needs the subject's DEATH record, on or after
    its onset: a subject alive at later contacts with a fatal AE was accepted
    (fatal TEAEs 6 -> 7 while deaths and OS stayed the same)."""
    fatal = records["adverse_events"].filter(pl.col("grade") == 5).join(_deaths(records), on="subject_id", how="left")
    return _concat(
        [
            _problems(
                fatal.filter(pl.col("_death").is_null()),
                "grade",
                pl.col("grade").cast(pl.String),
                "grade 5 (fatal) adverse event, but followup has no DEATH record for this subject",
            ),
            _problems(
                fatal.filter(pl.col("_death") < pl.col("onset_date")),
                "grade",
                pl.col("grade").cast(pl.String),
                pl.format("grade 5 (fatal) adverse event starting after the subject's death on {}", pl.col("_death")),
            ),
        ]
    )


def unique_keys(records: Records) -> pl.DataFrame:
    """The keys of every file are unique, and no two subject ids differ only in case."""
    return _concat([duplicate_keys(records), case_twins(records)])


def latest_record(records: Records) -> dt.date | None:
    """The latest date of any record of the drop, each record type's dates read from its
    stored file by a streamed query where it has one (``Frames.scan``), not loaded whole
    (5.8 s and every record type at a million subjects)."""
    dates: list[object] = []
    for query, columns in _date_queries(records):
        dates += query.select(pl.col(c).max() for c in columns).collect(engine="streaming").row(0)
    return max((d for d in dates if isinstance(d, dt.date)), default=None)


#: days by which the drop's latest date may follow every other date before it is queried:
#: a typed year is about 365, a typed month up to 330; a small trial between visits
#: (three months) is not queried
ISOLATED_LATEST_DAYS = 180


def isolated_latest_date(records: Records) -> pl.DataFrame:
    """The records holding the drop's latest date when every other date in the drop is
    more than ``ISOLATED_LATEST_DAYS`` earlier: a typed year (2024 for 2023) that makes
    the latest date, and so the default cut, a year late. A red team's drop moved the
    cut so, turning pending subjects into non-responders; nothing said so but a list of
    overdue visits. A warning, not a refusal: a trial between visits can have a gap."""
    latest = latest_record(records)
    if latest is None:
        return empty_problems()
    before: list[object] = []
    for query, columns in _date_queries(records):
        before += (
            query.select(pl.col(c).filter(pl.col(c) < latest).max() for c in columns).collect(engine="streaming").row(0)
        )
    previous = max((d for d in before if isinstance(d, dt.date)), default=None)
    if previous is None or (latest - previous).days <= ISOLATED_LATEST_DAYS:
        return empty_problems()
    rule = (
        f"the drop's latest date, {(latest - previous).days} days after every other date (the next latest is "
        f"{previous}): a mistyped year would move a default cut; check it, or state the cut (--cut) or "
        "drop_info.toml extracted_on"
    )
    return _latest_rows(records, latest, rule)


#: days from the drop's latest record to its stated extraction date past which the export
#: looks older than it says (a trial in follow-up has contacts, samples or AEs every quarter)
EXTRACTION_GAP_DAYS = 90


def _latest_rows(records: Records, latest: dt.date, rule: str) -> pl.DataFrame:
    """The records holding the date ``latest``, as findings of ``rule``."""
    out = []
    for query, columns in _date_queries(records):
        rows = query.filter(pl.any_horizontal(pl.col(c) == latest for c in columns)).collect()
        out += [_problems(rows.filter(pl.col(c) == latest), c, pl.col(c), rule) for c in columns]
    return _concat(out)


def latest_date_queried(records: Records, extracted_on: dt.date | None) -> pl.DataFrame:
    """The check ``latest_date_plausible``'s findings: an isolated latest date
    (``isolated_latest_date``), and a ``drop_info.toml`` ``extracted_on`` more than
    ``EXTRACTION_GAP_DAYS`` after the drop's latest record. The extraction date makes the
    export complete to the cut (``TrialDrop.seen_to``): a subject without news since is
    free of events in every window. A red team's drop truncated six months before its
    extracted_on counted a subject infused six days before the last record as followed 30
    days without a toxicity, and a day-28 non-responder (the whole drop: CR), without a
    word. Worked example (test): latest record 2023-03-20, extracted_on 2023-09-30 (194
    days): queried; extracted_on 2023-06-18 (90 days): not."""
    latest = latest_record(records)
    found = [isolated_latest_date(records)]
    if extracted_on is not None and latest is not None and (extracted_on - latest).days > EXTRACTION_GAP_DAYS:
        rule = (
            f"drop_info.toml extracted_on {extracted_on} is {(extracted_on - latest).days} days after the drop's "
            f"latest record, {latest}: the export is taken as complete to the cut, so a subject without news since "
            "is counted free of events in the stopping rules' and safety rates' windows, where an export current to "
            "that date would hold later contacts, assessments or samples; check the date, or leave extracted_on out "
            "(the windows then close by the latest record)"
        )
        found.append(_latest_rows(records, latest, rule))
    return _concat(found)


def assessments_after_withdrawal(records: Records) -> pl.DataFrame:
    """Disease assessments dated after the subject's withdrawal (a ``WITHDRAWAL`` in
    followup) or loss to follow-up (``LOST``): contradictory, since the efficacy set leaves out a subject withdrawn
    before any assessment, and a withdrawal typed too early takes an assessed subject
    out of every response rate (a red team's withdrawal on day 5 before assessments on
    days 14 and 28). A query for the data manager, not a refusal: vital status may be
    followed after a withdrawal, and is not named here; a contact, HSCT or new therapy
    after a loss is (``CONTACT_EVENTS``): the subject was not lost, and the loss
    (``LOSTDT``) ends the visits due and the windows followed."""
    followup, assessments = records["followup"], records["assessments"]
    out = []
    # a loss to follow-up too: a red team's subject lost on day 25 and assessed CR on day 28
    # passed without a word (the response window no longer closes at either)
    for event, words in (("WITHDRAWAL", "the subject's withdrawal"), ("LOST", "the subject's loss to follow-up")):
        left = (
            followup.lazy()
            .filter(pl.col("event") == event)
            .group_by("subject_id")
            .agg(pl.col("event_date").min().alias("_left"))
        )
        late = (
            _narrow(assessments, "assessment_date")
            .lazy()
            .join(left, on="subject_id", how="inner")
            .filter(pl.col("assessment_date") > pl.col("_left"))
            .collect()
        )
        rule = pl.format(f"a disease assessment after {words} on {{}}", pl.col("_left"))
        out.append(_problems(late, "assessment_date", pl.col("assessment_date"), rule))
    # a contact after a loss: a second red team's subject lost in August and seen to December
    # lost four months of visits due and of the windows followed, without a word
    lost_frame = (
        followup.filter(pl.col("event") == "LOST").group_by("subject_id").agg(pl.col("event_date").min().alias("_left"))
    )
    if lost_frame.is_empty():
        return _concat(out)
    lost = lost_frame.lazy()
    contacts = followup.filter(pl.col("event").is_in(CONTACT_EVENTS))
    # an attempt that reached no one is no contact ("Phone call attempted, no answer")
    tried = details_where(contacts["detail"], lambda key: _names(key, NO_CONTACT))
    contacts = contacts.filter(~pl.col("detail").is_in(list(tried)) | pl.col("detail").is_null())
    sources: list[tuple[pl.LazyFrame, str, pl.Expr, bool]] = [
        (
            _narrow(contacts, "event_date", "event").lazy(),
            "event_date",
            pl.format("a follow-up {}", pl.col("event")),
            False,
        )
    ]
    # a sample or a long-term event after the loss says the subject was seen too (a third red
    # team's RCL test and labs two months after a loss): a query of the stored file, not loaded
    for record, column, said in (
        ("labs", "sample_date", "a laboratory sample"),
        ("long_term_followup", "event_date", "a long-term follow-up event"),
    ):
        if record in records:
            # only the lost subjects' rows are joined (7.6 million lab rows at 100,000 subjects)
            scanned = (
                _scan(records, record)
                .select("subject_id", column, "_source_file", "_source_row")
                .filter(pl.col("subject_id").is_in(lost_frame["subject_id"].implode()))
            )
            sources.append((scanned, column, pl.lit(said), True))
    for rows, column, what, first_only in sources:
        seen = rows.join(lost, on="subject_id", how="inner").filter(pl.col(column) > pl.col("_left"))
        if first_only:  # a subject's first sample after the loss, not each of hundreds
            seen = seen.sort(column).unique("subject_id", keep="first")
        rule = pl.format("{} after the subject's loss to follow-up on {}", what, pl.col("_left"))
        out.append(_problems(seen.collect(), column, pl.col(column), rule))
    return _concat(out)


#: a contact note saying no one was reached: not a contact
NO_CONTACT = (
    r"\b(attempted|attempts?|tried|unable|unsuccessful|unreachable|could not|couldn t|cannot|can t)\b",
    r"\bno (answer|response|reply|contact)\b",
    r"\b(voicemail|voice mail|message left|left (a )?message)\b",
)


#: the follow-up events that are the site's contact with the subject: one after a loss to
#: follow-up says the subject was not lost (a death may be learned from a registry)
CONTACT_EVENTS = ("CONTACT", "HSCT", "NEW_THERAPY")


#: the days after an infusion in which nearly every CAR-T recipient has an adverse event
#: (CRS in most, cytopenias in nearly all): the safety rule's window
AE_WINDOW_DAYS = 30
#: how many infused subjects without any adverse event in that window, all after the AE
#: export's latest onset, make the export look stale (at an AE rate of 80% within 30 days,
#: three such subjects by chance has probability 0.008)
STALE_AE_SUBJECTS = 3
#: the subjects most recently infused and followed that window, and how many of them without
#: an adverse event in it make the export look stale for some (a site's export, or one late
#: row hiding an old file): at 10% of recipients without one, 4 of 10 by chance has
#: probability 0.013
RECENT_SUBJECTS = 10
RECENT_WITHOUT_AE = 4


def _first_infusions(records: Records) -> pl.DataFrame:
    """Each infused subject's first infusion row (date, file and row)."""
    return (
        _narrow(records["infusion"], "infusion_date")
        .sort("infusion_date", "subject_id")
        .unique("subject_id", keep="first", maintain_order=True)
    )


def _attribution_ends(records: Records) -> pl.DataFrame:
    """Each subject's first HSCT or ``NEW_THERAPY`` date (``_ends``): where the
    treatment-emergent window and response attribution end (``analysis.timeline``)."""
    return (
        _scan(records, "followup")
        .filter(pl.col("event").is_in(["HSCT", "NEW_THERAPY"]))
        .group_by("subject_id")
        .agg(pl.col("event_date").min().alias("_ends"))
        .collect()
    )


def _deaths(records: Records) -> pl.DataFrame:
    """Each subject's first ``DEATH`` date (``_death``)."""
    return (
        _scan(records, "followup")
        .filter(pl.col("event") == "DEATH")
        .group_by("subject_id")
        .agg(pl.col("event_date").min().alias("_death"))
        .collect()
    )


#: a CRS lasts days, rarely weeks (ASTCT; a median of about a week after CAR-T cells)
CRS_OPEN_DAYS = 28


def crs_left_open(records: Records, seen_to: dt.date, is_crs: Callable[[pl.Expr], pl.Expr]) -> pl.DataFrame:
    """The CRS adverse events (``is_crs``: whether a term is CRS, ``analysis.terms.is_crs``)
    lasting more than ``CRS_OPEN_DAYS`` days: resolved that long after their onset (a
    date to check: 2022-01-30 for 2021-11-30), or without a resolution date while their
    subject was followed that long after the onset: to ``seen_to`` (the last day the drop
    shows for the cut), or to a death or withdrawal before it, or to a loss to follow-up
    with no follow-up record after it. A CRS treated with tocilizumab or corticosteroids
    masks the fever of its monitoring days to its end, to the cut while open
    (``analysis.crs.crs_treated_episodes``): a red team's CRS from day 6, its resolution
    never entered, made an afebrile day 46 on several vasopressors a CRS grade 4 in the
    safety rule, and nothing said so; a second red team's resolution typed two months
    late, and a subject lost and then seen again, did the same. Worked example: onset
    2021-01-01 and the cut 2021-02-01, open: 31 days, queried; the subject withdrawn on
    2021-01-10: 9 days, not (a CRS open at a withdrawal or a death is no missing date);
    resolved on 2021-01-31: 30 days, queried. A query, not a refusal: the CRS may truly
    be that long."""
    ended = (
        _scan(records, "followup")
        .group_by("subject_id")
        .agg(
            pl.col("event_date").filter(pl.col("event").is_in(["DEATH", "WITHDRAWAL"])).min().alias("_left"),
            pl.col("event_date").filter(pl.col("event") == "LOST").min().alias("_lost"),
            pl.col("event_date").max().alias("_last"),
        )
        .select(
            "subject_id",
            pl.min_horizontal("_left", pl.when(pl.col("_last") <= pl.col("_lost")).then(pl.col("_lost"))).alias("_end"),
        )
        .collect()
    )
    resolved = pl.col("resolution_date").is_not_null() & (pl.col("resolution_date") <= seen_to)
    until = pl.when(resolved).then(pl.col("resolution_date")).otherwise(pl.min_horizontal(pl.lit(seen_to), "_end"))
    found = (
        _scan(records, "adverse_events")
        .filter(is_crs(pl.col("term")) & (pl.col("onset_date") <= seen_to))
        .select("subject_id", "onset_date", "resolution_date", "_source_file", "_source_row")
        .collect()
        .join(ended, on="subject_id", how="left")
        .with_columns(resolved.alias("_resolved"), until.alias("_until"))
        .with_columns((pl.col("_until") - pl.col("onset_date")).dt.total_days().alias("_days"))
        .filter(pl.col("_days") > CRS_OPEN_DAYS)
    )
    masks = (
        "a CRS treated with tocilizumab or corticosteroids masks the fever of its monitoring days to its end, to the "
        "cut while open, so an afebrile day on vasopressors is graded a CRS"
    )
    rule = (
        pl.when(pl.col("_resolved"))
        .then(
            pl.format(
                f"a CRS lasting {{}} days from its onset to its resolution (more than {CRS_OPEN_DAYS}): check the "
                f"dates; {masks}",
                pl.col("_days"),
            )
        )
        .otherwise(
            pl.format(
                f"a CRS not resolved {{}} days after its onset, its subject followed to {{}} (more than "
                f"{CRS_OPEN_DAYS}): enter or check the resolution date; {masks}",
                pl.col("_days"),
                pl.col("_until"),
            )
        )
    )
    return _concat([_problems(found, "resolution_date", pl.col("resolution_date"), rule)])


def early_deaths_without_fatal_ae(
    records: Records, seen_to: dt.date, window_days: int, causes: pl.DataFrame
) -> pl.DataFrame:
    """The deaths by ``seen_to`` on or before day ``window_days`` (the safety rule's window;
    day 0 the first infusion) and before any HSCT or new therapy, of subjects with no
    treatment-emergent grade-5 adverse event (on or after lymphodepletion), whose cause
    (``causes``: ``subject_id``, ``DTHCAT`` as ADSL categorises it, and ``TEXTCAT``, what
    the keyword rule reads in the cause's text) is not CRS or ICANS (the rule counts
    those) nor the leukaemia (disease progression is not an adverse event) unless its
    text reads another cause. The safety stopping rule counts an early death as a related
    grade-5 treatment-emergent AE, or as a death from CRS or ICANS: any other death with
    no such AE is counted by no rule, its relatedness unrecorded (a red team's drop in
    which all 11 infused subjects died on day 0, of "other" causes, read "0 of 10
    evaluable, P = 0.0117"). A query, not a refusal: the fatal AE and its relatedness may
    follow in a later export."""
    ends = _attribution_ends(records)
    # a grade-5 AE before lymphodepletion is not treatment-emergent, and the rule never counts
    # it, related or not (a red team's related sepsis 2 days before lymphodepletion hid the death)
    lymphodepleted = (
        _scan(records, "infusion").group_by("subject_id").agg(pl.col("ld_start_date").min().alias("_ld")).collect()
    )
    fatal = (
        _scan(records, "adverse_events")
        .filter(pl.col("grade") == 5)
        .join(lymphodepleted.lazy(), on="subject_id", how="inner")
        .filter(pl.col("onset_date") >= pl.col("_ld"))
        .select("subject_id")
        .unique()
        .collect()
    )
    infused = _first_infusions(records).select("subject_id", "infusion_date")
    deaths = _narrow(records["followup"].filter(pl.col("event") == "DEATH"), "event_date", "event")
    # a death from the leukaemia is not queried unless its text reads another cause (a red
    # team's "Cytokine release syndrome" coded LEUKEMIA); one from CRS or ICANS is counted
    cause, text = pl.col("_cause"), pl.col("_text")
    not_queried = cause.is_in(["CRS", "ICANS"]) | (
        (cause == "LEUKEMIA") & (text.is_null() | text.is_in(["LEUKEMIA", "OTHER", "UNKNOWN"]))
    )
    found = (
        deaths.join(infused, on="subject_id", how="inner")
        .join(ends, on="subject_id", how="left")
        .filter(
            (pl.col("event_date") <= seen_to)
            & (pl.col("event_date") >= pl.col("infusion_date"))
            & (pl.col("event_date") <= pl.col("infusion_date") + pl.duration(days=window_days))
            & (pl.col("_ends").is_null() | (pl.col("event_date") < pl.col("_ends")))
            & ~pl.col("subject_id").is_in(fatal["subject_id"].implode())
        )
        .join(
            causes.select("subject_id", pl.col("DTHCAT").alias("_cause"), pl.col("TEXTCAT").alias("_text")),
            on="subject_id",
            how="left",
        )
        .filter(~not_queried.fill_null(False))
        .with_columns((pl.col("event_date") - pl.col("infusion_date")).dt.total_days().alias("_day"))
    )
    said = (
        pl.when(cause.is_null())
        .then(pl.lit("not recorded"))
        .when(text.is_not_null() & (text != cause) & ~text.is_in(["OTHER", "UNKNOWN"]))
        .then(pl.format("{}, though its text reads {}", cause, text))
        .otherwise(cause)
    )
    rule = pl.format(
        f"a death on day {{}} after the first infusion (within the safety rule's {window_days} days; cause {{}}) with "
        "no treatment-emergent grade-5 adverse event: the safety stopping rule counts an early death as a related "
        "grade-5 treatment-emergent AE, or as a death from CRS or ICANS; any other is counted by no rule until its "
        "fatal AE and relatedness are recorded",
        pl.col("_day"),
        said,
    )
    return _concat([_problems(found, "event_date", pl.col("event_date"), rule)])


#: what treats CRS or ICANS (the interleukin-6 and -1 blockers, corticosteroids), as a
#: ``NEW_THERAPY`` detail may name it, its words as ``text.spelling_key`` leaves them: supportive
#: care, not new anti-leukaemia therapy. Corticosteroids are also in leukaemia regimens, so a
#: detail naming one is a query, never a refusal
CRS_ICANS_TREATMENTS = frozenset(
    {
        "tocilizumab",
        "toci",
        "tcz",
        "actemra",
        "roactemra",
        "siltuximab",
        "sylvant",
        "anakinra",
        "kineret",
        "dexamethasone",
        "decadron",
        "methylprednisolone",
        "solumedrol",
        "medrol",
        "hydrocortisone",
        "prednisolone",
        "prednisone",
        "steroid",
        "steroids",
        "corticosteroid",
        "corticosteroids",
    }
)
#: the day the day-28 response window opens: a new therapy before it ends attribution
#: before any day-28 response can be assessed
NEW_THERAPY_QUERIED_BEFORE_DAY = RESPONSE_WINDOW_FIRST_DAY


#: words (as ``text.spelling_key`` leaves them) of supportive care other than a treatment of
#: CRS or ICANS: immunoglobulin replacement, growth factors, prophylaxis, transfusion,
#: anti-infectives (a red team's "IVIG replacement for hypogammaglobulinaemia" on day 23, coded
#: NEW_THERAPY, took a day-27 CR out of the futility rule, which read BOUNDARY CROSSED)
SUPPORTIVE_CARE_WORDS = (
    r"\bivig\b",
    r"\bscig\b",
    r"\bimmun?oglobulins?\b",
    r"\bigg replacement\b",
    r"\bg ?csf\b",
    r"\b(peg)?filgrastim\b",
    r"\blenograstim\b",
    r"\bprophyla(xis|ctic)\b",
    r"\btransfusions?\b",
    r"\banti ?(biotics?|fungals?|virals?|infectives?)\b",
    # a CAR-T toxicity's treatment other than CRS's and ICANS's (a second red team's
    # "Emapalumab for IEC-HS" on day 26 took a CR out of the futility rule): IEC-HS, HLH, MAS,
    # veno-occlusive disease, tumour lysis (TLS)
    r"\biec ?hs\b",
    r"\bhlh\b",
    r"\bh(a)?emophagocytic\b",
    r"\bmacrophage activation\b",
    r"\bemapalumab\b",
    r"\bgamifant\b",
    r"\bdefibrotide\b",
    r"\brasburicase\b",
    r"\ballopurinol\b",
    r"\btumou?r lysis\b",
    r"\btls\b",
    # not ruxolitinib alone: it treats Ph-like ALL too (a third red team's "Ruxolitinib +
    # chemotherapy (CRLF2-r Ph-like ALL)"); for IEC-HS or HLH the text names the syndrome
)
#: words of a transplant, which is coded HSCT, not NEW_THERAPY (a red team's "Allogeneic HSCT"
#: coded NEW_THERAPY moved a subject out of the HSCT landmark group: OS log-rank p 0.041 to 0.020)
TRANSPLANT_WORDS = (r"\bhsct\b", r"\ballo ?sct\b", r"\bbmt\b", r"\btransplant(ation)?\b", r"\bstem cells?\b")


def _names(key: str, words: Iterable[str]) -> bool:
    """Whether a text read as ``spelling_key`` (``key``) holds any of ``words`` (patterns)."""
    return any(re.search(w, key) for w in words)


def details_where(details: pl.Series, names: Callable[[str], bool]) -> set[str]:
    """The distinct values of ``details`` that ``names`` holds of, each read once as
    ``spelling_key``: the free text of a few thousand distinct details, not of every row."""
    return {d for d in details.drop_nulls().unique().to_list() if names(spelling_key(d))}


def details_naming(details: pl.Series, words: Iterable[str]) -> set[str]:
    """The distinct values of ``details`` that name any of ``words`` (patterns)
    (``details_where``)."""
    return details_where(details, lambda key: _names(key, words))


def _therapy_reading(detail: str | None) -> str | None:
    """What a new therapy's detail names instead of anti-leukaemia therapy: ``"crs"`` (a word
    of ``CRS_ICANS_TREATMENTS``: "Tocilizumab 8 mg/kg", "IV methylprednisolone"),
    ``"supportive"`` (``SUPPORTIVE_CARE_WORDS``: "IVIG replacement", "G-CSF"), ``"transplant"``
    (``TRANSPLANT_WORDS``: "Allogeneic HSCT (matched sibling donor)"), else None
    ("Blinatumomab", "Salvage chemotherapy")."""
    if detail is None:
        return None
    key = spelling_key(detail)
    if not CRS_ICANS_TREATMENTS.isdisjoint(key.split()):
        return "crs"
    if _names(key, TRANSPLANT_WORDS):
        return "transplant"
    if _names(key, SUPPORTIVE_CARE_WORDS):
        return "supportive"
    return None


def _ending_attribution(records: Records, event: str, seen_to: dt.date, *columns: str) -> pl.DataFrame:
    """The follow-up rows of ``event`` (HSCT or NEW_THERAPY) by ``seen_to`` that end their
    subject's response attribution (the subject's first HSCT or new therapy, on or after the
    first infusion), one a subject (two on that day: one query), with its day after the
    first infusion (``_day``)."""
    rows = _narrow(
        _scan(records, "followup").filter((pl.col("event") == event) & (pl.col("event_date") <= seen_to)).collect(),
        "event_date",
        *columns,
    )
    return (
        rows.join(_first_infusions(records).select("subject_id", "infusion_date"), on="subject_id", how="inner")
        .join(_attribution_ends(records), on="subject_id", how="left")
        .filter((pl.col("event_date") == pl.col("_ends")) & (pl.col("event_date") >= pl.col("infusion_date")))
        .with_columns((pl.col("event_date") - pl.col("infusion_date")).dt.total_days().alias("_day"))
        .unique("subject_id", keep="first", maintain_order=True)
    )


def _window_assessment(found: pl.DataFrame, records: Records) -> pl.DataFrame:
    """``found`` (each subject's first therapy ending attribution, ``_ending_attribution``)
    with ``_assessed``: the day of the subject's first remission (CR or CRi) assessed in the
    day-28 response window (days ``NEW_THERAPY_QUERIED_BEFORE_DAY`` to
    ``RESPONSE_WINDOW_LAST_DAY``) on or after the therapy's date, which counts toward no
    CAR-T response (only assessments before the therapy do, endpoints.md); null without
    one (an NR after a salvage changes nothing). A second red team's new therapy
    on the day of a day-28 CR, and an HSCT on day 24 before one on day 27, each made a
    responder a non-responder and crossed the futility rule, without a word."""
    assessed = (
        _scan(records, "assessments")
        .filter(pl.col("response").is_in(["CR", "CRi"]))
        .select("subject_id", "assessment_date")
        .collect()
    )
    day = (pl.col("assessment_date") - pl.col("infusion_date")).dt.total_days()
    hits = (
        found.select("subject_id", "event_date", "infusion_date")
        .join(assessed, on="subject_id", how="inner")
        .filter(
            (day >= NEW_THERAPY_QUERIED_BEFORE_DAY)
            & (day <= RESPONSE_WINDOW_LAST_DAY)
            & (pl.col("assessment_date") >= pl.col("event_date"))
        )
        .group_by("subject_id")
        .agg(day.min().alias("_assessed"))
    )
    return found.join(hits, on="subject_id", how="left")


#: why a therapy ending attribution on or before a day-28 window's assessment is queried
_BEFORE_ASSESSMENT = (
    "on or before the subject's remission assessed on day {} in the day-28 response window: only assessments "
    "before the first HSCT or new therapy count, so it counts toward no CAR-T response"
)


def new_therapy_queried(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """Each subject's first ``NEW_THERAPY`` by ``seen_to``, when it ends the treatment-
    emergent window and response attribution (no HSCT before it, on or after the first
    infusion), that names a treatment of CRS or ICANS, other supportive care or a transplant
    in its detail (``_therapy_reading``) or falls before day
    ``NEW_THERAPY_QUERIED_BEFORE_DAY``. A red team's "Tocilizumab" coded ``NEW_THERAPY`` on
    day 4 took a grade-4 ICANS from day 6 out of the safety stopping rule (5 to 4 of 37, P
    0.10 to 0.04) and the day-14 and day-28 remissions out of the futility rule, which then
    read BOUNDARY CROSSED, without a word. Worked example: infused 2021-01-20, "Tocilizumab"
    on 2021-01-24 (day 4) is queried, "Blinatumomab" on 01-30 (day 10) too (before day 21),
    "Blinatumomab" on 02-25 (day 36) is not, "Dexamethasone" on 02-25 is, and a
    "Tocilizumab" after an HSCT is not (the HSCT ended both already). A query, not a
    refusal: an early salvage may be true, and corticosteroids treat the leukaemia too."""
    found = _window_assessment(_ending_attribution(records, "NEW_THERAPY", seen_to, "detail"), records)
    # each distinct detail read once (an export writes a few therapies over many subjects)
    named = {detail: _therapy_reading(detail) for detail in found["detail"].unique().to_list()}
    readings = pl.Series([named[detail] for detail in found["detail"].to_list()], dtype=pl.String)
    found = found.with_columns(readings.alias("_reads")).filter(
        pl.col("_reads").is_not_null()
        | (pl.col("_day") < NEW_THERAPY_QUERIED_BEFORE_DAY)
        | pl.col("_assessed").is_not_null()
    )
    why = (
        pl.when(pl.col("_reads") == "crs")
        .then(pl.lit("its detail names a treatment of CRS or ICANS, supportive care, not new anti-leukaemia therapy"))
        .when(pl.col("_reads") == "supportive")
        .then(
            pl.lit(
                "its detail names supportive care (immunoglobulin, a growth factor, prophylaxis, a transfusion, an "
                "anti-infective, or a treatment of IEC-HS, HLH or another toxicity), not new anti-leukaemia therapy"
            )
        )
        .when(pl.col("_reads") == "transplant")
        .then(pl.lit("its detail names a transplant, which is coded HSCT and counted in the HSCT analyses"))
        .when(pl.col("_day") < NEW_THERAPY_QUERIED_BEFORE_DAY)
        .then(pl.lit(f"before day {NEW_THERAPY_QUERIED_BEFORE_DAY}, when the day-28 response window opens"))
        .otherwise(pl.format(_BEFORE_ASSESSMENT, pl.col("_assessed")))
    )
    rule = pl.format(
        "a new therapy on day {} after the first infusion ({}): it ends the treatment-emergent window (an adverse "
        "event from that day is counted by no stopping rule) and response attribution (a remission after it is not "
        "the CAR-T's); record supportive care as a concomitant medication and a transplant as HSCT, or confirm the "
        "therapy",
        pl.col("_day"),
        why,
    )
    return _concat([_problems(found, "detail", pl.col("detail"), rule)])


#: words of a new therapy's detail (as ``text.spelling_key`` leaves them) that name the
#: leukaemia coming back
RELAPSE_WORDS = (r"\brelapse[ds]?\b", r"\brecurren(ce|t)\b", r"\bprogressi(on|ve)\b")


def _unassessed(rows: pl.DataFrame, records: Records) -> pl.DataFrame:
    """The ``rows`` (``subject_id, event_date``) of a subject with no ``RELAPSE``
    assessment on or before the row's date."""
    relapses = (
        _scan(records, "assessments")
        .filter(pl.col("response") == "RELAPSE")
        .group_by("subject_id")
        .agg(pl.col("assessment_date").min().alias("_relapse"))
        .collect()
    )
    return rows.join(relapses, on="subject_id", how="left").filter(
        pl.col("_relapse").is_null() | (pl.col("_relapse") > pl.col("event_date"))
    )


def relapse_named_in_therapy(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """The ``NEW_THERAPY`` rows by ``seen_to`` whose detail names a relapse (``RELAPSE_WORDS``)
    for a subject with no ``RELAPSE`` assessment on or before the therapy's date. A relapse
    is a ``RELAPSE`` assessment to every relapse endpoint, so one written only in a therapy's
    text is counted by none: a red team's "Blinatumomab for CD19+ bone marrow relapse" left
    EFS, DFS, CIR and DOR censored in remission three months earlier, without a word. Worked
    example: S1's "Blinatumomab for relapse" on day 200 with no assessment of relapse:
    queried; S2's the same after a RELAPSE assessment on day 190: not; S3's "Inotuzumab" with
    no relapse: not; S4's "Salvage for disease progression" on day 90, its relapse assessed
    on day 95 (after the therapy): queried. A query, not a refusal."""
    therapies = _narrow(
        _scan(records, "followup")
        .filter((pl.col("event") == "NEW_THERAPY") & (pl.col("event_date") <= seen_to))
        .collect(),
        "event_date",
        "detail",
    )
    therapies = therapies.filter(pl.col("detail").is_in(list(details_naming(therapies["detail"], RELAPSE_WORDS))))
    found = _unassessed(therapies, records)
    rule = (
        "a new therapy whose detail names a relapse, with no RELAPSE assessment on or before its date: every relapse "
        "endpoint (EFS, DFS, CIR, DOR) takes a relapse from a RELAPSE assessment only; enter the assessment of the "
        "relapse, or correct the text"
    )
    return _concat([_problems(found, "detail", pl.col("detail"), rule)])


def _long_term_naming(records: Records, seen_to: dt.date, names: Callable[[str], bool]) -> pl.DataFrame | None:
    """The long-term follow-up rows by ``seen_to`` whose detail, read as ``spelling_key``,
    ``names`` (each distinct detail read once), narrowed to ``event_date, event,
    detail``; None without the file."""
    ltfu = records.get("long_term_followup")
    if ltfu is None or ltfu.is_empty():
        return None
    rows = _narrow(ltfu.filter(pl.col("event_date") <= seen_to), "event_date", "event", "detail")
    return rows.filter(pl.col("detail").is_in(list(details_where(rows["detail"], names))))


#: a long-term event's words (``spelling_key``) that name a relapse, recurrence or
#: progression; "progressive" alone names neurological disorders there ("progressive
#: multifocal leukoencephalopathy")
LONG_TERM_RELAPSE_WORDS = (
    r"\brelaps(e|es|ed|ing)\b",
    r"\brecurr(ence|ent|ed)\b",
    r"\bprogression\b",
    r"\bprogressive disease\b",
)
#: the leukaemia said to be back in other words: "leukaemia has come back", "disease came
#: back" (its own relapse); "MRD came back negative" or "blast count returned to normal" is
#: not (a third red team's false alarms: "returned" and "came back" alone were read)
DISEASE_CAME_BACK = (r"\b(leuka?emia|disease|b all|blasts|cancer)( has| have| had)? (returned|come back|came back)\b",)
#: words that make such a text the trial's leukaemia's: without one, "Recurrent seizures"
#: or "Relapse of nephrotic syndrome" is another disease's (a second red team's false
#: alarms); "all" alone is an English word, so "ALL" counts only in a text of relapse
#: words alone (``RELAPSE_ALONE``)
OWN_DISEASE_WORDS = (r"leuka?emi", r"\bb all\b", r"lymphoblastic", r"\bblasts?\b", r"\bcd19\b", r"\bmrd\b")
#: the words of a text that is a relapse and nothing else ("Relapse", "Late bone marrow
#: relapse", "ALL relapse", "Disease progression")
_RELAPSE_ALONE_WORDS = """relapse relapses relapsed relapsing recurrence recurred recurrent progression progressive
disease late early very second third first isolated combined bone marrow cns testicular extramedullary medullary all
b of the in with cd19 negative positive"""
RELAPSE_ALONE = frozenset(_RELAPSE_ALONE_WORDS.split())
#: what says there was none: "no evidence of relapse", "relapse-free", "recurrence ruled out"
NO_RELAPSE = (
    r"\bno( \w+){0,3} (relapse|recurrence|progression)\b",
    r"\b(relapse|recurrence|progression) free\b",
    r"\bwithout( \w+){0,2} (relapse|recurrence|progression)\b",
    r"\bruled out\b",
    r"\bnot (relapsed|recurred)\b",
    # a third red team's false alarms: "B-ALL relapse not detected", "Relapse negative",
    # "Relapse unlikely", "Relapse screening", "HSCT to prevent relapse", "molecular relapse"
    # (MRD alone is no relapse, endpoints.md)
    r"\b(relapse|recurrence|progression)( \w+){0,2} (not detected|not seen|not found|negative|unlikely|excluded)\b",
    r"\b(relapse|recurrence) (screening|surveillance|risk|prevention|prophylaxis)\b",
    r"\b(prevent|prevents|preventing|prevention of|risk of|reduce|reducing|avoid|against|prophylaxis)( \w+){0,2} "
    r"(relapse|recurrence)\b",
    r"\b(molecular|mrd) (relapse|recurrence)\b",
)


def names_own_relapse(key: str) -> bool:
    """Whether a long-term event's detail (``key``: ``spelling_key``) names the trial's
    leukaemia coming back: a relapse word (``LONG_TERM_RELAPSE_WORDS``), not said to be
    absent (``NO_RELAPSE``), with a word of the leukaemia (``OWN_DISEASE_WORDS``) or
    nothing but relapse words (``RELAPSE_ALONE``)."""
    if _names(key, NO_RELAPSE):
        return False
    if _names(key, DISEASE_CAME_BACK):
        return True
    if not _names(key, LONG_TERM_RELAPSE_WORDS):
        return False
    return _names(key, OWN_DISEASE_WORDS) or set(key.split()) <= RELAPSE_ALONE


#: a relative, or another not the subject, whose death or relapse a text may name
_KIN = (
    r"(mother|father|mum|mom|mummy|mommy|dad|daddy|step ?(mother|father|parents?|brother|sister)|parents?|siblings?|"
    r"brother|sister|grand(mother|father|parents?|ma|pa|mum|mom|dad)|granny|gran|nan|nana|grandad|aunt|uncle|cousin|"
    r"twin|friend|guardian|legal guardian|teacher|classmate|pet|dog|cat|family member|relative)"
)

#: another's relapse, or another disease's, in a follow-up record's text: "mother relapsed
#: (depression)", "relapse of nephrotic syndrome", "recurrent seizures"
_OWN = r"(the )?(b all|all|leuka?emi\w*|disease|cd19\w*|cancer|lymphoblastic|blasts?|marrow|cns)"
NOT_OWN_RELAPSE = (
    rf"\b{_KIN}( \w+){{0,2}} (relaps|recurr)",
    rf"\b(relapses?|recurrences?) of (?!{_OWN}\b)",
    rf"\b(relapsing|recurrent) (?!{_OWN}\b)\w+",
)
#: a relapse in a follow-up record's words: the trial's leukaemia by default (the trial's own
#: file, unlike long-term follow-up's, where other diseases recur), and in other languages
FOLLOWUP_RELAPSE_WORDS = (
    r"\brelaps\w*",
    r"\brecurren\w*",
    r"\bloss of (complete )?remission\b",
    r"\brechute\b",
    r"\breca[ií]da\b",
    r"复发",
)


def names_relapse_in_followup(key: str) -> bool:
    """Whether a follow-up record's detail (``key``: ``spelling_key``) names the leukaemia
    coming back: as a long-term text does (``names_own_relapse``), or by a relapse word
    alone (``FOLLOWUP_RELAPSE_WORDS``: "HSCT for relapse", "Withdrew: relapsed"), unless the
    text says there was none (``NO_RELAPSE``) or names another's or another disease's
    (``NOT_OWN_RELAPSE``). A third red team's "Relapsed at local hospital, family moved" was
    read by the long-term reader, which wants a word of the leukaemia, as no relapse."""
    if names_own_relapse(key):
        return True
    return _names(key, FOLLOWUP_RELAPSE_WORDS) and not _names(key, NO_RELAPSE) and not _names(key, NOT_OWN_RELAPSE)


def relapse_named_in_long_term(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """The long-term follow-up rows by ``seen_to``, but a ``SECONDARY_MALIGNANCY`` (queried
    as such: ``malignancy_category_queried``), whose detail names the leukaemia coming
    back (``names_own_relapse``) for a subject with no ``RELAPSE`` assessment on or before the
    row's date. A red team's "CD19-negative B-ALL relapse" coded ``NEW_HEMATOLOGIC`` was
    counted as a new disorder, and by no relapse endpoint, without a word. Worked example
    (test): S1's NEW_HEMATOLOGIC "CD19-negative B-ALL relapse" on day 500, no relapse
    assessed: queried; S2's the same after a RELAPSE assessment on day 400: not; S3's
    NEW_HEMATOLOGIC "Pancytopenia": not; S4's SECONDARY_MALIGNANCY "B-ALL relapse": not
    here (the malignancy query's). A query, not a refusal."""
    named = _long_term_naming(records, seen_to, names_own_relapse)
    if named is None:
        return empty_problems()
    named = named.filter(pl.col("event") != "SECONDARY_MALIGNANCY")
    found = _unassessed(named, records)
    rule = pl.format(
        "a long-term {} whose detail names a relapse, with no RELAPSE assessment on or before its date: every "
        "relapse endpoint (EFS, DFS, CIR, DOR) takes a relapse from a RELAPSE assessment only; enter the assessment "
        "of the relapse, or correct the text",
        pl.col("event"),
    )
    return _problems(found, "detail", pl.col("detail"), rule)


#: the follow-up events whose detail is read for a relapse by ``relapse_named_in_followup``
#: (a new therapy's by ``relapse_named_in_therapy``; a death's detail is its cause, and a
#: death from leukaemia without a recorded relapse is counted by CIR already)
FOLLOWUP_TEXT_EVENTS = ("CONTACT", "LOST", "WITHDRAWAL", "HSCT")


def _followup_naming(records: Records, seen_to: dt.date, which: pl.Expr, names: Callable[[str], bool]) -> pl.DataFrame:
    """The follow-up rows ``which`` selects by ``seen_to`` whose detail, read as
    ``spelling_key``, ``names`` (each distinct detail read once), narrowed to
    ``event_date, event, detail``."""
    rows = _narrow(
        _scan(records, "followup")
        .filter(which & (pl.col("event_date") <= seen_to) & pl.col("detail").is_not_null())
        .collect(),
        "event_date",
        "event",
        "detail",
    )
    return rows.filter(pl.col("detail").is_in(list(details_where(rows["detail"], names))))


def relapse_named_in_followup(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """The follow-up rows of ``FOLLOWUP_TEXT_EVENTS`` by ``seen_to`` whose detail names
    the leukaemia coming back (``names_relapse_in_followup``) for a subject with no ``RELAPSE``
    assessment on or before the row's date. A second red team's contact "Relapse of B-ALL
    diagnosed at local hospital" left DFS, CIR and EFS censored in remission, without a
    word. Worked example (test): S1's CONTACT "Relapse of B-ALL diagnosed at local hospital",
    no relapse assessed: queried; S2's the same after a RELAPSE assessment: not; S3's
    CONTACT "Well, no evidence of relapse": not. A query, not a refusal."""
    named = _followup_naming(records, seen_to, pl.col("event").is_in(FOLLOWUP_TEXT_EVENTS), names_relapse_in_followup)
    rule = pl.format(
        "a follow-up {} whose detail names a relapse, with no RELAPSE assessment on or before its date: every "
        "relapse endpoint (EFS, DFS, CIR, DOR) takes a relapse from a RELAPSE assessment only; enter the assessment "
        "of the relapse, or correct the text",
        pl.col("event"),
    )
    return _problems(_unassessed(named, records), "detail", pl.col("detail"), rule)


def relapse_not_assessed(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """The check ``relapse_recorded``'s findings: a relapse named in a new therapy's text
    (``relapse_named_in_therapy``), another follow-up record's (``relapse_named_in_followup``)
    or a long-term event's (``relapse_named_in_long_term``) that no ``RELAPSE`` assessment
    records."""
    return _concat(
        [
            relapse_named_in_therapy(records, seen_to),
            relapse_named_in_followup(records, seen_to),
            relapse_named_in_long_term(records, seen_to),
        ]
    )


#: words of a long-term event's detail (``spelling_key``) that name a death (a second red
#: team's "passed away" and "expired" were not read)
DEATH_WORDS = (
    r"\bdie[ds]\b",
    r"\bdeaths?\b",
    r"\bdeceased\b",
    r"\bdead\b",
    r"\bfatal(ly|ity)?\b",
    r"\bpassed (away|on)\b",
    r"\bexpired\b",
    r"\bdemise\b",
    # a third red team's misses: "succumbed to disease", "killed in a road accident", "no
    # longer alive", and the words of a Spanish, French, German or Chinese export
    r"\bsuccumbed\b",
    r"\bkilled\b",
    r"\bno longer alive\b",
    r"\bfallecid[oa]\b",
    r"\bfalleci[oó]\b",
    r"\bd[eé]c[eé]d[eé]e?\b",
    r"\bverstorben\b",
    r"死亡|去世|病逝|身故",
)
#: the words before a relative's name that make the relative the teller, not the dead: "per
#: mother, died abroad", "informed by father: died at home" (a third red team's misses)
_TELLER = r"(?<!\bper )(?<!\bby )(?<!\bfrom )(?<!\bto )"
#: the words of the subject between a relative and a death: "mother reports child died"
_SUBJECT = r"(child|patient|pt|subject|son|daughter|boy|girl|he|she|baby|infant)"
#: a death the words name that is not the subject's, or none: "near-fatal", "not fatal",
#: "risk of death discussed", "mother died", "death of sibling" (a second red team's false
#: alarms), taken out of the text before ``DEATH_WORDS`` are read
NOT_THE_SUBJECTS_DEATH = (
    r"\b(not|non|no|near|nearly|almost|potentially|possibly|possible|risk of|fear of)( a| known to have)? "
    r"(fatal|deaths?|died|dead|deceased)\b",
    rf"{_TELLER}\b{_KIN}( s)?( (?!{_SUBJECT}\b)\w+){{0,2}} (died|dies|death|deceased|passed away|is dead)\b",
    rf"\b(death|loss|demise) (of|in) (a |the |his |her |their |our )?({_KIN}|family)\b",
    # a death registry or index searched, whatever it found (a found death says "died")
    r"\bdeath (registry|register|index|search|record check)\b",
    rf"\bdeath certificate( \w+){{0,2}} (for|of) (a |the |his |her |their )?{_KIN}\b",
    # paperwork that expired ("consent expired, reconsented"), not a subject
    r"\b(consent|icf|insurance|visa|passport|documents?|prescriptions?|licen[cs]e|card|medications?|drugs?|"
    r"products?|forms?|permit|contract|coverage|authori[sz]ation)( \w+)? expired\b",
    r"\bexpired (consent|insurance|visa|passport|documents?|prescriptions?|medications?|products?|forms?)\b",
)


def names_death(key: str) -> bool:
    """Whether a long-term event's detail (``key``: ``spelling_key``) names the subject's
    death: a word of ``DEATH_WORDS`` once ``NOT_THE_SUBJECTS_DEATH``'s phrases are taken
    out."""
    for phrase in NOT_THE_SUBJECTS_DEATH:
        key = re.sub(phrase, " ", key)
    return _names(key, DEATH_WORDS)


def death_named_in_long_term(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """The long-term follow-up rows by ``seen_to`` whose detail names the subject's death
    (``names_death``) for a subject whose follow-up records no ``DEATH`` on any date. A
    death is dated and caused only in follow-up: a red team's "Fatal progressive
    multifocal leukoencephalopathy; patient died" left the subject alive in overall
    survival, the deaths table and non-relapse mortality, without a word. Worked example
    (test): S5's "Fatal progressive multifocal leukoencephalopathy", no death in follow-up:
    queried; S2's "Fatal PML" with a follow-up death: not; S3's "Non-fatal cerebral venous
    thrombosis": not. A query, not a refusal: the text may name another's death."""
    named = _long_term_naming(records, seen_to, names_death)
    return empty_problems() if named is None else _death_unrecorded(named, records, "long-term")


def _death_unrecorded(named: pl.DataFrame, records: Records, kind: str) -> pl.DataFrame:
    """The rows of ``named`` (a ``kind`` of record whose detail names a death) of a subject
    whose follow-up has no ``DEATH`` on any date, as findings."""
    found = named.join(_deaths(records).select("subject_id"), on="subject_id", how="anti")
    rule = pl.format(
        f"a {kind} {{}} whose detail names a death, with no DEATH in followup on any date: overall survival, the "
        "deaths table and non-relapse mortality count the subject alive; enter the date and cause of death in "
        "followup, or correct the text",
        pl.col("event"),
    )
    return _problems(found, "detail", pl.col("detail"), rule)


def death_named_in_followup(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """The follow-up rows other than ``DEATH`` by ``seen_to`` whose detail names the
    subject's death (``names_death``) for a subject whose follow-up records no ``DEATH`` on
    any date. A second red team's "Family reports the child died abroad" coded ``LOST``, a
    withdrawal whose reason was "Death" and a contact "patient passed away at home" left
    three children alive in overall survival, one censored on the day of the record saying
    so. Worked example (test): S1's LOST "Family reports the child died abroad", no death:
    queried; S2's WITHDRAWAL "Death" with a DEATH row: not; S3's CONTACT "Mother died last
    month": not. A query, not a refusal."""
    named = _followup_naming(records, seen_to, pl.col("event") != "DEATH", names_death)
    return _death_unrecorded(named, records, "follow-up")


def death_not_recorded(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """The check ``death_recorded``'s findings: a death named in a follow-up record's text
    (``death_named_in_followup``) or a long-term event's (``death_named_in_long_term``)
    for a subject whose follow-up has no ``DEATH``."""
    return _concat([death_named_in_followup(records, seen_to), death_named_in_long_term(records, seen_to)])


def early_hsct_queried(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """Each subject's first ``HSCT`` by ``seen_to``, when it ends response attribution (no
    new therapy before it, on or after the first infusion), before day
    ``NEW_THERAPY_QUERIED_BEFORE_DAY``: a transplant needs conditioning, and a consolidating
    one follows the day-28 assessment. A red team's HSCT mistyped a month early (day 12 for
    day 104) made a CRi responder a non-responder (CR/CRi by day 28 27 to 26 of 37) and an
    EFS treatment failure, without a word, where a new therapy on that day is queried
    (``new_therapy_queried``). Worked example: infused 2021-01-20, an HSCT on 2021-02-09 (day
    20) is queried, on 02-10 (day 21) not, and one after a new therapy not (the therapy ended
    attribution first, and is queried itself); so is one on or before a remission assessed
    in the day-28 window (``_window_assessment``). A query, not a refusal."""
    found = _window_assessment(_ending_attribution(records, "HSCT", seen_to), records).filter(
        (pl.col("_day") < NEW_THERAPY_QUERIED_BEFORE_DAY) | pl.col("_assessed").is_not_null()
    )
    early = pl.format(
        f"an HSCT on day {{}} after the first infusion, before day {NEW_THERAPY_QUERIED_BEFORE_DAY} when the "
        "day-28 response window opens: it ends response attribution (the subject is a non-responder, an EFS "
        "treatment failure) and the treatment-emergent window; confirm the date",
        pl.col("_day"),
    )
    before = pl.format(
        f"an HSCT on day {{}} after the first infusion, {_BEFORE_ASSESSMENT}; confirm the dates",
        pl.col("_day"),
        pl.col("_assessed"),
    )
    rule = pl.when(pl.col("_day") < NEW_THERAPY_QUERIED_BEFORE_DAY).then(early).otherwise(before)
    return _concat([_problems(found, "event_date", pl.col("event_date"), rule)])


def toxicity_after_other_therapy(
    records: Records,
    seen_to: dt.date,
    window_days: int,
    is_syndrome: Callable[[pl.Expr], pl.Expr],
    causes: pl.DataFrame,
) -> pl.DataFrame:
    """What the safety stopping rule would count but for a first HSCT or new therapy on or
    before it (after the first infusion), each by ``seen_to``: a CRS or ICANS adverse event
    (``is_syndrome``: whether a term is either, ``analysis.terms``) of grade 4 or 5, or a
    related grade-5 adverse event, starting on or before day ``window_days`` (the safety
    rule's window; day 0 the first infusion); a death whose cause (``causes``:
    ``subject_id`` and ``DTHCAT`` as ADSL categorises it) is CRS or ICANS, on any day. The
    therapy ends the treatment-emergent window (endpoints v3), so the rule counts none of
    these, and the subject stays in its denominator as a subject without an event: a red
    team's new therapy on day 24 followed by a related grade-5 CRS on day 26 and a death
    from CRS on day 28 left the rule at 5 of 37, "0 grade-5 CRS" beside "1 CRS death",
    without a word. Worked example: infused 2021-01-20, a new therapy on 2021-02-13 (day
    24): a grade-4 CRS from 02-15 (day 26) is queried, one from 02-22 (day 33) is not (past
    the window), a grade-3 CRS is not, a related grade-5 sepsis on day 26 is, an unrelated
    one is not, and a death from CRS on day 60 is. A query, not a refusal: the rule's
    window is the specification's, and the therapy's date or the event's may be wrong."""
    ends = _attribution_ends(records)
    infused = _first_infusions(records).select("subject_id", "infusion_date")
    after = (
        infused.join(ends, on="subject_id", how="inner")
        .filter(pl.col("_ends") >= pl.col("infusion_date"))
        .select("subject_id", "infusion_date", "_ends")
    )
    day = (pl.col("_date") - pl.col("infusion_date")).dt.total_days()
    counted = (is_syndrome(pl.col("term")) & (pl.col("grade") >= 4)) | (
        (pl.col("grade") == 5) & pl.col("related").fill_null(False)
    )
    events = (
        _scan(records, "adverse_events")
        .join(after.lazy(), on="subject_id", how="inner")
        .filter((pl.col("onset_date") >= pl.col("_ends")) & (pl.col("onset_date") <= seen_to))
        .collect()
        .filter(counted)
        .with_columns(pl.col("onset_date").alias("_date"))
        .with_columns(day.alias("_day"))
        .filter(pl.col("_day") <= window_days)
    )
    deaths = (
        _narrow(records["followup"].filter(pl.col("event") == "DEATH"), "event_date")
        .join(after, on="subject_id", how="inner")
        .join(causes.select("subject_id", pl.col("DTHCAT").alias("_cause")), on="subject_id", how="left")
        .filter(
            (pl.col("event_date") >= pl.col("_ends"))
            & (pl.col("event_date") <= seen_to)
            & pl.col("_cause").is_in(["CRS", "ICANS"]).fill_null(False)
        )
        .with_columns(pl.col("event_date").alias("_date"))
        .with_columns(day.alias("_day"))
    )
    since = pl.format(
        "the first HSCT or new therapy on day {}", (pl.col("_ends") - pl.col("infusion_date")).dt.total_days()
    )
    closing = (
        ", which ends the treatment-emergent window: the safety stopping rule does not count it, and keeps the "
        "subject in its denominator without an event; confirm the dates, or the therapy"
    )
    event_rule = pl.format(
        "a grade {} adverse event ({}) on day {} after the first infusion, within the safety rule's "
        f"{window_days} days, on or after {{}}{closing}",
        pl.col("grade"),
        pl.when(is_syndrome(pl.col("term"))).then(pl.col("term")).otherwise(pl.format("{}, related", pl.col("term"))),
        pl.col("_day"),
        since,
    )
    death_rule = pl.format(
        f"a death from {{}} on day {{}} after the first infusion, on or after {{}}{closing}",
        pl.col("_cause"),
        pl.col("_day"),
        since,
    )
    return _concat(
        [
            _problems(events, "onset_date", pl.col("onset_date"), event_rule),
            _problems(deaths, "event_date", pl.col("event_date"), death_rule),
        ]
    )


#: the days after enrolment past which a subject still awaiting infusion, with nothing in
#: the drop to say why, is queried: a CAR-T product takes weeks to make (tisagenlecleucel's
#: enrolment to infusion was a median of 45 days, at most 105, in ELIANA; this trial's
#: synthetic drops 10-26 days), and a withdrawal or failed product not entered keeps the
#: subject pending, out of the intention-to-treat denominator
AWAITING_INFUSION_DAYS = 120


def awaiting_infusion_queried(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """The subjects enrolled more than ``AWAITING_INFUSION_DAYS`` days before ``seen_to``
    whom the drop shows no infusion, no death, withdrawal or loss to follow-up, and no
    failed product or reason for not infusing in the apheresis file, on any date: ADSL
    has them awaiting infusion (``exposure.not_infused_reason``), pending, left out of the
    intention-to-treat denominator. A red team removed a never-infused subject's only
    follow-up row (a withdrawal six days after enrolment): at a cut three years later the
    subject was "awaiting infusion", and the intention-to-treat CR/CRi by day 28 read
    27/39 for 27/40, without a word. Worked example: enrolled 2021-01-01 and nothing
    else, at a cut on 2021-05-01 (120 days) not queried, on 2021-05-02 (121 days)
    queried; with a withdrawal, an infusion after the cut, or a FAILED product, not. A
    query, not a refusal: a wait that long may be true (a product remade)."""
    enrolled = _narrow(records["enrolment"].filter(pl.col("enrol_date") <= seen_to), "enrol_date").with_columns(
        (pl.lit(seen_to) - pl.col("enrol_date")).dt.total_days().alias("_days")
    )
    explained = [
        _scan(records, "infusion").select("subject_id"),
        _scan(records, "followup").filter(pl.col("event").is_in(["DEATH", "WITHDRAWAL", "LOST"])).select("subject_id"),
    ]
    if "apheresis" in records:
        explained.append(
            _scan(records, "apheresis")
            .filter((pl.col("product_status") == "FAILED") | pl.col("not_infused_reason").is_not_null())
            .select("subject_id")
        )
    known = pl.concat(explained).unique().collect()
    found = enrolled.filter(pl.col("_days") > AWAITING_INFUSION_DAYS).join(known, on="subject_id", how="anti")
    rule = pl.format(
        f"enrolled {{}} days before {seen_to.isoformat()} (more than {AWAITING_INFUSION_DAYS}) with no infusion, "
        "no death, withdrawal or loss to follow-up, and no failed product or reason not infused in the apheresis "
        "file: the subject is awaiting infusion, pending, out of the intention-to-treat denominator; enter what "
        "happened, or confirm the wait",
        pl.col("_days"),
    )
    return _concat([_problems(found, "enrol_date", pl.col("enrol_date"), rule)])


#: words of a long-term event's detail (as ``text.spelling_key`` leaves them) that name a
#: T-cell malignancy, which the protocol makes an alert (``T_CELL_MALIGNANCY``), and words
#: that name the trial's own leukaemia coming back, which is a relapse, not a second cancer
T_CELL_WORDS = (
    r"\bt ?cell\b",
    r"\bptcl\b",
    r"\bt (all|lbl)\b",
    r"\bt lymphoblastic\b",
    r"\bcar (positive|pos)\b",
    r"\btransgene\b",
    r"\bmycosis fungoides\b",
    r"\bsezary\b",
)
OWN_LEUKAEMIA_WORDS = (r"\brelapse[ds]?\b", r"\brecurren(ce|t)\b", r"\bb (all|lbl)\b", r"\bb lymphoblastic\b")


def malignancy_category_queried(records: Records) -> pl.DataFrame:
    """The long-term ``SECONDARY_MALIGNANCY`` rows whose ``detail`` names a T-cell
    malignancy (and a new disorder's whose detail names a malignancy:
    ``_malignancy_as_new_disorder``) (``T_CELL_WORDS``: counted apart, and an alert, when coded
    ``T_CELL_MALIGNANCY``) or the trial's own leukaemia coming back (``OWN_LEUKAEMIA_WORDS``:
    a relapse, an efficacy event, not a second cancer). A red team's "CAR-positive T-cell
    lymphoma (CAR+ PTCL)" coded ``SECONDARY_MALIGNANCY`` read "0 with a T-cell malignancy"
    on page 1, and a "CD19-negative B-ALL relapse" counted as a secondary malignancy,
    without a word. Worked example: "Peripheral T-cell lymphoma" and "T-ALL" are queried
    as T-cell, "CD19-negative B-ALL relapse" as the leukaemia, "Acute myeloid leukaemia"
    and "Papillary thyroid carcinoma" not. A query, not a refusal: the category is the
    investigator's."""
    ltfu = records.get("long_term_followup")
    if ltfu is None or ltfu.is_empty():
        return empty_problems()
    return _concat([_secondary_malignancy_queried(ltfu), _malignancy_as_new_disorder(ltfu)])


#: words of a malignancy in a long-term event's detail (``spelling_key``)
MALIGNANCY_WORDS = (
    r"lymphoma",
    r"leuka?emia",
    r"myelodysplas",
    r"\bmds\b",
    r"carcinoma",
    r"sarcoma",
    r"malignan",
    r"neoplas",
    r"cancer",
    r"blastoma",
    r"myeloma",
    r"\bptcl\b",
    r"\bt (all|lbl)\b",
    r"\bt lymphoblastic\b",
)
#: the long-term events that are new disorders, not malignancies (data-contract.md)
NEW_DISORDERS = ("NEW_AUTOIMMUNE", "NEW_NEUROLOGIC", "NEW_HEMATOLOGIC")


def _malignancy_as_new_disorder(ltfu: pl.DataFrame) -> pl.DataFrame:
    """A new disorder (``NEW_DISORDERS``) whose ``detail`` names a malignancy
    (``MALIGNANCY_WORDS``): a red team's "CAR-positive T-cell lymphoma (CAR+ PTCL)" coded
    ``NEW_HEMATOLOGIC`` left page 1 at "0 with a T-cell malignancy", and a therapy-related
    MDS so coded was no secondary malignancy, without a word. Worked example (test): "CAR+
    PTCL" as NEW_HEMATOLOGIC queried as T-cell, "Therapy-related myelodysplastic syndrome"
    as a malignancy, "Aplastic anaemia" and "Immune thrombocytopenia" not."""
    coded = _narrow(ltfu.filter(pl.col("event").is_in(NEW_DISORDERS)), "event", "detail")
    # the leukaemia coming back is a relapse (``relapse_named_in_long_term``), not a second
    # malignancy to code so: a second red team's "Leukaemia recurred in marrow" was told so
    malignant = details_naming(coded["detail"], MALIGNANCY_WORDS) - details_where(coded["detail"], names_own_relapse)
    t_cell = malignant & details_naming(coded["detail"], T_CELL_WORDS)
    found = coded.filter(pl.col("detail").is_in(list(malignant)))
    event = pl.col("event")
    rule = (
        pl.when(pl.col("detail").is_in(list(t_cell)))
        .then(
            pl.format(
                "a {} whose detail names a T-cell malignancy: the report counts T_CELL_MALIGNANCY apart, an alert "
                "to the board (endpoints.md, Long-term safety); code it so, or confirm",
                event,
            )
        )
        .otherwise(
            pl.format(
                "a {} whose detail names a malignancy: the report counts SECONDARY_MALIGNANCY apart (endpoints.md, "
                "Long-term safety); code it so, or confirm",
                event,
            )
        )
    )
    return _problems(found, "event", event, rule)


def _secondary_malignancy_queried(ltfu: pl.DataFrame) -> pl.DataFrame:
    """``malignancy_category_queried``'s SECONDARY_MALIGNANCY rows."""
    coded = _narrow(ltfu.filter(pl.col("event") == "SECONDARY_MALIGNANCY"), "event", "detail")
    t_cell = details_naming(coded["detail"], T_CELL_WORDS)
    own = details_naming(coded["detail"], OWN_LEUKAEMIA_WORDS) - t_cell
    found = coded.filter(pl.col("detail").is_in(list(t_cell | own)))
    rule = (
        pl.when(pl.col("detail").is_in(list(t_cell)))
        .then(
            pl.lit(
                "a SECONDARY_MALIGNANCY whose detail names a T-cell malignancy: the report counts T_CELL_MALIGNANCY "
                "apart, an alert to the board (endpoints.md, Long-term safety); code it so, or confirm"
            )
        )
        .otherwise(
            pl.lit(
                "a SECONDARY_MALIGNANCY whose detail names the trial's own leukaemia coming back: a relapse is an "
                "efficacy event (a RELAPSE assessment), not a second cancer; code it so, or confirm"
            )
        )
    )
    return _problems(found, "event", pl.col("event"), rule)


def adverse_events_current(records: Records, seen_to: dt.date) -> pl.DataFrame:
    """The first infusions of subjects followed ``AE_WINDOW_DAYS`` days by ``seen_to`` (the
    last day the drop shows for the cut) with no adverse event since, when they make the
    AE export look older than the other files: ``STALE_AE_SUBJECTS`` or more infused after
    its latest onset, or ``RECENT_WITHOUT_AE`` or more of the ``RECENT_SUBJECTS`` most
    recently infused without an AE in those days (one late row, a single subject's
    expedited SAE, no longer hides an old file: a red team's did). A red team's drop whose
    AE file was exported months before its assessments counted five subjects followed 30
    days as free of grade >= 4 CRS, and the safety stopping rule with them. A query, not a
    refusal: the files may be right."""
    onset = _scan(records, "adverse_events").select(pl.col("onset_date").max()).collect().item()
    # a subject dead before the window's end was not followed through it (a red team's
    # drop called subjects dead on day 0 "followed 30 days"): said as dead
    dead = _deaths(records).filter(pl.col("_death") <= seen_to)
    first = _first_infusions(records)
    followed = (
        first.filter(pl.col("infusion_date") + pl.duration(days=AE_WINDOW_DAYS) <= seen_to)
        .join(dead, on="subject_id", how="left")
        .filter(
            pl.col("_death").is_null()
            | (pl.col("_death") >= pl.col("infusion_date") + pl.duration(days=AE_WINDOW_DAYS))
        )
        .drop("_death")
    )
    # infused after the latest onset and dead by the cut, before day 30 or not: evidence too (a
    # red team's two early deaths among four such subjects silenced the query)
    died_early = (
        first.join(dead, on="subject_id", how="inner")
        .filter(pl.col("_death") < pl.col("infusion_date") + pl.duration(days=AE_WINDOW_DAYS))
        .drop("_death")
    )
    both = pl.concat([followed, died_early]).sort("infusion_date", "subject_id")
    unseen = both.filter(pl.col("infusion_date") > onset) if onset is not None else both
    window = f"followed {AE_WINDOW_DAYS} days by {seen_to}"
    tail = (
        ", which CAR-T recipients nearly always have; if the AE export is older than the others, the AE tables and "
        "the safety stopping rule miss their events: export it again with the others"
    )
    if unseen.height >= STALE_AE_SUBJECTS:
        latest = f"the adverse-event export's latest onset is {onset}" if onset else "the adverse-event export is empty"
        rule = (
            f"{latest}: {unseen.height} subjects infused after it and {window}, or dead by then, have no adverse event "
            f"since{tail}"
        )
        return _concat([_problems(unseen, "infusion_date", pl.col("infusion_date"), rule)])
    # the dead before day 30 among the most recent too (a red team's three early deaths and one
    # late row hid an old export); their window is to their death
    recent = both.tail(RECENT_SUBJECTS)
    with_ae = (
        _scan(records, "adverse_events")
        .select("subject_id", "onset_date")
        .join(recent.lazy().select("subject_id", "infusion_date"), on="subject_id", how="inner")
        .filter(
            (pl.col("onset_date") >= pl.col("infusion_date"))
            & (pl.col("onset_date") <= pl.col("infusion_date") + pl.duration(days=AE_WINDOW_DAYS))
        )
        .select("subject_id")
        .unique()
        .collect()
    )
    without = recent.filter(~pl.col("subject_id").is_in(with_ae["subject_id"].implode()))
    if without.height < RECENT_WITHOUT_AE:
        return empty_problems()
    rule = (
        f"{without.height} of the {recent.height} subjects most recently infused and {window}, or dead by then, have "
        f"no adverse event in their first {AE_WINDOW_DAYS} days{tail} (a site's export too)"
    )
    return _concat([_problems(without, "infusion_date", pl.col("infusion_date"), rule)])


def spelling_variants(records: Records, spellings: Mapping[str, Mapping[str, str]]) -> pl.DataFrame:
    """The rows whose AE term, SOC or site is counted under another spelling
    (``spellings``: ``analysis.terms.counted_spellings``), as findings naming the spelling
    and the one it is counted under. Read by a query for those spellings alone."""
    out = []
    for key, mapping in spellings.items():
        record, column = key.split(".")
        query = _scan(records, record)
        rows = query.filter(pl.col(column).is_in(list(mapping))).collect()
        rule = pl.format("counted as '{}'", pl.col(column).replace_strict(mapping, return_dtype=pl.String))
        out.append(_problems(rows, column, pl.col(column), rule))
    return _concat(out)


def spellings_finding(variants: pl.DataFrame) -> str:
    """What check ``trial_drop:one_spelling_per_value`` and the report say of values
    written several ways: each spelling, the one it is counted under and its rows."""
    parts = []
    ordered = variants.sort("column", "rule", "value", "row", descending=[True, False, False, False])  # terms first
    for (column, value, rule), part in ordered.group_by("column", "value", "rule", maintain_order=True):
        parts.append(f"{column} '{printable(value)}' {rule} ({rows_named(part, shown=4)})")
    return (
        f"{variants.height} row(s) whose AE term, SOC or site is another spelling (case, spacing, punctuation, "
        "accents, British English, or '&' for 'and' in a MedDRA name) of a value written otherwise, counted under "
        "one spelling so that the tables count it once: "
        + "; ".join(parts[:NAMES_LISTED])
        + (f"; and {len(parts) - NAMES_LISTED} more spelling(s)" if len(parts) > NAMES_LISTED else "")
    )


def rows_named(problems: pl.DataFrame, shown: int = 8) -> str:
    """The file rows a finding names, file by file, without its subjects: ``assessments.csv
    rows 41, 42 and 57`` (the first ``shown`` of each file, then how many more). Rows
    withheld (null, ``rows_withheld``) name the file alone: ``assessments.csv``."""
    parts = []
    for (file,), part in problems.sort("file", "row").group_by("file", maintain_order=True):
        rows = [str(r) for r in part["row"].drop_nulls().to_list()]
        if not rows:
            parts.append(str(file))
            continue
        if len(rows) > shown:
            listed = first_of(rows, shown)
        else:
            listed = " and ".join(filter(None, [", ".join(rows[:-1]), rows[-1]]))
        parts.append(f"{file} row{'s' if len(rows) > 1 else ''} {listed}")
    return "; ".join(parts)


#: how many names a finding lists before "and N more"
NAMES_LISTED = 12


def names_listed(names: list[str], limit: int = NAMES_LISTED) -> str:
    """File or column names as a finding lists them: escaped where a name holds a control
    or invisible character (a file name with a line break split the warning in two), the
    first ``limit``, then how many more (65 files were one 1,000-character line)."""
    one_line = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})
    return first_of([printable(n).translate(one_line) for n in names], limit)


def unread_files_finding(unread: list[str]) -> str:
    """What check ``trial_drop:known_files`` and the report say of files never read."""
    return f"{len(unread)} file(s) in the drop folder outside the data contract, never read: {names_listed(unread)}"


def dropped_columns_finding(file: str, columns: Sequence[str]) -> str:
    """What check ``raw/<record>:known_columns`` and the report say of columns dropped unread."""
    return f"{file}: {len(columns)} column(s) outside the data contract, dropped unread: {names_listed(list(columns))}"


def _withdrawal_sentence(found: pl.DataFrame) -> str:
    assessed = found.filter(pl.col("column") == "assessment_date")
    contacted = found.filter(pl.col("column") != "assessment_date")
    said = []
    if assessed.height:
        said.append(
            f"{assessed.height} disease assessment(s) dated after the subject's withdrawal or loss to follow-up, in "
            f"{assessed['subject'].n_unique()} subject(s) ({rows_named(assessed)}): the efficacy set leaves out a "
            "subject withdrawn before any assessment, and a subject assessed after being lost was not lost"
        )
    if contacted.height:
        said.append(
            f"{contacted.height} contact(s) dated after the subject's loss to follow-up (a follow-up contact, HSCT or "
            "new therapy, a laboratory sample or a long-term follow-up event), in "
            f"{contacted['subject'].n_unique()} subject(s) ({rows_named(contacted)}): a subject in "
            "contact was not lost, and the loss ends the visits due and the windows followed (the 30- and 100-day "
            "death rates, the safety rule's evaluable set)"
        )
    return "; ".join(said)


def _early_deaths_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} death(s) within the safety rule's window, not from the leukaemia, CRS or ICANS, with no "
        f"treatment-emergent grade-5 adverse event ({rows_named(found)}): the safety stopping rule counts an early "
        "death as a related grade-5 treatment-emergent AE, or as a death from CRS or ICANS; any other is counted by "
        "no rule until its fatal AE and relatedness are recorded"
    )


def _open_crs_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} CRS adverse event(s) lasting more than {CRS_OPEN_DAYS} days, or without a resolution date "
        f"that long after their onset while their subject was followed ({rows_named(found)}): a CRS treated with "
        "tocilizumab or corticosteroids masks the fever of its monitoring days to its end (to the cut while open), "
        "before any HSCT or new therapy, so an afebrile day on vasopressors is graded a CRS, which the safety "
        "stopping rule may count"
    )


def _new_therapy_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} new therapy record(s) naming a treatment of CRS or ICANS (tocilizumab, siltuximab, "
        "anakinra, corticosteroids), other supportive care (immunoglobulin, a growth factor, prophylaxis, a "
        "transfusion, an anti-infective, a treatment of IEC-HS or HLH) or a transplant, or dated before day "
        f"{NEW_THERAPY_QUERIED_BEFORE_DAY} or on or before a remission assessed in the day-28 response window "
        f"({rows_named(found)}): a new therapy ends the treatment-emergent window "
        "and response attribution on its day, so an adverse event after it is counted by no stopping rule and a "
        "remission after it is not the CAR-T's; supportive care is a concomitant medication and a transplant an "
        "HSCT, not new therapy"
    )


def _early_hsct_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} HSCT(s) before day {NEW_THERAPY_QUERIED_BEFORE_DAY} after the first infusion, or on or "
        f"before a remission assessed in the day-28 response window ({rows_named(found)}): each ends response "
        "attribution before the day-28 response is assessed, so the subject's response there counts for nothing "
        "(a non-responder, an EFS treatment failure without an earlier remission); a consolidating transplant "
        "follows the day-28 assessment"
    )


def _relapse_in_therapy_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} follow-up or long-term follow-up record(s) whose detail names a relapse, for a subject "
        f"with no RELAPSE assessment on or before it ({rows_named(found)}): EFS, DFS, CIR and DOR take a relapse "
        "from a RELAPSE assessment only, so they count none"
    )


def _death_in_long_term_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} follow-up or long-term follow-up record(s) whose detail names a death, for a subject with "
        "no death in "
        f"follow-up ({rows_named(found)}): overall survival, the deaths table and non-relapse mortality count the "
        "subject alive; a death is dated and caused only in follow-up"
    )


def _after_therapy_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} grade-4 or grade-5 CRS or ICANS, related fatal adverse event(s) or death(s) from CRS or "
        f"ICANS on or after a first HSCT or new therapy, in {found['subject'].n_unique()} subject(s) "
        f"({rows_named(found)}): the therapy ends the treatment-emergent window, so the safety stopping rule counts "
        "none of them and keeps each subject in its denominator without an event; confirm the dates of the events "
        "and of the therapy"
    )


def _awaiting_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} subject(s) enrolled more than {AWAITING_INFUSION_DAYS} days before the cut with no "
        f"infusion and nothing recorded to say why ({rows_named(found)}): each is awaiting infusion, pending, and "
        "out of the intention-to-treat denominator; a withdrawal, death, loss to follow-up or failed product not "
        "entered would make each a non-responder"
    )


def _malignancy_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} long-term event(s) whose detail names a malignancy of another category: a "
        "SECONDARY_MALIGNANCY naming a T-cell malignancy or the trial's own leukaemia coming back, or a new disorder "
        f"naming a malignancy ({rows_named(found)}): the report counts a T-cell malignancy apart, an alert to the "
        "board, a secondary malignancy apart from new disorders, and a relapse is an efficacy event, not a second "
        "cancer"
    )


def _death_only_in_apheresis_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} subject(s) the apheresis file says were not infused because of death, with no death in "
        f"follow-up ({rows_named(found)}): the deaths table counts no death for them; a death is dated and caused "
        "only in follow-up"
    )


def _transgene_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} CAR transgene sample(s) quantified in a subject never infused or before the first infusion "
        f"({rows_named(found)}): the sample is another subject's, or mis-dated"
    )


#: how a ``_registered_twice`` finding's rule starts
TWICE_RULE = "the same in every enrolment value but the id as row"


def _enrolment_sentence(found: pl.DataFrame) -> str:
    twice = found.filter(pl.col("rule").str.starts_with(TWICE_RULE))
    said = []
    if twice.height:
        said.append(
            f"{twice.height} enrolment rows the same as another in every value but the id ({rows_named(twice)}): "
            "one child registered twice? Each id is counted (the intention-to-treat denominators, the deaths among "
            "the enrolled)"
        )
    said += list(dict.fromkeys(found.filter(~pl.col("rule").str.starts_with(TWICE_RULE))["rule"].to_list()))
    return "; ".join(said)


#: the kinds of ``assessments_queried``'s findings: a phrase of each rule, and what the
#: sentence says of its rows
_ASSESSMENT_KINDS = (
    ("dated after an assessment of a later visit", "dated after a later visit's"),
    ("outside the day-28 response window", "day-28 visits outside days 21-42 (read by no day-28 response)"),
    ("a relapse site or CD19 status", "relapse values on an assessment that is no relapse (counted by no relapse "
     "endpoint)"),
    ("a morphologic remission has fewer", "remissions with an MRD of 5 % or more (relapses coded as remissions?)"),
    ("at a marrow relapse", "marrow relapses with an MRD below 5 % (MRD written as fractions?)"),
)  # fmt: skip


def _assessments_sentence(found: pl.DataFrame) -> str:
    parts = []
    for phrase, said in _ASSESSMENT_KINDS:
        n = found.filter(pl.col("rule").str.contains(phrase, literal=True)).height
        if n:
            parts.append(f"{n} {said}")
    return (
        f"{found.height} disease assessment(s) whose date or values contradict the visit or the response "
        f"({rows_named(found)}): " + ", ".join(parts)
    )


def _twice_sentence(found: pl.DataFrame) -> str:
    return (
        f"{found.height} adverse event(s) the same as another of the file in subject, term, onset date and grade, "
        f"under another ae_id ({rows_named(found)}): each is counted, in the event counts, the durations and the "
        "listings, until the data manager removes the copy or confirms two events"
    )


def _first_rule(found: pl.DataFrame) -> str:
    return f"{found['rule'][0]} ({rows_named(found)})"


#: the warnings on the whole drop, in the order the report states them: each check's
#: name and the sentence it makes of its findings (a frame of ``_problems``' columns)
QUERY_SENTENCES: dict[str, Callable[[pl.DataFrame], str]] = {
    "no_assessment_after_withdrawal": _withdrawal_sentence,  # assessments_after_withdrawal
    "latest_date_plausible": _first_rule,  # isolated_latest_date
    "one_spelling_per_value": spellings_finding,  # spelling_variants
    "adverse_events_current": _first_rule,  # adverse_events_current
    "early_deaths_have_fatal_ae": _early_deaths_sentence,  # early_deaths_without_fatal_ae
    "crs_resolved": _open_crs_sentence,  # crs_left_open
    "new_therapy_plausible": _new_therapy_sentence,  # new_therapy_queried
    "hsct_plausible": _early_hsct_sentence,  # early_hsct_queried
    "relapse_recorded": _relapse_in_therapy_sentence,  # relapse_not_assessed
    "rule_toxicity_before_other_therapy": _after_therapy_sentence,  # toxicity_after_other_therapy
    "awaiting_infusion_plausible": _awaiting_sentence,  # awaiting_infusion_queried
    "malignancy_category_plausible": _malignancy_sentence,  # malignancy_category_queried
    "lab_units_plausible": lambda found: "; ".join(found["rule"].to_list()),  # lab_units_queried
    "transgene_after_infusion": _transgene_sentence,  # transgene_before_infusion
    "not_infused_death_recorded": _death_only_in_apheresis_sentence,  # death_only_in_apheresis
    "death_recorded": _death_in_long_term_sentence,  # death_not_recorded
    "enrolment_plausible": _enrolment_sentence,  # enrolment_queried
    "ae_entered_once": _twice_sentence,  # ae_entered_twice
    "assessments_plausible": _assessments_sentence,  # assessments_queried
}


def rows_withheld(found: pl.DataFrame) -> pl.DataFrame:
    """``found`` with its file rows withheld: the finding its sentence makes names each
    file without rows, as the open report states it (``DropQuery.open_finding``)."""
    return found.with_columns(pl.lit(None, pl.Int64).alias("row"))


def drop_queries(
    unread: list[str], dropped: Mapping[str, tuple[str, ...]], findings: Mapping[str, pl.DataFrame]
) -> tuple[DropQuery, ...]:
    """The warnings on the whole drop as the report states them (``DropQuery``): files in
    the folder never read, columns outside the contract dropped unread (``dropped``: file
    -> columns), then each check of ``QUERY_SENTENCES`` with findings (``findings``: check
    name -> the rows its function found; a check absent or without rows says nothing)."""
    unknown = set(findings) - set(QUERY_SENTENCES)
    if unknown:
        raise ValueError(f"no sentence for the drop queries {sorted(unknown)}")
    queries = []
    if unread:
        queries.append(DropQuery.naming_no_row("known_files", unread_files_finding(unread)))
    queries += [
        DropQuery.naming_no_row("known_columns", dropped_columns_finding(f, c)) for f, c in sorted(dropped.items())
    ]
    for check, sentence in QUERY_SENTENCES.items():
        found = findings.get(check)
        if found is not None and found.height:
            queries.append(DropQuery(check, sentence(found), sentence(rows_withheld(found))))
    return tuple(queries)


def unknown_files(folder: Path) -> list[str]:
    """What the drop folder holds beside the files of the data contract and
    ``drop_info.toml`` (hidden names aside): never read, so said (a red team's
    ``followup_update.csv`` with a death was ignored without a word)."""
    known = {f"{schema.record}.{ext}" for schema in SCHEMAS.values() for ext in EXTENSIONS} | {"drop_info.toml"}
    if not folder.is_dir():
        return []
    return sorted(
        p.name + ("/" if p.is_dir() else "")
        for p in folder.iterdir()
        if not p.name.startswith(".") and p.name not in known
    )


def _date_queries(records: Records) -> Iterator[tuple[pl.LazyFrame, list[str]]]:
    """Each record type with a date column: a query of its records (of its stored file
    where it has one, ``Frames.scan``) and its date columns."""
    for record in records:
        query = _scan(records, record)
        present = query.collect_schema().names()
        columns = [col.name for col in SCHEMAS[record].columns if col.kind == "date" and col.name in present]
        if columns:
            yield query, columns


def dates_after_extraction(records: Records, extracted_on: dt.date | None) -> pl.DataFrame:
    """Every date after the day the drop was extracted (``drop_info.toml``
    ``extracted_on``): the export cannot hold what had not happened, so such a
    record is a data error, named, never a record silently left after the cut.
    Read from each record type's stored file by a query (``Frames.scan``)."""
    if extracted_on is None:
        return empty_problems()
    rule = f"dated after the drop's extraction date ({extracted_on}, drop_info.toml extracted_on)"
    out = []
    for query, columns in _date_queries(records):  # one read of each file: its late rows, then each column's
        late = query.filter(pl.any_horizontal(pl.col(c) > extracted_on for c in columns)).collect()
        out += [_problems(late.filter(pl.col(c) > extracted_on), c, pl.col(c), rule) for c in columns]
    return _concat(out)


def cut_in_drop(when: dt.date, records: Records, extracted_on: dt.date | None = None) -> str | None:
    """Why a cut does not fit the drop: before its first enrolment, after the day the
    drop was extracted (``drop_info.toml`` ``extracted_on``: the drop cannot know
    what happened after it), or after today. A planned cut later than the drop's
    latest record is accepted (endpoints.md, Time and populations: no visit need
    fall on the cut); the report states the gap."""
    from trial_outcomes.dates import cut_in_the_future

    cut = when.isoformat()
    earliest = records["enrolment"]["enrol_date"].min()
    first = earliest if isinstance(earliest, dt.date) else None
    if first is not None and when < first:
        return f"data cut {cut} is before the first enrolment ({first}): nothing to analyse"
    if extracted_on is not None and when > extracted_on:
        return (
            f"data cut {cut} is after the drop's extraction date ({extracted_on}, drop_info.toml extracted_on): "
            "the drop cannot show what happened after it was extracted; take a cut on or before it"
        )
    return cut_in_the_future(when)
