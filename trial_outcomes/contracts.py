"""Every output table, declared once: columns, types, labels, keys and row rules.

Each published table has one ``Output`` here with a dataframely schema. The
asset that makes a table checks it against its contract before writing it (a
blocking asset check, ``assets.files.save_table``); the column lists of the
CSV files, the UI's column schemas (``dagster/column_schema`` with these
labels), the publish list and the subgroup variables a plan may name are all
derived from these declarations, never kept beside them.

Two tables take columns from the analysis plan: ``survival_summary`` has one
``rate_<m>m`` triple per landmark month, and ``adtte`` carries the plan's
subgroup variables; ``survival_summary_schema`` and ``adtte_schema`` build
those schemas for a plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import dataframely as dy
import polars as pl

AnyFrame = TypeVar("AnyFrame", pl.DataFrame, pl.LazyFrame)
YN = "^[YN]$"
#: STUDYID of every ADaM dataset (and the trial everything here belongs to)
STUDY_ID = "NCT04325841"


def _method(method: str | None) -> dict[str, str] | None:
    """A variable's derivation in words beyond its label (define.xml's method text)."""
    return {"method": method} if method else None


def _s(label: str, nullable: bool = True, method: str | None = None, **kw: Any) -> dy.Column:
    return dy.String(nullable=nullable, description=label, metadata=_method(method), **kw)


def _flag(label: str, nullable: bool = False, method: str | None = None) -> dy.Column:
    return dy.String(nullable=nullable, regex=YN, description=label, metadata=_method(method))


def _d(label: str, nullable: bool = True, method: str | None = None) -> dy.Column:
    return dy.Date(nullable=nullable, description=label, metadata=_method(method))


def _f(label: str, nullable: bool = True, method: str | None = None, **kw: Any) -> dy.Column:
    return dy.Float64(nullable=nullable, description=label, metadata=_method(method), **kw)


def _i(label: str, nullable: bool = True, method: str | None = None, **kw: Any) -> dy.Column:
    return dy.Int64(nullable=nullable, description=label, metadata=_method(method), **kw)


def _subgroup(column: dy.Column) -> dy.Column:
    column.metadata = {**(column.metadata or {}), "subgroup": True}
    return column


#: the enrolment record's columns under their ADSL names (contract version 4, issue 25)
BASELINE_NAMES: dict[str, str] = {
    "subject_id": "subject_id",
    "site": "SITEID",
    "consent_date": "RFICDT",
    "enrol_date": "ENRLDT",
    "age_years": "AGE",
    "sex": "SEX",
    "diagnosis_date": "DIAGDT",
    "disease_status": "DISSTAT",
    "prior_relapses": "PRIORREL",
    "prior_hsct": "PRHSCTFL",
    "cd19_pct": "CD19PCT",
    "bm_blast_pct": "BMBLPCT",
    "pb_blast_pct": "PBBLPCT",
    "csf_blasts_per_ul": "CSFBLAST",
    "emd": "EMDFL",
    "fusion_gene": "FUSION",
    "ecog": "ECOGBL",
    "creatinine_x_uln": "CREATULN",
    "bun_x_uln": "BUNULN",
}
#: every published ADaM variable renamed in contract version 4 (ADaM IG names of at most 8
#: characters): its earlier name -> its name now (docs/data-contract.md lists them)
RENAMED_V4: dict[str, str] = {
    **{old: new for old, new in BASELINE_NAMES.items() if old != new},
    "age_group": "AGEGR1",
    "disease_stratum": "STRATUM",
    "N_INFUSIONS": "NINFUS",
    "LDREGIMEN": "LDREGIM",
    "CRSGRDRV": "CRSGRDV",
    "CRSGRADJ": "CRSGRAJ",
    "ICANSGR": "ICANGR",
    "ICANSONDY": "ICANONDY",
    "ICANSDUR": "ICANDUR",
    "ICANSTOCI": "ICANTOCI",
    "ICANSSTER": "ICANSTER",
    "ICANSGRDRV": "ICANGRDV",
    "ICANSGRADJ": "ICANGRAJ",
    "D28PENDFL": "D28PNDFL",
}


def held_as_categories(schema: Mapping[str, pl.DataType]) -> list[str]:
    """The columns of ``schema`` held as categories (Categorical or Enum). A derivation may
    hold a repeated text so (ADTTE at a million subjects: 8 million rows, each text 16
    bytes a row as text and 4 as a category); every published table declares its text
    columns text, and is checked and written with them as text (``with_declared_text``)."""
    return [name for name, dtype in schema.items() if is_category(dtype)]


def is_category(dtype: pl.DataType) -> bool:
    """Whether ``dtype`` holds text as categories (Categorical or Enum): declared text."""
    return isinstance(dtype, (pl.Categorical, pl.Enum))


def with_declared_text(frame: AnyFrame) -> AnyFrame:
    """``frame`` with the columns ``held_as_categories`` as their declared type, text: on a
    lazy query, made text a batch at a time, never whole."""
    held = held_as_categories(frame.collect_schema())
    return frame.with_columns(pl.col(held).cast(pl.String)) if held else frame


def with_study(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``STUDYID`` first (every ADaM dataset carries it)."""
    return frame.select(pl.lit(STUDY_ID).alias("STUDYID"), pl.exclude("STUDYID"))


def with_current_names(frame: pl.DataFrame) -> pl.DataFrame:
    """A dataset published before contract version 4 under today's names (a cut published
    by an earlier version is still compared with, and its ADSL read)."""
    return frame.rename({old: new for old, new in RENAMED_V4.items() if old in frame.columns})


class ADSL(dy.Schema):
    """Subject-level analysis dataset: one row per enrolled subject."""

    STUDYID = _s("Study identifier", nullable=False, regex=f"^{STUDY_ID}$")
    USUBJID = dy.String(primary_key=True, description="Unique subject identifier")
    SITEID = _subgroup(_s("Study site identifier", nullable=False))
    RFICDT = _d("Date of informed consent", nullable=False)
    ENRLDT = _d("Date of enrolment", nullable=False)
    AGE = _f("Age at enrolment", nullable=False)
    AGEU = _s("Age units", nullable=False)
    SEX = _subgroup(_s("Sex", nullable=False, regex="^[MF]$"))
    DIAGDT = _d("Date of diagnosis", nullable=False)
    DISSTAT = _subgroup(_s("Disease status at enrolment", nullable=False))
    PRIORREL = _subgroup(_i("Number of prior relapses", nullable=False, min=0))
    PRHSCTFL = _subgroup(_flag("Prior allogeneic HSCT"))
    CD19PCT = _f("CD19+ blasts at baseline (%)", nullable=False)
    BMBLPCT = _f("Marrow blasts at baseline (%)", nullable=False)
    PBBLPCT = _f("Blood blasts at baseline (%)", nullable=False)
    CSFBLAST = _f("Leukaemic cells in CSF (/uL)", nullable=False)
    EMDFL = _subgroup(_flag("Extramedullary disease at baseline"))
    FUSION = _subgroup(_s("Fusion gene"))
    ECOGBL = _subgroup(_i("ECOG performance status at baseline", nullable=False, min=0, max=4))
    CREATULN = _f("Serum creatinine / ULN", nullable=False)
    BUNULN = _f("Blood urea nitrogen / ULN", nullable=False)
    AGEGR1 = _subgroup(_s("Age group (<10, >=10 years)", nullable=False))
    STRATUM = _subgroup(
        _s(
            "Response stratum",
            nullable=False,
            method="morphologic disease, or MRD-persistent (response by MRD conversion)",
        )
    )
    TRTSDT = _d("Date of first CAR-T infusion (day 0)")
    LDSTDT = _d("Date lymphodepletion started")
    NINFUS = _i("Number of CAR-T infusions")
    NDOSE = _i("Number of CAR-T doses", method="a split dose's fractions within 7 days of its first are one dose")
    TR02SDT = _d("Date of CAR-T re-infusion (2nd product)")
    HSCTDT = _d("Date of first consolidative HSCT")
    HSCTDSC = _s("Consolidative HSCT: detail as reported")
    NTHERDT = _d("Date of first new anti-leukemia therapy")
    NTHERDSC = _s("New anti-leukemia therapy as reported")
    WDDT = _d("Date of withdrawal")
    WDREAS = _s("Reason for withdrawal as reported")
    LOSTDT = _d("Date lost to follow-up")
    ATTRENDT = _d("End of response attribution", method="the first consolidative HSCT or new anti-leukaemia therapy")
    ATTRENRS = _s("Therapy that ended attribution")
    DTHDT = _d("Date of death")
    DTHCAUS = _s("Cause of death as reported")
    DTHCAT = _s("Cause of death category")
    DTHCATSR = _s("Source of the cause of death category")
    LSTALVDT = _d("Date last known alive")
    FASDT = _d("Date of first disease assessment")
    LSTASDT = _d("Date of last disease assessment")
    DOSE = _f("CAR+ T cells per kg (first infusion)", method="a split dose's fractions within 7 days summed")
    LDREGIM = _subgroup(_s("Lymphodepletion regimen"))
    BRIDGING = _s("Bridging therapy as reported")
    BRIDGFL = _subgroup(_flag("Bridging therapy given", nullable=True))
    BOR28 = _s("Best overall response by day 28", method="assessments of days 21-42; PENDING while the window is open")
    BORDT = _d("Date of the best response by day 28")
    BORDY = _i("Study day of the best response by day 28")
    BORMRD = _f("MRD (%) at the best response by day 28")
    CRFL = _flag("CR/CRi by day 28", nullable=True, method="CR or CRi; for an MRD-persistent entrant, MRD conversion")
    CR28FL = _flag("CR by day 28", nullable=True)
    MRDNEGFL = _flag("MRD-negative remission by day 28", nullable=True)
    D28PNDFL = _flag("Day-28 response pending at the cut", nullable=True)
    D28ERLFL = _flag(
        "Pending, already in remission", nullable=True, method="an early responder whose day-28 window is still open"
    )
    D28CLSDT = _d("Date the day-28 response window closes")
    RSP42FL = _flag("Attributable remission by day 42", nullable=True, method="at any assessment up to day 42")
    TRTFLFL = _flag("Treatment failure", nullable=True, method="no remission by day 42, known at the cut")
    ORR3MFL = _flag(
        "ORR3M: CR/CRi in 3 months for 28 days",
        nullable=True,
        method="CR/CRi within 3 months of infusion, maintained at least 28 days",
    )
    ORR3MDT = _d("Date of the ORR3M remission")
    ORR3MPFL = _flag("ORR3M pending at the cut", nullable=True)
    FRMDT = _d("Date of first attributable remission")
    FRMDY = _i("Study day of first remission", method="the first attributable remission")
    LSTREMDT = _d("Date of last assessment in remission")
    LATERMFL = _flag("First remission after day 42", nullable=True, method="a late responder")
    RELDT = _d("Date of first relapse after remission")
    RELSITE = _s("Site of relapse")
    RELCD19 = _s("CD19 status at relapse")
    RLAPDT = _d(
        "Date of first relapse after CAR-T",
        method="RELDT; for an MRD-persistent entrant the first relapse after day 0, converted or not",
    )
    RLAPSITE = _s("Site of first relapse after CAR-T")
    RLAPCD19 = _s("CD19 status at first relapse after CAR-T")
    CRSGR = _i("Worst CRS grade, reported (ASTCT)")
    CRSONDY = _i("CRS onset, study day")
    CRSDUR = _i("CRS duration (days)")
    CRSTOCI = _flag("Tocilizumab for CRS", nullable=True)
    CRSSTER = _flag("Corticosteroids for CRS", nullable=True)
    CRSGRDV = _i("Worst CRS grade, derived (ASTCT)", method="derived day by day from the daily monitoring records")
    CRSGRAJ = _i("Worst CRS grade, adjudicated", method="the higher of the reported and the derived grade")
    ICANGR = _i("Worst ICANS grade, reported (ASTCT)")
    ICANONDY = _i("ICANS onset, study day")
    ICANDUR = _i("ICANS duration (days)")
    ICANTOCI = _flag("Tocilizumab for ICANS", nullable=True)
    ICANSTER = _flag("Corticosteroids for ICANS", nullable=True)
    ICANGRDV = _i("Worst ICANS grade, derived (ASTCT)", method="derived day by day from the daily monitoring records")
    ICANGRAJ = _i("Worst ICANS grade, adjudicated", method="the higher of the reported and the derived grade")
    ENRLFL = _flag("Enrolled population flag")
    SAFFL = _flag("Safety population flag (infused)")
    EFFFL = _flag("Efficacy population flag")
    PPROTFL = _flag("Per-protocol population flag")
    DISPSTAT = _s("Disposition status at the cut", nullable=False)
    ENRINFDY = _i("Days from enrolment to infusion")
    APHDT = _d("Date of leukapheresis", method="the optional apheresis file; empty without it")
    PRODSTAT = _s("Product status at the cut", regex="^(RELEASED|OOS_INFUSED|FAILED|PENDING)$")
    PRODRLDT = _d("Date the product was released")
    APHNINF = _s("Reason not infused (apheresis file)")
    V2VDY = _i("Days from leukapheresis to infusion", method="vein-to-vein time: first infusion minus leukapheresis")
    LDINFDY = _i("Days from lymphodepletion to infusion")
    NINFCAT = _s("Reason not infused (category)")
    NINFREAS = _s("Reason not infused as recorded")
    DTHDY = _i("Study day of death")
    DTH30FL = _flag("Death within 30 days of infusion")
    DTH100FL = _flag("Death within 100 days of infusion")
    NRMFL = _flag("Non-relapse mortality event")
    DTHCGR1 = _s("Death category", method="LEUKEMIA, NRM, or NOT_IN_REMISSION (another cause outside remission)")
    ELIGDVFL = _flag("Eligibility deviation")


class ADRS(dy.Schema):
    """Response analysis dataset: each assessment, the best response by day 28 and ORR3M."""

    STUDYID = _s("Study identifier", nullable=False, regex=f"^{STUDY_ID}$")
    USUBJID = dy.String(primary_key=True, description="Unique subject identifier")
    ASEQ = dy.Int64(
        primary_key=True,
        min=1,
        description="Analysis sequence number",
        metadata={"method": "1, 2, ... per subject in the order PARAMCD, ADT (the record key)"},
    )
    PARAMCD = _s("Parameter code", nullable=False)
    PARAM = _s("Parameter", nullable=False)
    AVISIT = _s("Analysis visit")
    ADT = _d("Analysis date")
    ADY = _i("Analysis study day")
    AVALC = _s("Analysis value (character)")
    MRDPCT = _f("MRD (% of nucleated cells)")
    MRDNEGFL = _flag("MRD negative (< 0.01 %)", nullable=True)
    CRFL = _flag("Remission (CR/CRi)", nullable=True, method="CR or CRi; for an MRD-persistent entrant, MRD conversion")
    ANL01FL = _flag("Attributable to CAR-T", method="before the first consolidative HSCT or new therapy")


class ADTTE(dy.Schema):
    """Time-to-event analysis dataset: one row per subject, endpoint and analysis."""

    STUDYID = _s("Study identifier", nullable=False, regex=f"^{STUDY_ID}$")
    USUBJID = _s("Unique subject identifier", nullable=False)
    PARAMCD = _s("Parameter code", nullable=False)
    PARAM = _s("Parameter", nullable=False)
    ANALYSIS = _s("Analysis (primary or sensitivity)", nullable=False)
    STARTDT = _d("Time-to-event origin date", nullable=False)
    ADT = _d("Analysis date", nullable=False)
    AVAL = _i("Analysis value (days)", nullable=False, min=0)
    AVALU = _s("Analysis value unit", nullable=False)
    CNSR = dy.Int8(min=0, max=1, description="Censor (0 event, 1 censored)")
    EVNTTYPE = dy.Int8(
        nullable=True,
        min=0,
        max=2,
        description="Event type",
        metadata={"method": "1 event, 2 competing event, 0 censored"},
    )
    EVNTDESC = _s("Event description")
    CNSDTDSC = _s("Censor date description")
    SAFFL = _flag("Safety population flag")
    EFFFL = _flag("Efficacy population flag")
    PPROTFL = _flag("Per-protocol population flag")

    @dy.rule()
    def event_xor_censor(cls) -> pl.Expr:  # noqa: N805 - dataframely rules take the schema class
        return pl.col("EVNTDESC").is_null() != pl.col("CNSDTDSC").is_null()


class ADAE(dy.Schema):
    """Adverse events analysis dataset: one row per adverse event."""

    STUDYID = _s("Study identifier", nullable=False, regex=f"^{STUDY_ID}$")
    USUBJID = dy.String(primary_key=True, description="Unique subject identifier")
    AESPID = dy.String(primary_key=True, description="Sponsor-defined AE identifier")
    AETERM = _s("Reported term (verbatim)", nullable=False)
    AEDECOD = _s("Dictionary-derived term", nullable=False, method="the preferred term; CRS and ICANS however spelled")
    AESOC = _s("System organ class (or Not coded)", nullable=False)
    ASTDT = _d("Analysis start date", nullable=False)
    AENDT = _d("Analysis end date")
    ASTDY = _i("Analysis start study day")
    AENDY = _i("Analysis end study day")
    ADURN = _i("Analysis duration (days)", method="onset and resolution days both counted")
    AEONGO = _flag("Ongoing at the cut")
    AETOXGR = _i("Toxicity grade", nullable=False, min=1, max=5, method="ASTCT for CRS and ICANS, else CTCAE v5.0")
    AESER = _flag("Serious event")
    AEREL = _flag("Related to CAR-T (investigator)")
    AETOCI = _flag("Tocilizumab given")
    AESTER = _flag("Corticosteroids given")
    TRTEMFL = _flag("Treatment-emergent flag")
    TRTEMRSN = _s("Why not treatment-emergent")
    CRSFL = _flag("Cytokine release syndrome")
    ICANSFL = _flag("ICANS", method="immune effector cell-associated neurotoxicity syndrome")
    AESICAT = _s("AE of special interest: category")
    CYTO28FL = _flag("Grade >= 3 cytopenia at day 28")
    CYTO90FL = _flag("Grade >= 3 cytopenia at day 90")
    AESIFL = _flag("Adverse event of special interest")
    WORSTFL = _flag("Worst grade of the term", method="the subject's worst treatment-emergent grade of the term")


class EligibilityDeviations(dy.Schema):
    subject_id = dy.String(primary_key=True, description="Subject")
    criterion = dy.String(primary_key=True, description="Criterion (IN01-IN03, EX01-EX16)")
    computed_met = _flag("Met by the data (computable criteria)", nullable=True)
    checklist_met = _flag("Met on the investigator's checklist", nullable=True)
    finding = _s("Finding", nullable=False)


class CrsDiscrepancies(dy.Schema):
    USUBJID = dy.String(primary_key=True, description="Unique subject identifier")
    CRSGR_REPORTED = dy.Int8(description="Worst CRS grade reported (0: none)")
    CRSGR_DERIVED = dy.Int8(description="Worst CRS grade derived from monitoring")


class IcansDiscrepancies(dy.Schema):
    USUBJID = dy.String(primary_key=True, description="Unique subject identifier")
    ICANSGR_REPORTED = dy.Int8(description="Worst ICANS grade reported (0: none)")
    ICANSGR_DERIVED = dy.Int8(description="Worst ICANS grade derived from monitoring")


def _rate(label: str) -> dict[str, dy.Column]:
    return {
        "rate": _f(f"{label}", min=0, max=1),
        "rate_lcl": _f("95% CI lower (Clopper-Pearson)", min=0, max=1),
        "rate_ucl": _f("95% CI upper (Clopper-Pearson)", min=0, max=1),
    }


class ResponseSummary(dy.Schema):
    parameter = dy.String(primary_key=True, description="Response parameter")
    population = dy.String(primary_key=True, description="Population: efficacy set, or all enrolled (ITT)")
    group_var = dy.String(primary_key=True, description="Subgroup variable (all: whole population)")
    group = dy.String(primary_key=True, description="Subgroup level")
    n = _i("Evaluable subjects (denominator)", nullable=False, min=0)
    responders = _i("Responders", nullable=False, min=0)
    rate = _f("Rate", min=0, max=1)
    rate_lcl = _f("95% CI lower (Clopper-Pearson)", min=0, max=1)
    rate_ucl = _f("95% CI upper (Clopper-Pearson)", min=0, max=1)
    n_pending = _i("Pending at the cut (not in the denominator)", nullable=False, min=0)
    n_pending_responders = _i("Pending, already responders (information)", nullable=False, min=0)


class AeSummary(dy.Schema):
    term = dy.String(primary_key=True, description="Preferred term (first row: any adverse event)")
    n_safety = _i("Safety set N", nullable=False)
    n_any = _i("Subjects, any grade", nullable=False)
    pct_any = _f("% of the safety set, any grade")
    n_grade3plus = _i("Subjects, grade >= 3", nullable=False)
    pct_grade3plus = _f("% of the safety set, grade >= 3")
    n_grade1 = _i("Subjects with worst grade 1", nullable=False)
    n_grade2 = _i("Subjects with worst grade 2", nullable=False)
    n_grade3 = _i("Subjects with worst grade 3", nullable=False)
    n_grade4 = _i("Subjects with worst grade 4", nullable=False)
    n_grade5 = _i("Subjects with worst grade 5", nullable=False)


class AeSocSummary(dy.Schema):
    table = dy.String(primary_key=True, description="Table: all, serious, related or fatal TEAEs")
    soc = dy.String(primary_key=True, description="System organ class (Any SOC on the overall row)")
    term = dy.String(primary_key=True, description="Preferred term (Any term on SOC rows)")
    row_type = _s("overall, soc or term", nullable=False)
    n_safety = _i("Safety set N", nullable=False)
    n_any = _i("Subjects, any grade", nullable=False)
    pct_any = _f("% any grade")
    n_grade3plus = _i("Subjects, worst grade >= 3", nullable=False)
    pct_grade3plus = _f("% grade >= 3")
    n_grade5 = _i("Subjects, grade 5", nullable=False)
    pct_grade5 = _f("% grade 5")


class AesiSummary(dy.Schema):
    category = dy.String(primary_key=True, description="AESI category")
    n_safety = _i("Safety set N", nullable=False)
    n_any = _i("Subjects with the AESI", nullable=False)
    pct_any = _f("% of the safety set")
    n_grade3plus = _i("Subjects, worst grade >= 3", nullable=False)
    pct_grade3plus = _f("% grade >= 3")
    n_events = _i("Events", nullable=False)


class SyndromeSummary(dy.Schema):
    syndrome = dy.String(primary_key=True, description="CRS or ICANS")
    basis = dy.String(primary_key=True, description="reported, derived or adjudicated grade")
    measure = dy.String(primary_key=True, description="Measure")
    n = _i("Subjects")
    denominator = _i("Denominator")
    pct = _f("%")
    lcl = _f("95% CI lower (Clopper-Pearson), %")
    ucl = _f("95% CI upper (Clopper-Pearson), %")
    median = _f("Median")
    min = _f("Minimum")
    max = _f("Maximum")


class SafetySummary(dy.Schema):
    measure = dy.String(primary_key=True, description="Headline safety rate")
    n_events = _i("Subjects with the event", nullable=False)
    n = _i(
        "Denominator: the safety-set subjects the rate is known for at the cut: for grade >= 3 CRS or ICANS, "
        "infused the safety rule's window (30 days) before the cut or with the event; for a death within d days, "
        "infused d days before the cut or dead within them; for NRM, the safety set",
        nullable=False,
    )
    rate = _f("Rate", min=0, max=1)
    rate_lcl = _f("95% CI lower (Clopper-Pearson)", min=0, max=1)
    rate_ucl = _f("95% CI upper (Clopper-Pearson)", min=0, max=1)


class DeathsSummary(dy.Schema):
    cause_category = dy.String(primary_key=True, description="Cause of death category (All first)")
    n_deaths = _i("Deaths", nullable=False)
    n_before_infusion = _i("Deaths before infusion", nullable=False)
    n_within_30d = _i("Deaths within 30 days of infusion", nullable=False)
    n_within_100d = _i("Deaths within 100 days of infusion", nullable=False)
    n_after_relapse = _i("Deaths after relapse", nullable=False)
    n_nrm = _i("Non-relapse mortality (NRM endpoint events)", nullable=False)
    n_not_in_remission = _i("Deaths of another cause, not in remission", nullable=False)


class ExposureSummary(dy.Schema):
    measure = dy.String(primary_key=True, description="Measure")
    category = dy.String(primary_key=True, description="Category (blank for continuous measures)")
    n = _i("Subjects", nullable=False)
    pct = _f("% of the population")
    median = _f("Median")
    min = _f("Minimum")
    max = _f("Maximum")
    population_n = _i("Population N", nullable=False)


class RelapseSummary(dy.Schema):
    section = dy.String(primary_key=True, description="site_by_cd19 or cd19_negative_incidence")
    site = dy.String(primary_key=True, description="Relapse site (All for totals)")
    cd19 = dy.String(primary_key=True, description="CD19 status at relapse (All for totals)")
    months = dy.Int64(primary_key=True, description="Landmark month (0 for counts)")
    n = _i("Subjects", nullable=False)
    estimate = _f("Cumulative incidence", min=0, max=1)
    lcl = _f("95% CI lower (log-log)", min=0, max=1)
    ucl = _f("95% CI upper (log-log)", min=0, max=1)


def survival_summary_schema(landmark_months: tuple[int, ...], subgroups: tuple[str, ...] = ()) -> type[dy.Schema]:
    """``survival_summary.csv`` (data-contract.md section 3): the fixed columns with one
    ``rate_<m>m``, ``rate_<m>m_lcl``, ``rate_<m>m_ucl`` triple per landmark month."""
    columns: dict[str, dy.Column] = {
        "endpoint": dy.String(primary_key=True, description="Endpoint"),
        "analysis": dy.String(primary_key=True, description="Analysis"),
        "population": _s("Population", nullable=False),
        "group_var": dy.String(primary_key=True, description="Subgroup variable"),
        "group": dy.String(primary_key=True, description="Subgroup level"),
        "n": _i("Subjects", nullable=False, min=0),
        "n_events": _i("Events (the event of interest)", nullable=False, min=0),
        "n_censored": _i("Censored", nullable=False, min=0),
        "median_days": _f("Median (days)"),
        "median_lcl_days": _f("Median 95% CI lower (days)"),
        "median_ucl_days": _f("Median 95% CI upper (days)"),
    }
    for m in landmark_months:
        columns[f"rate_{m}m"] = _f(f"Estimate at {m} months", min=0, max=1)
        columns[f"rate_{m}m_lcl"] = _f(f"95% CI lower at {m} months", min=0, max=1)
        columns[f"rate_{m}m_ucl"] = _f(f"95% CI upper at {m} months", min=0, max=1)
    columns["logrank_chisq"] = _f("Log-rank (Gray's test for CIR/NRM) chi-square")
    columns["logrank_p"] = _f("Log-rank (Gray's test) p-value", min=0, max=1)
    return type("SurvivalSummary", (dy.Schema,), columns)


class SurvivalDetails(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint")
    analysis = dy.String(primary_key=True, description="Analysis")
    group_var = dy.String(primary_key=True, description="Subgroup variable")
    group = dy.String(primary_key=True, description="Subgroup level")
    n_competing = _i("Competing events (CIR, NRM)")
    last_day = _f("Last observed day")
    notes = _s("Why a statistic is empty")
    median_nrisk = _i("Number at risk at the median", min=0)


def survival_details_schema(landmark_months: tuple[int, ...], subgroups: tuple[str, ...] = ()) -> type[dy.Schema]:
    """``survival_details.csv``: ``SurvivalDetails`` and the number at risk at each
    landmark of the plan (``nrisk_<m>m``; survival_summary.csv's columns are fixed
    by data-contract.md, so the numbers at risk live here)."""
    columns: dict[str, dy.Column] = {
        f"nrisk_{m}m": _i(f"Number at risk at {m} months", nullable=False, min=0) for m in landmark_months
    }
    return type("SurvivalDetails", (SurvivalDetails,), columns)


class KmCurves(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint")
    analysis = dy.String(primary_key=True, description="Analysis")
    group_var = dy.String(primary_key=True, description="Subgroup variable")
    group = dy.String(primary_key=True, description="Subgroup level")
    time_days = dy.Float64(primary_key=True, description="Time (days)")
    n_risk = _i("Number at risk", nullable=False)
    n_event = _i("Events", nullable=False)
    n_censor = _i("Censored", nullable=False)
    estimate = _f("Survival (KM) or cumulative incidence", min=0, max=1)
    lcl = _f("95% CI lower (log-log)", min=0, max=1)
    ucl = _f("95% CI upper (log-log)", min=0, max=1)


class CoxSummary(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint")
    analysis = dy.String(primary_key=True, description="Analysis")
    group_var = dy.String(primary_key=True, description="Subgroup variable")
    group = dy.String(primary_key=True, description="Level compared with the reference")
    reference = _s("Reference level", nullable=False)
    n = _i("Subjects in the two levels", nullable=False)
    n_events = _i("Events in the two levels", nullable=False)
    hr = _f("Hazard ratio (Cox, Efron ties; one model over every level of the subgroup)")
    hr_lcl = _f("95% CI lower (Wald)")
    hr_ucl = _f("95% CI upper (Wald)")
    p = _f("Wald p-value", min=0, max=1)
    note = _s("Why the hazard ratio is empty")


class FollowupSummary(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint")
    analysis = dy.String(primary_key=True, description="Analysis")
    n = _i("Subjects", nullable=False)
    median_followup_days = _f("Median follow-up, reverse Kaplan-Meier (days)")
    median_followup_lcl_days = _f("95% CI lower (days)")
    median_followup_ucl_days = _f("95% CI upper (days)")
    min_days = _f("Shortest follow-up (days)")
    max_days = _f("Longest follow-up (days)")


class HsctLandmark(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint")
    landmark_day = _i("Landmark day", nullable=False)
    group = dy.String(primary_key=True, description="HSCT status at the landmark")
    n = _i("Subjects", nullable=False)
    n_events = _i("Events", nullable=False)
    median_days_from_landmark = _f("Median from the landmark (days)")
    median_lcl = _f("95% CI lower")
    median_ucl = _f("95% CI upper")
    logrank_chisq = _f("Log-rank chi-square")
    logrank_p = _f("Log-rank p-value")
    hr_hsct = _f("Hazard ratio, HSCT vs none")
    hr_lcl = _f("95% CI lower")
    hr_ucl = _f("95% CI upper")
    note = _s("Why a statistic is empty")


class HsctTimeDependent(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint of the model")
    paramcd = _s("ADTTE PARAMCD", nullable=False)
    n_subjects = _i("Subjects", nullable=False, min=0)
    n_events = _i("Events", nullable=False, min=0)
    n_transplanted = _i("Subjects transplanted during follow-up", nullable=False, min=0)
    n_events_after_hsct = _i("Events after a transplant", nullable=False, min=0)
    hr = _f("Hazard ratio of HSCT (time-dependent)")
    hr_lcl = _f("95% CI lower (Wald)")
    hr_ucl = _f("95% CI upper (Wald)")
    p = _f("Wald p-value", min=0, max=1)
    note = _s("Why the hazard ratio is empty")


class MultivariableModels(dy.Schema):
    model = dy.String(primary_key=True, description="Cox (cause-specific for relapse) or Fine-Gray")
    endpoint = dy.String(primary_key=True, description="Endpoint (ADTTE PARAMCD)")
    covariate = dy.String(primary_key=True, description="Covariate named by the analysis plan")
    level = dy.String(
        primary_key=True,
        description="Level compared with the reference; for a number its unit (per 10 percentage points, per year)",
    )
    reference = _s("Reference level")
    n = _i("Subjects in the model", nullable=False, min=0)
    n_events = _i("Events in the model", nullable=False, min=0)
    estimate = _f("Hazard ratio (Cox) or subdistribution hazard ratio (Fine-Gray)")
    lcl = _f("95% CI lower (Wald; Fine-Gray: crr's robust variance)")
    ucl = _f("95% CI upper")
    p = _f("Wald p-value", min=0, max=1)
    note = _s("Why an estimate is empty, and what the model left out")


class PhTests(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint of the multivariable Cox model")
    covariate = dy.String(primary_key=True, description="Covariate, or GLOBAL")
    chisq = _f("Score test chi-square (R cox.zph, KM transform)", min=0)
    df = _i("Degrees of freedom", nullable=False, min=0)
    p = _f("p-value", min=0, max=1)
    verdict = _s("Plain-language reading at the plan's alpha", nullable=False)


class PhResiduals(dy.Schema):
    endpoint = dy.String(description="Endpoint of the multivariable Cox model")
    covariate = dy.String(description="Covariate")
    level = dy.String(
        description="Model column: the level against the reference, or a number's unit (per 10 percentage points, "
        "per year)"
    )
    time_days = _f("Event time (days)", nullable=False)
    km_time = _f("1 - KM(t-): the time transform of the test", nullable=False)
    residual = _f("Scaled Schoenfeld residual (R's plot.cox.zph)", nullable=False)


class FineGraySubgroups(dy.Schema):
    group_var = dy.String(primary_key=True, description="Subgroup variable")
    group = dy.String(primary_key=True, description="Level compared with the reference")
    reference = _s("Reference level", nullable=False)
    n = _i("Subjects in the two levels", nullable=False, min=0)
    n_events = _i("Relapses in the two levels", nullable=False, min=0)
    n_competing = _i("Deaths in remission (competing) in the two levels", nullable=False, min=0)
    shr = _f("Subdistribution hazard ratio (Fine-Gray; one model over every level of the subgroup)")
    shr_lcl = _f("95% CI lower (crr's robust variance)")
    shr_ucl = _f("95% CI upper")
    p = _f("Wald p-value", min=0, max=1)
    note = _s("Why the ratio is empty")


class StratifiedLogrank(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint")
    group_var = dy.String(primary_key=True, description="Subgroup variable compared")
    strata = dy.String(primary_key=True, description="Stratification variables (plan)")
    n = _i("Subjects with a value of both", nullable=False, min=0)
    n_events = _i("Events", nullable=False, min=0)
    chisq = _f("Stratified log-rank chi-square (R survdiff + strata())", min=0)
    df = _i("Degrees of freedom", nullable=False, min=0)
    p = _f("p-value", min=0, max=1)
    note = _s("Why the test is empty")


class StoppingRules(dy.Schema):
    rule_id = dy.String(primary_key=True, description="Rule id (safety, efficacy_futility)")
    rule = _s("Rule", nullable=False)
    data = _s("Data the rule saw", nullable=False)
    boundary = _s("Boundary", nullable=False)
    crossed = dy.Bool(description="Boundary crossed")
    statistic = _f("Statistic")
    boundary_value = _f("The statistic's boundary")
    conclusion = _s("The design's conclusion once its last stage is complete")


class StoppingHistory(dy.Schema):
    cut = dy.String(primary_key=True, description="Data cut")
    rule_id = dy.String(primary_key=True, description="Rule id")
    statistic = _f("Statistic at that cut")
    boundary_value = _f("The statistic's boundary")
    crossed = dy.Bool(description="Boundary crossed at that cut")
    current = dy.Bool(description="This report's cut")


class ConductSummary(dy.Schema):
    """Trial conduct and data currency: accrual by quarter against the plan, sites,
    overdue assessments by visit, remission assessments without MRD."""

    section = dy.String(primary_key=True, regex="^(accrual|site|visit|mrd)$", description="Section")
    group = dy.String(primary_key=True, description="Quarter, site, visit or assessments")
    n = _i("Enrolled (accrual, site), visits due (visit), CR/CRi assessments (mrd)", nullable=False, min=0)
    count = _i("Cumulative enrolled, infused, visits overdue, or without MRD", nullable=False, min=0)
    planned = _i("Planned cumulative enrolment (accrual)")
    median_days = _f("Median days from enrolment to infusion (site)")
    min_days = _f("Fewest days from enrolment to infusion (site)")
    max_days = _f("Most days from enrolment to infusion (site)")


class AeListings(dy.Schema):
    """Treatment-emergent AEs listed for the closed report: serious, grade >= 3, AESI."""

    listing = dy.String(primary_key=True, description="Listing (serious, grade >= 3, special interest)")
    USUBJID = dy.String(primary_key=True, description="Subject")
    AESPID = dy.String(primary_key=True, description="Adverse event identifier")
    AEDECOD = _s("Preferred term", nullable=False)
    AETERM = _s("Reported term", nullable=False)
    AESOC = _s("System organ class", nullable=False)
    ASTDT = _d("Onset date", nullable=False)
    ASTDY = _i("Onset, day from infusion")
    AENDY = _i("Resolution, day from infusion")
    AETOXGR = _i("Grade", nullable=False, min=1, max=5)
    AESER = _flag("Serious")
    AEREL = _flag("Related to CAR-T (investigator)")
    outcome = _s(
        "Outcome at the cut (resolved, ongoing, not resolved at death, fatal)",
        nullable=False,
        regex="^(Resolved|Ongoing|Not resolved at death|Fatal)$",
    )
    NEWFL = _flag("New since the previous published cut (empty: none to compare)", nullable=True)


class Narratives(dy.Schema):
    """A narrative per death and per serious AE, from the subject's records in a fixed template."""

    kind = _s("Death or SAE", nullable=False, regex="^(death|SAE)$")
    USUBJID = _s("Subject", nullable=False)
    AESPID = _s("Adverse event identifier (SAE)")
    text = _s("Narrative", nullable=False)


LAB_PARAMCD = "^(ANC|PLT|HGB|IGG|BCELL|CAR_TRANSGENE|CRP|FERRITIN)$"
GRADE_TEXT = "^([0-4]|Missing)$"


class ADLB(dy.Schema):
    """Laboratory analysis dataset: a row per subject, sample date and test (the optional
    labs file; no rows without it)."""

    STUDYID = _s("Study identifier", nullable=False)
    USUBJID = dy.String(primary_key=True, description="Unique subject identifier")
    LBSEQ = dy.Int64(primary_key=True, description="Sequence number within the subject", min=1)
    PARAMCD = _s("Parameter code", nullable=False, regex=LAB_PARAMCD)
    PARAM = _s("Parameter", nullable=False)
    ADT = _d("Analysis date (sample)", nullable=False)
    ADY = _i(
        "Analysis day from infusion (day 0)", method="sample date minus the first infusion; empty if never infused"
    )
    AVAL = _f("Analysis value", nullable=False, min=0)
    AVALU = _s("Analysis value unit", nullable=False)
    BLQFL = _flag(
        "Below the lower limit of quantification",
        nullable=True,
        method="the labs file's below_lloq; empty when the drop does not collect it (every value quantified)",
    )
    ABLFL = _flag(
        "Baseline record flag", method="the last value on or before the day lymphodepletion started (per test)"
    )
    BASE = _f("Baseline value")
    ATOXGR = _i("CTCAE v5 grade (ANC, PLT, HGB)", min=0, max=4, method="CTCAE v5 decreased counts; docs/endpoints.md")
    BTOXGR = _i("CTCAE v5 grade at baseline", min=0, max=4)
    ONTRTFL = _flag(
        "On-treatment flag (day 1 to ATTRENDT)", method="day 1 or later and before ATTRENDT (HSCT, new therapy)"
    )


class ADPC(dy.Schema):
    """Cellular kinetics analysis dataset: the CAR transgene samples of ADLB."""

    STUDYID = _s("Study identifier", nullable=False)
    USUBJID = dy.String(primary_key=True, description="Unique subject identifier")
    PCSEQ = dy.Int64(primary_key=True, description="Sequence number within the subject", min=1)
    PARAMCD = _s("Parameter code", nullable=False, regex="^CAR_TRANSGENE$")
    PARAM = _s("Parameter", nullable=False)
    ADT = _d("Analysis date (sample)", nullable=False)
    ADY = _i("Analysis day from infusion (day 0)")
    AVAL = _f("Analysis value", nullable=False, min=0)
    AVALU = _s("Analysis value unit", nullable=False)
    BLQFL = _flag(
        "Below the lower limit of quantification",
        nullable=True,
        method="the labs file's below_lloq; empty when the drop does not collect it (every value quantified)",
    )


class LabShifts(dy.Schema):
    """CTCAE grade at baseline against the worst grade after infusion, per test."""

    PARAMCD = dy.String(primary_key=True, regex="^(ANC|PLT|HGB)$", description="Test")
    baseline_grade = dy.String(primary_key=True, regex=GRADE_TEXT, description="CTCAE grade at baseline")
    worst_grade = dy.String(primary_key=True, regex=GRADE_TEXT, description="Worst CTCAE grade after infusion")
    n = _i("Subjects", nullable=False, min=1)
    n_subjects = _i(
        "Infused subjects (the safety set; Missing to Missing: no baseline or on-treatment value)",
        nullable=False,
        min=1,
    )


class LabSubjects(dy.Schema):
    """Haematotoxicity, immunoglobulins and B-cell aplasia of each infused subject with labs."""

    USUBJID = dy.String(primary_key=True, description="Subject")
    anc_le500_days = _i("Days 0-30 with ANC <= 0.5 x 10^9/L", min=0, max=31)
    anc_le100_days = _i("Days 0-30 with ANC <= 0.1 x 10^9/L", min=0, max=31)
    early_icaht = _i("Early ICAHT grade (days 0-30)", min=0, max=4)
    early_icaht_status = _s(
        "Early ICAHT: graded, pending, left before day 30, or no ANC in days 0-30",
        nullable=False,
        regex="^(graded|pending|left before day 30|no ANC in days 0-30)$",
    )
    late_icaht = _i("Late ICAHT grade (after day 30)", min=0, max=4)
    anc_below_05 = dy.Bool(nullable=True, description="ANC below 0.5 x 10^9/L from day 0")
    anc_recovery_day = _i("Day of ANC recovery to >= 0.5 x 10^9/L", min=0)
    plt_below_50 = dy.Bool(nullable=True, description="Platelets below 50 x 10^9/L from day 0")
    plt_recovery_day = _i("Day of platelet recovery to >= 50 x 10^9/L", min=0)
    igg_min = _f("Lowest IgG after infusion (g/L)", min=0)
    igg_low = dy.Bool(nullable=True, description="IgG below the plan's igg_low after infusion")
    bcell_aplasia = dy.Bool(nullable=True, description="B-cell aplasia after infusion")
    bcell_days = _i("Days to B-cell recovery or censoring", min=0)
    bcell_recovered = dy.Bool(nullable=True, description="B cells recovered (else censored)")
    responder = dy.Bool(nullable=False, description="Remission attributable to CAR-T")
    relapse_cd19 = _s("CD19 status at relapse")
    bcell_at_relapse = _s("B cells at relapse")


class IggSummary(dy.Schema):
    """IgG at baseline and by window after infusion (each subject's lowest value)."""

    window = dy.String(primary_key=True, description="Window")
    n = _i("Subjects", nullable=False, min=1)
    median = _f("Median IgG (g/L)")
    q1 = _f("Lower quartile")
    q3 = _f("Upper quartile")
    n_low = _i("Subjects below the plan's igg_low", nullable=False, min=0)


class BcellCurve(dy.Schema):
    """Kaplan-Meier of continuing B-cell aplasia (time to B-cell recovery)."""

    time_days = dy.Float64(primary_key=True, description="Days from infusion", min=0)
    n_risk = _i("At risk", nullable=False, min=0)
    n_event = _i("Recoveries", nullable=False, min=0)
    n_censor = _i("Censored", nullable=False, min=0)
    estimate = _f("Probability of continuing aplasia", min=0, max=1)
    lcl = _f("Lower 95% limit (log-log)", min=0, max=1)
    ucl = _f("Upper 95% limit (log-log)", min=0, max=1)


class Kinetics(dy.Schema):
    """CAR transgene kinetics per infused subject."""

    USUBJID = dy.String(primary_key=True, description="Subject")
    response = _s("Day-28 response group", nullable=False)
    n_samples = _i(
        "Transgene samples used: from day 0, before HSCT, new therapy or a re-infusion", nullable=False, min=0
    )
    n_set_aside = _i("Transgene samples from HSCT, new therapy or a re-infusion on (not used)", nullable=False, min=0)
    cmax = _f("Cmax (copies/ug gDNA), days 0-28", min=0)
    tmax_day = _i("Tmax (day)", min=0, max=28)
    auc_0_28 = _f("AUC0-28d (copies/ug gDNA x days)", min=0)
    tlast_day = _i("Last quantifiable day", min=0)
    no_expansion = dy.Bool(
        nullable=True,
        description="No quantifiable sample in days 0-28, seen whole (empty: the window open or cut short)",
    )


class KineticsSummary(dy.Schema):
    """Kinetic parameters by day-28 response."""

    response = dy.String(primary_key=True, description="Day-28 response group")
    parameter = dy.String(primary_key=True, regex="^(Cmax|AUC0-28d|Tmax|Tlast)$", description="Parameter")
    n = _i("Subjects with a positive value (Cmax, AUC) or a value (Tmax, Tlast)", nullable=False, min=0)
    n_subjects = _i("Subjects in the group", nullable=False, min=0)
    n_no_expansion = _i("Subjects with no quantifiable sample in days 0-28 (no_expansion)", nullable=False, min=0)
    centre = _f("Geometric mean (Cmax, AUC) or median (Tmax, Tlast)")
    geo_cv_pct = _f("Geometric CV%")
    low = _f("Minimum (Tmax, Tlast)")
    high = _f("Maximum (Tmax, Tlast)")


class LongTermSafety(dy.Schema):
    """Long-term gene-therapy safety: incidence per 100 patient-years and RCL assays."""

    event = dy.String(primary_key=True, description="Event or RCL result")
    n_subjects = _i("Subjects", nullable=False, min=0)
    n_events = _i("Events or tests", nullable=False, min=0)
    patient_years = _f("Patient-years at risk", min=0)
    rate_per_100py = _f("Incidence per 100 patient-years", min=0)
    lcl = _f("Lower 95% limit (exact Poisson)", min=0)
    ucl = _f("Upper 95% limit (exact Poisson)", min=0)
    n_population = _i("Infused subjects (RCL: subjects tested)", nullable=False, min=0)


class LongTermEvents(dy.Schema):
    """The long-term events listed for the closed report: every event but a negative RCL assay."""

    USUBJID = dy.String(primary_key=True, description="Subject")
    event = dy.String(
        primary_key=True,
        regex="^(SECONDARY_MALIGNANCY|T_CELL_MALIGNANCY|NEW_AUTOIMMUNE|NEW_NEUROLOGIC|NEW_HEMATOLOGIC|RCL_TEST)$",
        description="Event",
    )
    ADT = dy.Date(primary_key=True, description="Event date")
    ADY = _i("Day from the first infusion (day 0)")
    result = _s("RCL assay result (POSITIVE, PENDING)", regex="^(POSITIVE|PENDING)$")
    detail = _s("Detail as recorded")


class CutComparison(dy.Schema):
    item = dy.String(primary_key=True, description="Item")
    previous = _s("Previous cut")
    current = _s("This cut")
    change = _s("Change or new subjects")
    previous_cut = _s(
        "Date of the previous cut (this cut's, when compared with a version it supersedes)",
        nullable=False,
        primary_key=True,
    )
    previous_version = _s(
        "The version of this cut compared with, the one this version supersedes (empty: an earlier cut)"
    )


def adtte_schema(subgroups: tuple[str, ...]) -> type[dy.Schema]:
    """ADTTE with the plan's subgroup variables carried from ADSL."""
    adsl = ADSL.columns()
    extra = {name: adsl[name] for name in subgroups if name not in ADTTE.columns()}
    return type("ADTTE", (ADTTE,), extra) if extra else ADTTE


@dataclass(frozen=True)
class Output:
    """One published table: its file, the asset that writes it, and its contract."""

    file: str
    asset: str
    title: str
    schema: type[dy.Schema] | Callable[[tuple[int, ...], tuple[str, ...]], type[dy.Schema]]

    @property
    def name(self) -> str:
        return self.file.rsplit(".", 1)[0]

    def schema_for(self, landmark_months: tuple[int, ...], subgroups: tuple[str, ...]) -> type[dy.Schema]:
        """The contract under an analysis plan (its landmarks and subgroups)."""
        if isinstance(self.schema, type):
            return self.schema
        return self.schema(landmark_months, subgroups)


OUTPUTS: tuple[Output, ...] = (
    Output("adsl.parquet", "adsl", "Subject-level analysis dataset", ADSL),
    Output("adrs.parquet", "adrs", "Response analysis dataset", ADRS),
    Output("adtte.parquet", "adtte", "Time-to-event analysis dataset", lambda _, subgroups: adtte_schema(subgroups)),
    Output("adae.parquet", "adae", "Adverse events analysis dataset", ADAE),
    Output("eligibility_deviations.csv", "eligibility_deviations", "Eligibility deviations", EligibilityDeviations),
    Output("crs_grade_discrepancies.csv", "crs_grading", "CRS: reported against derived grade", CrsDiscrepancies),
    Output(
        "icans_grade_discrepancies.csv", "icans_grading", "ICANS: reported against derived grade", IcansDiscrepancies
    ),
    Output("response_summary.csv", "response_summary", "Response rates", ResponseSummary),
    Output("ae_summary.csv", "ae_summary", "TEAEs by preferred term and worst grade", AeSummary),
    Output("ae_soc_summary.csv", "ae_soc_summary", "TEAEs by SOC and preferred term", AeSocSummary),
    Output("aesi_summary.csv", "aesi_summary", "Adverse events of special interest", AesiSummary),
    Output("crs_icans_summary.csv", "syndrome_summary", "CRS and ICANS", SyndromeSummary),
    Output("safety_summary.csv", "safety_summary", "Headline safety rates", SafetySummary),
    Output("deaths_summary.csv", "deaths_summary", "Deaths by cause category", DeathsSummary),
    Output("exposure_summary.csv", "exposure_summary", "Exposure", ExposureSummary),
    Output("relapse_summary.csv", "relapse_summary", "Relapse by site and CD19 status", RelapseSummary),
    Output("survival_summary.csv", "survival_analysis", "Survival summary", survival_summary_schema),
    Output(
        "survival_details.csv",
        "survival_analysis",
        "Survival summary: competing events, numbers at risk and notes",
        survival_details_schema,
    ),
    Output("km_curves.parquet", "survival_analysis", "Kaplan-Meier and cumulative-incidence curves", KmCurves),
    Output("cox_summary.csv", "survival_analysis", "Hazard ratios by subgroup", CoxSummary),
    Output("followup_summary.csv", "survival_analysis", "Median follow-up", FollowupSummary),
    Output("hsct_landmark.csv", "survival_analysis", "HSCT landmark analysis", HsctLandmark),
    Output(
        "hsct_time_dependent.csv",
        "survival_analysis",
        "HSCT as a time-dependent covariate (Cox)",
        HsctTimeDependent,
    ),
    Output(
        "multivariable_models.csv",
        "survival_analysis",
        "Multivariable Cox and Fine-Gray models of the plan's covariates",
        MultivariableModels,
    ),
    Output("ph_tests.csv", "survival_analysis", "Proportional-hazards tests (cox.zph)", PhTests),
    Output("ph_residuals.parquet", "survival_analysis", "Scaled Schoenfeld residuals", PhResiduals),
    Output(
        "fine_gray_subgroups.csv",
        "survival_analysis",
        "Fine-Gray subdistribution hazard ratios of relapse by subgroup",
        FineGraySubgroups,
    ),
    Output("stratified_logrank.csv", "survival_analysis", "Stratified log-rank tests", StratifiedLogrank),
    Output("conduct_summary.csv", "conduct", "Trial conduct and data currency", ConductSummary),
    Output("ae_listings.csv", "listings", "Listings: serious, grade >= 3 and special-interest AEs", AeListings),
    Output("narratives.csv", "listings", "Narratives of deaths and serious adverse events", Narratives),
    Output("adlb.parquet", "adlb", "Laboratory analysis dataset", ADLB),
    Output("adpc.parquet", "adpc", "Cellular kinetics analysis dataset", ADPC),
    Output("lab_shifts.csv", "lab_toxicity", "CTCAE shift from baseline to the worst grade", LabShifts),
    Output("lab_subjects.csv", "lab_toxicity", "Haematotoxicity, IgG and B-cell aplasia per subject", LabSubjects),
    Output("igg_summary.csv", "lab_toxicity", "IgG over time", IggSummary),
    Output("bcell_curve.csv", "lab_toxicity", "Kaplan-Meier of continuing B-cell aplasia", BcellCurve),
    Output("kinetics.csv", "kinetics", "CAR transgene kinetics per subject", Kinetics),
    Output("kinetics_summary.csv", "kinetics", "CAR transgene kinetics by response", KineticsSummary),
    Output("long_term_safety.csv", "long_term_safety", "Long-term gene-therapy safety", LongTermSafety),
    Output("long_term_events.csv", "long_term_safety", "Listing: long-term events", LongTermEvents),
    Output("stopping_rules.csv", "stopping_rules", "Stopping rules", StoppingRules),
    Output("cut_comparison.csv", "cut_comparison", "Changes since the previous cut", CutComparison),
    Output("stopping_history.csv", "stopping_history", "Stopping rules across the published cuts", StoppingHistory),
)
OUTPUT_BY_FILE = {o.file: o for o in OUTPUTS}


@dataclass(frozen=True)
class AdamDataset:
    """An ADaM dataset as a regulator receives it: SAS transport beside the Parquet, and
    its entry in define.xml (name, label of at most 40 characters, class, structure, keys).
    The keys are unique and give the XPT's row order (define.xml's ``KeySequence``);
    ``in_key_order``: the derivation writes its rows so (the XPT is then written as the
    Parquet is; otherwise it is sorted by the keys: ADTTE is derived parameter by
    parameter). ``tests/io/test_xpt.py`` holds each declaration to the sample's datasets."""

    output: str  # the Parquet file in OUTPUTS
    name: str
    label: str
    adam_class: str
    structure: str
    keys: tuple[str, ...]
    in_key_order: bool = True

    @property
    def xpt(self) -> str:
        return f"{self.name.lower()}.xpt"


ADAM_DATASETS: tuple[AdamDataset, ...] = (
    AdamDataset(
        "adsl.parquet",
        "ADSL",
        "Subject-Level Analysis Dataset",
        "SUBJECT LEVEL ANALYSIS DATASET",
        "One record per subject",
        ("USUBJID",),
    ),
    AdamDataset(
        "adrs.parquet",
        "ADRS",
        "Response Analysis Dataset",
        "BASIC DATA STRUCTURE",
        "One record per subject, parameter and assessment",
        ("USUBJID", "ASEQ"),
    ),
    AdamDataset(
        "adtte.parquet",
        "ADTTE",
        "Time-to-Event Analysis Dataset",
        "BASIC DATA STRUCTURE",
        "One record per subject, parameter and analysis",
        ("USUBJID", "PARAMCD", "ANALYSIS"),
        in_key_order=False,
    ),
    AdamDataset(
        "adae.parquet",
        "ADAE",
        "Adverse Events Analysis Dataset",
        "OCCURRENCE DATA STRUCTURE",
        "One record per subject and adverse event",
        # in onset order, as derived (until 2026-12-06 the keys were USUBJID and AESPID alone,
        # which the rows did not follow)
        ("USUBJID", "ASTDT", "AESPID"),
    ),
    AdamDataset(
        "adlb.parquet",
        "ADLB",
        "Laboratory Analysis Dataset",
        "BASIC DATA STRUCTURE",
        "One record per subject, sample date and test",
        ("USUBJID", "LBSEQ"),
    ),
    AdamDataset(
        "adpc.parquet",
        "ADPC",
        "Cellular Kinetics Analysis Dataset",
        "BASIC DATA STRUCTURE",
        "One record per subject and transgene sample",
        ("USUBJID", "PCSEQ"),
    ),
)
ADAM_BY_OUTPUT = {d.output: d for d in ADAM_DATASETS}
#: the regulatory files beside the ADaM Parquet: each dataset's XPT and define.xml
DEFINE_XML = "define.xml"
#: the derivation rules (docs/endpoints.md) as published in each cut, where define.xml's
#: methods point: a reviewer opening define.xml from the cut's folder found no docs/ there
RULES_DOC = "endpoints.md"
REGULATORY_FILES: tuple[str, ...] = (*(d.xpt for d in ADAM_DATASETS), DEFINE_XML, RULES_DOC)
#: tables written only when there is something to compare with
OPTIONAL_OUTPUTS = ("cut_comparison.csv",)


#: ADSL variables a plan may name as subgroups (categorical, declared above)
SUBGROUP_VARIABLES: tuple[str, ...] = tuple(
    name for name, column in ADSL.columns().items() if (column.metadata or {}).get("subgroup")
)


def label(schema: type[dy.Schema], column: str) -> str:
    """The declared label of ``column`` (its name when it has none)."""
    return schema.columns()[column].description or column


#: covariates a plan may name for the multivariable models besides the subgroup variables
#: (factors): derived from ADSL's baseline values (analysis/models.py; labels in labels.VARIABLES)
DERIVED_COVARIATES: tuple[str, ...] = ("bm_blasts_ge50", "CD19PCT", "AGE")
MODEL_COVARIATES: tuple[str, ...] = (*SUBGROUP_VARIABLES, *DERIVED_COVARIATES)


# --- the portfolio's pooled analysis (analysis/pooled.py; published under [pooled] out) ---


class PooledTrials(dy.Schema):
    trial = dy.String(primary_key=True, description="Trial (the portfolio's id)")
    title = _s("Trial title", nullable=False)
    data_cut = _d("Data cut pooled", nullable=False)
    version = _s("Published version of that cut", nullable=False)
    manifest_sha256 = _s("SHA-256 of that version's manifest.json", nullable=False)
    code = _s("Code version that made that cut (its manifest's; 'not recorded' when it names none)", nullable=False)
    enrolled = _i("Enrolled", nullable=False, min=0)
    infused = _i("Infused (safety set)", nullable=False, min=0)


class PooledAdsl(dy.Schema):
    TRIAL = dy.String(primary_key=True, description="Trial (the portfolio's id)")
    USUBJID = dy.String(primary_key=True, description="Unique Subject Identifier (as the trial wrote it)")
    SAFFL = _flag("Safety Population Flag")
    AGE = _f("Age")
    SEX = _s("Sex")
    AGEGR1 = _s("Age Group 1")
    PRHSCTFL = _s("Prior HSCT Flag")
    EMDFL = _s("Extramedullary Disease Flag")
    BRIDGFL = _s("Bridging Therapy Flag")
    CRSGRAJ = _i("Worst CRS grade, adjudicated", min=0, max=5)
    ICANGRAJ = _i("Worst ICANS grade, adjudicated", min=0, max=5)
    NRMFL = _s("Non-Relapse Mortality Flag")


class PooledAdtte(dy.Schema):
    TRIAL = dy.String(primary_key=True, description="Trial (the portfolio's id)")
    USUBJID = dy.String(primary_key=True, description="Unique Subject Identifier")
    PARAMCD = dy.String(primary_key=True, description="Parameter Code (OS, EFS)")
    AVAL = _f("Analysis Value (days)", nullable=False, min=0)
    CNSR = _i("Censor (1 = censored)", nullable=False, min=0, max=1)
    PRHSCTFL = _s("Prior HSCT Flag")
    SEX = _s("Sex")
    AGEGR1 = _s("Age Group 1")
    EMDFL = _s("Extramedullary Disease Flag")
    BRIDGFL = _s("Bridging Therapy Flag")


class PooledSurvival(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint")
    trial = dy.String(primary_key=True, description="Trial, or Pooled")
    n = _i("Subjects", nullable=False, min=0)
    n_events = _i("Events", nullable=False, min=0)
    median_days = _f("Median (days)", min=0)
    median_lcl_days = _f("Median lower 95% limit", min=0)
    median_ucl_days = _f("Median upper 95% limit", min=0)
    rate_12m = _f("12-month rate", min=0, max=1)
    rate_12m_lcl = _f("12-month rate lower 95% limit", min=0, max=1)
    rate_12m_ucl = _f("12-month rate upper 95% limit", min=0, max=1)
    note = _s("Why the values are empty")


class PooledTests(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint")
    test = dy.String(primary_key=True, description="Test or model")
    factor = dy.String(primary_key=True, description="Variable compared")
    level = dy.String(primary_key=True, description="Level against the reference (Cox), or all")
    strata = _s("Strata")
    n = _i("Subjects", nullable=False, min=0)
    n_events = _i("Events", nullable=False, min=0)
    statistic = _f("Chi-square", min=0)
    df = _i("Degrees of freedom", min=0)
    p = _f("p-value", min=0, max=1)
    hr = _f("Hazard ratio", min=0)
    hr_lcl = _f("Hazard ratio lower 95% limit", min=0)
    hr_ucl = _f("Hazard ratio upper 95% limit", min=0)
    note = _s("Why a value is empty, or who is left out")
    n_unrecorded = _i("Subjects without the factor recorded, left out (factor tests)", min=0)


class PooledForest(dy.Schema):
    endpoint = dy.String(primary_key=True, description="Endpoint")
    trial = dy.String(primary_key=True, description="Trial, or Pooled (stratified by trial)")
    factor = _s("Variable compared", nullable=False)
    level = dy.String(primary_key=True, description="Level against the reference")
    n = _i("Subjects", nullable=False, min=0)
    n_level = _i("Subjects at the level", nullable=False, min=0)
    n_events = _i("Events", nullable=False, min=0)
    hr = _f("Hazard ratio", min=0)
    hr_lcl = _f("Hazard ratio lower 95% limit", min=0)
    hr_ucl = _f("Hazard ratio upper 95% limit", min=0)
    p = _f("p-value", min=0, max=1)
    q = _f("Cochran's Q (pooled row)", min=0)
    q_df = _i("Q degrees of freedom", min=0)
    q_p = _f("Q p-value", min=0, max=1)
    i2 = _f("I-squared, %", min=0, max=100)
    note = _s("Why a value is empty, or who is left out")
    n_unrecorded = _i("Subjects without the factor recorded, left out", nullable=False, min=0)


class PooledSafety(dy.Schema):
    measure = dy.String(primary_key=True, description="Measure")
    trial = dy.String(primary_key=True, description="Trial, or Pooled")
    n = _i("Subjects with it", nullable=False, min=0)
    denominator = _i("Safety set", nullable=False, min=0)
    pct = _f("%", min=0, max=100)
    lcl = _f("Clopper-Pearson lower 95% limit, %", min=0, max=100)
    ucl = _f("Clopper-Pearson upper 95% limit, %", min=0, max=100)
    chisq = _f("Heterogeneity chi-square (pooled row)", min=0)
    df = _i("Degrees of freedom", min=0)
    p = _f("p-value", min=0, max=1)
    note = _s("Why a value is empty, or a caution")


#: the pooled analysis's tables: file -> contract
POOLED_OUTPUTS: dict[str, type[dy.Schema]] = {
    "pooled_trials.csv": PooledTrials,
    "pooled_adsl.parquet": PooledAdsl,
    "pooled_adtte.parquet": PooledAdtte,
    "pooled_survival.csv": PooledSurvival,
    "pooled_tests.csv": PooledTests,
    "pooled_forest.csv": PooledForest,
    "pooled_safety.csv": PooledSafety,
}
