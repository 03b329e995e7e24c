"""Time-to-event analysis data: ADTTE."""

from collections.abc import Iterator
from typing import Any

import polars as pl

from trial_outcomes.analysis.adtte import ADSL_COLUMNS, COMPETING, derive_adtte, event_counts
from trial_outcomes.assets.files import contract_check_spec, published
from trial_outcomes.assets.shared import Run, code_version, cut_asset, reading


@cut_asset(
    group="derivation",
    version=code_version("assets/time_to_event.py"),
    kinds={"polars", "parquet"},
    domain="efficacy",
    check_specs=[contract_check_spec("adtte", ["adtte.parquet"])],
    ins=reading(adsl=ADSL_COLUMNS),
)
def adtte(settings: Run, adsl: pl.DataFrame) -> Iterator[Any]:
    """ADTTE: OS, EFS, DFS, CIR, NRM and DOR, primary and (EFS, DFS, CIR, DOR)
    `censor_at_hsct`, with STARTDT, ADT, AVAL (days), CNSR, event and censoring
    descriptions, the event type of CIR and NRM (1 event, 2 competing, 0
    censored) and the analysis plan's subgroup variables."""
    table = derive_adtte(adsl, settings.plan.subgroups)
    extra = {
        f"{r['PARAMCD']} {r['ANALYSIS']}": f"{r['n']} subjects, {r['events']} events"
        + (f", {r['competing']} competing" if r["PARAMCD"] in COMPETING else "")
        for r in event_counts(table).iter_rows(named=True)
    }
    yield from published("adtte", table, settings, {"adtte.parquet": table}, extra)
