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
