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
