"""Real data end to end (issue 19): five public survival data sets turned into drops
(tests/corpus.py) run through the whole Dagster job, contracts included, publish,
and their ``survival_summary.csv`` equals R (tests/reference/corpus/make_corpus.R):
estimates to 1e-6, confidence limits to 1e-4, medians exactly, tests to 1e-6."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest

from tests.corpus import CORPUS, NAMES, write_drop
from tests.helpers import materialize_cut, qc_disagreements

pytestmark = pytest.mark.slow
ESTIMATES = ("median", "median_lcl", "median_ucl")


def _close(ours: object, theirs: object, tol: float, what: str) -> None:
    if theirs is None:
        assert ours is None, f"{what}: R has no value, ours {ours}"
        return
    assert ours is not None, f"{what}: R {theirs}, ours empty"
    assert math.isclose(float(ours), float(theirs), rel_tol=0, abs_tol=tol), f"{what}: R {theirs}, ours {ours}"


@pytest.mark.parametrize("name", NAMES)
def test_public_data_set_publishes_and_equals_r(name, tmp_path):
    drop = write_drop(name, tmp_path / name)
    result, cut = materialize_cut(drop, tmp_path / "out")
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert not qc_disagreements(tmp_path / "out" / cut)  # R re-derives the cut from its XPT files and raw drop
    summary = pl.read_csv(tmp_path / "out" / cut / "survival_summary.csv").filter(pl.col("analysis") == "primary")
    reference = json.loads((CORPUS / f"{name}.json").read_text())
    for endpoint, groups in reference.items():
        test = groups.pop("test", None)
        for group, ref in groups.items():
            group_var = "all" if group == "all" else "SEX"
            (row,) = summary.filter(
                (pl.col("endpoint") == endpoint) & (pl.col("group_var") == group_var) & (pl.col("group") == group)
            ).iter_rows(named=True)
            what = f"{name} {endpoint} {group}"
            assert (row["n"], row["n_events"]) == (ref["n"], ref["n_events"]), what
            for key in ESTIMATES:
                if key in ref:
                    assert row[f"{key}_days"] == ref[key], f"{what} {key}: R {ref[key]}, ours {row[f'{key}_days']}"
            for months in (6, 12, 24):
                rate = f"rate_{months}m"
                _close(row[rate], ref[rate], 1e-6, f"{what} {rate}")
                _close(row[f"{rate}_lcl"], ref[f"{rate}_lcl"], 1e-4, f"{what} {rate}_lcl")
                _close(row[f"{rate}_ucl"], ref[f"{rate}_ucl"], 1e-4, f"{what} {rate}_ucl")
            if test is not None and group != "all":
                assert math.isclose(row["logrank_chisq"], test["chisq"], rel_tol=1e-6), f"{what} test"
                assert math.isclose(row["logrank_p"], test["p"], rel_tol=1e-6, abs_tol=1e-12), f"{what} p"
