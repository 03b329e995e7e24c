"""The clinical course of one synthetic subject (assumptions in README.md).

Dates are whole days since 1970-01-01 (ints) until ``generator`` writes them.
Every draw comes from the ``numpy.random.Generator`` passed in, so one seed
gives one trial. The course of each subject follows one scenario (``SCENARIOS``)
chosen to exercise every rule of endpoints.md at a realistic rate: remission
after salvage therapy, relapse after an early CR, late responders, deaths of
refractory disease, GVHD after transplant, MRD-persistent entrants; and the
version-3 cases (``V3_PATTERNS``): a remission lost within 28 days, a death in
remission within 28 days of it, an MRD-negative confirmation after an
MRD-positive day-28 CR, a CRS-like episode after a transplant, a withdrawal
before any assessment, causes of death written with a negation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trial_outcomes.schema import CRITERIA, CRS_TERM, ICANS_TERM

Row = dict[str, Any]

# Scheduled disease assessments: visit -> (target day, half window)
VISITS = {
    "D14": (14, 1),
    "D28": (28, 3),
    "M2": (61, 5),
    "M3": (91, 7),
    "M6": (182, 14),
    "M9": (274, 14),
    "M12": (365, 14),
    "M18": (548, 21),
    "M24": (730, 21),
    "M36": (1096, 30),
    "M48": (1461, 30),
}
FUSIONS = ("none", "ETV6-RUNX1", "BCR-ABL1", "KMT2A-r", "TCF3-PBX1", "Ph-like (CRLF2-r)")
FUSION_P = (0.55, 0.12, 0.10, 0.09, 0.06, 0.08)
NEW_THERAPIES = ("CD22 CAR-T", "Blinatumomab", "Inotuzumab ozogamicin", "Salvage chemotherapy")
BRIDGING = (
    "Low-intensity chemotherapy (vincristine, dexamethasone)",
    "Inotuzumab ozogamicin",
    "Hydroxyurea",
    "Cytarabine",
)
SOC = {
    CRS_TERM: "Immune system disorders",
    ICANS_TERM: "Nervous system disorders",
    "Neutrophil count decreased": "Investigations",
    "Platelet count decreased": "Investigations",
    "Anaemia": "Blood and lymphatic system disorders",
    "Febrile neutropenia": "Blood and lymphatic system disorders",
    "Hypogammaglobulinaemia": "Immune system disorders",
    "Hypofibrinogenaemia": "Blood and lymphatic system disorders",
    "Haemophagocytic lymphohistiocytosis": "Blood and lymphatic system disorders",
    "Tumour lysis syndrome": "Metabolism and nutrition disorders",
    "Pneumonia": "Infections and infestations",
    "Bacteraemia": "Infections and infestations",
    "Cytomegalovirus infection reactivation": "Infections and infestations",
    "Sepsis": "Infections and infestations",
    "Graft versus host disease": "Immune system disorders",
    "Headache": "Nervous system disorders",
}
# (term, probability, grade choices, grade probabilities, onset day range, duration range or None)
OTHER_AES = (
    ("Neutrophil count decreased", 0.75, (3, 4), (0.35, 0.65), (0, 4), (7, 35)),
    ("Platelet count decreased", 0.45, (2, 3, 4), (0.2, 0.4, 0.4), (0, 6), (7, 60)),
    ("Anaemia", 0.55, (2, 3), (0.4, 0.6), (0, 6), (10, 40)),
    ("Febrile neutropenia", 0.35, (3,), (1.0,), (1, 10), (2, 8)),
    ("Hypogammaglobulinaemia", 0.40, (2,), (1.0,), (20, 60), None),
    ("Hypofibrinogenaemia", 0.20, (1, 2, 3), (0.4, 0.4, 0.2), (3, 10), (2, 10)),
    ("Tumour lysis syndrome", 0.03, (3,), (1.0,), (1, 3), (3, 7)),
    ("Pneumonia", 0.05, (3,), (1.0,), (15, 200), (7, 21)),
    ("Bacteraemia", 0.04, (3, 4), (0.7, 0.3), (5, 60), (5, 14)),
    ("Cytomegalovirus infection reactivation", 0.03, (2, 3), (0.5, 0.5), (20, 90), (10, 30)),
)
#: scenario of a subject entering with morphologic disease -> probability (the README's percentages)
SCENARIOS = {
    "responder": 0.715,  # CR/CRi by day 28, attributable
    "transient_remission": 0.02,  # CR on day 14, NR on day 28 (no relapse record): lost within 28 days
    "early_relapse": 0.04,  # CR on day 14, relapse in the day-28 window: responded, then relapsed
    "late_responder": 0.045,  # NR/PR at day 28, CR at month 2 or 3 on CAR-T alone
    "salvage_remission": 0.05,  # NR at day 28, salvage from day 30-45, CR later: not a CAR-T remission
    "partial": 0.03,  # PR, then new therapy
    "refractory": 0.10,  # NR: most die of refractory leukaemia without a relapse on record
}


#: the rates of endpoints.md version 3's cases (per infused subject, or as said)
V3_PATTERNS = {
    "death_in_remission_within_28_days": 0.025,  # of responders: sepsis 8-27 days after the first CR
    "mrd_negative_confirmation": 0.5,  # of responders MRD-positive at day 28: a negative marrow on day 33-41
    "crs_like_after_hsct": 0.2,  # of transplanted subjects: fever and hypotension days after the HSCT
    "withdrawal_before_assessment": 0.012,  # withdrawn on day 5-12, before the first marrow
    "cause_with_negation": 0.5,  # of transplant deaths: "Transplant-related mortality (leukaemia-free)"
}


@dataclass
class Subject:
    """All rows of one subject, as lists of dicts per record type."""

    enrolment: Row
    eligibility: list[Row] = field(default_factory=list)
    infusion: list[Row] = field(default_factory=list)
    assessments: list[Row] = field(default_factory=list)
    followup: list[Row] = field(default_factory=list)
    adverse_events: list[Row] = field(default_factory=list)
    crs_monitoring: list[Row] = field(default_factory=list)
    icans_monitoring: list[Row] = field(default_factory=list)
    apheresis: list[Row] = field(default_factory=list)  # the optional DSMB-package files (synth/dsmb.py)
    labs: list[Row] = field(default_factory=list)
    long_term_followup: list[Row] = field(default_factory=list)


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def simulate_subject(rng: np.random.Generator, subject_id: str, enrol: int, export: int) -> Subject:
    """One subject from consent to the export date."""
    r = rng.random
    status = str(rng.choice(("relapsed", "primary_refractory", "mrd_persistent"), p=(0.62, 0.22, 0.16)))
    bm_blast = round(rng.uniform(0.02, 4.9), 2) if status == "mrd_persistent" else round(rng.uniform(5, 95), 1)
    enrolment = {
        "subject_id": subject_id,
        "site": "BOREN",
        "consent_date": enrol - int(rng.integers(0, 8)),
        "enrol_date": enrol,
        "age_years": round(rng.uniform(1.0, 18.0), 1),
        "sex": "M" if r() < 0.57 else "F",
        "diagnosis_date": enrol - int(rng.integers(150, 1800)),
        "disease_status": status,
        "prior_relapses": (1 + int(r() < 0.3) + int(r() < 0.1)) if status == "relapsed" else 0,
        "prior_hsct": _yn(r() < (0.3 if status == "relapsed" else 0.05)),
        "cd19_pct": round(rng.uniform(95.5, 100.0), 1),
        "bm_blast_pct": bm_blast,
        "pb_blast_pct": round(rng.uniform(0, 25) * bm_blast / 100, 1),
        "csf_blasts_per_ul": 0 if r() < 0.9 else int(rng.integers(1, 15)),
        "emd": _yn(r() < 0.12),
        "fusion_gene": str(rng.choice(FUSIONS, p=FUSION_P)),
        "ecog": int(rng.choice((0, 1, 2), p=(0.5, 0.4, 0.1))),
        "creatinine_x_uln": round(rng.uniform(0.3, 1.2), 2),
        "bun_x_uln": round(rng.uniform(0.3, 1.2), 2),
    }
    s = Subject(enrolment)
    _deviation(rng, enrolment)
    # The checklist says what the investigator believed: every criterion fine.
    s.eligibility = [
        {"subject_id": subject_id, "criterion": c, "met": "Y" if c.startswith("IN") else "N"} for c in CRITERIA
    ]

    u = r()
    if u < 0.025:
        s.followup.append(
            _fu(subject_id, enrol + int(rng.integers(15, 40)), "WITHDRAWAL", "Not infused: CAR-T manufacturing failure")
        )
        return s
    if u < 0.045:
        s.followup.append(
            _fu(
                subject_id, enrol + int(rng.integers(4, 16)), "DEATH", "Disease progression before infusion", "LEUKEMIA"
            )
        )
        return s
    if u < 0.06:
        s.followup.append(
            _fu(subject_id, enrol + int(rng.integers(2, 10)), "WITHDRAWAL", "Guardian withdrew consent before infusion")
        )
        return s
    _infused_course(rng, s, enrol, export)
    return s


def _deviation(rng: np.random.Generator, enrolment: Row) -> None:
    """About 3 % of subjects break one computable criterion (a protocol deviation)."""
    if rng.random() >= 0.03:
        return
    kind = int(rng.integers(0, 5))
    if kind == 0:
        enrolment["cd19_pct"] = round(rng.uniform(88, 95), 1)
    elif kind == 1:
        enrolment["age_years"] = round(rng.uniform(18.1, 18.9), 1)
    elif kind == 2:
        enrolment["pb_blast_pct"] = round(rng.uniform(31, 60), 1)
        enrolment["bm_blast_pct"] = max(enrolment["bm_blast_pct"], enrolment["pb_blast_pct"])
    elif kind == 3:
        enrolment["ecog"] = 3
    else:
        enrolment["creatinine_x_uln"] = round(rng.uniform(1.6, 2.2), 2)


def _fu(subject_id: str, day: int, event: str, detail: str = "", category: str | None = None) -> Row:
    return {
        "subject_id": subject_id,
        "event_date": day,
        "event": event,
        "detail": detail or None,
        "cause_category": category,
    }


@dataclass
class Course:
    """A subject's course after infusion, in days from day 0 (None: not within follow-up)."""

    scenario: str
    death: int | None = None
    death_cause: str = ""
    death_category: str = ""
    relapse: int | None = None
    hsct: int | None = None
    new_therapy: int | None = None
    remission_day: int | None = None  # about when the first CR/CRi is seen
    remission_visit: str | None = None  # the visit from which assessments show remission
    loss_visit: str | None = None  # the visit from which remission is lost without a relapse record


def _course(
    rng: np.random.Generator, mrd_persistent: bool, crs_grade: int, crs_onset: int, crs_duration: int
) -> Course:
    r = rng.random
    if crs_grade == 5:
        return Course(
            "early_death", death=crs_onset + crs_duration, death_cause="Cytokine release syndrome", death_category="CRS"
        )
    if r() < 0.015:
        return Course(
            "early_death",
            death=int(rng.integers(9, 26)),
            death_cause="Infection (sepsis) during aplasia",
            death_category="INFECTION",
        )
    if mrd_persistent:
        scenario = "mrd_converter" if r() < 0.8 else "mrd_nonconverter"
    else:
        scenario = str(rng.choice(list(SCENARIOS), p=list(SCENARIOS.values())))
    c = Course(scenario)
    if scenario == "transient_remission":
        c.remission_visit, c.loss_visit = "D14", "D28"
        c.remission_day = VISITS["D14"][0]
        c.new_therapy = int(rng.integers(35, 50))
        if r() < 0.6:
            c.death, c.death_cause, c.death_category = int(rng.integers(60, 400)), "Refractory leukemia", "LEUKEMIA"
        return c
    if scenario in ("responder", "mrd_converter", "late_responder", "early_relapse"):
        c.remission_visit = {"late_responder": str(rng.choice(("M2", "M3"))), "early_relapse": "D14"}.get(
            scenario, "D14" if r() < 0.6 else "D28"
        )
        c.remission_day = VISITS[c.remission_visit][0]
        if scenario == "responder" and r() < V3_PATTERNS["death_in_remission_within_28_days"]:
            c.death = c.remission_day + int(rng.integers(8, 28))
            c.death_cause, c.death_category = "Sepsis in continuing remission; no relapse", "INFECTION"
            return c
        if scenario == "early_relapse":
            c.relapse = int(rng.integers(24, 32))
        elif r() < 0.30:
            c.hsct = int(rng.integers(60, 130))
        if c.relapse is None:
            cured = r() < (0.75 if c.hsct else 0.45)
            if not cured:
                c.relapse = c.remission_day + int(rng.weibull(1.2) * 260) + 14
        if c.hsct and c.relapse is not None and c.relapse <= c.hsct:
            c.hsct = None
        if c.relapse is not None:
            c.new_therapy = c.relapse + int(rng.integers(7, 22))
            if r() < 0.55:
                c.death, c.death_cause, c.death_category = (
                    c.relapse + 20 + int(rng.exponential(200)),
                    "Relapsed leukemia",
                    "LEUKEMIA",
                )
        elif r() < (0.10 if c.hsct else 0.02):
            start = c.hsct if c.hsct else 40
            c.death = start + int(rng.integers(30, 300))
            negated = r() < V3_PATTERNS["cause_with_negation"]
            c.death_cause, c.death_category = (
                (
                    "Transplant-related mortality (leukaemia-free)" if negated else "Transplant-related (GVHD)",
                    "TRANSPLANT",
                )
                if c.hsct
                else ("Infection in remission", "INFECTION")
            )
    elif scenario == "salvage_remission":
        c.new_therapy = int(rng.integers(30, 45))
        c.remission_visit = str(rng.choice(("M2", "M3")))  # reached on salvage: not attributable
        c.remission_day = VISITS[c.remission_visit][0]
        if r() < 0.4:
            c.relapse = c.remission_day + int(rng.weibull(1.2) * 200) + 30
            if r() < 0.6:
                c.death, c.death_cause, c.death_category = (
                    c.relapse + 30 + int(rng.exponential(150)),
                    "Relapsed leukemia",
                    "LEUKEMIA",
                )
    elif scenario in ("partial", "refractory", "mrd_nonconverter"):
        if scenario != "mrd_nonconverter":
            c.new_therapy = int(rng.integers(30, 50))
        if scenario == "refractory" and r() < 0.7:
            c.death, c.death_cause, c.death_category = int(rng.integers(20, 400)), "Refractory leukemia", "LEUKEMIA"
            if c.new_therapy is not None and c.death <= c.new_therapy:
                c.new_therapy = None
        elif scenario == "partial" and r() < 0.5:
            c.death, c.death_cause, c.death_category = (int(rng.integers(90, 500)), "Progressive leukemia", "LEUKEMIA")
    return c


def _infused_course(rng: np.random.Generator, s: Subject, enrol: int, export: int) -> None:
    r = rng.random
    sid = s.enrolment["subject_id"]
    ld = enrol + int(rng.integers(5, 15))
    day0 = ld + 5
    year = 1970 + day0 // 365
    s.infusion.append(
        {
            "subject_id": sid,
            "ld_regimen": "FC" if r() < 0.95 else "Fludarabine alone",
            "ld_start_date": ld,
            "infusion_date": day0,
            "dose_cells_per_kg": int(round(float(np.exp(rng.normal(np.log(1.0e6), 0.45))), -3)),
            "product_lot": f"CD19-{year}-{int(rng.integers(0, 100000)):05d}",
            "bridging": str(rng.choice(BRIDGING)) if r() < 0.55 else None,
        }
    )
    # Cytokine release syndrome: most subjects, onset day 1-7, mostly grade 1-2.
    crs_grade = int(rng.choice((0, 1, 2, 3, 4, 5), p=(0.12, 0.40, 0.29, 0.11, 0.072, 0.008)))
    crs_onset = int(rng.choice(range(1, 8), p=(0.25, 0.22, 0.18, 0.13, 0.1, 0.07, 0.05)))
    crs_duration = int(rng.integers(2, 6) + 2 * max(crs_grade - 1, 0))
    mrd_persistent = s.enrolment["disease_status"] == "mrd_persistent"
    c = _course(rng, mrd_persistent, crs_grade, crs_onset, crs_duration)

    end = export - day0  # last day of observation, relative to infusion
    stop_event = None
    if r() < V3_PATTERNS["withdrawal_before_assessment"]:
        stop_day = int(rng.integers(5, 13))
        if stop_day < end and (c.death is None or stop_day < c.death):
            end, stop_event = stop_day, ("WITHDRAWAL", "Family withdrew from the study")
    elif r() < 0.06:
        stop_day = int(rng.integers(60, 1200))
        stop_event = ("LOST", "") if r() < 0.7 else ("WITHDRAWAL", "Family withdrew from follow-up")
        if stop_day < end and (c.death is None or stop_day < c.death):
            end = stop_day
        else:
            stop_event = None
    if c.death is not None and c.death <= end:
        end = c.death
    else:
        c.death = None
        # follow-up ended (withdrawal, loss) before a fatal CRS: the last grade seen is 4 (a
        # grade-5 AE without a DEATH record is refused by the validation); no draw changes
        crs_grade = min(crs_grade, 4)
    for name in ("relapse", "hsct", "new_therapy"):
        value = getattr(c, name)
        if value is not None and value >= end:
            setattr(c, name, None)
    _assessments(rng, s, day0, end, c, mrd_persistent)
    _followup(rng, s, day0, end, c, stop_event)
    _adverse_events(rng, s, ld, day0, end, c, crs_grade, crs_onset, crs_duration)
    if c.hsct is not None and r() < V3_PATTERNS["crs_like_after_hsct"]:
        _crs_after_hsct(rng, s, day0, c.hsct, end)


def _crs_after_hsct(rng: np.random.Generator, s: Subject, day0: int, hsct: int, end: int) -> None:
    """A CRS-like episode days after the transplant (engraftment): monitoring days and an
    AE after the treatment-emergent window, never a CAR-T toxicity (endpoints.md v3)."""
    onset = hsct + int(rng.integers(2, 8))
    duration = int(rng.integers(3, 7))
    if onset + duration >= end:
        return
    grade = int(rng.choice((2, 3, 4), p=(0.5, 0.3, 0.2)))
    _crs_monitoring(rng, s, day0 + onset, duration, grade, day0 + end)
    n = len(s.adverse_events) + 1
    s.adverse_events.append(
        _ae(
            s.enrolment["subject_id"],
            n,
            "Cytokine release syndrome",
            day0 + onset,
            day0 + onset + duration,
            grade,
            grade >= 3,
            False,
            grade >= 3,
            False,
        )
    )


def _mrd(rng: np.random.Generator, negative: bool) -> float:
    return round(float(rng.uniform(0.0, 0.009)), 3) if negative else round(float(rng.uniform(0.01, 3.0)), 2)


def _visit_response(
    rng: np.random.Generator, visit: str, day: int, c: Course, mrd_persistent: bool, mrd_neg: bool
) -> tuple[str, float | None]:
    if mrd_persistent:  # in morphologic remission throughout; the MRD decides
        negative = c.scenario == "mrd_converter" and day >= 14 and (visit != "D14" or rng.random() < 0.5)
        return "CR", _mrd(rng, negative and rng.random() > 0.03)
    order = list(VISITS)
    in_remission = c.remission_visit is not None and order.index(visit) >= order.index(c.remission_visit)
    if c.loss_visit is not None and order.index(visit) >= order.index(c.loss_visit):
        in_remission = False
    if in_remission:
        resp = "CR" if rng.random() < 0.82 else "CRi"
        return resp, _mrd(rng, mrd_neg and rng.random() > 0.03)
    if c.scenario == "partial" and visit in ("D28", "M2"):
        return "PR", round(float(rng.uniform(1, 20)), 1)
    if c.scenario == "early_death" and visit == "D14":
        return "NE", None
    return "NR", round(float(rng.uniform(1, 40)), 1) if rng.random() < 0.5 else None


def _assessments(rng: np.random.Generator, s: Subject, day0: int, end: int, c: Course, mrd_persistent: bool) -> None:
    sid = s.enrolment["subject_id"]
    mrd_neg = rng.random() < 0.88
    rows: list[tuple[int, str, str, float | None, str | None, str | None]] = []
    followed = c.remission_day is not None or mrd_persistent
    for visit, (target, window) in VISITS.items():
        day = target + int(rng.integers(-window, window + 1))
        if (c.death is not None and day >= c.death) or day > end:
            break
        if c.relapse is not None and day >= c.relapse:
            break
        if not followed and visit not in ("D14", "D28", "M2"):
            break
        if visit not in ("D28",) and rng.random() < 0.07 and not (c.scenario == "early_relapse" and visit == "D14"):
            continue  # missed visit
        response, mrd = _visit_response(rng, visit, day, c, mrd_persistent, mrd_neg)
        rows.append((day, visit, response, mrd, None, None))
        confirm = V3_PATTERNS["mrd_negative_confirmation"]
        if (
            visit == "D28"
            and response in ("CR", "CRi")
            and not mrd_persistent
            and not mrd_neg
            and rng.random() < confirm
        ):
            extra = int(rng.integers(33, 42))  # a confirmatory marrow in the window, MRD-negative
            if extra < end and (c.death is None or extra < c.death) and (c.relapse is None or extra < c.relapse):
                rows.append((extra, "UNSCHED", "CR", _mrd(rng, True), None, None))
                mrd_neg = True
    if c.relapse is not None:
        relapse_site = str(rng.choice(("BM", "CNS", "TESTIS", "OTHER"), p=(0.78, 0.12, 0.05, 0.05)))
        relapse_cd19 = str(rng.choice(("POS", "NEG", "UNKNOWN"), p=(0.55, 0.40, 0.05)))
        blasts = round(float(rng.uniform(5, 80)), 1) if relapse_site == "BM" else None
        visit = "D28" if c.scenario == "early_relapse" else "UNSCHED"
        rows = [row for row in rows if not (c.scenario == "early_relapse" and row[1] == "D28")]
        if c.remission_day is not None and not any(row[2] in ("CR", "CRi") for row in rows):
            # the remission's visit was missed: a relapse needs its remission on record (the
            # validation refuses one without); no draw here, so other subjects are unchanged
            rows.append((c.remission_day, "UNSCHED", "CR", None, None, None))
        rows.append((c.relapse, visit, "RELAPSE", blasts, relapse_site, relapse_cd19))
    for day, visit, resp, mrd, site, cd19 in sorted(rows):
        s.assessments.append(
            {
                "subject_id": sid,
                "assessment_date": day0 + day,
                "visit": visit,
                "response": resp,
                "mrd_pct": mrd,
                "relapse_site": site,
                "cd19_at_relapse": cd19,
            }
        )


def _followup(
    rng: np.random.Generator, s: Subject, day0: int, end: int, c: Course, stop_event: tuple[str, str] | None
) -> None:
    sid = s.enrolment["subject_id"]
    events: dict[tuple[int, str], tuple[str, str | None]] = {}
    if c.hsct is not None:
        donor = str(rng.choice(("Matched sibling donor", "Haploidentical donor", "Matched unrelated donor")))
        events[(day0 + c.hsct, "HSCT")] = (donor, None)
    if c.new_therapy is not None and c.new_therapy < end:
        therapy = "Salvage chemotherapy" if c.scenario == "salvage_remission" else str(rng.choice(NEW_THERAPIES))
        events[(day0 + c.new_therapy, "NEW_THERAPY")] = (therapy, None)
    day = int(rng.integers(60, 120))
    while day < end:
        events.setdefault((day0 + day, "CONTACT"), ("", None))
        day += int(rng.integers(60, 120))
    if c.death is not None:
        coded = c.death_category if rng.random() > 0.02 else "UNKNOWN"
        events[(day0 + c.death, "DEATH")] = (c.death_cause, coded)
    elif stop_event is not None:
        events[(day0 + end, stop_event[0])] = (stop_event[1], None)
    for (date, event), (detail, category) in sorted(events.items(), key=lambda item: item[0]):
        s.followup.append(_fu(sid, date, event, detail, category))


def _ae(
    sid: str,
    n: int,
    term: str,
    onset: int,
    resolution: int | None,
    grade: int,
    serious: bool,
    related: bool,
    toci: bool = False,
    steroid: bool = False,
) -> Row:
    return {
        "subject_id": sid,
        "ae_id": f"AE{n:03d}",
        "term": term,
        "soc": SOC.get(term),
        "onset_date": onset,
        "resolution_date": resolution,
        "grade": grade,
        "serious": _yn(serious),
        "related": _yn(related),
        "tocilizumab": _yn(toci),
        "corticosteroids": _yn(steroid),
    }


def _adverse_events(
    rng: np.random.Generator,
    s: Subject,
    ld: int,
    day0: int,
    end: int,
    c: Course,
    crs_grade: int,
    crs_onset: int,
    crs_duration: int,
) -> None:
    sid = s.enrolment["subject_id"]
    r = rng.random
    last = day0 + end
    rows: list[tuple[Any, ...]] = []
    if r() < 0.05:
        rows.append(("Headache", ld - int(rng.integers(1, 4)), 2, 1, False, False, False, False))
    if crs_grade and day0 + crs_onset <= last:
        toci = r() < {1: 0.05, 2: 0.6}.get(crs_grade, 0.95)
        steroid = r() < {1: 0.0, 2: 0.15}.get(crs_grade, 0.7)
        rows.append(
            (CRS_TERM, day0 + crs_onset, crs_duration, crs_grade, crs_grade >= 3 or r() < 0.3, True, toci, steroid)
        )
        _crs_monitoring(rng, s, day0 + crs_onset, crs_duration, crs_grade, last)
        if r() < 0.28:
            grade = int(rng.choice((1, 2, 3, 4), p=(0.45, 0.30, 0.17, 0.08)))
            onset = day0 + crs_onset + int(rng.integers(2, 7))
            icans_days = int(rng.integers(2, 11))
            rows.append((ICANS_TERM, onset, icans_days, grade, grade >= 3, True, False, grade >= 2 and r() < 0.8))
            _icans_monitoring(rng, s, onset, icans_days, grade, last)
        if crs_grade >= 3 and r() < 0.12:
            rows.append(
                (
                    "Haemophagocytic lymphohistiocytosis",
                    day0 + crs_onset + int(rng.integers(3, 8)),
                    int(rng.integers(5, 15)),
                    int(rng.choice((3, 4))),
                    True,
                    True,
                    False,
                    True,
                )
            )
    for term, p, grades, gp, (lo, hi), dur in OTHER_AES:
        if r() < p:
            duration = None if dur is None else int(rng.integers(dur[0], dur[1] + 1))
            if term == "Neutrophil count decreased" and r() < 0.12:
                duration = int(rng.integers(60, 150))  # prolonged cytopenia, unresolved at day 28 and 90
            grade = int(rng.choice(grades, p=gp))
            infection = SOC.get(term) == "Infections and infestations"
            rows.append(
                (term, day0 + int(rng.integers(lo, hi + 1)), duration, grade, grade >= 3 and infection, not infection)
            )
    if c.hsct is not None and r() < 0.35:  # after the transplant: not treatment-emergent for CAR-T
        rows.append(
            (
                "Graft versus host disease",
                day0 + c.hsct + int(rng.integers(20, 60)),
                int(rng.integers(14, 90)),
                int(rng.choice((2, 3))),
                True,
                False,
            )
        )
    if c.death is not None and c.death_category == "INFECTION":
        rows.append(("Sepsis", last - int(rng.integers(0, 4)), 0, 5, True, c.death < 30))
    n = 0
    for term, onset, duration, grade, serious, related, *drugs in rows:
        if onset > last:
            continue
        resolution = None if duration is None or grade == 5 or onset + duration > last else onset + duration
        start = min(onset, last) if grade == 5 else onset
        n += 1
        s.adverse_events.append(_ae(sid, n, term, start, resolution, grade, serious, related, *drugs))


def _crs_monitoring(rng: np.random.Generator, s: Subject, onset: int, duration: int, grade: int, last: int) -> None:
    """Daily observations consistent with the reported ASTCT grade, except in
    about 6 % of subjects, where the investigator's grade is one off."""
    sid = s.enrolment["subject_id"]
    shown = min(grade, 4)
    if rng.random() < 0.06:
        shown = min(max(shown + int(rng.choice((-1, 1))), 1), 4)
    hypo_by = {1: "NONE", 2: "FLUIDS", 3: "ONE_VASOPRESSOR", 4: "MULTI_VASOPRESSOR"}
    oxy_by = {1: "NONE", 2: "LOW_FLOW", 3: "HIGH_FLOW", 4: "POSITIVE_PRESSURE"}
    worst = duration // 2
    for k in range(duration):
        level = shown if k == worst else max(1, shown - (1 if abs(k - worst) == 1 else 2))
        by_hypo = rng.random() < 0.5
        if onset + k > last:
            break
        s.crs_monitoring.append(
            {
                "subject_id": sid,
                "obs_date": onset + k,
                "max_temp_c": round(float(rng.uniform(38.0, 40.5)), 1),
                "hypotension": hypo_by[level] if by_hypo else "NONE",
                "oxygen": "NONE" if by_hypo else oxy_by[level],
            }
        )


def _icans_day(rng: np.random.Generator, level: int, age: float) -> Row:
    """One day of neurological monitoring whose ASTCT grade is ``level`` (0-4), with
    the instrument of the child's age: ICE from 12 years, CAPD below."""
    ice = capd = unable = None
    consciousness, seizure, motor, edema = "AWAKE", "NONE", "N", "NONE"
    if level == 0:
        ice, capd = 10, 0
    elif level == 1:
        ice, capd = int(rng.integers(7, 10)), int(rng.integers(1, 9))
    elif level == 2:
        ice, capd, consciousness = int(rng.integers(3, 7)), int(rng.integers(1, 9)), "VOICE"
    elif level == 3:
        ice, capd, consciousness = int(rng.integers(0, 3)), int(rng.integers(9, 20)), "TACTILE"
        if rng.random() < 0.2:
            seizure = "RESOLVED"
        elif rng.random() < 0.1:
            edema = "FOCAL"
    else:
        ice, consciousness = 0, "UNAROUSABLE"
        unable = "Y"
        if rng.random() < 0.2:
            seizure = "PROLONGED"
    child = age < 12
    return {
        "ice_score": None if child else ice,
        "capd_score": (None if unable else capd) if child else None,
        "unable_capd": (unable or "N") if child else None,
        "consciousness": consciousness,
        "seizure": seizure,
        "motor_weakness": motor,
        "cerebral_edema": edema,
    }


def _icans_monitoring(rng: np.random.Generator, s: Subject, onset: int, duration: int, grade: int, last: int) -> None:
    """Daily neurological observations consistent with the reported ICANS grade,
    except in about 4 % of subjects (the investigator's grade one off); a normal
    day before and after the episode."""
    sid = s.enrolment["subject_id"]
    shown = min(grade, 4)
    if rng.random() < 0.04:
        shown = min(max(shown + int(rng.choice((-1, 1))), 1), 4)
    worst = duration // 2
    for k in range(-1, duration + 1):
        day = onset + k
        if day > last:
            break
        level = 0 if k in (-1, duration) else shown if k == worst else max(1, shown - (1 if abs(k - worst) == 1 else 2))
        age = float(s.enrolment["age_years"]) + (day - s.enrolment["enrol_date"]) / 365.25
        s.icans_monitoring.append({"subject_id": sid, "obs_date": day, **_icans_day(rng, level, age)})
