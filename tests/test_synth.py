"""The synthetic generator: deterministic, valid, and realistic in its proportions."""

from __future__ import annotations

import hashlib

import polars as pl

from trial_outcomes.synth.generator import generate


def _hashes(path):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    generate(tmp_path / "a", 60, 3)
    generate(tmp_path / "b", 60, 3)
    generate(tmp_path / "c", 60, 4)
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")
    assert _hashes(tmp_path / "a")["enrolment.csv"] != _hashes(tmp_path / "c")["enrolment.csv"]


def test_proportions_are_those_of_the_trial(tmp_path):
    """Realism in numbers, on 2000 subjects: the bounds are the README's assumptions
    with room for chance (binomial SD at n = 2000 is at most 1.1 %)."""
    generate(tmp_path, 2000, 11)
    enrol = pl.read_csv(tmp_path / "enrolment.csv", infer_schema=False)
    infused = pl.read_csv(tmp_path / "infusion.csv", infer_schema=False)["subject_id"].n_unique()
    assess = pl.read_csv(tmp_path / "assessments.csv", infer_schema=False)
    ae = pl.read_csv(tmp_path / "adverse_events.csv", infer_schema=False)
    assert 0.90 < infused / enrol.height < 0.97
    d28 = assess.filter(pl.col("visit") == "D28")
    cr = d28.filter(pl.col("response").is_in(["CR", "CRi"])).height / infused
    assert 0.78 < cr < 0.90
    crs = ae.filter(pl.col("term") == "Cytokine release syndrome")
    assert 0.80 < crs.height / infused < 0.93
    assert (crs["grade"].cast(int) <= 2).mean() > 0.7
    relapses = assess.filter(pl.col("response") == "RELAPSE")
    assert 0.2 < (relapses["cd19_at_relapse"] == "NEG").mean() < 0.6
