"""Input schemas of a data drop, declared once (data-contract.md section 1).

Every reader, validator, generator and test takes its column names, types,
codes and ranges from here; nothing else in the code repeats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trial_outcomes.text import underscored

Kind = Literal["id", "text", "date", "number", "integer", "code", "yn"]

#: CTCAE v5's words for its grades, as an export may write them after the number
CTCAE_WORDS = {
    "mild": 1,
    "moderate": 2,
    "severe": 3,
    "life threatening": 4,
    "life-threatening": 4,
    "lifethreatening": 4,
    "death": 5,
    "fatal": 5,
}
YES_VALUES = ("y", "yes", "1", "true")
NO_VALUES = ("n", "no", "0", "false")

#: the longest identifier (subject_id, ae_id) and the longest free-text cell accepted
MAX_ID_LENGTH = 64
MAX_TEXT_LENGTH = 2000


def code_key(text: str) -> str:
    """A code as matched: lower case, every run of spaces, hyphens and underscores one
    underscore (``parse.typed_value`` does the same in polars). Blanks around the value are
    the reader's to strip; a separator at either end stays, so "_HSCT" is no code."""
    return underscored(text.lower())


@dataclass(frozen=True)
class Column:
    """One column of an input file.

    ``codes`` holds the canonical spelling of each allowed code; input is
    matched whatever its letter case and its separators (a space, a hyphen or an
    underscore: "New therapy" and "new-therapy" are ``NEW_THERAPY``; ``code_key``)
    and rewritten to that spelling. ``synonyms`` maps other words an export uses
    for a code to it ("Male" for ``M``), matched the same way. ``low`` and
    ``high`` bound numbers (inclusive unless ``low_exclusive``). ``optional``
    columns may be absent from a file (data-contract.md: new optional columns);
    ``nullable`` ones may hold blanks.
    """

    name: str
    kind: Kind
    nullable: bool = False
    codes: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_exclusive: bool = False
    optional: bool = False
    synonyms: tuple[tuple[str, str], ...] = ()
    #: a CTCAE grade: also read as an export words it ("Grade 3", "G3", "3 - Severe")
    grade_words: bool = False
    #: a percentage: may also be written with its sign ("0.005%")
    percent: bool = False
    #: what a value out of ``low``-``high`` most likely is, said with the refusal
    range_why: str = ""

    def code_lookup(self) -> dict[str, str]:
        """Each accepted spelling's ``code_key`` -> the canonical code. Two spellings
        whose keys meet are a schema error (one of them would be read as the other)."""
        lookup: dict[str, str] = {}
        for spelling, code in [*((c, c) for c in self.codes), *self.synonyms]:
            key = code_key(spelling)
            if lookup.get(key, code) != code or code not in self.codes:
                raise ValueError(f"column {self.name}: {spelling!r} is ambiguous or names no code")
            lookup[key] = code
        return lookup

    def range_text(self) -> str:
        low = "" if self.low is None else f"{'>' if self.low_exclusive else '>='} {self.low:g}"
        high = "" if self.high is None else f"<= {self.high:g}"
        return " and ".join(p for p in (low, high) if p)

    @property
    def max_length(self) -> int:
        return MAX_ID_LENGTH if self.kind == "id" else MAX_TEXT_LENGTH


@dataclass(frozen=True)
class RecordSchema:
    """One record type (one file of the drop)."""

    record: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required_file: bool = True
    min_rows: int = 0

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if not c.optional]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


CRITERIA = tuple(f"IN{i:02d}" for i in range(1, 4)) + tuple(f"EX{i:02d}" for i in range(1, 17))
RESPONSES = ("CR", "CRi", "PR", "NR", "RELAPSE", "NE")
FOLLOWUP_EVENTS = ("CONTACT", "DEATH", "HSCT", "NEW_THERAPY", "WITHDRAWAL", "LOST")
DISEASE_STATUS = ("primary_refractory", "relapsed", "mrd_persistent")
HYPOTENSION = ("NONE", "FLUIDS", "ONE_VASOPRESSOR", "MULTI_VASOPRESSOR")
OXYGEN = ("NONE", "LOW_FLOW", "HIGH_FLOW", "POSITIVE_PRESSURE")
CAUSE_CATEGORIES = ("LEUKEMIA", "CRS", "ICANS", "INFECTION", "TRANSPLANT", "OTHER", "UNKNOWN")
CONSCIOUSNESS = ("AWAKE", "VOICE", "TACTILE", "UNAROUSABLE")
SEIZURE = ("NONE", "RESOLVED", "PROLONGED")
CEREBRAL_EDEMA = ("NONE", "FOCAL", "DIFFUSE")
PRODUCT_STATUS = ("RELEASED", "OOS_INFUSED", "FAILED", "PENDING")
NOT_INFUSED_REASONS = ("MANUFACTURING_FAILURE", "DEATH", "PROGRESSION", "AE", "WITHDRAWAL", "OTHER")
#: laboratory tests of the optional labs file, with their units (data-contract.md)
LAB_UNITS = {
    "ANC": "10^9/L",
    "PLT": "10^9/L",
    "HGB": "g/dL",
    "IGG": "g/L",
    "BCELL": "cells/uL",
    "CAR_TRANSGENE": "copies/ug gDNA",
    "CRP": "mg/L",
    "FERRITIN": "ug/L",
}
LAB_TESTS = tuple(LAB_UNITS)
LTFU_EVENTS = (
    "SECONDARY_MALIGNANCY",
    "T_CELL_MALIGNANCY",
    "RCL_TEST",
    "NEW_AUTOIMMUNE",
    "NEW_NEUROLOGIC",
    "NEW_HEMATOLOGIC",
)
RCL_RESULTS = ("NEGATIVE", "POSITIVE", "PENDING")

CRS_TERM = "Cytokine release syndrome"
ICANS_TERM = "Immune effector cell-associated neurotoxicity syndrome"
#: MedDRA's 27 system organ classes as the dictionary writes them: a SOC exported in another
#: case or spacing ("INFECTIONS AND INFESTATIONS") is counted under this spelling
MEDDRA_SOCS = (
    "Blood and lymphatic system disorders",
    "Cardiac disorders",
    "Congenital, familial and genetic disorders",
    "Ear and labyrinth disorders",
    "Endocrine disorders",
    "Eye disorders",
    "Gastrointestinal disorders",
    "General disorders and administration site conditions",
    "Hepatobiliary disorders",
    "Immune system disorders",
    "Infections and infestations",
    "Injury, poisoning and procedural complications",
    "Investigations",
    "Metabolism and nutrition disorders",
    "Musculoskeletal and connective tissue disorders",
    "Neoplasms benign, malignant and unspecified (incl cysts and polyps)",
    "Nervous system disorders",
    "Pregnancy, puerperium and perinatal conditions",
    "Product issues",
    "Psychiatric disorders",
    "Renal and urinary disorders",
    "Reproductive system and breast disorders",
    "Respiratory, thoracic and mediastinal disorders",
    "Skin and subcutaneous tissue disorders",
    "Social circumstances",
    "Surgical and medical procedures",
    "Vascular disorders",
)

#: the free text counted by its value (record, column, the spellings a dictionary gives):
#: spellings of one value that differ in case, spacing, punctuation, accents or British/American English are counted
#: under one (``text.one_spelling``; ``analysis.terms.counted_spellings``)
COUNTED_TEXT: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("adverse_events", "term", (CRS_TERM, ICANS_TERM)),
    ("adverse_events", "soc", MEDDRA_SOCS),
    # a site written two ways was two sites in the conduct table (a red team's "Boren" beside
    # "BOREN") and two strata wherever a plan reads SITEID
    ("enrolment", "site", ()),
)

ENROLMENT = RecordSchema(
    record="enrolment",
    key=("subject_id",),
    min_rows=1,
    columns=(
        Column("subject_id", "id"),
        Column("site", "text"),
        Column("consent_date", "date"),
        Column("enrol_date", "date"),
        # 0 to 18 is inclusion criterion IN02, checked as eligibility; the
        # validation range only rejects values that cannot be an age.
        Column("age_years", "number", low=0, high=100),
        Column("sex", "code", codes=("M", "F"), synonyms=(("male", "M"), ("female", "F"))),
        Column("diagnosis_date", "date"),
        Column("disease_status", "code", codes=DISEASE_STATUS),
        # the highs below are past any patient's value: an absurd one (a red team's 1e80) would
        # otherwise pass into ADSL and its XPT, which holds no number beyond 7.2e75
        Column("prior_relapses", "integer", low=0, high=50),
        Column("prior_hsct", "yn"),
        Column("cd19_pct", "number", low=0, high=100, percent=True),
        Column("bm_blast_pct", "number", low=0, high=100, percent=True),
        Column("pb_blast_pct", "number", low=0, high=100, percent=True),
        Column("csf_blasts_per_ul", "number", low=0, high=1e6),
        Column("emd", "yn"),
        Column("fusion_gene", "text", nullable=True),
        Column("ecog", "integer", low=0, high=4),
        Column("creatinine_x_uln", "number", low=0, low_exclusive=True, high=100),
        Column("bun_x_uln", "number", low=0, low_exclusive=True, high=100),
    ),
)

ELIGIBILITY = RecordSchema(
    record="eligibility",
    key=("subject_id", "criterion"),
    columns=(
        Column("subject_id", "id"),
        Column("criterion", "code", codes=CRITERIA),
        Column("met", "yn"),
    ),
)

INFUSION = RecordSchema(
    record="infusion",
    key=("subject_id", "infusion_date"),
    columns=(
        Column("subject_id", "id"),
        Column("ld_regimen", "text"),
        Column("ld_start_date", "date"),
        Column("infusion_date", "date"),
        # 6e30 was accepted; so was a red team's 1.463, a dose of 1.463 x 10^6/kg written in
        # 10^6 cells/kg, "below the range" in the exposure table (the protocol's least is 200,000)
        Column(
            "dose_cells_per_kg",
            "number",
            low=1e3,
            high=1e9,
            range_why="the contract's unit is cells/kg, and a dose below 1,000 cells/kg is one written in 10^6 "
            "cells/kg, 1.5 for 1.5 x 10^6/kg; write the cells per kg",
        ),
        Column("product_lot", "text", nullable=True),
        Column("bridging", "text", nullable=True, optional=True),
    ),
)

ASSESSMENTS = RecordSchema(
    record="assessments",
    key=("subject_id", "assessment_date"),
    columns=(
        Column("subject_id", "id"),
        Column("assessment_date", "date"),
        Column("visit", "text"),
        Column("response", "code", codes=RESPONSES),
        Column("mrd_pct", "number", nullable=True, low=0, high=100, percent=True),
        Column("relapse_site", "code", nullable=True, codes=("BM", "CNS", "TESTIS", "OTHER")),
        Column("cd19_at_relapse", "code", nullable=True, codes=("POS", "NEG", "UNKNOWN")),
    ),
)

FOLLOWUP = RecordSchema(
    record="followup",
    key=("subject_id", "event_date", "event"),
    columns=(
        Column("subject_id", "id"),
        Column("event_date", "date"),
        Column("event", "code", codes=FOLLOWUP_EVENTS),
        Column("detail", "text", nullable=True),
        Column("cause_category", "code", nullable=True, codes=CAUSE_CATEGORIES, optional=True),
    ),
)

ADVERSE_EVENTS = RecordSchema(
    record="adverse_events",
    key=("subject_id", "ae_id"),
    columns=(
        Column("subject_id", "id"),
        Column("ae_id", "id"),
        Column("term", "text"),
        Column("soc", "text", nullable=True, optional=True),
        Column("onset_date", "date"),
        Column("resolution_date", "date", nullable=True),
        Column("grade", "integer", low=1, high=5, grade_words=True),
        Column("serious", "yn"),
        Column("related", "yn"),
        Column("tocilizumab", "yn"),
        Column("corticosteroids", "yn"),
    ),
)

CRS_MONITORING = RecordSchema(
    record="crs_monitoring",
    key=("subject_id", "obs_date"),
    required_file=False,
    columns=(
        Column("subject_id", "id"),
        Column("obs_date", "date"),
        Column("max_temp_c", "number", low=30, high=45),
        Column("hypotension", "code", codes=HYPOTENSION),
        Column("oxygen", "code", codes=OXYGEN),
    ),
)

ICANS_MONITORING = RecordSchema(
    record="icans_monitoring",
    key=("subject_id", "obs_date"),
    required_file=False,
    columns=(
        Column("subject_id", "id"),
        Column("obs_date", "date"),
        Column("ice_score", "integer", nullable=True, low=0, high=10),
        Column("capd_score", "integer", nullable=True, low=0, high=32),
        Column("unable_capd", "yn", nullable=True),
        Column("consciousness", "code", codes=CONSCIOUSNESS),
        Column("seizure", "code", codes=SEIZURE),
        Column("motor_weakness", "yn"),
        Column("cerebral_edema", "code", codes=CEREBRAL_EDEMA),
    ),
)

#: data-contract.md (version 3), optional files for the DSMB package: leukapheresis and the product
APHERESIS = RecordSchema(
    record="apheresis",
    key=("subject_id",),
    required_file=False,
    columns=(
        Column("subject_id", "id"),
        Column("apheresis_date", "date"),
        Column("product_status", "code", codes=PRODUCT_STATUS),
        Column("release_date", "date", nullable=True),
        Column("not_infused_reason", "code", nullable=True, codes=NOT_INFUSED_REASONS),
    ),
)

#: data-contract.md (version 3): laboratory values, long format (SDTM LB-like)
LABS = RecordSchema(
    record="labs",
    key=("subject_id", "sample_date", "test"),
    required_file=False,
    columns=(
        Column("subject_id", "id"),
        Column("sample_date", "date"),
        Column("test", "code", codes=LAB_TESTS),
        Column("value", "number", low=0),
        Column("below_lloq", "yn", nullable=True, optional=True),
    ),
)

#: data-contract.md (version 3): events of the 15-year gene-therapy follow-up
LONG_TERM_FOLLOWUP = RecordSchema(
    record="long_term_followup",
    key=("subject_id", "event_date", "event"),
    required_file=False,
    columns=(
        Column("subject_id", "id"),
        Column("event_date", "date"),
        Column("event", "code", codes=LTFU_EVENTS),
        Column("result", "code", nullable=True, codes=RCL_RESULTS),
        Column("detail", "text", nullable=True),
    ),
)

SCHEMAS: dict[str, RecordSchema] = {
    s.record: s
    for s in (
        ENROLMENT,
        ELIGIBILITY,
        INFUSION,
        ASSESSMENTS,
        FOLLOWUP,
        ADVERSE_EVENTS,
        CRS_MONITORING,
        ICANS_MONITORING,
        APHERESIS,
        LABS,
        LONG_TERM_FOLLOWUP,
    )
}
RECORDS: tuple[str, ...] = tuple(SCHEMAS)

#: an optional file of the drop that says which required files are empty on purpose
DROP_INFO_FILE = "drop_info.toml"


#: how data-contract.md names each kind of column
_KIND_WORDS = {
    "id": "identifier",
    "text": "text",
    "date": "date",
    "number": "number",
    "integer": "integer",
    "code": "code",
    "yn": "Y/N",
}


def columns_markdown() -> str:
    """The input files' columns as data-contract.md lists them (its appendix, kept equal to
    this by ``tests/test_contracts.py``): per file, each column's kind, whether the header
    must have it and the cells must be filled, and its codes or range. A newcomer could not
    write a drop from the document: the columns were only in this module and the UI
    (2026-12-07). Regenerate with ``python -c "from trial_outcomes.schema import
    columns_markdown; print(columns_markdown())"``."""
    lines = []
    for schema in SCHEMAS.values():
        key = ", ".join(f"`{k}`" for k in schema.key) or "none"
        needed = "required" if schema.required_file else "optional"
        lines += ["", f"### `{schema.record}` ({needed} file; one row per {key})", ""]
        lines += ["| column | kind | in the header | blank cells | values |", "|---|---|---|---|---|"]
        for c in schema.columns:
            values = ", ".join(f"`{code}`" for code in c.codes) if c.codes else c.range_text()
            if c.kind == "yn":
                values = "`Y`, `N` (also yes/no, 1/0, true/false)"
            if c.grade_words:
                values += " (also `Grade 3`, `G3`, `3 - Severe`)"
            if c.percent:
                values += " (may end with `%`)"
            lines.append(
                f"| `{c.name}` | {_KIND_WORDS[c.kind]} | {'optional' if c.optional else 'required'} | "
                f"{'allowed' if c.nullable else 'refused'} | {values} |"
            )
    return "\n".join(lines[1:]) + "\n"
