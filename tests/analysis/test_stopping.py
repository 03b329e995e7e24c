"""Stopping rules: Bayesian safety monitoring and Simon's two-stage design."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from trial_outcomes.analysis.safety_summary import safety_headline
from trial_outcomes.analysis.stopping import evaluate_safety, evaluate_simon, safety_events, simon_design
from trial_outcomes.designs import unrestricted_design
from trial_outcomes.plan import EfficacyRule, SafetyRule

CUT = dt.date(2022, 1, 1)
RULE = SafetyRule(prior_a=0.5, prior_b=4.5, threshold=0.20, probability=0.90, min_evaluable=6, window_days=30)


def _adsl(n: int, events: int, infused_days_before_cut: int = 100) -> pl.DataFrame:
    day0 = CUT - dt.timedelta(days=infused_days_before_cut)
    return pl.DataFrame(
        {
            "USUBJID": [f"S{i:02d}" for i in range(n)],
            "SAFFL": ["Y"] * n,
            "TRTSDT": [day0] * n,
            "LDSTDT": [day0 - dt.timedelta(days=5)] * n,
            "ATTRENDT": [None] * n,
            "CRSGRAJ": [4 if i < events else 1 for i in range(n)],
            "ICANGRAJ": [None] * n,
            "DTHDT": [None] * n,
            "DTHDY": [None] * n,
            "DTHCAT": [None] * n,
            "WDDT": [None] * n,
            "LOSTDT": [None] * n,
        },
        schema_overrides={
            "ATTRENDT": pl.Date,
            "ICANGRAJ": pl.Int64,
            "DTHDT": pl.Date,
            "DTHDY": pl.Int64,
            "DTHCAT": pl.String,
            "WDDT": pl.Date,
            "LOSTDT": pl.Date,
        },
    )


def _died(adsl: pl.DataFrame, days: list[int | None], causes: list[str | None]) -> pl.DataFrame:
    """``adsl`` with deaths on the given study days (None: alive), of the given causes."""
    return adsl.with_columns(
        pl.Series("DTHDY", days, pl.Int64),
        pl.Series("DTHCAT", causes, pl.String),
    ).with_columns((pl.col("TRTSDT") + pl.duration(days=pl.col("DTHDY"))).alias("DTHDT"))


NO_AE = pl.DataFrame(schema={"USUBJID": pl.String, "AETOXGR": pl.Int64, "AEREL": pl.String, "TRTEMFL": pl.String})


def test_posterior_probability_matches_quadrature():
    """P(p > 0.2) under Beta(4.5, 10.5) = 0.795977 and under Beta(6.5, 8.5) = 0.976733,
    by numerical integration of x^(a-1) (1-x)^(b-1) / B(a, b) over [0.2, 1] (mpmath)."""
    four = evaluate_safety(_adsl(10, 4), NO_AE, CUT, RULE)
    assert four.statistic == pytest.approx(0.795977441571942, rel=1e-9)
    assert not four.crossed
    six = evaluate_safety(_adsl(10, 6), NO_AE, CUT, RULE)
    assert six.statistic == pytest.approx(0.976733435828328, rel=1e-9)
    assert six.crossed and "6 of 10" in six.data


def test_monitoring_waits_for_the_minimum_number_of_evaluable_subjects():
    """5 of 5 with events: posterior far above 0.9, but fewer than 6 evaluable."""
    assert not evaluate_safety(_adsl(5, 5), NO_AE, CUT, RULE).crossed


def test_subjects_without_30_days_of_follow_up_are_not_yet_evaluable():
    """Infused 10 days before the cut without an event: not evaluable; with an event: evaluable."""
    events = safety_events(_adsl(3, 1, infused_days_before_cut=10), NO_AE, CUT, 30)
    assert events.select("EVENT", "EVALUABLE").rows() == [(True, True), (False, False), (False, False)]


def test_related_death_within_30_days_is_an_event():
    adsl = _died(_adsl(2, 0), [12, 45], ["INFECTION", "INFECTION"])
    adae = pl.DataFrame({"USUBJID": ["S00", "S01"], "AETOXGR": [5, 5], "AEREL": ["Y", "Y"], "TRTEMFL": ["Y", "Y"]})
    assert safety_events(adsl, adae, CUT, 30)["EVENT"].to_list() == [True, False]


def test_the_safety_rule_uses_the_adjudicated_grade():
    """Reported CRS grade 3 but grade 4 derived from monitoring (adjudicated 4): an
    event; a death from ICANS on day 20 (cause category) is an event too."""
    adsl = _died(_adsl(2, 0), [None, 20], [None, "ICANS"]).with_columns(
        pl.Series("CRSGR", [3, 1]),
        pl.Series("CRSGRAJ", [4, 1]),
    )
    assert safety_events(adsl, NO_AE, CUT, 30)["EVENT"].to_list() == [True, True]


def test_a_death_from_crs_counts_inside_the_treatment_window_whenever_it_falls():
    """Three deaths coded CRS, adjudicated grade 1: on day 40 with no other therapy (a
    grade-5 CRS, an event although after day 30: a red team's CRS death missed where
    the subject had no monitoring days); on day 23 after new therapy on day 18
    (outside the treatment-emergent window: no event, endpoints v3; it counted
    before); on day 12 before new therapy on day 18 (an event)."""
    adsl = _died(_adsl(3, 0), [40, 23, 12], ["CRS", "CRS", "CRS"]).with_columns(
        (pl.col("TRTSDT") + pl.duration(days=pl.Series([None, 18, 18], dtype=pl.Int64))).alias("ATTRENDT")
    )
    assert safety_events(adsl, NO_AE, CUT, 30)["EVENT"].to_list() == [True, False, True]


@pytest.mark.parametrize(
    ("p0", "p1", "design"),
    [
        (0.05, 0.25, (0, 9, 2, 17)),  # Simon (1989), Table 1, optimal, alpha 0.05, beta 0.20
        (0.10, 0.30, (1, 10, 5, 29)),
        (0.20, 0.40, (3, 13, 12, 43)),
    ],
)
def test_simon_optimal_designs_match_the_published_table(p0, p1, design):
    d = simon_design(p0, p1, 0.05, 0.20)
    assert (d.r1, d.n1, d.r, d.n) == design
    assert d.alpha <= 0.05 and d.power >= 0.80


def _efficacy_set(n: int, closed: list[bool], responders: list[bool]) -> pl.DataFrame:
    """n subjects infused in order; the day-42 window closed before the cut or not."""
    return pl.DataFrame(
        {
            "USUBJID": [f"S{i}" for i in range(n)],
            "EFFFL": ["Y"] * n,
            "TRTSDT": [CUT - dt.timedelta(days=100 - i) for i in range(n)],
            "CRFL": ["Y" if r else "N" for r in responders],
            "D28CLSDT": [CUT - dt.timedelta(days=1) if c else CUT + dt.timedelta(days=5) for c in closed],
        }
    )


def test_simon_futility_is_crossed_when_stage_one_fails():
    """p0 0.05, p1 0.25: 0/9 then 2/17. Nine evaluable subjects, none responding: crossed;
    one responder: not; eight evaluable: stage 1 incomplete."""
    rule = EfficacyRule(p0=0.05, p1=0.25, alpha=0.05, beta=0.20)
    adsl = _efficacy_set(9, [True] * 9, [False] * 9)
    assert evaluate_simon(adsl, rule, CUT).crossed
    one = _efficacy_set(9, [True] * 9, [i == 3 for i in range(9)])
    assert not evaluate_simon(one, rule, CUT).crossed
    assert not evaluate_simon(adsl.head(8), rule, CUT).crossed


def test_a_design_stopped_at_stage_one_does_not_claim_efficacy_at_its_final_n():
    """p0 0.05, p1 0.25: stop if 0 of the first 9 respond, promising if > 2 of 17. The
    first 9 infused do not respond and subjects 10-17 all do: 8 of 17 is above 2, but
    stage 2 never opens once stage 1 fails, so the report must not print "efficacy
    shown" beside the crossed futility boundary (a reviewer's drop, seed 4242, showed
    both on page 1). With one responder among the first 9 the design continues, and
    9 of 17 rejects H0 (a response rate of 0.05 or less) at the design's final analysis, the
    conclusion page 1 gives first; 2 of 17 does not; a trial that enrolled 20 says it is
    past the design's 17; with only the first 9 no conclusion is drawn."""
    rule = EfficacyRule(p0=0.05, p1=0.25, alpha=0.05, beta=0.20)
    stopped = evaluate_simon(_efficacy_set(17, [True] * 17, [i >= 9 for i in range(17)]), rule, CUT)
    assert stopped.crossed
    assert "rejected" not in stopped.data and stopped.conclusion is None
    assert "8 of the first 17 responded (descriptive only: the design stops at stage 1" in stopped.data
    going = evaluate_simon(_efficacy_set(17, [True] * 17, [i >= 8 for i in range(17)]), rule, CUT)
    said = (
        "9 of the first 17 responded (> 2 needed): H0 (response rate <= 0.05) rejected at the design's final "
        "analysis, one-sided alpha 0.05"
    )
    assert not going.crossed and going.data.endswith(f"; {said}") and going.conclusion == said
    # 2 of the first 17 (one of the first 9, one after): not more than 2, one short
    short = evaluate_simon(_efficacy_set(17, [True] * 17, [i in (3, 12) for i in range(17)]), rule, CUT)
    assert not short.crossed
    assert short.conclusion == (
        "2 of the first 17 responded (> 2 needed): H0 (response rate <= 0.05) not rejected at the design's "
        "final analysis, one-sided alpha 0.05"
    )
    # a trial that enrolled past the design's n says so: 20 in the efficacy set, 17 in the design
    past = evaluate_simon(_efficacy_set(20, [True] * 20, [i >= 8 for i in range(20)]), rule, CUT)
    assert past.conclusion == said
    assert past.data.endswith(f"; {said}; the efficacy set holds 20, past the design's 17")
    # stage 1 not complete: no conclusion yet
    assert evaluate_simon(_efficacy_set(9, [True] * 9, [True] * 9), rule, CUT).conclusion is None


def test_simon_evaluability_is_symmetric():
    """Nine subjects infused 30 days before the cut, two of them in CR since day 21:
    every day-42 window is still open, so no subject is evaluable yet, responders
    included (version 1 counted the two responders at once, 2 of 2, enriching the
    interim for responders). Once the windows close, all nine count."""
    rule = EfficacyRule(p0=0.05, p1=0.25, alpha=0.05, beta=0.20)
    responders = [i < 2 for i in range(9)]
    now = evaluate_simon(_efficacy_set(9, [False] * 9, responders), rule, CUT)
    assert (now.crossed, now.rule_id, now.statistic) == (False, "efficacy_futility", 0.0)
    assert now.data.startswith(
        "0 responders among the first 9 of the efficacy set by infusion, 0 of them evaluable (9 with the day-42"
    )
    later = evaluate_simon(_efficacy_set(9, [True] * 9, responders), rule, CUT)
    assert later.data.startswith(
        "2 responders among the first 9 of the efficacy set by infusion, 9 of them evaluable (stage 1 complete)"
    )


def test_simon_stage_one_is_the_first_infused_not_the_first_evaluable():
    """p0 0.05, p1 0.25: stop if 0 of the first 9 respond. S0-S7 (infused first) are
    evaluable non-responders; S8, the ninth infused, is in CR with its day-42 window
    open; S9, infused last, died on day 5 (evaluable at once, a non-responder). The
    first nine evaluable (S0-S7 and S9) hold 0 responders, but stage 1 is S0-S8 and S8
    may still respond: not crossed (the earlier reading crossed it). When S8's window
    closes in CR: 1 of 9, not crossed; closed without a response: 0 of 9, crossed."""
    rule = EfficacyRule(p0=0.05, p1=0.25, alpha=0.05, beta=0.20)
    closed = [True] * 8 + [False, True]
    now = evaluate_simon(_efficacy_set(10, closed, [i == 8 for i in range(10)]), rule, CUT)
    assert (now.crossed, now.statistic) == (False, 0.0)
    assert "8 of them evaluable (1 with the day-42 window open)" in now.data
    responded = evaluate_simon(_efficacy_set(10, [True] * 10, [i == 8 for i in range(10)]), rule, CUT)
    assert (responded.crossed, responded.statistic) == (False, 1.0)
    failed = evaluate_simon(_efficacy_set(10, [True] * 10, [False] * 10), rule, CUT)
    assert (failed.crossed, failed.statistic) == (True, 0.0)


def test_simon_futility_is_crossed_once_it_is_certain():
    """p0 0.20, p1 0.40: stop if 3 or fewer of the first 13 respond. Ten of the first 13
    evaluable without a response and three open: even if the three respond, 3 <= 3, so
    futility is certain now. Nine evaluable non-responders and four open: 4 > 3, not yet.
    With only 11 infused (9 evaluable non-responders, 2 open, 2 not yet infused): 4, not
    yet."""
    rule = EfficacyRule(p0=0.20, p1=0.40, alpha=0.05, beta=0.20)
    certain = evaluate_simon(_efficacy_set(13, [True] * 10 + [False] * 3, [False] * 13), rule, CUT)
    assert certain.crossed and "futility certain: even if all 3 still open respond, 3 <= 3" in certain.data
    assert not evaluate_simon(_efficacy_set(13, [True] * 9 + [False] * 4, [False] * 13), rule, CUT).crossed
    early = evaluate_simon(_efficacy_set(11, [True] * 9 + [False] * 2, [False] * 11), rule, CUT)
    assert not early.crossed and "2 with the day-42 window open, 2 not yet infused" in early.data


def test_the_stopping_result_travels_in_a_run_tag_unchanged():
    """The typed result the checks, tags, CLI and alerts read: through its JSON tag it
    comes back equal (text with non-ASCII characters, a missing statistic), and the
    words of a crossed rule are those of its check."""
    from trial_outcomes.analysis.stopping import RuleStatus, StoppingResult

    crossed = RuleStatus("safety", "6 of 10 évaluables with an event", "P(rate > 0.2) > 0.9", True, 0.97, 0.9)
    fine = RuleStatus("efficacy_futility", "no stage-1 decision yet", "r1 = 3 of n1 = 13", False, None, 3.0)
    result = StoppingResult("2024-03-31", (crossed, fine))
    assert StoppingResult.from_json(result.to_json()) == result
    assert result.crossed == (crossed,)
    assert result.tag() == "BOUNDARY CROSSED: safety"
    assert result.failed_checks("stopping_rules") == [
        "check stopping_rules:safety_boundary failed: BOUNDARY CROSSED at cut 2024-03-31: "
        "6 of 10 évaluables with an event. Rule: P(rate > 0.2) > 0.9"
    ]
    assert result.alert_lines() == [
        "Safety (Bayesian beta-binomial): BOUNDARY CROSSED at cut 2024-03-31: "
        "6 of 10 évaluables with an event. Rule: P(rate > 0.2) > 0.9"
    ]
    assert result.table()["crossed"].to_list() == [True, False]


def test_a_subject_withdrawn_or_lost_before_the_window_closes_is_not_evaluable():
    """Ten subjects infused 100 days before the cut, S00 and S01 with grade 4 CRS (the
    events). S00 also withdraws on day 5: evaluable by its event. S05 withdraws on day
    5 and S06 is lost on day 12, no event: their 30 days were never followed, so they
    are not evaluable (a red team's rule counted a subject withdrawn on day 5 as 30
    days free of toxicity). S07 is lost on day 30 and S08 withdraws on day 40: followed.
    Evaluable 8, events 2; prior Beta(0.5, 4.5): posterior Beta(2.5, 10.5)."""
    day0 = CUT - dt.timedelta(days=100)
    withdrawn = {0: 5, 5: 5, 8: 40}
    lost = {6: 12, 7: 30}

    def dates(days: dict[int, int]) -> list[dt.date | None]:
        return [day0 + dt.timedelta(days=days[i]) if i in days else None for i in range(10)]

    adsl = _adsl(10, events=2).with_columns(
        pl.Series("WDDT", dates(withdrawn), pl.Date), pl.Series("LOSTDT", dates(lost), pl.Date)
    )
    flags = safety_events(adsl, NO_AE, CUT).select("USUBJID", "EVALUABLE").rows()
    assert [sid for sid, evaluable in flags if not evaluable] == ["S05", "S06"]
    status = evaluate_safety(adsl, NO_AE, CUT, RULE)
    assert "2 of 8 evaluable" in status.data


def test_a_death_without_an_event_is_evaluable_only_once_its_window_has_passed():
    """Four subjects infused 10 days before the cut, S00 with grade 4 CRS. S01 dies of
    infection on day 2 with no grade-5 AE, S02 of CRS on day 3 (a syndrome death: the
    event). S03 is alive. At the cut (day 10): S00 and S02 evaluable by their events;
    S01's death closes nothing: it is not evaluable until day 30 passes (its fatal AE
    and relatedness often reach the export after the death; the drop query
    ``early_deaths_have_fatal_ae`` names it), nor S03. Evaluable 2, events 2. At day 30
    all four are: 2 events of 4 (a red team's 11 deaths on day 0, the last on the cut
    date, read "0 of 10 evaluable": the rule as documented in docs/endpoints.md)."""
    adsl = _died(_adsl(4, events=1, infused_days_before_cut=10), [None, 2, 3, None], [None, "INFECTION", "CRS", None])
    flags = safety_events(adsl, NO_AE, CUT).select("USUBJID", "EVENT", "EVALUABLE").rows()
    assert flags == [("S00", True, True), ("S01", False, False), ("S02", True, True), ("S03", False, False)]
    later = CUT + dt.timedelta(days=20)
    assert safety_events(adsl, NO_AE, later)["EVALUABLE"].to_list() == [True] * 4
    assert "2 of 4 evaluable" in evaluate_safety(adsl, NO_AE, later, RULE).data


def test_the_headline_rates_leave_out_subjects_not_followed_through_their_window():
    """Cut 100 days after every infusion. A withdraws on day 5 (no event); B is lost on
    day 60; C is followed; D withdraws on day 5 after a grade 3 CRS. Death within 30
    days: known for B and C (A and D left before day 30): 0 of 2. Within 100 days: C
    alone (B lost on day 60): 0 of 1. Grade >= 3 CRS (adjudicated): B, C followed 30
    days and D with the event: 1 of 3."""
    day0 = CUT - dt.timedelta(days=100)
    adsl = pl.DataFrame(
        {
            "SAFFL": ["Y"] * 4,
            "TRTSDT": [day0] * 4,
            "WDDT": [day0 + dt.timedelta(days=5), None, None, day0 + dt.timedelta(days=5)],
            "LOSTDT": [None, day0 + dt.timedelta(days=60), None, None],
            "CRSGR": [None, None, None, 3],
            "CRSGRAJ": [None, None, None, 3],
            "ICANGR": [None] * 4,
            "ICANGRAJ": [None] * 4,
            "DTH30FL": ["N"] * 4,
            "DTH100FL": ["N"] * 4,
            "NRMFL": ["N"] * 4,
        },
        schema_overrides={"CRSGR": pl.Int64, "CRSGRAJ": pl.Int64, "ICANGR": pl.Int64, "ICANGRAJ": pl.Int64},
    )
    rows = {r["measure"]: (r["n_events"], r["n"]) for r in safety_headline(adsl, CUT).iter_rows(named=True)}
    assert rows["Death within 30 days of infusion"] == (0, 2)
    assert rows["Death within 100 days of infusion"] == (0, 1)
    assert rows["Grade >= 3 CRS (adjudicated)"] == (1, 3)


def test_the_posterior_is_printed_to_the_digits_that_show_its_side_of_the_boundary():
    """A red team's boundary 0.93441 beside P = 0.934412 printed "0.9344", which reads as
    below it, with "BOUNDARY CROSSED". Printed to 6 decimals, 0.934412 is above 0.93441;
    0.9344 against 0.9 needs no more than 4; a value equal to its bound at 4 decimals
    (0.90001 against 0.9) shows 5."""
    from trial_outcomes.analysis.stopping import shown_against

    assert shown_against(0.934412, 0.93441) == "0.934412"
    assert shown_against(0.9344, 0.9) == "0.9344"
    assert shown_against(0.90001, 0.9) == "0.90001"
    assert shown_against(0.79598, 0.9) == "0.7960"


def test_windows_close_by_the_last_day_the_drop_shows_not_a_later_planned_cut():
    """10 subjects infused 100 days before the cut, 4 with grade 4 CRS, and 10 infused 40
    days before it without one. At the cut all 20 are followed 30 days: 4 of 20,
    P(rate > 0.2) = pbeta(0.2, 4.5, 20.5, lower.tail = FALSE) = 0.358702 (R). A stale drop
    whose latest record is 20 days before the cut has followed the second ten for 20 days
    only: 4 of 10, P = 0.795977 (R: pbeta(0.2, 4.5, 10.5, lower.tail = FALSE)), and the
    rule's data says to when it saw. A red team's stale drop cut two months after its
    latest record counted 82 evaluable where the data showed 81. The safety rates close
    their windows alike (their ``cut`` is ``TrialDrop.seen_to``)."""
    from trial_outcomes.analysis.stopping import evaluate_rules
    from trial_outcomes.plan import load_plan

    early, late = _adsl(10, 4), _adsl(10, 0, infused_days_before_cut=40)
    adsl = pl.concat([early, late.with_columns(pl.col("USUBJID").str.replace("S", "T"))])
    adsl = adsl.with_columns(
        pl.lit("N").alias("EFFFL"), pl.lit(None, pl.Date).alias("D28CLSDT"), pl.lit("N").alias("CRFL")
    )
    plan = load_plan()  # the packaged plan's safety rule is RULE: prior Beta(0.5, 4.5), 0.2, 0.9, 6, 30 days
    assert plan.safety == RULE
    at_cut = evaluate_rules(adsl, NO_AE, CUT, plan).statuses[0]
    assert at_cut.statistic == pytest.approx(0.35870237190647, rel=1e-9) and "4 of 20" in at_cut.data
    seen = CUT - dt.timedelta(days=20)
    stale = evaluate_rules(adsl, NO_AE, CUT, plan, seen_to=seen).statuses[0]
    assert stale.statistic == pytest.approx(0.795977441571942, rel=1e-9) and "4 of 10" in stale.data
    assert f"windows closed by {seen.isoformat()}, the drop's latest record" in stale.data
    assert evaluate_rules(adsl, NO_AE, CUT, plan, seen_to=CUT).statuses[0].data == at_cut.data
    extra = [pl.lit(None, pl.Int64).alias(c) for c in ("CRSGR", "ICANGR")]
    extra += [pl.lit("N").alias(c) for c in ("DTH30FL", "DTH100FL", "NRMFL")]
    rates = safety_headline(adsl.with_columns(extra), seen, 30)
    assert rates.filter(pl.col("measure") == "Grade >= 3 CRS (adjudicated)")["n"].to_list() == [10]


def test_the_last_day_a_drop_shows():
    """The cut (31 March), unless the drop's latest record is earlier (1 February) and no
    extraction date says the export reaches the cut; a latest record after the cut leaves
    the cut."""
    from trial_outcomes.io.records import TrialDrop

    cut, earlier, later = dt.date(2024, 3, 31), dt.date(2024, 2, 1), dt.date(2024, 4, 5)
    enrolment = pl.DataFrame({"subject_id": ["S1"]})

    def drop(**kw: object) -> TrialDrop:
        return TrialDrop(records={"enrolment": enrolment}, cut=cut, **kw)  # type: ignore[arg-type]

    assert drop().seen_to == cut
    assert drop(latest_record=earlier).seen_to == earlier
    assert drop(latest_record=later).seen_to == cut
    assert drop(latest_record=earlier, extracted_on=cut).seen_to == cut


def test_a_simon_design_restricted_by_the_target_enrolment_says_so():
    """p0 0.6, p1 0.8, alpha 0.05, beta 0.2: Simon's optimal design is 7/11, 30/43 (his
    table); restricted to n <= 35 it is 8/13, 25/35 (R, qc/qc.R's ``simon_optimal`` with
    n_max 35: r1 8, n1 13, r 25, n 35, EN0 20.77). A red team's target enrolment of 35 read
    "Simon optimal" for the restricted design; the boundary now says which design it is.
    With the target 120 the design is the unrestricted one, and nothing is added."""
    rule = EfficacyRule(p0=0.6, p1=0.8, alpha=0.05, beta=0.20)
    adsl = _efficacy_set(13, [True] * 13, [True] * 13)
    restricted = evaluate_simon(adsl, rule, CUT, target_enrolment=35).boundary
    assert restricted == (
        "Simon optimal two-stage (p0 0.6, p1 0.8, alpha 0.05, beta 0.2; restricted to n <= 35, the plan's target "
        "enrolment: the unrestricted optimal design is 7/11, 30/43): stop for futility if <= 8 of the first 13 "
        "respond; promising if > 25 of 35"
    )
    assert evaluate_simon(adsl, rule, CUT, target_enrolment=120).boundary == (
        "Simon optimal two-stage (p0 0.6, p1 0.8, alpha 0.05, beta 0.2): stop for futility if <= 7 of the first 11 "
        "respond; promising if > 30 of 43"
    )


def test_the_unrestricted_design_is_searched_again_only_when_the_target_cut_the_search_short():
    """p0 0.6, p1 0.8, alpha 0.05, beta 0.2 (the design of the test above): the search to
    120 ends past three times the expected size 20.48 (n 62 > 61.4), before 120, so the
    unrestricted design is the same one, not searched again; the search to 35 reaches its
    limit, and the unrestricted one is 7/11, 30/43 (Simon's table)."""
    within_120 = simon_design(0.6, 0.8, 0.05, 0.20, 120)
    assert within_120.ended_early
    assert unrestricted_design(within_120, 0.6, 0.8, 0.05, 0.20) is within_120
    searched = simon_design(0.6, 0.8, 0.05, 0.20, 300)
    assert (searched.r1, searched.n1, searched.r, searched.n) == (within_120.r1, within_120.n1, 30, 43)
    within_35 = simon_design(0.6, 0.8, 0.05, 0.20, 35)
    assert not within_35.ended_early
    free = unrestricted_design(within_35, 0.6, 0.8, 0.05, 0.20)
    assert (free.r1, free.n1, free.r, free.n) == (7, 11, 30, 43)
