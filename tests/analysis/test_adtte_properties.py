"""Properties of ADTTE on synthetic trials of any seed, size and cut (hypothesis)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from trial_outcomes.analysis.derive import Derived, derive_all
from trial_outcomes.io.parse import parse_records
from trial_outcomes.io.readers import read_raw
from trial_outcomes.schema import SCHEMAS
from trial_outcomes.synth.generator import ACCRUAL_START, EXPORT_DAY, SIMULATED, generate


def _derive(seed: int, subjects: int, cut_offset: int) -> tuple[Derived, dt.date]:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), subjects, seed)
        schemas = {r: SCHEMAS[r] for r in SIMULATED}
        records = {r: parse_records(read_raw(Path(tmp) / f"{r}.csv", s).frame, s)[0] for r, s in schemas.items()}
    cut = ACCRUAL_START + dt.timedelta(days=cut_offset)
    return derive_all(records, cut), cut


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), subjects=st.integers(1, 60), cut_offset=st.integers(30, EXPORT_DAY + 30))
def test_adtte_invariants(seed, subjects, cut_offset):
    derived, cut = _derive(seed, subjects, cut_offset)
    adsl, adtte = derived.adsl, derived.adtte

    # AVAL is never negative, and every date is on or before the cut
    assert (adtte["AVAL"] >= 0).all()
    assert (adtte["ADT"] <= cut).all()
    # an event row has an event date on or before the cut, and a description
    events = adtte.filter(pl.col("CNSR") == 0)
    assert (events["ADT"] <= cut).all() and events["EVNTDESC"].is_not_null().all()
    assert adtte.filter(pl.col("CNSR") == 1)["CNSDTDSC"].is_not_null().all()

    # counts reconcile with ADSL, for both analyses
    n_safety = int((adsl["SAFFL"] == "Y").sum())
    n_remission = adsl.filter((pl.col("SAFFL") == "Y") & pl.col("FRMDT").is_not_null()).height
    counts = {
        (r["PARAMCD"], r["ANALYSIS"]): r["len"]
        for r in adtte.group_by("PARAMCD", "ANALYSIS").len().iter_rows(named=True)
    }
    assert counts.get(("OS", "primary"), 0) == n_safety and ("OS", "censor_at_hsct") not in counts
    assert counts.get(("NRM", "primary"), 0) == n_remission and ("NRM", "censor_at_hsct") not in counts
    for analysis in ("primary", "censor_at_hsct"):
        assert counts.get(("EFS", analysis), 0) == n_safety
        for endpoint in ("DFS", "CIR", "DOR"):
            assert counts.get((endpoint, analysis), 0) == n_remission
    assert adtte.select("USUBJID", "PARAMCD", "ANALYSIS").is_duplicated().sum() == 0
    # deaths in ADSL are OS events in the primary analysis
    os_events = adtte.filter(
        (pl.col("PARAMCD") == "OS") & (pl.col("ANALYSIS") == "primary") & (pl.col("CNSR") == 0)
    ).height
    assert os_events == adsl.filter((pl.col("SAFFL") == "Y") & pl.col("DTHDT").is_not_null()).height
    # DFS, CIR and NRM share their events: CIR's relapses are NRM's competing events and
    # CIR's competing deaths NRM's events, so CIR + NRM + DFS = 1 at every time
    primary = adtte.filter(pl.col("ANALYSIS") == "primary")
    cir = primary.filter(pl.col("PARAMCD") == "CIR").sort("USUBJID")
    nrm = primary.filter(pl.col("PARAMCD") == "NRM").sort("USUBJID")
    dfs = primary.filter(pl.col("PARAMCD") == "DFS").sort("USUBJID")
    assert (cir["CNSR"] == 0).sum() == (dfs["CNSR"] == 0).sum() == (nrm["CNSR"] == 0).sum()
    assert set(cir["EVNTTYPE"].unique().to_list()) <= {0, 1, 2}
    swapped = cir["EVNTTYPE"].replace_strict({0: 0, 1: 2, 2: 1}, return_dtype=pl.Int8)
    assert swapped.to_list() == nrm["EVNTTYPE"].to_list() and cir["AVAL"].to_list() == nrm["AVAL"].to_list()
    # the sensitivity analysis never lengthens follow-up
    joined = adtte.filter(pl.col("ANALYSIS") == "primary").join(
        adtte.filter(pl.col("ANALYSIS") == "censor_at_hsct"), on=["USUBJID", "PARAMCD"], suffix="_s"
    )
    assert (joined["AVAL_s"] <= joined["AVAL"]).all()
