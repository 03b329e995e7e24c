"""The synthetic generator: deterministic, valid, realistic in its proportions, and
producing every pattern the rules of endpoints.md version 2 must handle."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl
import pytest

from trial_outcomes.analysis.derive import Derived, derive_all
from trial_outcomes.io.parse import parse_records
from trial_outcomes.io.readers import read_raw
from trial_outcomes.schema import SCHEMAS
from trial_outcomes.synth.generator import SIMULATED, generate


def _hashes(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    generate(tmp_path / "a", 60, 3)
    generate(tmp_path / "b", 60, 3)
    generate(tmp_path / "c", 60, 4)
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")
    assert _hashes(tmp_path / "a")["enrolment.csv"] != _hashes(tmp_path / "c")["enrolment.csv"]


@pytest.fixture(scope="module")
def trial(tmp_path_factory) -> tuple[Path, Derived]:
    path = tmp_path_factory.mktemp("synth2000")
    generate(path, 2000, 11)
    records = {}
    for record in SIMULATED:
        schema = SCHEMAS[record]
        typed, problems = parse_records(read_raw(path / f"{record}.csv", schema).frame, schema)
        assert problems.is_empty(), (record, problems.head())
        records[record] = typed
    return path, derive_all(records, dt.date(2024, 4, 1))


def test_proportions_are_those_of_the_trial(trial):
    """Realism in numbers, on 2000 subjects: the bounds are the README's assumptions
    with room for chance (binomial SD at n = 2000 is at most 1.1 %)."""
    path, _ = trial
    enrol = pl.read_csv(path / "enrolment.csv", infer_schema=False)
    infused = pl.read_csv(path / "infusion.csv", infer_schema=False)["subject_id"].n_unique()
    assess = pl.read_csv(path / "assessments.csv", infer_schema=False)
    ae = pl.read_csv(path / "adverse_events.csv", infer_schema=False)
    assert 0.90 < infused / enrol.height < 0.97
    d28 = assess.filter(pl.col("visit") == "D28")
    assert 0.70 < d28.filter(pl.col("response").is_in(["CR", "CRi"])).height / infused < 0.82
    crs = ae.filter(pl.col("term") == "Cytokine release syndrome")
    # subjects, not rows: some transplanted subjects have a second, post-HSCT CRS-like episode (V3_PATTERNS)
    assert 0.80 < crs["subject_id"].n_unique() / infused < 0.93
    assert (crs["grade"].cast(int) <= 2).mean() > 0.7
    relapses = assess.filter(pl.col("response") == "RELAPSE")
    assert 0.2 < (relapses["cd19_at_relapse"] == "NEG").mean() < 0.6
    assert ae["soc"].is_not_null().all()


def test_every_pattern_of_the_version_2_rules_occurs(trial):
    """Remission after salvage (not attributable), relapse after an early CR, late
    responders, deaths of refractory disease without relapse, MRD-persistent
    non-converters, GVHD after HSCT (not treatment-emergent), coded causes of death,
    bridging, ICANS monitoring: each at least a few times in 2000 subjects."""
    _, d = trial
    adsl, adae, adrs = d.adsl, d.adae, d.adrs
    salvage = adrs.filter(
        (pl.col("PARAMCD") == "OVRLRESP") & pl.col("AVALC").is_in(["CR", "CRi"]) & (pl.col("ANL01FL") == "N")
    )
    counts = {
        "remission after salvage": salvage.join(adsl.filter(pl.col("FRMDT").is_null()), on="USUBJID", how="semi")[
            "USUBJID"
        ].n_unique(),
        "relapse after an early CR": adsl.filter(
            (pl.col("RSP42FL") == "Y") & (pl.col("CRFL") == "N") & pl.col("RELDT").is_not_null()
        ).height,
        "late responders": adsl.filter(pl.col("LATERMFL") == "Y").height,
        "refractory deaths": adsl.filter(
            pl.col("DTHDT").is_not_null()
            & pl.col("FRMDT").is_null()
            & (pl.col("DTHCAT") == "LEUKEMIA")
            & pl.col("TRTSDT").is_not_null()
        ).height,
        "MRD-persistent non-converters": adsl.filter(
            (pl.col("STRATUM") == "mrd_persistent") & (pl.col("BOR28") == "CR") & (pl.col("CRFL") == "N")
        ).height,
        "GVHD after HSCT": adae.filter(
            (pl.col("AEDECOD") == "Graft versus host disease") & (pl.col("TRTEMFL") == "N")
        ).height,
        "coded causes": adsl.filter(pl.col("DTHCATSR").str.starts_with("Reported")).height,
        "bridging": adsl.filter(pl.col("BRIDGFL") == "Y").height,
        "ICANS monitored": d.icans.derived.height,
        "prolonged cytopenia at day 90": adae.filter(pl.col("CYTO90FL") == "Y").height,
    }
    assert all(n >= 10 for n in counts.values()), counts


def test_monitoring_agrees_with_the_reported_grades_but_for_a_few_per_cent(trial):
    _, d = trial
    for grading in (d.crs, d.icans):
        share = grading.discrepancies.height / grading.derived.height
        assert 0.0 < share < 0.10, (grading.syndrome, share)
