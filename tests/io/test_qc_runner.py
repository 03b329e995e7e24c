"""How the R QC's exit is read (io/qc.py), with stand-in Rscripts: no R needed.

The red team's case: Rscript also exits 1 on any uncaught error, and an earlier
report lay where the new one goes, so a failed QC was read back as a fresh "agree"."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest

from trial_outcomes.io.qc import AGREE, DISAGREE, FAILED, NOT_RUN, run_qc

CUT = dt.date(2024, 3, 31)
HEADER = "check,endpoint,group,statistic,pipeline,r,agrees,note\n"


def _rscript(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "Rscript"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def _report_arg() -> str:
    # the report path follows --out in the command line the runner builds
    return 'out=""; prev=""; for a in "$@"; do [ "$prev" = "--out" ] && out="$a"; prev="$a"; done\n'


def test_an_r_error_is_a_failed_qc_even_with_an_earlier_report_in_place(tmp_path, monkeypatch):
    report = tmp_path / "qc_report.csv"
    report.write_text(HEADER + "response,x,all,n,1,1,yes,\n")  # yesterday's, all agreeing
    monkeypatch.setenv("TRIAL_RSCRIPT", str(_rscript(tmp_path, 'echo "Error in f(): boom" >&2\nexit 1\n')))
    result = run_qc(tmp_path, CUT, None, report)
    assert result.status == FAILED and "boom" in result.summary
    assert not report.exists()


@pytest.mark.parametrize(
    ("status", "rows", "expected"),
    [
        (0, "response,x,all,n,1,1,yes,\n", AGREE),
        (3, "response,x,all,n,1,2,no,\n", DISAGREE),
    ],
)
def test_the_exit_status_and_the_report_agree(tmp_path, monkeypatch, status, rows, expected):
    body = _report_arg() + f'printf "{HEADER}{rows}" > "$out"\nexit {status}\n'
    monkeypatch.setenv("TRIAL_RSCRIPT", str(_rscript(tmp_path, body)))
    result = run_qc(tmp_path, CUT, None, tmp_path / "qc_report.csv")
    assert result.status == expected and result.compared == 1


def test_without_rscript_the_qc_is_not_run_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAL_RSCRIPT", str(tmp_path / "no-such-Rscript"))
    result = run_qc(tmp_path, CUT, None, tmp_path / "qc_report.csv")
    assert result.status == NOT_RUN and "Rscript not found" in result.summary


def test_the_plans_numbers_reach_the_r_program_as_params(tmp_path, monkeypatch):
    """The stopping rules' and the laboratory numbers of the plan (as ``parameters()``
    gives them) are passed as ``--param section.key=value``; booleans, texts and other
    sections are not."""
    from trial_outcomes.io.qc import qc_parameters
    from trial_outcomes.plan import load_plan

    given = qc_parameters(load_plan().parameters())
    assert given["efficacy.p0"] == 0.6 and given["efficacy.beta"] == 0.2
    assert given["safety.prior_b"] == 4.5 and given["safety.window_days"] == 30
    assert given["labs.bcell_aplasia_below"] == 50
    assert all(k.split(".")[0] in ("safety", "efficacy", "labs") for k in given)
    assert qc_parameters({"efficacy": {"p0": 0.5, "flag": True, "name": "x"}, "notify": {"retries": 2}}) == {
        "efficacy.p0": 0.5
    }
    args = tmp_path / "args"
    body = f'echo "$@" > {args}\n' + _report_arg() + f'printf "{HEADER}" > "$out"\nexit 0\n'
    monkeypatch.setenv("TRIAL_RSCRIPT", str(_rscript(tmp_path, body)))
    run_qc(tmp_path, CUT, None, tmp_path / "qc_report.csv", {"efficacy.p0": 0.6, "safety.window_days": 30.0})
    assert "--param efficacy.p0=0.6 --param safety.window_days=30.0" in args.read_text()


def _published(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An output folder with one published cut (v001, a manifest and a table) and a drop."""
    import json

    out, drop = tmp_path / "out", tmp_path / "drop"
    version = out / ".versions" / CUT.isoformat() / "v001"
    version.mkdir(parents=True)
    import hashlib

    (version / "survival_summary.csv").write_text("endpoint\nOS\n")
    digest = hashlib.sha256(b"endpoint\nOS\n").hexdigest()
    manifest = {"data_drop": {"files": {}}, "outputs": {"survival_summary.csv": digest}}
    (version / "manifest.json").write_text(json.dumps({**manifest, "analysis_plan": {"parameters": {}}}))
    (out / CUT.isoformat()).symlink_to(Path(".versions") / CUT.isoformat() / "v001")
    drop.mkdir()
    (drop / "enrolment.csv").write_text("subject_id\nS1\n")
    return out, drop, version


def test_the_qc_report_never_replaces_a_published_file_the_drop_or_another_file(tmp_path, monkeypatch, capsys):
    """A red team's ``qc --report <out>/<cut>/manifest.json`` replaced the published manifest
    with the QC's CSV (exit 0; the cut was unreadable to every later run), and ``--report``
    on a published table deleted it. Refused, before anything is deleted (exit 2, the bytes
    unchanged): a path into the published cut (through its link or ``.versions``), into the
    pipeline's own folders, into the drop, and a file already there that is not a QC report.
    A new path, or an earlier QC report, is accepted (the QC then says R is not here: 4). A
    manifest that cannot be read is said in one line, exit 1, not a traceback."""
    from trial_outcomes.cli import main

    monkeypatch.setenv("TRIAL_RSCRIPT", str(tmp_path / "no-such-Rscript"))
    out, drop, version = _published(tmp_path)
    notes = tmp_path / "notes.csv"
    notes.write_text("my own notes\n")
    earlier = tmp_path / "earlier-qc.csv"
    earlier.write_text('"check","endpoint","group","statistic","pipeline","r","agrees","note"\n')
    # another output folder's published QC report (a re-verifier's: a QC report's header, so taken for one)
    other = tmp_path / "other" / ".versions" / CUT.isoformat() / "v001"
    other.mkdir(parents=True)
    (other / "qc_report.csv").write_bytes(earlier.read_bytes())
    (tmp_path / "other" / CUT.isoformat()).symlink_to(Path(".versions") / CUT.isoformat() / "v001")
    refused = [
        tmp_path / "other" / CUT.isoformat() / "qc_report.csv",
        other / "qc_report.csv",
        out / CUT.isoformat() / "manifest.json",
        out / CUT.isoformat() / "survival_summary.csv",
        version / "qc_report.csv",
        out / ".work" / "x.csv",
        drop / "enrolment.csv",
        notes,
    ]
    for path in refused:
        before = path.read_bytes() if path.exists() else None
        code = main(["qc", CUT.isoformat(), "--out", str(out), "--data", str(drop), "--report", str(path)])
        assert code == 2, path
        assert (path.read_bytes() if path.exists() else None) == before, path
        assert f"--report {path} " in capsys.readouterr().err
    for path in (tmp_path / "new" / "qc.csv", earlier):
        assert main(["qc", CUT.isoformat(), "--out", str(out), "--data", str(drop), "--report", str(path)]) == 4
        assert "Rscript not found" in capsys.readouterr().out
    (version / "manifest.json").write_text("check,endpoint\n")  # as the red team's run left it
    assert main(["qc", CUT.isoformat(), "--out", str(out), "--data", str(drop)]) == 1
    said = capsys.readouterr().err
    assert "manifest.json is missing or unreadable (JSONDecodeError)" in said and "Traceback" not in said
