"""The specification of one run: made once, when the run starts, and handed to every
step. Nothing after it re-reads the analysis plan or parses the data cut again, so
one run cannot see two plans (a plan edited while the run is under way changes the
next run, not this one) or two cuts.

Who makes it: ``trial-outcomes run`` from its arguments (the CLI checks them once and
passes the parsed values on), and the ``settings`` resource for a run launched from
the UI, a sensor or the schedule (from the run's partition key and the resource's
configuration). Both paths end in the same value (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from trial_outcomes.dates import parse_cut
from trial_outcomes.plan import AnalysisPlan, load_plan


def comparison_refusal(cut: dt.date, run_choice: str, plan_choice: str) -> str | None:
    """Why the cut to compare with (the run's ``--compare``, else the plan's
    ``previous_cut``) cannot be used with ``cut``, or None: a cut compares with an
    earlier published cut, never itself or a later one."""
    chosen = run_choice or plan_choice
    if chosen in ("", "auto", "none") or parse_cut(chosen) < cut:
        return None
    source = "--compare" if run_choice else "the plan's [comparison] previous_cut ="
    return f"{source} {chosen}: a cut compares with an earlier published cut, and {chosen} is not before the cut {cut}"


@dataclass(frozen=True)
class RunSpec:
    """One drop, one data cut, one validated analysis plan, one output folder.

    ``supersede_reason``: publish this drop for a cut already published from another
    drop (recorded in the manifest and the report). ``previous_cut``: the published
    cut to compare with; empty: the plan's ``[comparison] previous_cut``."""

    cut: dt.date
    plan: AnalysisPlan
    data_dir: Path
    out_dir: Path
    supersede_reason: str = ""
    previous_cut: str = ""

    def __post_init__(self) -> None:
        refusal = comparison_refusal(self.cut, self.previous_cut, self.plan.previous_cut)
        if refusal:
            raise ValueError(refusal)

    @property
    def cut_key(self) -> str:
        """The cut as the partition key and the folder name: ``YYYY-MM-DD``."""
        return self.cut.isoformat()

    @property
    def plan_sha256(self) -> str:
        return self.plan.sha256

    @property
    def comparison(self) -> str:
        """The cut to compare with: this run's choice, else the plan's."""
        return self.previous_cut or self.plan.previous_cut

    @classmethod
    def make(
        cls,
        cut: str | dt.date,
        plan: str | Path | AnalysisPlan | None,
        data_dir: str | Path,
        out_dir: str | Path,
        supersede_reason: str = "",
        previous_cut: str = "",
    ) -> RunSpec:
        """The specification from what a user typed or a run's configuration holds: a cut
        written ``YYYY-MM-DD`` is parsed and a plan path is read and validated here,
        once (ValueError or PlanError, in words, otherwise); a parsed date or a loaded
        plan is taken as it is."""
        return cls(
            cut=cut if isinstance(cut, dt.date) else parse_cut(cut),
            plan=plan if isinstance(plan, AnalysisPlan) else load_plan(plan or None),
            data_dir=Path(data_dir),
            out_dir=Path(out_dir),
            supersede_reason=supersede_reason,
            previous_cut=previous_cut,
        )
