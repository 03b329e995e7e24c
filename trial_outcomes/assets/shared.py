"""The Dagster pieces every asset and the wiring share: the data-cut partitions,
the settings resource, and the run tags. It sits low, so imports run one way:
schema -> io -> analysis -> assets -> pipelines -> cli."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from trial_outcomes.plan import AnalysisPlan, load_plan

#: one partition per data cut, keyed by its date (YYYY-MM-DD)
DATA_CUTS = dg.DynamicPartitionsDefinition(name="data_cut")

#: run tag: the drop's SHA-256 (``io.records.drop_fingerprint``) when the run was requested
DROP_FINGERPRINT_TAG = "trial/drop_sha256"
#: run tag set when a stopping boundary of the analysis plan is crossed
STOPPING_TAG = "trial/stopping_boundary"
#: asset tag of every asset that writes a file published with the cut
OUTPUT_TAG = "trial/output"


class DropSettings(dg.ConfigurableResource):
    """One data drop, one output folder and the analysis plan; the data cut is
    the partition key of the run. An empty ``plan`` is the packaged analysis
    plan. Defaults come from ``TRIAL_DATA_DIR``, ``TRIAL_OUT_DIR`` and ``TRIAL_PLAN``.
    """

    data_dir: str = "data/sample"
    out_dir: str = "outputs"
    plan: str = ""
    landing_dir: str = ""  # empty: the analysis plan's [sensor] landing_dir

    def analysis_plan(self) -> AnalysisPlan:
        return load_plan(self.plan or None)

    def run_config(self, **changes: str) -> dict:
        """Run config for these settings with ``changes`` (run config replaces every field)."""
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        return {"resources": {"settings": {"config": {**fields, **changes}}}}

    @property
    def landing_path(self) -> Path:
        return Path(self.landing_dir or self.analysis_plan().landing_dir)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def out_path(self) -> Path:
        return Path(self.out_dir)

    @classmethod
    def from_env(cls) -> DropSettings:
        return cls(
            data_dir=os.environ.get("TRIAL_DATA_DIR", "data/sample"),
            out_dir=os.environ.get("TRIAL_OUT_DIR", "outputs"),
            plan=os.environ.get("TRIAL_PLAN", ""),
            landing_dir=os.environ.get("TRIAL_LANDING_DIR", ""),
        )
