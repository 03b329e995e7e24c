"""The analysis plan: the parameters endpoints.md leaves to the plan, read from TOML."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PLAN = Path(__file__).with_name("analysis_plan.toml")


@dataclass(frozen=True)
class SafetyRule:
    prior_a: float
    prior_b: float
    threshold: float
    probability: float
    min_evaluable: int
    window_days: int


@dataclass(frozen=True)
class EfficacyRule:
    p0: float
    p1: float
    alpha: float
    beta: float


@dataclass(frozen=True)
class AnalysisPlan:
    subgroups: tuple[str, ...]
    landmark_months: tuple[int, ...]
    hsct_landmark_day: int
    safety: SafetyRule
    efficacy: EfficacyRule
    schedule_cron: str
    landing_dir: str
    sha256: str = ""
    path: str = ""

    def parameters(self) -> dict:
        """Every parameter, for the manifest and the report."""
        from dataclasses import asdict

        return {k: v for k, v in asdict(self).items() if k not in ("sha256", "path")}


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
        safety=SafetyRule(**raw["stopping"]["safety"]),
        efficacy=EfficacyRule(**raw["stopping"]["efficacy"]),
        schedule_cron=raw["schedule"]["cron"],
        landing_dir=raw["sensor"]["landing_dir"],
        sha256=hashlib.sha256(data).hexdigest(),
        path=str(path),
    )
