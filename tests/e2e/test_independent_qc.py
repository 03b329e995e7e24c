"""The independent R QC program (qc/qc.R, issue 25) catches a broken derivation.

The double programming is only worth its run time if it fails when the pipeline is
wrong. Here the pipeline is broken the way the issue names: ORR3M without its 28-day
rule (``ORR3M_MAINTAINED_DAYS`` = 0: every attributable CR/CRi by day 91 counts at
once, one ended by relapse, loss or death days later included). The run still
publishes (the QC check is an ERROR, not a block), the cut's ``qc_report.csv`` says
which numbers disagree, page 1 of the report says so in red, ``trial-outcomes run``
exits 5 and ``trial-outcomes qc`` exits 1. The same drop unbroken agrees everywhere
(tests/assets/test_regulatory.py)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.helpers import ROOT, materialize_cut, needs_r
from trial_outcomes.analysis import response
from trial_outcomes.cli import main
from trial_outcomes.io.qc import QC_REPORT

pytestmark = pytest.mark.slow
SAMPLE = ROOT / "data" / "sample"
ORR3M = "ORR3M: CR/CRi within 3 months, maintained 28 days"


def test_orr3m_without_the_28_day_rule_fails_the_independent_qc(tmp_path, monkeypatch, capsys):
    needs_r()
    monkeypatch.setattr(response, "ORR3M_MAINTAINED_DAYS", 0)
    result, cut = materialize_cut(SAMPLE, tmp_path / "out", "2024-03-31")
    assert result.success, [e.message for e in result.get_step_failure_events()]
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "double_programming"]
    assert not check.passed and check.severity.value == "ERROR"
    folder = tmp_path / "out" / cut
    report = pl.read_csv(folder / QC_REPORT, infer_schema_length=0)
    wrong = report.filter(pl.col("agrees") == "no")
    assert set(wrong["endpoint"]) == {ORR3M}, wrong.rows()  # only ORR3M was broken, only ORR3M is caught
    overall = wrong.filter((pl.col("group") == "all=all") & (pl.col("statistic") == "responders")).row(0, named=True)
    assert int(float(overall["pipeline"])) > int(float(overall["r"]))  # the broken rule credits more remissions
    assert "DISAGREE" in (folder / "report.html").read_text()
    # the CLI publishes, says so apart from any failure, and exits 5
    assert main(["run", "--data", str(SAMPLE), "--cut", cut, "--out", str(tmp_path / "cli"), "--quiet"]) == 5
    said = capsys.readouterr()
    assert "INDEPENDENT QC DISAGREES" in said.err and "FAILED" not in said.err
    assert (tmp_path / "cli" / cut / QC_REPORT).is_file()
    monkeypatch.undo()
    assert main(["qc", cut, "--out", str(tmp_path / "out"), "--data", str(SAMPLE)]) == 1
    assert "DISAGREE" in capsys.readouterr().out


def test_qc_finds_a_published_number_edited_after_publication(tmp_path, capsys):
    """A published cut agrees (exit 0). Then the safety rule's statistic in
    stopping_rules.csv is edited (a number the R QC does not re-derive): ``qc`` names
    the file, whose bytes are no longer those manifest.json recorded, and exits 1."""
    needs_r()
    out = tmp_path / "out"
    assert main(["run", "--data", str(SAMPLE), "--out", str(out), "--quiet"]) == 0
    cut = next(p.name for p in out.iterdir() if not p.name.startswith("."))
    capsys.readouterr()
    assert main(["qc", cut, "--out", str(out), "--data", str(SAMPLE)]) == 0
    # a drop folder that does not exist is said to be missing, not to differ (a reviewer ran
    # `qc` where the default data/sample is not)
    assert main(["qc", cut, "--out", str(out), "--data", str(tmp_path / "no-such-drop")]) == 0
    assert "(no such folder: " in capsys.readouterr().err
    rules = out / cut / "stopping_rules.csv"
    text = rules.read_text()
    rules.write_text(text.replace(",false,", ",true,", 1))
    assert rules.read_text() != text
    assert main(["qc", cut, "--out", str(out), "--data", str(SAMPLE)]) == 1
    said = capsys.readouterr().err
    assert "published files changed since publication: 1 of the" in said and "(stopping_rules.csv)" in said


def test_a_safety_rule_counting_subjects_not_yet_followed_fails_the_independent_qc(tmp_path, monkeypatch):
    """The safety stopping rule broken the way version 1 was: every infused subject
    evaluable, followed 30 days or not. At the sample's 2021-03-31 cut, subjects infused
    in March count as free of events; R, counting only those followed 30 days or with
    the event, finds another posterior probability, and only the safety rule's numbers
    disagree (the headline rates, counted apart, agree)."""
    needs_r()
    from trial_outcomes.analysis import stopping

    original = stopping.safety_events

    def everyone_evaluable(adsl, adae, cut, window_days=30):
        return original(adsl, adae, cut, window_days).with_columns(pl.lit(True).alias("EVALUABLE"))

    monkeypatch.setattr(stopping, "safety_events", everyone_evaluable)
    result, cut = materialize_cut(SAMPLE, tmp_path / "out", "2021-03-31")
    assert result.success, [e.message for e in result.get_step_failure_events()]
    report = pl.read_csv(tmp_path / "out" / cut / QC_REPORT, infer_schema_length=0)
    wrong = report.filter(pl.col("agrees") == "no")
    assert wrong.select("check", "endpoint", "statistic").rows() == [
        ("stopping rule", "safety", "P(rate > threshold | data)")
    ], wrong.rows()


def test_a_simon_design_computed_wrong_fails_the_independent_qc(tmp_path, monkeypatch):
    """R computes Simon's optimal design itself from the plan's p0 0.6, p1 0.8, alpha 0.05
    and beta 0.2 (7/11, 30/43: Simon 1989's table gives the same), no longer reading it
    from the pipeline's boundary text. A pipeline whose search returned the design with
    the first stage one subject longer (r1/n1 7/12) states 7 of the first 12, and R's
    design rows say n1 disagrees; R counts stage 1 over its own first 11."""
    needs_r()
    from dataclasses import replace

    from trial_outcomes.analysis import stopping

    original = stopping.simon_design

    def longer_stage_1(p0, p1, alpha, beta, n_max=90):
        return replace(original(p0, p1, alpha, beta, n_max), n1=12)

    monkeypatch.setattr(stopping, "simon_design", longer_stage_1)
    result, cut = materialize_cut(SAMPLE, tmp_path / "out", "2024-03-31")
    assert result.success, [e.message for e in result.get_step_failure_events()]
    report = pl.read_csv(tmp_path / "out" / cut / QC_REPORT, infer_schema_length=0)
    design = report.filter(pl.col("group") == "design")
    assert design.select("statistic", "pipeline", "r", "agrees").rows() == [
        ("Simon optimal design: r1", "7", "7", "yes"),
        ("Simon optimal design: n1", "12", "11", "no"),
        ("Simon optimal design: r", "30", "30", "yes"),
        ("Simon optimal design: n", "43", "43", "yes"),
    ], design.rows()


def test_a_part_the_qc_cannot_read_is_said_not_run_never_left_out(materialized, small_drop_master, tmp_path):
    """The drop's long_term_followup as Parquet (the QC reads CSV): its long-term safety
    rows were silently absent (412 rows where the CSV drop gave 439). Now one row says
    the part was not run and why, and the QC's finding names it; with the CSV, the rows
    are there and agree."""
    import datetime as dt
    import shutil

    from trial_outcomes.io.qc import run_qc

    needs_r()
    cut = dt.date.fromisoformat(materialized.cut)
    drop = tmp_path / "drop"
    shutil.copytree(small_drop_master, drop)
    as_csv = run_qc(materialized.out / materialized.cut, cut, drop, tmp_path / "csv.csv")
    rows = pl.read_csv(tmp_path / "csv.csv", infer_schema_length=0).filter(pl.col("check") == "long-term safety")
    assert rows.height > 5 and set(rows["agrees"]) == {"yes"}, as_csv.summary
    pl.read_csv(drop / "long_term_followup.csv", infer_schema=False).write_parquet(drop / "long_term_followup.parquet")
    (drop / "long_term_followup.csv").unlink()
    as_parquet = run_qc(materialized.out / materialized.cut, cut, drop, tmp_path / "parquet.csv")
    rows = pl.read_csv(tmp_path / "parquet.csv", infer_schema_length=0).filter(pl.col("check") == "long-term safety")
    assert rows.select("agrees", "note").rows() == [
        (
            "not run",
            "long-term safety from the raw drop not run: the long_term_followup file is not CSV "
            "(the QC reads CSV drops)",
        )
    ]
    assert "long-term safety from the raw drop not run" in as_parquet.finding


def test_a_qc_that_breaks_is_its_own_exit_status(tmp_path, monkeypatch, capsys):
    """An Rscript that fails (as R did on a header with a no-break space, in the C
    locale): the cut is published, the run says the QC failed to finish and exits 6,
    not 0 as a clean run does; without any Rscript (R not installed) it exits 0 with a
    warning."""
    broken = tmp_path / "Rscript"
    broken.write_text('#!/bin/sh\necho "Error in raw_csv(): replacement has 0 rows" >&2\nexit 1\n')
    broken.chmod(0o755)
    monkeypatch.setenv("TRIAL_RSCRIPT", str(broken))
    assert main(["run", "--data", str(SAMPLE), "--out", str(tmp_path / "out"), "--quiet"]) == 6
    said = capsys.readouterr()
    assert "INDEPENDENT QC FAILED TO FINISH" in said.err and "replacement has 0 rows" in said.err
    assert "data cut " in said.out  # published
    monkeypatch.setenv("TRIAL_RSCRIPT", str(tmp_path / "no-such-Rscript"))
    assert main(["run", "--data", str(SAMPLE), "--out", str(tmp_path / "out2"), "--quiet"]) == 0
    assert "Rscript not found" in capsys.readouterr().err
