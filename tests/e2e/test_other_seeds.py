"""Drops the pipeline was not tuned on: the synthetic generator at other seeds and sizes
(15, 40 and 250 subjects), each through the whole Dagster job at an early cut (a few
subjects infused, most windows open), a middle cut and the latest date, with the
independent R QC re-deriving every number it checks from the published files and the
raw drop. A sweep of twelve seeds at five cuts each found a drop without CRS queried
at a cut with no subject infused yet; two statisticians re-deriving a 250- and a
500-subject drop in R found relapses in the response window tabulated as "Not
evaluable". Every run publishes, every contract holds, R agrees."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.helpers import materialize_cut, qc_disagreements
from trial_outcomes.synth.generator import generate

pytestmark = pytest.mark.slow
#: seed, subjects: the 15-subject drop has one subject enrolled, none infused, by 2020-08-31
DROPS = [(4, 15), (1, 40), (3, 250)]
CUTS = [None, "2020-08-31", "2021-06-30"]


@pytest.mark.parametrize(("seed", "subjects"), DROPS, ids=[f"seed{s}-n{n}" for s, n in DROPS])
def test_an_unseen_drop_publishes_at_every_cut_and_r_agrees(tmp_path: Path, seed: int, subjects: int) -> None:
    drop = tmp_path / "drop"
    generate(drop, subjects, seed)
    for cut in CUTS:
        result, key = materialize_cut(drop, tmp_path / "out", cut)
        failures = [e.message for e in result.get_step_failure_events()]
        assert result.success, (seed, key, failures)
        contracts = [
            e.asset_key.to_user_string()
            for e in result.get_asset_check_evaluations()
            if e.check_name == "output_contract" and not e.passed
        ]
        assert not contracts, (seed, key, contracts)
        folder = tmp_path / "out" / key
        assert (folder / "report.pdf").stat().st_size > 0
        assert not qc_disagreements(folder), (seed, key)
        # the best-response rows are a partition of the evaluable subjects, a relapse its own row
        adsl = pl.read_parquet(folder / "adsl.parquet")
        assert set(adsl["BOR28"].drop_nulls()) <= {"CR", "CRi", "PR", "NR", "RELAPSE", "NE", "PENDING"}


def test_a_cut_before_the_first_infusion_does_not_query_the_missing_crs(tmp_path: Path) -> None:
    """Seed 4, 15 subjects, cut 2020-08-31: one subject enrolled, none infused yet (so no
    CRS can have been reported); the check ``adae:crs_reported`` passes, saying why,
    and the report has no warning about the spelling of CRS."""
    drop = tmp_path / "drop"
    generate(drop, 15, 4)
    result, key = materialize_cut(drop, tmp_path / "out", "2020-08-31")
    assert result.success
    (check,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "crs_reported"]
    assert check.passed, check.description
    assert "not queried" in (check.description or "")
    html = (tmp_path / "out" / key / "report.html").read_text()
    assert "no adverse event is coded as CRS" not in html


def test_a_median_whose_product_is_one_half_exactly_publishes_and_r_agrees(tmp_path: Path) -> None:
    """A red team's drop: seed 5, 25 subjects, its latest cut (2024-03-29). EFS over the 23
    subjects of the safety set: two censored on day 0, so 21 at risk on day 1 with three
    events; then one event on each of days 12, 13, 57, 89, 103 and 316 (18, 17, 16, 15, 14 and
    13 at risk); four censored on days 354-371; one event on day 504 with 8 at risk; the rest
    censored, the last on day 1107. S(504) = 18/21 x 17/18 x 16/17 x 15/16 x 14/15 x 13/14 x
    12/13 x 7/8 = 12/21 x 7/8 = 1/2 exactly, and the curve stays there to the end: the median
    is the midpoint of 504 and the last time, (504 + 1107) / 2 = 805.5 (endpoints.md; R's
    ``quantile.survfit`` at the end of a curve). R's product is 0.5000000000000001, and its
    ``findq`` returns NA before it applies its tolerance: the run's own R QC disagreed and the
    run exited 5 (qc.R now holds a curve within the tolerance of 0.5 at 0.5, as the pipeline)."""
    drop = tmp_path / "drop"
    generate(drop, 25, 5)
    result, key = materialize_cut(drop, tmp_path / "out", None)
    assert result.success and key == "2024-03-29"
    folder = tmp_path / "out" / key
    efs = pl.read_parquet(folder / "adtte.parquet").filter(
        (pl.col("PARAMCD") == "EFS") & (pl.col("ANALYSIS") == "primary")
    )
    events = efs.filter(pl.col("CNSR") == 0)["AVAL"].sort().to_list()
    assert events == [1, 1, 1, 12, 13, 57, 89, 103, 316, 504]
    assert efs.height == 23 and efs["AVAL"].max() == 1107
    assert efs.filter((pl.col("CNSR") == 1) & (pl.col("AVAL") < 504))["AVAL"].sort().to_list() == [
        0,
        0,
        354,
        360,
        371,
        371,
    ]
    summary = pl.read_csv(folder / "survival_summary.csv").filter(
        (pl.col("endpoint") == "EFS") & (pl.col("analysis") == "primary") & (pl.col("group_var") == "all")
    )
    assert summary["median_days"].to_list() == [805.5]
    assert not qc_disagreements(folder)
