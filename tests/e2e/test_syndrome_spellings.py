"""An export that capitalises "Cytokine Release Syndrome" and abbreviates "ICANS",
without the optional monitoring files (issue 21's worst attack: CRS 98 -> 0 and
the safety rule's events 12 -> 5, exit 0, no warning), gives the same CRS and
ICANS counts and the same safety stopping rule as the canonical spellings; the
report lists the spellings it mapped. A misspelt CRS ("Cytokine relase syndrome")
is not counted, but is put as a query in the report and the ADAE check."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import materialize_cut
from trial_outcomes.schema import CRS_TERM, ICANS_TERM

pytestmark = pytest.mark.slow


def _without_monitoring(master: Path, target: Path, spellings: dict[str, str], misspelt: bool = False) -> Path:
    """The drop without its monitoring files, its terms respelt; with ``misspelt``, one
    more grade-1 AE "Cytokine relase syndrome" on the day of a subject's first CRS."""
    shutil.copytree(master, target)
    for record in ("crs_monitoring", "icans_monitoring"):
        (target / f"{record}.csv").unlink()
    ae = pl.read_csv(target / "adverse_events.csv", infer_schema=False)
    if misspelt:
        first = ae.filter(pl.col("term") == CRS_TERM).row(0, named=True)
        extra = {**first, "ae_id": first["ae_id"] + "-X", "term": "Cytokine relase syndrome", "grade": "1"}
        extra |= {"serious": "N", "resolution_date": first["onset_date"]}
        ae = pl.concat([ae, pl.DataFrame([extra], schema=ae.schema)])
    ae.with_columns(pl.col("term").replace(spellings)).write_csv(target / "adverse_events.csv")
    return target


def test_capitalised_and_abbreviated_syndromes_count_the_same(small_drop_master, tmp_path):
    canonical = _without_monitoring(small_drop_master, tmp_path / "canonical", {})
    exported = _without_monitoring(
        small_drop_master,
        tmp_path / "exported",
        {CRS_TERM: "Cytokine Release Syndrome", ICANS_TERM: "ICANS"},
        misspelt=True,
    )
    outputs, lookalikes = {}, {}
    for name, drop in (("canonical", canonical), ("exported", exported)):
        result, cut = materialize_cut(drop, tmp_path / f"out-{name}")
        assert result.success, [e.message for e in result.get_step_failure_events()]
        outputs[name] = tmp_path / f"out-{name}" / cut
        (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "syndrome_lookalikes"]
        lookalikes[name] = check
    assert lookalikes["canonical"].passed
    assert not lookalikes["exported"].passed
    assert '"Cytokine relase syndrome" (like CRS: 1 AE(s)' in lookalikes["exported"].metadata["terms"].value
    for table in ("safety_summary.csv", "crs_icans_summary.csv", "stopping_rules.csv"):
        assert pl.read_csv(outputs["exported"] / table).equals(pl.read_csv(outputs["canonical"] / table)), table
    crs = pl.read_csv(outputs["exported"] / "crs_icans_summary.csv").filter(
        (pl.col("syndrome") == "CRS") & (pl.col("basis") == "reported") & (pl.col("measure") == "Any grade")
    )
    assert crs["n"].item() > 0
    report = html.unescape((outputs["exported"] / "report.html").read_text())
    assert 'AE terms counted as CRS (AE rows, treatment-emergent or not): "Cytokine Release Syndrome"' in report
    assert 'AE terms counted as ICANS (AE rows, treatment-emergent or not): "ICANS"' in report
    assert "AE terms resembling CRS or ICANS, not counted" in report  # page 1
    assert 'QUERY: AE terms not counted as CRS or ICANS that resemble them: "Cytokine relase syndrome" (like CRS' in (
        " ".join(report.split())
    )
    # the query names no subject (the open report prints it); the closed report lists them apart
    assert "Data queries: AE terms that resemble CRS or ICANS, not counted" in report
    opened = html.unescape((outputs["exported"] / "report_open.html").read_text())
    assert "QUERY: AE terms not counted as CRS or ICANS" in " ".join(opened.split())
    assert "Data queries: AE terms that resemble CRS or ICANS, not counted" not in opened
