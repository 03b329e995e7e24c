"""The clinical course of one synthetic subject (assumptions in README.md).

Dates are whole days since 1970-01-01 (ints) until ``generator`` writes them.
Every draw comes from the ``numpy.random.Generator`` passed in, so one seed
gives one trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trial_outcomes.schema import CRITERIA, CRS_TERM, ICANS_TERM

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
# (term, probability, grade choices, grade probabilities, onset day range, duration range or None)
OTHER_AES = (
    ("Neutrophil count decreased", 0.75, (3, 4), (0.35, 0.65), (0, 4), (7, 35)),
    ("Platelet count decreased", 0.45, (2, 3, 4), (0.2, 0.4, 0.4), (0, 6), (7, 60)),
    ("Anaemia", 0.55, (2, 3), (0.4, 0.6), (0, 6), (10, 40)),
    ("Febrile neutropenia", 0.35, (3,), (1.0,), (1, 10), (2, 8)),
    ("Hypogammaglobulinaemia", 0.40, (2,), (1.0,), (20, 60), None),
    ("Hypofibrinogenaemia", 0.20, (1, 2, 3), (0.4, 0.4, 0.2), (3, 10), (2, 10)),
    ("Pneumonia", 0.05, (3,), (1.0,), (15, 200), (7, 21)),
)


@dataclass
class Subject:
    """All rows of one subject, as lists of dicts per record type."""

    enrolment: dict
    eligibility: list[dict] = field(default_factory=list)
    infusion: list[dict] = field(default_factory=list)
    assessments: list[dict] = field(default_factory=list)
    followup: list[dict] = field(default_factory=list)
    adverse_events: list[dict] = field(default_factory=list)
    crs_monitoring: list[dict] = field(default_factory=list)


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
            _fu(subject_id, enrol + int(rng.integers(4, 16)), "DEATH", "Disease progression before infusion")
        )
        return s
    if u < 0.06:
        s.followup.append(
            _fu(subject_id, enrol + int(rng.integers(2, 10)), "WITHDRAWAL", "Guardian withdrew consent before infusion")
        )
        return s
    _infused_course(rng, s, enrol, export)
    return s


def _deviation(rng: np.random.Generator, enrolment: dict) -> None:
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


def _fu(subject_id: str, day: int, event: str, detail: str = "") -> dict:
    return {"subject_id": subject_id, "event_date": day, "event": event, "detail": detail or None}


def _infused_course(rng: np.random.Generator, s: Subject, enrol: int, export: int) -> None:
    r = rng.random
    sid = s.enrolment["subject_id"]
    ld = enrol + int(rng.integers(5, 15))
    day0 = ld + 5
    year = 1970 + day0 // 365
    s.infusion.append(
        {
            "subject_id": sid,
            "ld_regimen": "FC",
            "ld_start_date": ld,
            "infusion_date": day0,
            "dose_cells_per_kg": int(round(float(np.exp(rng.normal(np.log(1.0e6), 0.45))), -3)),
            "product_lot": f"CD19-{year}-{int(rng.integers(0, 100000)):05d}",
        }
    )

    # Cytokine release syndrome: most subjects, onset day 1-7, mostly grade 1-2.
    crs_grade = int(rng.choice((0, 1, 2, 3, 4, 5), p=(0.12, 0.40, 0.29, 0.11, 0.072, 0.008)))
    crs_onset = int(rng.choice(range(1, 8), p=(0.25, 0.22, 0.18, 0.13, 0.1, 0.07, 0.05)))
    crs_duration = int(rng.integers(2, 6) + 2 * max(crs_grade - 1, 0))

    # Death, relapse, HSCT and censoring, in days from infusion (None: not within follow-up).
    death = relapse = hsct = None
    death_cause = ""
    response = "CR"
    if crs_grade == 5:
        death, death_cause, response = crs_onset + crs_duration, "Cytokine release syndrome", "NE"
    elif r() < 0.015:
        death, death_cause, response = int(rng.integers(9, 26)), "Infection (sepsis) during aplasia", "NE"
    else:
        response = str(rng.choice(("CR", "CRi", "PR", "NR"), p=(0.70, 0.16, 0.04, 0.10)))
    responder = response in ("CR", "CRi")
    mrd_neg = responder and r() < 0.88
    if responder:
        if r() < 0.30:
            hsct = int(rng.integers(60, 130))
        cured = r() < (0.75 if hsct else 0.45)
        if not cured:
            relapse = 28 + int(rng.weibull(1.2) * 260) + 14
        if hsct and relapse is not None and relapse <= hsct:
            hsct = None
        if relapse is not None:
            if r() < 0.55:
                death, death_cause = relapse + 20 + int(rng.exponential(200)), "Relapsed leukemia"
        elif r() < (0.10 if hsct else 0.02):
            start = hsct if hsct else 40
            death = start + int(rng.integers(30, 300))
            death_cause = "Transplant-related (GVHD and infection)" if hsct else "Infection in remission"
    elif death is None:
        if r() < 0.7:
            death, death_cause = int(rng.integers(60, 500)), "Refractory leukemia"

    end = export - day0  # last day of observation, relative to infusion
    stop_event = None
    if r() < 0.06:
        stop_day = int(rng.integers(60, 1200))
        stop_event = ("LOST", "") if r() < 0.7 else ("WITHDRAWAL", "Family withdrew from follow-up")
        if stop_day < end and (death is None or stop_day < death):
            end = stop_day
        else:
            stop_event = None
    if death is not None and death <= end:
        end = death
    else:
        death = None
    if relapse is not None and relapse >= end:
        relapse = None
    if hsct is not None and hsct >= end:
        hsct = None

    _assessments(rng, s, day0, end, response, mrd_neg, relapse, death)
    _followup(rng, s, day0, end, death, death_cause, relapse, hsct, response, stop_event)
    _adverse_events(rng, s, ld, day0, end, death, death_cause, crs_grade, crs_onset, crs_duration)


def _mrd(rng: np.random.Generator, negative: bool) -> float:
    return round(float(rng.uniform(0.0, 0.009)), 3) if negative else round(float(rng.uniform(0.01, 3.0)), 2)


def _assessments(rng, s: Subject, day0: int, end: int, response: str, mrd_neg: bool, relapse, death) -> None:
    sid = s.enrolment["subject_id"]
    responder = response in ("CR", "CRi")
    rows = []
    for visit, (target, window) in VISITS.items():
        day = target + int(rng.integers(-window, window + 1))
        if (death is not None and day >= death) or day > end:
            break
        if relapse is not None and day >= relapse:
            break
        if not responder and visit not in ("D14", "D28", "M2"):
            break
        if visit != "D28" and rng.random() < 0.07:
            continue  # missed visit
        if visit == "D14":
            resp = response if responder and rng.random() < 0.6 else ("NR" if response != "NE" else "NE")
            if response in ("PR", "NR"):
                resp = "NR"
        elif visit == "D28":
            resp = response
        else:
            resp = ("CR" if rng.random() < 0.85 else response) if responder else "NR"
        mrd = None
        if resp in ("CR", "CRi"):
            # MRD reappearance alone is not relapse: a few remissions turn MRD-positive.
            mrd = _mrd(rng, mrd_neg and rng.random() > 0.03) if visit != "D28" else _mrd(rng, mrd_neg)
        elif resp in ("PR", "NR") and rng.random() < 0.5:
            mrd = round(float(rng.uniform(1, 40)), 1)
        rows.append((day, visit, resp, mrd, None, None))
    if relapse is not None:
        site = str(rng.choice(("BM", "CNS", "TESTIS", "OTHER"), p=(0.78, 0.12, 0.05, 0.05)))
        cd19 = str(rng.choice(("POS", "NEG", "UNKNOWN"), p=(0.55, 0.40, 0.05)))
        mrd = round(float(rng.uniform(5, 80)), 1) if site == "BM" else None
        rows.append((relapse, "UNSCHED", "RELAPSE", mrd, site, cd19))
    for day, visit, resp, mrd, site, cd19 in rows:
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
    rng, s: Subject, day0: int, end: int, death, cause: str, relapse, hsct, response: str, stop_event
) -> None:
    sid = s.enrolment["subject_id"]
    events: dict[tuple[int, str], str] = {}
    if hsct is not None:
        events[(day0 + hsct, "HSCT")] = str(
            rng.choice(("Matched sibling donor", "Haploidentical donor", "Matched unrelated donor"))
        )
    therapy_day = None
    if relapse is not None:
        therapy_day = relapse + int(rng.integers(7, 22))
    elif response in ("PR", "NR"):
        therapy_day = int(rng.integers(30, 45))
    if therapy_day is not None and therapy_day < end:
        events[(day0 + therapy_day, "NEW_THERAPY")] = str(rng.choice(NEW_THERAPIES))
    day = int(rng.integers(60, 120))
    while day < end:
        events.setdefault((day0 + day, "CONTACT"), "")
        day += int(rng.integers(60, 120))
    if death is not None:
        events[(day0 + death, "DEATH")] = cause
    elif stop_event is not None:
        events[(day0 + end, stop_event[0])] = stop_event[1]
    for (date, event), detail in sorted(events.items()):
        s.followup.append(_fu(sid, date, event, detail))


def _ae(
    sid: str,
    n: int,
    term: str,
    onset: int,
    resolution,
    grade: int,
    serious: bool,
    related: bool,
    toci=False,
    steroid=False,
) -> dict:
    return {
        "subject_id": sid,
        "ae_id": f"AE{n:03d}",
        "term": term,
        "onset_date": onset,
        "resolution_date": resolution,
        "grade": grade,
        "serious": _yn(serious),
        "related": _yn(related),
        "tocilizumab": _yn(toci),
        "corticosteroids": _yn(steroid),
    }


def _adverse_events(
    rng, s: Subject, ld: int, day0: int, end: int, death, cause: str, crs_grade: int, crs_onset: int, crs_duration: int
) -> None:
    sid = s.enrolment["subject_id"]
    r = rng.random
    last = day0 + end
    rows = []
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
            rows.append(
                (
                    ICANS_TERM,
                    day0 + crs_onset + int(rng.integers(2, 7)),
                    int(rng.integers(2, 11)),
                    grade,
                    grade >= 3,
                    True,
                    False,
                    grade >= 2 and r() < 0.8,
                )
            )
    for term, p, grades, gp, (lo, hi), dur in OTHER_AES:
        if r() < p:
            duration = None if dur is None else int(rng.integers(dur[0], dur[1] + 1))
            grade = int(rng.choice(grades, p=gp))
            rows.append(
                (
                    term,
                    day0 + int(rng.integers(lo, hi + 1)),
                    duration,
                    grade,
                    grade >= 3 and term == "Pneumonia",
                    term != "Pneumonia",
                )
            )
    if death is not None and cause.startswith("Infection"):
        rows.append(("Sepsis", last - int(rng.integers(0, 4)), 0, 5, True, cause.endswith("aplasia")))
    n = 0
    for term, onset, duration, grade, serious, related, *drugs in rows:
        if onset > last:
            continue
        resolution = None if duration is None or grade == 5 or onset + duration > last else onset + duration
        if grade == 5:
            onset = min(onset, last)
        n += 1
        s.adverse_events.append(_ae(sid, n, term, onset, resolution, grade, serious, related, *drugs))


def _crs_monitoring(rng, s: Subject, onset: int, duration: int, grade: int, last: int) -> None:
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
