"""The portfolio: several trials analysed by one deployment, configured in one file.

A sponsor's statistics group runs several CAR-T trials and pools them. Each trial
keeps what a single trial has (its drop folder, its analysis plan, its published
cuts); the portfolio file names them, says where the pooled analysis is published
and which cut of each trial it pools, and how runs are executed (in one process, or
by celery workers). The single-trial use (``trial-outcomes run``) never reads it.

``portfolio.toml``::

    [[trials]]
    id = "ped-ball"               # the partition key of the trial dimension
    title = "Paediatric B-ALL"
    data = "drops/ped-ball"      # relative paths are relative to this file
    out = "published/ped-ball"
    plan = ""                    # empty: the packaged analysis plan

    [pooled]
    out = "published/pooled"
    factor = "PRHSCTFL"          # the comparison of the pooled log-rank and Cox models
    cuts = { ped-ball = "2024-03-31" }   # a trial not named: its latest published cut

    [execution]
    executor = "in_process"      # or "celery"
    broker = "pyamqp://guest:guest@127.0.0.1:5672//"
    backend = "rpc://"
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trial_outcomes.dates import parse_cut
from trial_outcomes.runspec import RunSpec

#: the trial's identifier: a partition key and a folder name
TRIAL_ID = r"^[a-z0-9][a-z0-9-]{0,31}$"
#: the factors a pooled comparison may use: ADSL's two-level flags and groups
POOLED_FACTORS = ("PRHSCTFL", "SEX", "AGEGR1", "EMDFL", "BRIDGFL")


class PortfolioError(ValueError):
    """The portfolio file is missing or does not validate (the message names the file and key)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trial(_Strict):
    id: str = Field(pattern=TRIAL_ID)
    title: str = ""
    data: Path
    out: Path
    plan: str = ""

    @property
    def label(self) -> str:
        return self.title or self.id


class Pooled(_Strict):
    out: Path
    factor: Literal["PRHSCTFL", "SEX", "AGEGR1", "EMDFL", "BRIDGFL"] = "PRHSCTFL"
    cuts: dict[str, str] = Field(default_factory=dict)

    @field_validator("cuts")
    @classmethod
    def _cut_dates(cls, cuts: dict[str, str]) -> dict[str, str]:
        for cut in cuts.values():
            parse_cut(cut)  # ValueError names the value
        return cuts


class Execution(_Strict):
    executor: Literal["in_process", "celery"] = "in_process"
    broker: str = "pyamqp://guest:guest@127.0.0.1:5672//"
    backend: str = "rpc://"
    #: the celery queue of this portfolio's steps: its workers listen on it (`portfolio worker`), so
    #: two portfolios on one broker never run each other's steps
    queue: str = Field(default="dagster", pattern=r"^[A-Za-z0-9_.-]{1,64}$")


class Portfolio(_Strict):
    """The validated portfolio: every path absolute (resolved against the file's folder)."""

    path: Path
    trials: list[Trial] = Field(min_length=1)
    pooled: Pooled
    execution: Execution = Execution()

    @model_validator(mode="after")
    def _consistent(self) -> Portfolio:
        ids = [t.id for t in self.trials]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"trial id given twice: {', '.join(twice)}")
        unknown = sorted(set(self.pooled.cuts) - set(ids))
        if unknown:
            raise ValueError(f"[pooled] cuts names a trial the portfolio does not have: {', '.join(unknown)}")
        drops = [t.data.resolve() for t in self.trials]
        again = sorted({str(d) for d in drops if drops.count(d) > 1})
        if again:
            raise ValueError(f"two trials read one drop folder: {again[0]} (the pooled analysis would count it twice)")
        outs = [t.out.resolve() for t in self.trials] + [self.pooled.out.resolve()]
        shared = sorted({str(o) for o in outs if outs.count(o) > 1})
        if shared:
            raise ValueError(f"two trials (or a trial and the pooled analysis) publish to one folder: {shared[0]}")
        return self

    @cached_property
    def by_id(self) -> dict[str, Trial]:
        return {t.id: t for t in self.trials}

    @property
    def trial_ids(self) -> list[str]:
        return [t.id for t in self.trials]

    def trial(self, trial_id: str) -> Trial:
        try:
            return self.by_id[trial_id]
        except KeyError:
            raise PortfolioError(
                f"{self.path}: no trial {trial_id!r} (the portfolio has {', '.join(self.trial_ids)})"
            ) from None

    def run_spec(self, trial_id: str, cut: str | dt.date) -> RunSpec:
        """The run specification of one trial at one cut (its plan read now, once)."""
        trial = self.trial(trial_id)
        return RunSpec.make(cut, trial.plan or None, trial.data, trial.out)

    @property
    def storage_dir(self) -> Path:
        """Where the portfolio's runs keep values between steps (shared by every worker)."""
        return self.path.parent / ".portfolio-storage"


def _absolute(base: Path, value: object) -> object:
    if isinstance(value, str) and value:
        path = Path(value)
        return str(path if path.is_absolute() else (base / path).resolve())
    return value


def load_portfolio(path: str | Path) -> Portfolio:
    """Read and validate ``portfolio.toml``; ``PortfolioError`` names the file and the key."""
    path = Path(path).resolve()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PortfolioError(f"{path}: no such portfolio file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PortfolioError(f"{path}: not TOML ({exc})") from None
    base = path.parent
    for trial in raw.get("trials", []) if isinstance(raw.get("trials"), list) else []:
        if isinstance(trial, dict):
            for key in ("data", "out", "plan"):
                if key in trial:
                    trial[key] = _absolute(base, trial[key])
    pooled = raw.get("pooled")
    if isinstance(pooled, dict) and "out" in pooled:
        pooled["out"] = _absolute(base, pooled["out"])
    try:
        return Portfolio(path=path, **raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PortfolioError(f"{path}: {where}: {first['msg']}") from None
    except TypeError as exc:
        raise PortfolioError(f"{path}: {exc}") from None
