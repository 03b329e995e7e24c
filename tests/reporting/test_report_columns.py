"""The report reads 39 of ADSL's columns (``reporting.inputs.ADSL_COLUMNS``): the document
built from them is the document built from the whole dataset, and every ADSL variable the
report's modules name is in the list (a section the sample does not reach at its cut
still has its columns read)."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest
from upath import UPath

import trial_outcomes.reporting.report as report_module
from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, DropSettings
from trial_outcomes.contracts import ADSL
from trial_outcomes.pipelines.definitions import ALL_JOB, build_definitions
from trial_outcomes.pipelines.storage import FrameStore
from trial_outcomes.reporting.inputs import ADSL_COLUMNS, ReportInputs

REPORTING = Path(report_module.__file__).parent
#: modules of the package that do not build the DSMB report from its inputs
NOT_THE_REPORT = {"define_xml.py", "pooled.py"}


def test_every_adsl_variable_the_report_names_is_read():
    names = set(ADSL.columns())
    assert set(ADSL_COLUMNS) <= names and len(set(ADSL_COLUMNS)) == len(ADSL_COLUMNS)
    spelled = set()
    for module in REPORTING.glob("*.py"):
        if module.name not in NOT_THE_REPORT:
            spelled |= set(re.findall(r"[\"']([A-Z][A-Z0-9]+)[\"']", module.read_text())) & names
    assert spelled - set(ADSL_COLUMNS) == set()


def test_the_report_from_its_columns_is_the_report_from_the_whole_dataset(materialized, small_drop_master, tmp_path):
    """The report step run again from the stored values of a run (on a copy), its inputs
    taken as the step builds them; then the document from the whole of ADSL."""
    out = tmp_path / "out"
    shutil.copytree(materialized.out, out, symlinks=True)
    captured: list[ReportInputs] = []
    real = report_module.build_document

    def spy(inputs: ReportInputs):
        captured.append(inputs)
        return real(inputs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_module, "build_document", spy)
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [materialized.cut])
        defs = build_definitions(DropSettings(data_dir=str(small_drop_master), out_dir=str(out)))
        result = defs.resolve_job_def(ALL_JOB).execute_in_process(
            instance=instance,
            partition_key=materialized.cut,
            raise_on_error=False,
            asset_selection=[dg.AssetKey("report")],
        )
    assert result.success
    (inputs,) = captured
    assert inputs.adsl.columns == [c for c in ADSL_COLUMNS if c in inputs.adsl.columns]
    stored = out / ".storage" / "adsl" / f"{materialized.cut}.pickle"
    whole = FrameStore(str(out / ".storage")).load_from_path(None, UPath(stored))  # type: ignore[arg-type]
    assert whole.width > inputs.adsl.width
    assert real(inputs) == real(dataclasses.replace(inputs, adsl=whole))
