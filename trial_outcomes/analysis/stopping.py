"""Stopping rules evaluated at every cut (endpoints.md, Interim analyses).

* Safety: Bayesian beta-binomial monitoring. With x events in n evaluable
  subjects and a Beta(a, b) prior, the posterior is Beta(a + x, b + n - x);
  the boundary is crossed when P(rate > threshold | data) > probability.
* Efficacy: Simon's (1989) optimal two-stage design on the day-28 CR/CRi rate:
  stop for futility when the first n1 evaluable subjects have r1 or fewer
  responders; the drug is promising when more than r of n respond.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace

import polars as pl

from trial_outcomes.analysis.adae import treatment_emergent
from trial_outcomes.analysis.deaths import related_fatal_events
from trial_outcomes.analysis.timeline import followed_for
from trial_outcomes.designs import SEARCHED_UP_TO, search_limit, simon_design, unrestricted_design
from trial_outcomes.plan import AnalysisPlan, EfficacyRule, SafetyRule

SAFETY, EFFICACY_FUTILITY = "safety", "efficacy_futility"
RULES = {SAFETY: "Safety (Bayesian beta-binomial)", EFFICACY_FUTILITY: "Efficacy (Simon two-stage, CR/CRi by day 28)"}


@dataclass(frozen=True)
class RuleStatus:
    """One stopping rule evaluated at a cut, keyed by its ``rule_id``."""

    rule_id: str
    data: str
    boundary: str
    crossed: bool
    statistic: float | None
    #: the statistic's boundary: the safety rule crosses above it, the futility rule at or below it
    boundary_value: float | None = None
    #: the design's conclusion once its last stage is complete (Simon's stage 2), else None
    conclusion: str | None = None

    @property
    def rule(self) -> str:
        return RULES.get(self.rule_id, self.rule_id)  # a rule id from a newer plan's tag still reads

    def as_row(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "rule": self.rule,
            "data": self.data,
            "boundary": self.boundary,
            "crossed": self.crossed,
            "statistic": self.statistic,
            "boundary_value": self.boundary_value,
            "conclusion": self.conclusion,
        }


def check_name(rule_id: str) -> str:
    """The name of a rule's boundary check (``safety_boundary``)."""
    return f"{rule_id}_boundary"


#: the check of each rule: check name -> rule id
CHECK_NAMES = {check_name(rule_id): rule_id for rule_id in RULES}
#: the human words of a crossed rule, then its data and boundary
CROSSED = "BOUNDARY CROSSED"


@dataclass(frozen=True)
class StoppingResult:
    """Every stopping rule of the plan at one cut: the one value the boundary checks,
    the run's tags, the report's table and the alert are all made from (not strings
    decoded from check names). ``to_json``/``from_json`` carry it in the run's tag
    ``trial/stopping_result`` to the alert sensors and the CLI."""

    cut: str
    statuses: tuple[RuleStatus, ...]

    @property
    def crossed(self) -> tuple[RuleStatus, ...]:
        return tuple(s for s in self.statuses if s.crossed)

    def table(self) -> pl.DataFrame:
        return pl.DataFrame(
            [s.as_row() for s in self.statuses],
            schema={
                "rule_id": pl.String,
                "rule": pl.String,
                "data": pl.String,
                "boundary": pl.String,
                "crossed": pl.Boolean,
                "statistic": pl.Float64,
                "boundary_value": pl.Float64,
                "conclusion": pl.String,
            },
        )

    def description(self, status: RuleStatus) -> str:
        """The words of one rule's check (and of its alert line)."""
        state = f"{CROSSED} at cut {self.cut}" if status.crossed else f"Not crossed at cut {self.cut}"
        return f"{state}: {status.data}. Rule: {status.boundary}"

    def tag(self) -> str:
        """The run's ``trial/stopping_boundary`` tag (set only when a rule is crossed)."""
        return f"{CROSSED}: " + ", ".join(s.rule_id for s in self.crossed)

    def failed_checks(self, asset: str) -> list[str]:
        """One line per crossed rule, as the run reports a failed check of ``asset``."""
        return [f"check {asset}:{check_name(s.rule_id)} failed: {self.description(s)}" for s in self.crossed]

    def alert_lines(self) -> list[str]:
        """One line per crossed rule: the rule, the cut, the data, the boundary."""
        return [f"{s.rule}: {self.description(s)}" for s in self.crossed]

    def to_json(self) -> str:
        rows = [{k: v for k, v in s.as_row().items() if k != "rule"} for s in self.statuses]  # the rule: from its id
        return json.dumps({"cut": self.cut, "statuses": rows}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StoppingResult:
        data = json.loads(text)
        statuses = tuple(
            RuleStatus(
                rule_id=r["rule_id"],
                data=r["data"],
                boundary=r["boundary"],
                crossed=bool(r["crossed"]),
                statistic=r["statistic"],
                boundary_value=r["boundary_value"],
                conclusion=r.get("conclusion"),
            )
            for r in data["statuses"]
        )
        return cls(str(data["cut"]), statuses)


#: the ADAE and ADSL columns the stopping rules read
ADAE_COLUMNS = ("USUBJID", "AETOXGR", "AEREL", "TRTEMFL")
ADSL_COLUMNS = (
    "USUBJID",
    "SAFFL",
    "EFFFL",
    "TRTSDT",
    "LDSTDT",
    "ATTRENDT",
    "DTHDT",
    "DTHDY",
    "DTHCAT",
    "CRSGRAJ",
    "ICANGRAJ",
    "D28CLSDT",
    "CRFL",
    "WDDT",
    "LOSTDT",
)


def safety_events(adsl: pl.DataFrame, adae: pl.DataFrame, cut: dt.date, window_days: int = 30) -> pl.DataFrame:
    """Per infused subject: ``EVENT`` (grade >= 4 CRS or ICANS by the adjudicated ASTCT
    grade, a death from CRS or ICANS inside the treatment-emergent window being grade 5
    whenever it falls, or a treatment-related death within ``window_days``: a related
    grade-5 treatment-emergent AE) and ``EVALUABLE`` (``window_days`` of follow-up by
    the cut without withdrawal or loss to follow-up before them, or the event). A death
    from CRS after the first HSCT or new therapy is outside the window and never an
    event (endpoints v3; before, any death coded CRS within 30 days counted, a red
    team's CRS death after blinatumomab among them)."""
    related_fatal = related_fatal_events(adae).with_columns(pl.lit(True).alias("_related_death"))
    safety = adsl.filter(pl.col("SAFFL") == "Y").join(related_fatal, on="USUBJID", how="left")
    early_death = pl.col("DTHDY").is_not_null() & (pl.col("DTHDY") <= window_days)
    in_window = treatment_emergent(pl.col("DTHDT"), pl.col("LDSTDT"), pl.col("ATTRENDT"))
    syndrome_death = pl.col("DTHCAT").is_in(["CRS", "ICANS"]) & in_window
    event = (
        (pl.col("CRSGRAJ") >= 4).fill_null(False)
        | (pl.col("ICANGRAJ") >= 4).fill_null(False)
        | syndrome_death.fill_null(False)
        | (early_death & pl.col("_related_death").fill_null(False))
    ).fill_null(False)
    return safety.select("USUBJID", event.alias("EVENT"), (event | followed_for(window_days, cut)).alias("EVALUABLE"))


def evaluate_safety(adsl: pl.DataFrame, adae: pl.DataFrame, cut: dt.date, rule: SafetyRule) -> RuleStatus:
    """Worked example (tests/analysis/test_stopping.py): prior Beta(0.5, 4.5), 4 events
    in 10 -> posterior Beta(4.5, 10.5); P(rate > 0.20) = 0.79598 (not crossed at 0.90);
    6 events in 10 -> Beta(6.5, 8.5), P = 0.97673 (crossed). ``cut``: the day the
    windows are seen to (``TrialDrop.seen_to``: the cut, or an earlier latest record)."""
    from scipy.stats import beta

    events = safety_events(adsl, adae, cut, rule.window_days).filter(pl.col("EVALUABLE"))
    n, x = events.height, int(events["EVENT"].sum())
    prob = float(beta.sf(rule.threshold, rule.prior_a + x, rule.prior_b + n - x))
    active = n >= rule.min_evaluable
    crossed = active and prob > rule.probability
    boundary = (
        f"stop if P(rate > {rule.threshold:g} | data) > {rule.probability:g}, prior Beta({rule.prior_a:g}, "
        f"{rule.prior_b:g}), from {rule.min_evaluable} evaluable subjects"
    )
    data = (
        # the death first: "CRS/ICANS ... or a death by day 30" read as a 30-day limit on both
        # (a statistician's; the CRS and ICANS count whenever treatment-emergent)
        f"{x} of {n} evaluable with a treatment-related death by day {rule.window_days} or a grade >= 4 CRS/ICANS "
        "(treatment-emergent); "
        f"P(rate > {rule.threshold:g}) = {shown_against(prob, rule.probability)}"
        + ("" if active else " (monitoring starts later)")
    )
    return RuleStatus(SAFETY, data, boundary, crossed, prob, rule.probability)


def shown_against(value: float, bound: float, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals, or as many more as it takes for the printed
    number to fall on the same side of ``bound`` as the value does: a red team's plan
    with the boundary 0.93441 printed "P = 0.9344" beside "BOUNDARY CROSSED" (0.934412)."""
    while digits < 12:
        printed = round(value, digits)
        if printed != bound and (printed > bound) == (value > bound):
            break
        digits += 1
    return f"{value:.{digits}f}"


def evaluate_simon(
    adsl: pl.DataFrame, rule: EfficacyRule, cut: dt.date, target_enrolment: int = SEARCHED_UP_TO
) -> RuleStatus:
    """Simon's stage 1 is the first n1 subjects of the efficacy set in order of infusion
    (``TRTSDT``, then ``USUBJID``): the patients the design enrolled first, whoever of
    them becomes evaluable first. Evaluability is symmetric (endpoints.md): a subject
    counts once its day-42 window has closed (day 42, or earlier death or other
    therapy), responder or not. Futility is crossed when every one of the n1 is
    evaluable and r1 or fewer responded, or before that when it can no longer be
    avoided: the responders so far, plus every one of the n1 still open or not yet
    infused, are r1 or fewer (curtailment: the outcome is already certain).

    Taking "the first n1 evaluable" instead (this function until 2026-11-30) let an early
    death, evaluable at once as a non-responder, take the place of a responder infused
    before it whose window was still open: 7 of 11 and the boundary crossed, where the
    first 11 infused held 8 responders. The efficacy comparison (r of n) is made
    likewise on the first n infused, once all of them are evaluable. The design is searched
    up to the plan's ``target_enrolment`` (``designs.search_limit``)."""
    design = simon_design(rule.p0, rule.p1, rule.alpha, rule.beta, search_limit(target_enrolment))
    eff = adsl.filter(pl.col("EFFFL") == "Y").sort("TRTSDT", "USUBJID")
    closed = (pl.col("D28CLSDT") <= cut).fill_null(False)
    responded = closed & (pl.col("CRFL") == "Y")

    def counts(n: int) -> tuple[int, int, int]:
        """Responders and evaluable among the first ``n`` infused, and how many are infused."""
        first = eff.head(n).select(responded.sum().alias("k"), closed.sum().alias("c"), pl.len().alias("m"))
        return int(first["k"].item()), int(first["c"].item()), int(first["m"].item())

    k, evaluated, infused = counts(design.n1)
    still = design.n1 - evaluated  # open, or not yet infused: each may yet respond
    complete = evaluated == design.n1
    certain = not complete and k + still <= design.r1
    crossed = (complete and k <= design.r1) or certain
    free = unrestricted_design(design, rule.p0, rule.p1, rule.alpha, rule.beta)
    restricted = (
        ""
        if (free.r1, free.n1, free.r, free.n) == (design.r1, design.n1, design.r, design.n)
        else f"; restricted to n <= {search_limit(target_enrolment)}, the plan's target enrolment: the unrestricted "
        f"optimal design is {free.r1}/{free.n1}, {free.r}/{free.n}"
    )
    boundary = (
        f"Simon optimal two-stage (p0 {rule.p0:g}, p1 {rule.p1:g}, alpha {rule.alpha:g}, beta {rule.beta:g}"
        f"{restricted}): stop for futility if <= {design.r1} of the first {design.n1} respond; promising if > "
        f"{design.r} of {design.n}"
    )
    waiting = design.n1 - infused
    open_ = infused - evaluated
    stage = (
        "stage 1 complete"
        if complete
        else f"{open_} with the day-42 window open" + (f", {waiting} not yet infused" if waiting else "")
    )
    data = (
        f"{k} responders among the first {design.n1} of the efficacy set by infusion, {evaluated} of them "
        f"evaluable ({stage})"
    )
    if certain:
        data += f"; futility certain: even if all {still} still open respond, {k + still} <= {design.r1}"
    all_closed = eff.select(closed.sum().alias("c"), responded.sum().alias("k")).row(0)
    data += f"; {all_closed[1]} of {all_closed[0]} evaluable overall"
    k_n, evaluated_n, _ = counts(design.n)
    conclusion = None
    if evaluated_n == design.n and crossed:
        # a design stopped at stage 1 has no stage 2: its comparison would read as a result
        data += (
            f"; {k_n} of the first {design.n} responded (descriptive only: the design stops at stage 1 "
            f"for futility, so its stage-2 comparison, > {design.r} of {design.n}, does not apply)"
        )
    elif evaluated_n == design.n:
        # the count beside the conclusion: a DSMB reviewer's "efficacy not shown at n = 43" was
        # 30 of 43 where more than 30 were needed, one responder short (2026-12-07)
        # "efficacy shown" overstated a single-arm phase II result to a DSMB reader: the design
        # tests H0, a response rate of p0 or less (2026-12-07)
        rejected = "rejected" if k_n > design.r else "not rejected"
        conclusion = (
            f"{k_n} of the first {design.n} responded (> {design.r} needed): H0 (response rate <= {rule.p0:g}) "
            f"{rejected} at the design's final analysis, one-sided alpha {rule.alpha:g}"
        )
        data += f"; {conclusion}"
        if eff.height > design.n:
            data += f"; the efficacy set holds {eff.height}, past the design's {design.n}"
    return RuleStatus(EFFICACY_FUTILITY, data, boundary, crossed, float(k), float(design.r1), conclusion)


#: what each rule's ``statistic`` is, for its plot across cuts
STATISTICS = {
    SAFETY: "P(rate > threshold)",
    EFFICACY_FUTILITY: "Stage-1 responders",
}
STOPPING_HISTORY_COLUMNS = {
    "cut": pl.String,
    "rule_id": pl.String,
    "statistic": pl.Float64,
    "boundary_value": pl.Float64,
    "crossed": pl.Boolean,
    "current": pl.Boolean,
}


def stopping_history(earlier: dict[str, pl.DataFrame], cut: str, current: pl.DataFrame) -> pl.DataFrame:
    """Each rule's statistic at every earlier published cut (``earlier``: cut -> its
    stopping_rules.csv) and at this one, in date order: the data of page 1's plot.
    A cut published before the rules had a ``boundary_value`` shows none."""
    parts = []
    for when, table in sorted(earlier.items()):
        if when >= cut:
            continue
        parts.append(
            table.select(
                pl.lit(when).alias("cut"),
                pl.col("rule_id").cast(pl.String),
                pl.col("statistic").cast(pl.Float64),
                (pl.col("boundary_value") if "boundary_value" in table.columns else pl.lit(None))
                .cast(pl.Float64)
                .alias("boundary_value"),
                pl.col("crossed").cast(pl.Boolean),
                pl.lit(False).alias("current"),
            )
        )
    parts.append(
        current.select(
            pl.lit(cut).alias("cut"), "rule_id", "statistic", "boundary_value", "crossed", pl.lit(True).alias("current")
        )
    )
    return pl.concat(parts, how="vertical_relaxed").cast(STOPPING_HISTORY_COLUMNS).sort("rule_id", "cut")  # type: ignore[arg-type]


def evaluate_rules(
    adsl: pl.DataFrame, adae: pl.DataFrame, cut: dt.date, plan: AnalysisPlan, seen_to: dt.date | None = None
) -> StoppingResult:
    """Every stopping rule of the plan at this cut, keyed by rule id (``RULES``). A window
    (the safety rule's 30 days, the efficacy rule's day 42) closes by ``seen_to``, the
    last day the drop can show (``TrialDrop.seen_to``; the cut by default): a planned cut
    later than the drop's latest record does not make its subjects followed to it."""
    seen = min(cut, seen_to) if seen_to is not None else cut
    statuses: tuple[RuleStatus, ...] = (
        evaluate_safety(adsl, adae, seen, plan.safety),
        evaluate_simon(adsl, plan.efficacy, seen, plan.conduct.target_enrolment),
    )
    if seen < cut:
        said = f" (windows closed by {seen.isoformat()}, the drop's latest record: nothing later is in it)"
        statuses = tuple(replace(s, data=s.data + said) for s in statuses)
    return StoppingResult(cut.isoformat(), statuses)
