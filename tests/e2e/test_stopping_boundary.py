"""A synthetic drop with too many grade-4 CRS crosses the safety boundary, and says so
in the exit status, on the terminal, first on page 1 of the report, and in the table."""

from __future__ import annotations

import polars as pl
import pytest

from tests.helpers import cli

pytestmark = pytest.mark.slow
CUT = "2023-12-31"


def test_cli_exits_3_and_the_report_opens_on_the_crossed_boundary(toxic_drop, tmp_path):
    from pypdf import PdfReader

    result = cli(
        "run", "--data", str(toxic_drop), "--cut", CUT, "--out", str(tmp_path), "--quiet", home=tmp_path / "home"
    )
    assert result.returncode == 3, result.stderr
    assert "STOPPING BOUNDARY CROSSED" in result.stderr
    assert "stopping_rules:safety_boundary failed: BOUNDARY CROSSED at cut 2023-12-31" in result.stderr
    first_page = PdfReader(tmp_path / CUT / "report.pdf").pages[0].extract_text()
    summary = first_page.split("Headline results")[0]
    assert "STOPPING BOUNDARY CROSSED - Safety (Bayesian beta-binomial)" in " ".join(summary.split())
    html = (tmp_path / CUT / "report.html").read_text()
    assert html.index('class="alert"') < html.index("Headline results")
    rules = pl.read_csv(tmp_path / CUT / "stopping_rules.csv")
    assert rules.filter(pl.col("rule_id") == "safety")["crossed"].to_list() == [True]
