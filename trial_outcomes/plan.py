"""The analysis plan: the parameters endpoints.md leaves to the plan, read from TOML
and validated when it is loaded.

Every key is declared below (pydantic models that forbid unknown keys); a bad
plan is refused with ``PlanError`` naming the file, the key and what is wrong
(``survival.subgroups[2]: 'emdx' is not an ADSL subgroup variable; ...``), before
any data is read.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from trial_outcomes.contracts import MODEL_COVARIATES, RENAMED_V4, SUBGROUP_VARIABLES
from trial_outcomes.dates import parse_cut
from trial_outcomes.designs import SEARCHED_UP_TO, search_limit, simon_design
from trial_outcomes.labels import LEVELS

DEFAULT_PLAN = Path(__file__).with_name("analysis_plan.toml")
#: cron fields: (lowest, highest, names) for minute, hour, day of month, month, weekday
_CRON_FIELDS = (
    (0, 59, ()),
    (0, 23, ()),
    (1, 31, ()),
    (1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    (0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)


def cron_field_ok(text: str, position: int) -> bool:
    """One field of a five-field cron string: ``*`` or a comma list of values and
    ranges, each with an optional ``/step``; values in the field's range or its names
    (``a b c d e`` passed version 2's character check and failed at schedule time)."""
    low, high, names = _CRON_FIELDS[position]

    def value(v: str) -> int | None:
        if v.isdigit():
            n = int(v)
            return n if low <= n <= high else None
        upper = v.upper()
        return low + names.index(upper) if upper in names else None

    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) < 1):
            return False
        if base == "*":
            continue
        first, _, last = base.partition("-")
        a = value(first)
        b = value(last) if last else a
        if a is None or b is None or b < a:
            return False
    return True


#: the most days each month has (February 29 in a leap year)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _cron_values(text: str, position: int) -> set[int]:
    """The values a valid cron field (``cron_field_ok``) names."""
    low, high, names = _CRON_FIELDS[position]

    def value(v: str) -> int:
        return int(v) if v.isdigit() else low + names.index(v.upper())

    out: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        first, _, last = base.partition("-")
        a, b = (low, high) if base == "*" else (value(first), value(last) if last else value(first))
        if step and base != "*" and not last:  # "5/10": from 5 to the field's end
            b = high
        out.update(range(a, b + 1, int(step) if step else 1))
    return out


def cron_ever_fires(fields: list[str]) -> bool:
    """Whether five valid cron fields name a day that exists: a day of the month past
    every named month's length ("0 6 31 2 *", February 31) never comes, and the interim
    analyses' schedule would never run, with no error (a red team's plan loaded so).
    With both the day of the month and the weekday restricted, cron runs on either, and a
    weekday comes every month."""
    if fields[4] != "*" and fields[2] != "*":
        return True
    days, months = _cron_values(fields[2], 2), _cron_values(fields[3], 3)
    return any(day <= _MONTH_DAYS[month - 1] for day in days for month in months)


class PlanError(ValueError):
    """An analysis plan that cannot be used; the message names the file and key."""


class _Strict(BaseModel):
    # allow_inf_nan=False: ``prior_b = inf`` (TOML's inf and nan) is refused; it passed and
    # silently disabled the safety rule (P 1.0 -> 0.0000). strict: a value of another type
    # is refused, not converted (``min_evaluable = true`` ran as 1 evaluable subject,
    # ``threshold = "0.20"`` as 0.2); an integer is still a number. TOML's arrays are lists:
    # the tuple fields take a list (``Field(strict=False)``), their items stay strict.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class SafetyRule(_Strict):
    prior_a: float = Field(gt=0, le=1000)
    prior_b: float = Field(gt=0, le=1000)
    threshold: float = Field(gt=0, lt=1)
    probability: float = Field(gt=0, lt=1)
    min_evaluable: int = Field(ge=1)
    window_days: int = Field(ge=1, le=365)


class EfficacyRule(_Strict):
    p0: float = Field(gt=0, lt=1)
    p1: float = Field(gt=0, lt=1)
    alpha: float = Field(gt=0, lt=0.5)
    beta: float = Field(gt=0, lt=0.5)

    @model_validator(mode="after")
    def _p1_above_p0(self) -> EfficacyRule:
        if self.p1 <= self.p0:
            raise ValueError(f"p1 ({self.p1}) must be above p0 ({self.p0})")
        return self


class _Survival(_Strict):
    subgroups: tuple[StrictStr, ...] = Field(strict=False)
    landmark_months: tuple[StrictInt, ...] = Field(min_length=1, strict=False)
    hsct_landmark_day: int = Field(ge=1, le=3650)
    forest_reference: dict[str, str] = Field(default_factory=dict)

    @field_validator("subgroups")
    @classmethod
    def _known_subgroups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _named_once(value, SUBGROUP_VARIABLES, "an ADSL subgroup variable")

    @field_validator("landmark_months")
    @classmethod
    def _landmarks(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(m < 1 or m > 240 for m in value):
            raise ValueError("landmark months must be whole months from 1 to 240")
        if list(value) != sorted(set(value)):
            raise ValueError("landmark months must be increasing, each once")
        return value

    @model_validator(mode="after")
    def _reference_of_a_subgroup(self) -> _Survival:
        for name, level in self.forest_reference.items():
            if name in RENAMED_V4:
                raise ValueError(f"forest_reference.{name}: now {RENAMED_V4[name]!r} (ADaM names, contract version 4)")
            if name not in self.subgroups:
                raise ValueError(f"forest_reference.{name}: not one of the plan's subgroups")
            codes = LEVELS.get(name)
            if codes and level not in codes:
                raise ValueError(
                    f"forest_reference.{name}: {level!r} is not a level of {name}; its levels: " + ", ".join(codes)
                )
        return self


class _Stopping(_Strict):
    safety: SafetyRule
    efficacy: EfficacyRule


class _Schedule(_Strict):
    cron: str

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5 or not all(cron_field_ok(f, i) for i, f in enumerate(fields)):
            raise ValueError(
                f"{value!r} is not a cron string of five fields (minute 0-59, hour 0-23, day 1-31, month 1-12 "
                "or JAN-DEC, weekday 0-7 or SUN-SAT; *, lists, ranges and steps)"
            )
        if not cron_ever_fires(fields):
            raise ValueError(
                f"{value!r} names no day that exists (day of the month {fields[2]} in month {fields[3]}): the "
                "scheduled interim analyses would never run"
            )
        return value


class _Sensor(_Strict):
    landing_dir: str


DEFAULT_MODEL_COVARIATES = ("AGEGR1", "DISSTAT", "PRHSCTFL", "bm_blasts_ge50", "CD19PCT")


def _named_once(value: tuple[str, ...], allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    """``value`` when each name is allowed and named once; a name of before contract version 4
    is refused with its new name."""
    for i, name in enumerate(value):
        if name in RENAMED_V4 and RENAMED_V4[name] in allowed:
            raise ValueError(
                f"[{i}] {name!r} is now {RENAMED_V4[name]!r} (ADaM names, contract version 4: "
                "docs/data-contract.md, 'Renamed')"
            )
        if name not in allowed:
            raise ValueError(f"[{i}] {name!r} is not {what}; allowed: " + ", ".join(allowed))
    if len(set(value)) != len(value):
        raise ValueError("a variable is named twice")
    return value


class Models(_Strict):
    """``[models]``: the multivariable models, the proportional-hazards verdict and the
    stratified log-rank test."""

    covariates: tuple[StrictStr, ...] = Field(default=DEFAULT_MODEL_COVARIATES, strict=False)
    logrank_strata: tuple[StrictStr, ...] = Field(default=("STRATUM",), strict=False)
    ph_alpha: float = Field(default=0.05, gt=0, lt=1, allow_inf_nan=False)

    @field_validator("covariates")
    @classmethod
    def _known_covariates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one covariate")
        return _named_once(value, MODEL_COVARIATES, "a model covariate")

    @field_validator("logrank_strata")
    @classmethod
    def _known_strata(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _named_once(value, SUBGROUP_VARIABLES, "an ADSL subgroup variable")


class _Comparison(_Strict):
    previous_cut: str = "auto"

    @field_validator("previous_cut")
    @classmethod
    def _cut_or_word(cls, value: str) -> str:
        if value in ("auto", "none"):
            return value
        try:
            parse_cut(value)  # YYYY-MM-DD only: fromisoformat took the week date 2024-W05-3
        except ValueError:
            raise ValueError(f"{value!r}: use auto, none or a cut date YYYY-MM-DD") from None
        return value


#: one mailbox: local@domain, printable ASCII without spaces, commas, angle brackets or line breaks
MAILBOX = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def webhook_problem(url: str) -> str | None:
    """Why ``url`` cannot be posted to, or None: http(s), a host, no whitespace or
    control characters (a URL with a space passed version 2 and failed after publishing)."""
    from urllib.parse import urlsplit

    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "contains a space, a line break or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host"
    if port is not None and not 1 <= port <= 65535:
        return "port out of range"
    return None


class Notify(_Strict):
    """Where a crossed stopping boundary is announced (both optional)."""

    webhook_url: str = ""
    webhook_format: Literal["slack", "teams", "generic"] = "slack"
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = ""
    smtp_to: tuple[StrictStr, ...] = Field(default=(), strict=False)
    smtp_starttls: bool = False
    smtp_user_env: str = ""  # the names of environment variables holding the credentials, never the secrets
    smtp_password_env: str = ""
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=2, ge=0, le=10)  # further tries of a channel in one round
    retry_wait_seconds: float = Field(default=2.0, ge=0, le=300)

    @model_validator(mode="after")
    def _complete_smtp(self) -> Notify:
        if self.smtp_host and (not self.smtp_from or not self.smtp_to):
            raise ValueError("smtp_host needs smtp_from and smtp_to")
        if self.webhook_url:
            problem = webhook_problem(self.webhook_url)
            if problem:
                raise ValueError(f"webhook_url {self.webhook_url!r}: {problem}")
        if self.smtp_host and not HOST.fullmatch(self.smtp_host):
            raise ValueError(f"smtp_host {self.smtp_host!r} is not a host name or address")
        for key, address in [("smtp_from", self.smtp_from)] + [
            (f"smtp_to[{i}]", a) for i, a in enumerate(self.smtp_to)
        ]:
            if address and not MAILBOX.fullmatch(address):
                raise ValueError(
                    f"{key} {address!r} is not one e-mail address (name@domain, no spaces, line breaks or commas)"
                )
        for key in ("smtp_user_env", "smtp_password_env"):
            name = getattr(self, key)
            if name and not ENV_NAME.fullmatch(name):
                raise ValueError(f"{key} {name!r} is not an environment variable name")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or self.smtp_host)


class Conduct(_Strict):
    """``[conduct]``: planned accrual, linear from the first enrolment."""

    target_enrolment: int = Field(default=120, ge=1, le=100_000)
    accrual_months: int = Field(default=36, ge=1, le=240)


class Labs(_Strict):
    """``[labs]``: the choices the laboratory and product sections leave to the plan
    (docs/endpoints.md, "Laboratory toxicity" and "Intention to treat and product")."""

    anc_lln: float = Field(default=1.5, gt=0, le=10)  # 10^9/L: CTCAE grade 1 starts below it
    plt_lln: float = Field(default=150.0, gt=0, le=1000)  # 10^9/L
    hgb_lln: float = Field(default=11.0, gt=0, le=25)  # g/dL
    # bounded, as the other limits are: a red team's 5e7 read every subject aplastic
    bcell_aplasia_below: float = Field(default=50.0, gt=0, le=1000)  # CD19+ B cells/uL
    igg_low: float = Field(default=4.0, gt=0, le=30)  # g/L: hypogammaglobulinaemia below it
    # CAR+ T cells/kg: the protocol's range; bounded so that a range written in 10^6/kg (0.2 to
    # 5.0, a red team's, read every dose "above the range") is refused
    dose_low_per_kg: float = Field(default=0.2e6, ge=1e3, le=1e10)
    dose_high_per_kg: float = Field(default=5.0e6, ge=1e3, le=1e10)

    @model_validator(mode="after")
    def _range(self) -> Labs:
        if self.dose_high_per_kg <= self.dose_low_per_kg:
            raise ValueError("dose_high_per_kg must be above dose_low_per_kg")
        return self


class _PlanFile(_Strict):
    survival: _Survival
    stopping: _Stopping
    schedule: _Schedule
    sensor: _Sensor
    comparison: _Comparison = Field(default_factory=_Comparison)
    notify: Notify = Field(default_factory=Notify)
    models: Models = Field(default_factory=Models)
    conduct: Conduct = Field(default_factory=Conduct)
    labs: Labs = Field(default_factory=Labs)

    @model_validator(mode="after")
    def _the_safety_rule_can_stop(self) -> _PlanFile:
        """The safety rule can cross within the target enrolment: monitoring starts by then,
        and with every planned subject evaluable and with an event, P(rate > threshold)
        passes the boundary. A red team's min_evaluable 1000 (of 120), prior_b 1000 and
        threshold 0.999 each published a rule that could never stop, read as active."""
        from scipy.stats import beta

        rule, target = self.stopping.safety, self.conduct.target_enrolment
        if rule.min_evaluable > target:
            raise ValueError(
                f"stopping.safety: min_evaluable {rule.min_evaluable} is above conduct.target_enrolment {target}: "
                "monitoring would never start"
            )
        most = float(beta.sf(rule.threshold, rule.prior_a + target, rule.prior_b))
        if not most > rule.probability:
            raise ValueError(
                f"stopping.safety: the rule can never stop: even with all {target} planned subjects (conduct."
                f"target_enrolment) evaluable and with an event, P(rate > {rule.threshold:g}) = {most:.3g}, not above "
                f"probability {rule.probability:g}; lower prior_b or threshold, or raise the enrolment"
            )
        return self

    @model_validator(mode="after")
    def _a_simon_design_exists(self) -> _PlanFile:
        """The efficacy rule's design exists within the target enrolment: a red team's
        plan (p0 0.40, p1 0.55, alpha 0.05, beta 0.10) loaded, then every run stopped at
        the stopping rules with nothing published."""
        rule, target = self.stopping.efficacy, self.conduct.target_enrolment
        try:
            simon_design(rule.p0, rule.p1, rule.alpha, rule.beta, search_limit(target))
        except ValueError as exc:
            raise ValueError(
                f"stopping.efficacy: {exc} (conduct.target_enrolment {target}; the search stops at "
                f"{SEARCHED_UP_TO}): widen p1 - p0, relax alpha or beta, or raise the target enrolment"
            ) from None
        return self


#: AnalysisPlan fields not copied as they are into the parameters
_STRUCTURED = ("sha256", "path", "text", "safety", "efficacy", "notify", "models", "conduct", "labs")


@dataclass(frozen=True)
class AnalysisPlan:
    subgroups: tuple[str, ...]
    landmark_months: tuple[int, ...]
    hsct_landmark_day: int
    safety: SafetyRule
    efficacy: EfficacyRule
    schedule_cron: str
    landing_dir: str
    forest_reference: dict[str, str] = field(default_factory=dict)
    previous_cut: str = "auto"
    notify: Notify = field(default_factory=Notify)
    models: Models = field(default_factory=Models)
    conduct: Conduct = field(default_factory=Conduct)
    labs: Labs = field(default_factory=Labs)
    sha256: str = ""
    path: str = ""
    text: str = ""

    def parameters(self) -> dict[str, Any]:
        """Every parameter, for the manifest and the report (no secrets: the plan holds none)."""
        out = {k: v for k, v in asdict(self).items() if k not in _STRUCTURED}
        out["models"] = self.models.model_dump()
        out["conduct"] = self.conduct.model_dump()
        out["labs"] = self.labs.model_dump()
        out["safety"] = self.safety.model_dump()
        out["efficacy"] = self.efficacy.model_dump()
        out["notify"] = {"webhook": bool(self.notify.webhook_url), "email": bool(self.notify.smtp_host)}
        return out


def _format_errors(path: Path, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (a typing error, or a key this version does not know)"
        elif item["type"] == "missing":
            message = "required key is missing"
        lines.append(f"  - {key}: {message}")
    return f"analysis plan {path} refused:\n" + "\n".join(lines)


def load_plan(path: str | Path | None = None) -> AnalysisPlan:
    """Read and validate the plan (the packaged default when ``path`` is empty)."""
    path = Path(path) if path else DEFAULT_PLAN
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanError(f"analysis plan {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
        raw = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PlanError(f"analysis plan {path}: not valid TOML ({exc})") from None
    try:
        plan = _PlanFile.model_validate(raw)
    except ValidationError as exc:
        raise PlanError(_format_errors(path, exc)) from None
    return AnalysisPlan(
        subgroups=plan.survival.subgroups,
        landmark_months=plan.survival.landmark_months,
        hsct_landmark_day=plan.survival.hsct_landmark_day,
        safety=plan.stopping.safety,
        efficacy=plan.stopping.efficacy,
        schedule_cron=plan.schedule.cron,
        landing_dir=plan.sensor.landing_dir,
        forest_reference=dict(plan.survival.forest_reference),
        previous_cut=plan.comparison.previous_cut,
        notify=plan.notify,
        models=plan.models,
        conduct=plan.conduct,
        labs=plan.labs,
        sha256=hashlib.sha256(data).hexdigest(),
        path=str(path),
        text=text,
    )
