"""The analysis plan: the parameters endpoints.md leaves to the plan, read from TOML."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PLAN = Path(__file__).with_name("analysis_plan.toml")


@dataclass(frozen=True)
class AnalysisPlan:
    subgroups: tuple[str, ...]
    landmark_months: tuple[int, ...]
    hsct_landmark_day: int
    sha256: str = ""
    path: str = ""


def load_plan(path: str | Path | None = None) -> AnalysisPlan:
    """Read the plan (the packaged default when ``path`` is empty)."""
    path = Path(path) if path else DEFAULT_PLAN
    data = path.read_bytes()
    raw = tomllib.loads(data.decode("utf-8"))
    survival = raw["survival"]
    return AnalysisPlan(
        subgroups=tuple(survival["subgroups"]),
        landmark_months=tuple(int(m) for m in survival["landmark_months"]),
        hsct_landmark_day=int(survival["hsct_landmark_day"]),
        sha256=hashlib.sha256(data).hexdigest(),
        path=str(path),
    )
