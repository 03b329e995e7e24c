"""The optional DSMB-package files of a synthetic subject (data-contract.md, version 3):
leukapheresis and the product, laboratory values and the long-term follow-up.

They are drawn from the subject's simulated course (its infusion, remission, relapse and
CD19 status, CRS grade, HSCT, death or end of follow-up) with a random generator of their
own, so the required files of a seed are the same bytes with or without them.

Rates, from published CAR-T experience in paediatric B-ALL (ELIANA and its follow-up):
manufacturing failure about 5 % of the apheresed (out of specification and infused under
exception about 4 %, failure leading to withdrawal as in the course); neutrophils
recover by day 28 in about 70 %, with a prolonged or biphasic course in the rest;
platelets later; B-cell aplasia in nearly every responder, lasting a median of about a
year, lost before most CD19-positive relapses and continuing through CD19-negative ones;
transgene expansion peaking on days 7-14, higher in responders; IgG falling under B-cell
aplasia; secondary malignancies rare (about 1 %, T-cell malignancies far rarer).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Row = dict[str, Any]

#: the files simulate_dsmb fills (the optional files of the DSMB package)
DSMB_RECORDS = ("apheresis", "labs", "long_term_followup")
COUNT_DAYS = (0, 3, 7, 10, 14, 21, 28, 60, 90, 180, 365)
INFLAMMATION_DAYS = (0, 3, 7, 14)
TRANSGENE_DAYS = (1, 4, 7, 10, 14, 21, 28, 90, 180, 365)
BCELL_DAYS = (28, 60, 90, 120, 150, 180, 240, 300, 365)  # monthly, then every 2 months, then quarterly
RCL_DAYS = (90, 180, 365)
LLOQ = 50.0  # copies/ug gDNA
LONG_TERM_RATES = {  # per infused subject over the follow-up of the drop
    "SECONDARY_MALIGNANCY": 0.012,
    "T_CELL_MALIGNANCY": 0.002,
    "NEW_AUTOIMMUNE": 0.02,
    "NEW_NEUROLOGIC": 0.015,
    "NEW_HEMATOLOGIC": 0.03,
}
LONG_TERM_DETAIL = {
    "SECONDARY_MALIGNANCY": ("Myelodysplastic syndrome", "Acute myeloid leukaemia", "Papillary thyroid carcinoma"),
    "T_CELL_MALIGNANCY": ("Peripheral T-cell lymphoma; CAR transgene tested",),
    "NEW_AUTOIMMUNE": ("Autoimmune thyroiditis", "Immune thrombocytopenia", "Psoriasis"),
    "NEW_NEUROLOGIC": ("Peripheral neuropathy", "Seizure disorder"),
    "NEW_HEMATOLOGIC": ("Late neutropenia", "Aplastic anaemia", "Autoimmune haemolytic anaemia"),
}


def _every(first: tuple[int, ...], step: int, end: int) -> list[int]:
    """The scheduled days, then every ``step`` days after the last, up to ``end``."""
    days = [d for d in first if d <= end]
    day = first[-1] + step
    while day <= end:
        days.append(day)
        day += step
    return days


def _course(s: Any, export: int) -> dict[str, Any]:
    """What the DSMB files need of the subject's simulated records."""
    events = {f["event"]: f["event_date"] for f in s.followup}
    # the day before the export is the drop's last (as the course's records)
    end = min([export - 1] + [f["event_date"] for f in s.followup if f["event"] in ("DEATH", "WITHDRAWAL", "LOST")])
    remission = [a["assessment_date"] for a in s.assessments if a["response"] in ("CR", "CRi")]
    relapse = next((a for a in s.assessments if a["response"] == "RELAPSE"), None)
    crs = max((int(a["grade"]) for a in s.adverse_events if a["term"] == "Cytokine release syndrome"), default=0)
    return {
        "end": end,
        "death": events.get("DEATH"),
        "withdrawal": next((f for f in s.followup if f["event"] == "WITHDRAWAL"), None),
        "hsct": events.get("HSCT"),
        "remission": min(remission) if remission else None,
        "relapse": relapse["assessment_date"] if relapse else None,
        "relapse_cd19": relapse["cd19_at_relapse"] if relapse else None,
        "crs": crs,
    }


def simulate_dsmb(rng: np.random.Generator, s: Any, export: int) -> None:
    """Fill ``s.apheresis``, ``s.labs`` and ``s.long_term_followup``."""
    course = _course(s, export)
    _apheresis(rng, s, course)
    if s.infusion:
        _labs(rng, s, course)
        _long_term(rng, s, course)


def _apheresis(rng: np.random.Generator, s: Any, course: dict[str, Any]) -> None:
    sid = s.enrolment["subject_id"]
    enrol = s.enrolment["enrol_date"]
    aph = enrol + int(rng.integers(0, 3))
    if s.infusion:
        day0 = s.infusion[0]["infusion_date"]
        status = "OOS_INFUSED" if rng.random() < 0.04 else "RELEASED"
        release = max(aph, day0 - int(rng.integers(1, 4)))
        s.apheresis.append(_aph(sid, aph, status, release, None))
        return
    stop = course["end"]
    if aph > stop:
        return  # died or withdrew before leukapheresis
    withdrawal = course["withdrawal"]
    if withdrawal and "manufactur" in (withdrawal["detail"] or "").lower():
        s.apheresis.append(_aph(sid, aph, "FAILED", None, "MANUFACTURING_FAILURE"))
    elif course["death"] is not None:
        s.apheresis.append(_aph(sid, aph, "PENDING", None, "DEATH"))
    elif withdrawal is not None and rng.random() < 0.5:
        s.apheresis.append(_aph(sid, aph, "PENDING", None, "WITHDRAWAL"))


def _aph(sid: str, day: int, status: str, release: int | None, reason: str | None) -> Row:
    return {
        "subject_id": sid,
        "apheresis_date": day,
        "product_status": status,
        "release_date": release,
        "not_infused_reason": reason,
    }


def _lab(s: Any, day: int, test: str, value: float, blq: bool | None = None) -> None:
    digits = 0 if test in ("CAR_TRANSGENE", "BCELL", "FERRITIN", "PLT") else 2
    s.labs.append(
        {
            "subject_id": s.enrolment["subject_id"],
            "sample_date": day,
            "test": test,
            "value": round(max(value, 0.0), digits),
            "below_lloq": None if blq is None else ("Y" if blq else "N"),
        }
    )


def _labs(rng: np.random.Generator, s: Any, course: dict[str, Any]) -> None:
    day0 = s.infusion[0]["infusion_date"]
    ld = s.infusion[0]["ld_start_date"]
    last = course["end"] - day0  # no sample after death, withdrawal or the export
    noise = lambda sd: float(np.exp(rng.normal(0.0, sd)))  # noqa: E731 - a local shorthand
    responder = course["remission"] is not None
    base_day = ld - int(rng.integers(0, 3))
    anc_base = float(np.clip(np.exp(rng.normal(np.log(1.6), 0.6)), 0.2, 6))
    plt_base = float(np.clip(np.exp(rng.normal(np.log(110), 0.6)), 8, 450))
    hgb_base = float(np.clip(rng.normal(10.2, 1.3), 6.5, 14))
    igg_base = float(np.clip(rng.normal(6.5, 2.0), 1.5, 14))
    bcell_base = float(np.clip(np.exp(rng.normal(np.log(80), 1.0)), 1, 1500))
    for test, value in (
        ("ANC", anc_base),
        ("PLT", plt_base),
        ("HGB", hgb_base),
        ("IGG", igg_base),
        ("BCELL", bcell_base),
        ("CRP", 3 + 10 * rng.random()),
        ("FERRITIN", 400 + 1500 * rng.random()),
    ):
        _lab(s, base_day, test, value)
    # neutrophils and platelets: a nadir after lymphodepletion, recovery by day 8-20 in most,
    # later in some, and a second fall (biphasic) in a few
    anc_nadir = float(np.clip(np.exp(rng.normal(np.log(0.3), 0.6)), 0.02, 0.45))
    u = rng.random()
    anc_recovery = (
        int(rng.integers(5, 14))
        if u < 0.75
        else int(rng.integers(14, 36))
        if u < 0.92
        else 36 + int(rng.integers(0, 70))
    )
    biphasic = (anc_recovery + int(rng.integers(10, 30)), int(rng.integers(10, 30))) if rng.random() < 0.12 else None
    anc_plateau = float(np.exp(rng.normal(np.log(2.0), 0.4)))
    plt_nadir = float(np.clip(np.exp(rng.normal(np.log(30), 0.8)), 3, 140))
    plt_recovery = anc_recovery + int(rng.integers(0, 25))
    plt_plateau = float(np.exp(rng.normal(np.log(170), 0.35)))
    hgb_nadir = float(np.clip(rng.normal(8.3, 0.9), 5.5, 10.5))
    for d in _every(COUNT_DAYS, 365, last):
        low = d < anc_recovery or (biphasic is not None and biphasic[0] <= d < biphasic[0] + biphasic[1])
        anc = (anc_base * 0.6 if d == 0 else anc_nadir if low else anc_plateau) * noise(0.3)
        _lab(s, day0 + d, "ANC", anc)
        plt_ = (plt_base * 0.7 if d == 0 else plt_nadir if d < plt_recovery else plt_plateau) * noise(0.25)
        _lab(s, day0 + d, "PLT", plt_)
        hgb = (hgb_base * 0.95 if d == 0 else hgb_nadir if d < max(anc_recovery, 21) else 11.2) + rng.normal(0, 0.4)
        _lab(s, day0 + d, "HGB", hgb)
    for d in (x for x in INFLAMMATION_DAYS if x <= last):
        peak = 1.0 if d in (3, 7) else 0.3 if d == 14 else 0.1
        _lab(s, day0 + d, "CRP", (8 + 40 * course["crs"] * peak + 15 * peak) * noise(0.3))
        _lab(s, day0 + d, "FERRITIN", (800 * (1 + 3 * course["crs"] * peak)) * noise(0.3))
    _bcells_and_transgene(rng, s, course, day0, last, responder, noise)


def _bcells_and_transgene(
    rng: np.random.Generator, s: Any, course: dict[str, Any], day0: int, last: int, responder: bool, noise: Any
) -> None:
    relapse = None if course["relapse"] is None else course["relapse"] - day0
    if responder:
        if relapse is not None and course["relapse_cd19"] == "POS":
            recovery = max(35, relapse - int(rng.integers(20, 120)))  # aplasia lost before a CD19+ relapse
        elif relapse is not None and course["relapse_cd19"] == "NEG":
            recovery = 100_000  # CD19-negative escape under continuing aplasia
        else:
            recovery = 28 + int(rng.weibull(1.3) * 420)
    else:
        recovery = int(rng.integers(20, 90)) if rng.random() < 0.5 else 0
    igg_floor = float(np.clip(rng.normal(3.4, 1.0), 1.0, 6.0))
    for d in _every(BCELL_DAYS, 91, last):
        aplastic = d < recovery
        bcell = rng.uniform(0, 12) if aplastic else float(np.exp(rng.normal(np.log(250), 0.7)))
        _lab(s, day0 + d, "BCELL", bcell)
        igg = igg_floor * noise(0.15) if aplastic else float(np.clip(rng.normal(7.5, 1.5), 3, 14))
        _lab(s, day0 + d, "IGG", igg)
    tmax = int(rng.choice((7, 10, 14), p=(0.3, 0.4, 0.3)))
    cmax = float(np.exp(rng.normal(np.log(25000 if responder else 5000), 1.0)))
    slow = 0.004 if responder else 0.03
    for d in _every(TRANSGENE_DAYS, 365, last):
        if d <= tmax:
            value = cmax * math.exp(-((d - tmax) ** 2) / (2 * 3.5**2))
        else:
            value = cmax * (0.85 * math.exp(-0.18 * (d - tmax)) + 0.15 * math.exp(-slow * (d - tmax)))
        if d >= recovery:  # persistence lost with the B-cell recovery
            value = value * math.exp(-0.05 * (d - recovery))
        value *= noise(0.35)
        blq = value < LLOQ
        _lab(s, day0 + d, "CAR_TRANSGENE", LLOQ if blq else value, blq)


def _long_term(rng: np.random.Generator, s: Any, course: dict[str, Any]) -> None:
    sid = s.enrolment["subject_id"]
    day0 = s.infusion[0]["infusion_date"]
    last = course["end"] - day0
    for d in _every(RCL_DAYS, 365, last):
        pending = course["end"] - (day0 + d) < 30 and course["death"] is None
        s.long_term_followup.append(_ltfu(sid, day0 + d, "RCL_TEST", "PENDING" if pending else "NEGATIVE", None))
    for event, rate in LONG_TERM_RATES.items():
        if rng.random() < rate:
            day = int(rng.integers(120, 1400))
            if day <= last:
                detail = str(rng.choice(LONG_TERM_DETAIL[event]))
                s.long_term_followup.append(_ltfu(sid, day0 + day, event, None, detail))


def _ltfu(sid: str, day: int, event: str, result: str | None, detail: str | None) -> Row:
    return {"subject_id": sid, "event_date": day, "event": event, "result": result, "detail": detail}
