"""Running the independent R QC program (``qc/qc.R``) on a cut's files.

The program re-derives the key numbers from the XPT datasets and the raw drop with R's
``survival`` and ``cmprsk`` and writes ``qc_report.csv`` (each number: the pipeline's
value, R's, agrees or not). It runs where ``Rscript`` is found with both packages; where
it is not, the result says so plainly and nothing fails: a laptop without R still
publishes, and the report's first page states that no QC ran.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from trial_outcomes.provenance import ROOT

QC_REPORT = "qc_report.csv"
#: the first line of a QC report: qc.R's columns (R quotes each name)
REPORT_HEADER = "check,endpoint,group,statistic,pipeline,r,agrees,note"
#: the output folder's own folders, which ``trial-outcomes qc --report`` never writes into
PIPELINE_FOLDERS = (".versions", ".work", ".storage", ".locks")
PROGRAM = ROOT / "qc" / "qc.R"
TIMEOUT_SECONDS = 600
AGREE, DISAGREE, NOT_RUN, FAILED = "agree", "disagree", "not run", "failed"
DISAGREEMENT_STATUS = 3  # qc.R's exit status when a number disagrees


@dataclass(frozen=True)
class QcResult:
    """What the QC found: ``status`` (agree, disagree, not run, failed), the numbers
    compared and how many disagree, what it found in one line (``finding``, page 1's
    words; ``summary`` says whose finding it is) and the report's path."""

    status: str
    compared: int = 0
    disagreements: int = 0
    finding: str = ""
    report: Path | None = None

    @property
    def summary(self) -> str:
        return f"independent QC in R: {self.finding}"

    @property
    def ran(self) -> bool:
        return self.status in (AGREE, DISAGREE)


def rscript() -> str | None:
    """The ``Rscript`` to run (``TRIAL_RSCRIPT`` names another one), or None."""
    return shutil.which(os.environ.get("TRIAL_RSCRIPT", "Rscript"))


#: the plan's sections whose numbers the R program takes as given (``--param section.key=value``):
#: the stopping rules' designs and the laboratory thresholds
QC_PLAN_SECTIONS = ("safety", "efficacy", "labs")


def qc_parameters(parameters: Mapping[str, Any]) -> dict[str, float]:
    """The plan's numbers the R program is given, as ``section.key``: from
    ``AnalysisPlan.parameters()`` in a run, from the manifest's copy of them for a
    published cut. R then computes the Simon design from p0, p1, alpha and beta
    itself, instead of reading it from the pipeline's own boundary text."""
    return {
        f"{section}.{key}": float(value)
        for section in QC_PLAN_SECTIONS
        for key, value in sorted(parameters.get(section, {}).items())
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def report_refusal(report: Path, drop: Path | None) -> str | None:
    """Why ``report`` (``trial-outcomes qc --report``) may not be written, or None. A QC run
    deletes the file first and R writes its CSV there: a red team's ``--report
    <out>/<cut>/manifest.json`` replaced a published manifest (the cut was then unreadable to
    every later run) and another deleted a published table, each with exit 0. Refused: a path
    inside an output folder's own folders (``PIPELINE_FOLDERS``: the published versions,
    which ``<out>/<cut>`` links into, the runs' work, the stored values, the locks; of
    ``out`` or of any other output folder) or inside the drop, and a file already there that
    is not a QC report."""
    target = report.resolve()  # through links: <out>/<cut> is one into .versions
    # any output folder's own folders, not only --out's (a re-verifier's --report into another
    # output folder's published qc_report.csv replaced it: a QC report's header, so taken for one)
    inside = next(
        (Path(*target.parts[: i + 1]) for i, part in enumerate(target.parts) if part in PIPELINE_FOLDERS), None
    )
    if inside is None and drop is not None and target.is_relative_to(drop.resolve()):
        inside = drop.resolve()
    if inside is not None:
        return (
            f"--report {report} is inside {inside}, which the QC never writes into (published cuts, the drop "
            "and the pipeline's own files are never changed): give a path elsewhere, or none (<out>/.qc/)"
        )
    if target.exists():
        try:
            with target.open(encoding="utf-8", errors="replace") as handle:
                first = handle.readline().strip() if target.is_file() else ""
        except OSError as exc:
            return f"--report {report} cannot be read ({exc.strerror}): give another path"
        if first.replace('"', "") != REPORT_HEADER:
            return f"--report {report} is there and is not a QC report, which the QC would replace: give a new path"
    return None


def run_qc(
    cut_dir: Path,
    cut: dt.date,
    drop: Path | None,
    report: Path,
    parameters: Mapping[str, float] | None = None,
    seen_to: dt.date | None = None,
    latest_record: dt.date | None = None,
) -> QcResult:
    """Run ``qc/qc.R`` on the cut's files in ``cut_dir`` (and the raw ``drop``), writing
    ``report``; ``parameters`` (``qc_parameters``) are the plan's numbers; ``seen_to``
    the last day the drop can show (``TrialDrop.seen_to``), which R finds itself from a
    CSV drop and compares; ``latest_record`` the drop's latest date, which R finds itself
    from a CSV drop and takes from here for another (the apheresis file's undated reasons
    count at a cut on or after it)."""
    program = rscript()
    if program is None:
        return QcResult(NOT_RUN, finding="not run: Rscript not found (install R, survival and cmprsk)")
    if not PROGRAM.is_file():
        return QcResult(NOT_RUN, finding=f"not run: {PROGRAM} not found (run from a checkout)")
    command = [program, "--vanilla", str(PROGRAM), "--cut-dir", str(cut_dir), "--cut", cut.isoformat()]
    command += ["--out", str(report)] + (["--drop", str(drop)] if drop is not None else [])
    command += ["--seen-to", seen_to.isoformat()] if seen_to is not None and seen_to < cut else []
    command += ["--latest-record", latest_record.isoformat()] if latest_record is not None else []
    for key, value in (parameters or {}).items():
        command += ["--param", f"{key}={value!r}"]
    report.unlink(missing_ok=True)  # an earlier report is never read back as this run's
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return QcResult(FAILED, finding=f"failed: no answer in {TIMEOUT_SECONDS} s")
    # qc.R exits 0 (all agree) or 3 (a disagreement); 2 is its own refusal, 1 R failing
    if done.returncode not in (0, DISAGREEMENT_STATUS) or not report.is_file():
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return QcResult(FAILED, finding=f"failed: {why}")
    table = pl.read_csv(report, infer_schema_length=0)
    compared = table.filter(pl.col("agrees").is_in(["yes", "no"]))
    bad = int((compared["agrees"] == "no").sum())
    status = DISAGREE if bad else AGREE
    if bad:
        first = compared.filter(pl.col("agrees") == "no").row(0, named=True)
        example = f"{first['check']} {first['endpoint']} {first['group']} {first['statistic']}: "
        example += f"pipeline {first['pipeline'] or 'empty'}, R {first['r'] or 'empty'}"
        finding = f"{bad} of {compared.height} numbers DISAGREE (first: {example})"
    else:
        finding = f"all {compared.height} numbers agree (survival, cmprsk; {QC_REPORT})"
    skipped = table.filter(pl.col("agrees") == "not run")["note"].unique(maintain_order=True).to_list()
    if skipped:
        finding += "; " + "; ".join(skipped)
    return QcResult(status, compared.height, bad, finding, report)
