"""An export that writes its codes as words ("New therapy", "Death", "Male", "MRD
persistent", "CRI", "One vasopressor", "Secondary malignancy"), its grades as
"Grade 3" or "3 - Severe", its MRD as "0.005%", its headers as labels ("Subject ID", "Onset-Date"), and its dates as an
EDC, SAS or a Chinese-locale Excel would (2020-06-18T00:00:00, 2020-06-18 10:30, 18JUN2020,
18-Jun-2020, 2020/6/18, 2020/6/18 9:05)
gives the same published tables and datasets as the contract's spellings: a code is
matched whatever its letter case and its separators (spaces, hyphens, underscores),
sex also as Male/Female, and an unambiguous date whatever its form. Such a drop was
refused, row by row, as unknown codes and invalid dates."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import materialize_cut
from trial_outcomes.io.qc import rscript

pytestmark = pytest.mark.slow

RESPELT = {
    "followup.csv": {
        # a no-break space (U+00A0) is a space, to the pipeline and to the R QC alike
        "event": {"NEW_THERAPY": "New\u00a0therapy", "DEATH": "Death", "HSCT": "hsct", "CONTACT": "Contact"}
    },
    "enrolment.csv": {
        "sex": {"M": "Male", "F": "female"},
        "disease_status": {"mrd_persistent": "MRD persistent", "primary_refractory": "Primary-refractory"},
    },
    "assessments.csv": {"response": {"CRi": "CRI", "RELAPSE": "Relapse"}},
    "crs_monitoring.csv": {
        "hypotension": {"ONE_VASOPRESSOR": "One vasopressor", "MULTI_VASOPRESSOR": "multi-vasopressor"},
        "oxygen": {"LOW_FLOW": "Low flow", "HIGH_FLOW": "High-flow", "POSITIVE_PRESSURE": "Positive  pressure"},
    },
    "long_term_followup.csv": {"event": {"SECONDARY_MALIGNANCY": "Secondary malignancy", "RCL_TEST": "RCL test"}},
    "apheresis.csv": {"product_status": {"OOS_INFUSED": "OOS infused"}},
}


#: file -> date column -> the form it is written in (a polars strftime format)
REDATED = {
    "followup.csv": {"event_date": "%d%b%Y"},
    "assessments.csv": {"assessment_date": "%Y-%m-%dT00:00:00"},
    "adverse_events.csv": {"onset_date": "%d-%b-%Y", "resolution_date": "%Y-%m-%d 10:30"},
    "infusion.csv": {"infusion_date": "%Y-%m-%dT09:15:00"},
    # a Chinese-locale Excel's short date and date-time: the year first, no leading zeros
    "enrolment.csv": {"enrol_date": "%Y/%-m/%-d", "consent_date": "%Y/%-m/%-d 9:05"},
}


def _respelt(master: Path, target: Path) -> int:
    """The drop with its codes written as words and dates in other forms; returns how
    many cells changed."""
    shutil.copytree(master, target)
    changed = 0
    for name, columns in RESPELT.items():
        path = target / name
        if not path.exists():
            continue
        frame = pl.read_csv(path, infer_schema=False)
        for column, words in columns.items():
            changed += int(frame[column].is_in(list(words)).sum())
            frame = frame.with_columns(pl.col(column).replace(words))
        frame.write_csv(path)
    ae = pl.read_csv(target / "adverse_events.csv", infer_schema=False)
    worded = pl.concat_str(pl.lit("Grade "), pl.col("grade"))
    severity = pl.col("grade").replace_strict({"1": "1 - Mild", "2": "2 - Moderate", "3": "3 - Severe"}, default=worded)
    ae.with_columns(pl.when(pl.int_range(pl.len()) % 2 == 0).then(worded).otherwise(severity).alias("grade")).write_csv(
        target / "adverse_events.csv"
    )
    changed += ae.height
    assessments = pl.read_csv(target / "assessments.csv", infer_schema=False)
    changed += int(assessments["mrd_pct"].is_not_null().sum())
    assessments.with_columns(pl.col("mrd_pct") + "%").write_csv(target / "assessments.csv")
    for name, columns in REDATED.items():
        frame = pl.read_csv(target / name, infer_schema=False)
        for column, form in columns.items():
            changed += int(frame[column].is_not_null().sum())
            frame = frame.with_columns(pl.col(column).str.to_date("%Y-%m-%d").dt.strftime(form))
        # the headers as an EDC labels them: "Subject ID", "Event Date", "Onset-Date"
        space = "\u00a0" if name == "followup.csv" else " "
        labels = {c: c.replace("_", "-" if c.startswith("onset") else space).title() for c in frame.columns}
        frame.rename(labels).write_csv(target / name)
    return changed


def test_codes_as_words_and_dates_as_exported_give_the_same_outputs(
    materialized, small_drop_master, tmp_path, monkeypatch
):
    # the R QC in the C locale, where R's [[:space:]] knows no no-break space (CI's, unset)
    monkeypatch.setenv("LC_ALL", "C")
    assert _respelt(small_drop_master, tmp_path / "drop") > 100
    result, cut = materialize_cut(tmp_path / "drop", tmp_path / "out", cut=materialized.cut)
    assert result.success, [e.message for e in result.get_step_failure_events()]
    canonical, respelt = materialized.out / cut, tmp_path / "out" / cut
    compared = sorted(p.name for p in canonical.iterdir() if p.suffix in (".csv", ".parquet", ".xpt"))
    assert len(compared) > 40
    differ = [
        n for n in compared if n != "qc_report.csv" and (canonical / n).read_bytes() != (respelt / n).read_bytes()
    ]
    assert differ == []
    # the R QC reads the raw drop as the pipeline does: the same answers, row for row
    reports = [folder / "qc_report.csv" for folder in (canonical, respelt)]
    if rscript() is None and not os.environ.get("TRIAL_REQUIRE_R"):
        return  # no R here: the outputs above are the test; CI (TRIAL_REQUIRE_R) always has R
    assert reports[0].exists() and reports[1].exists()
    qc = [
        pl.read_csv(report, infer_schema=False).select("check", "endpoint", "statistic", "agrees") for report in reports
    ]
    assert qc[1].rows() == qc[0].rows()
    assert "not run" not in qc[1]["agrees"].to_list()
