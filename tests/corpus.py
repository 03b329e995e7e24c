"""Public survival data sets as EDC drops: the test corpus of issue 19.

``tests/reference/corpus/make_corpus.R`` turns each public data set (R's
``survival::lung``, ``myeloma``, ``flchain``, ``colon`` and ``rotterdam``) into one
row per subject in days from the CAR-T infusion (``<name>.subjects.csv``) and
computes R's estimates for the endpoints those days define (``<name>.json``).
``write_drop`` writes the drop a trial's EDC would export for the same subjects,
so the pipeline has to find the same times again from dates, assessments and
follow-up records:

* day 0 (the infusion) staggered over four years from 1995-01-02; consent,
  enrolment, lymphodepletion and diagnosis before it;
* for data sets with a recurrence, a CR assessment (MRD-negative) on day 28,
  then a ``RELAPSE`` assessment on ``rel_day``, or, for a subject alive without
  relapse, a CR assessment on ``rel_day`` (the last remission assessment);
* a ``DEATH`` on ``os_day`` (cause ``LEUKEMIA`` after a relapse, ``OTHER``
  otherwise) or a ``CONTACT`` there;
* no eligibility checklist and no adverse events, stated in ``drop_info.toml``.

Run as ``python -m tests.corpus NAME OUT_DIR`` to write one drop.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl

CORPUS = Path(__file__).parent / "reference" / "corpus"
NAMES = ("lung", "myeloma", "flchain", "colon", "rotterdam")
BASE = dt.date(1995, 1, 2)
SCHEMA_HEADERS = {
    "eligibility": "subject_id,criterion,met",
    "adverse_events": "subject_id,ae_id,term,soc,onset_date,resolution_date,grade,serious,related,"
    "tocilizumab,corticosteroids",
}


def subjects(name: str) -> pl.DataFrame:
    return pl.read_csv(CORPUS / f"{name}.subjects.csv", infer_schema_length=None).with_columns(
        pl.col("rel_day").cast(pl.Int64, strict=False), pl.col("rel_event").cast(pl.Int64, strict=False)
    )


def write_drop(name: str, folder: Path) -> Path:
    """The drop of the corpus data set ``name`` in ``folder`` (made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = subjects(name)
    prefix = name[:3].upper()
    enrolment, infusion, assessments, followup = [], [], [], []
    for i, s in enumerate(rows.iter_rows(named=True)):
        sid = f"{prefix}-{s['id']:05d}"
        day0 = BASE + dt.timedelta(days=(i * 3) % 1461)

        def on(days: int, day0: dt.date = day0) -> str:
            return (day0 + dt.timedelta(days=days)).isoformat()

        enrolment.append(
            {
                "subject_id": sid,
                "site": f"SITE{i % 3 + 1}",
                "consent_date": on(-14),
                "enrol_date": on(-10),
                "age_years": float(min(s["age"], 100)),
                "sex": s["sex"],
                "diagnosis_date": on(-400),
                "disease_status": "relapsed",
                "prior_relapses": 1,
                "prior_hsct": "N",
                "cd19_pct": 95.0,
                "bm_blast_pct": 30.0,
                "pb_blast_pct": 5.0,
                "csf_blasts_per_ul": 0.0,
                "emd": "N",
                "fusion_gene": "",
                "ecog": 1,
                "creatinine_x_uln": 0.8,
                "bun_x_uln": 0.8,
            }
        )
        infusion.append(
            {
                "subject_id": sid,
                "ld_regimen": "FC",
                "ld_start_date": on(-5),
                "infusion_date": on(0),
                "dose_cells_per_kg": 1000000.0,
                "product_lot": f"LOT-{i:05d}",
                "bridging": "",
            }
        )
        relapsed = s["rel_event"] == 1
        if s["rel_day"] is not None:
            assessments.append(_assessment(sid, on(28), "D28", "CR", 0.001))
            if relapsed:
                assessments.append(_assessment(sid, on(s["rel_day"]), "UNSCHED", "RELAPSE", None, "BM", "POS"))
            elif s["os_event"] == 0 and s["rel_day"] > 28:
                assessments.append(_assessment(sid, on(s["rel_day"]), "UNSCHED", "CR", 0.001))
        dead = s["os_event"] == 1
        followup.append(
            {
                "subject_id": sid,
                "event_date": on(s["os_day"]),
                "event": "DEATH" if dead else "CONTACT",
                "detail": ("Relapsed disease" if relapsed else "Other cause") if dead else "",
                "cause_category": ("LEUKEMIA" if relapsed else "OTHER") if dead else "",
            }
        )
    pl.DataFrame(enrolment).write_csv(folder / "enrolment.csv")
    pl.DataFrame(infusion).write_csv(folder / "infusion.csv")
    if assessments:
        pl.DataFrame(assessments).write_csv(folder / "assessments.csv")
    else:
        (folder / "assessments.csv").write_text(
            "subject_id,assessment_date,visit,response,mrd_pct,relapse_site,cd19_at_relapse\n"
        )
    pl.DataFrame(followup).write_csv(folder / "followup.csv")
    empty = ["eligibility", "adverse_events"] + ([] if assessments else ["assessments"])
    for record, header in SCHEMA_HEADERS.items():
        (folder / f"{record}.csv").write_text(header + "\n")
    (folder / "drop_info.toml").write_text("empty_files = [" + ", ".join(f'"{r}"' for r in empty) + "]\n")
    return folder


def _assessment(
    sid: str, date: str, visit: str, response: str, mrd: float | None, site: str = "", cd19: str = ""
) -> dict[str, object]:
    return {
        "subject_id": sid,
        "assessment_date": date,
        "visit": visit,
        "response": response,
        "mrd_pct": mrd,
        "relapse_site": site,
        "cd19_at_relapse": cd19,
    }


if __name__ == "__main__":
    print(write_drop(sys.argv[1], Path(sys.argv[2])))
