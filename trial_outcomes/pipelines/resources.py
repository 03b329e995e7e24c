"""Resources: where the drop is, where outputs go, which cut."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg

from trial_outcomes.plan import AnalysisPlan, load_plan


class DropSettings(dg.ConfigurableResource):
    """One data drop, one output folder and, optionally, a fixed data cut.

    An empty ``cut`` means the latest date in the drop (data-contract.md 2);
    an empty ``plan`` the packaged analysis plan. Defaults come from
    ``TRIAL_DATA_DIR``, ``TRIAL_OUT_DIR``, ``TRIAL_CUT`` and ``TRIAL_PLAN``.
    """

    data_dir: str = "data/sample"
    out_dir: str = "outputs"
    cut: str = ""
    plan: str = ""

    def analysis_plan(self) -> AnalysisPlan:
        return load_plan(self.plan or None)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def out_path(self) -> Path:
        return Path(self.out_dir)

    def fixed_cut(self) -> dt.date | None:
        return parse_cut(self.cut) if self.cut else None

    @classmethod
    def from_env(cls) -> "DropSettings":
        return cls(
            data_dir=os.environ.get("TRIAL_DATA_DIR", "data/sample"),
            out_dir=os.environ.get("TRIAL_OUT_DIR", "outputs"),
            cut=os.environ.get("TRIAL_CUT", ""),
            plan=os.environ.get("TRIAL_PLAN", ""),
        )


def parse_cut(text: str) -> dt.date:
    """A data cut given as YYYY-MM-DD, or a ValueError that says so."""
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"data cut {text!r} is not a real date in the form YYYY-MM-DD") from None
