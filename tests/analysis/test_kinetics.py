"""Cellular kinetics (docs/endpoints.md, "Cellular kinetics (ADPC)"): Cmax, Tmax,
AUC0-28d by the linear trapezoid, the last quantifiable day, values below the LLOQ, and
the summary by day-28 response. Day 0 = the infusion."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import Trial, day
from tests.helpers import examples
from trial_outcomes.analysis import kinetics, labs


def _trial() -> Trial:
    """S1 (CR on day 28): 0, 1000, 4000, 500 copies on days 0, 7, 14, 28 and 50 on day 90.
    AUC0-28d = 7 (0 + 1000)/2 + 7 (1000 + 4000)/2 + 14 (4000 + 500)/2 = 3500 + 17500 +
    31500 = 52,500; Cmax 4000 on day 14; Tlast 90.

    S2 (NR on day 28): BLQ (reported 50) on day 0, 800 on day 7, 300 on day 14, BLQ on days
    28 and 90. BLQ counts as zero: AUC = 7 (0 + 800)/2 + 7 (800 + 300)/2 + 14 (300 + 0)/2 =
    2800 + 3850 + 2100 = 8750; Cmax 800 on day 7; Tlast 14 (a BLQ value is never the last
    quantifiable one)."""
    t = Trial()
    t.enrol("S1").infuse("S1").assess("S1", 28, "CR", 0.0)
    t.enrol("S2").infuse("S2").assess("S2", 28, "NR", 40.0)
    t.lab("S1", "CAR_TRANSGENE", (0, 0.0), (7, 1000), (14, 4000), (28, 500), (90, 50), blq=False)
    t.lab("S2", "CAR_TRANSGENE", (0, 50), (28, 50), (90, 50), blq=True)
    t.lab("S2", "CAR_TRANSGENE", (7, 800), (14, 300), blq=False)
    return t


def _parameters():
    d = _trial().derive(cut_day=200)
    adlb = labs.derive_adlb(d.records["labs"], d.adsl, labs.Limits())
    adpc = kinetics.derive_adpc(adlb)
    return adpc, kinetics.parameters(adpc, d.adsl)


def test_cmax_tmax_auc_and_tlast_worked_example():
    adpc, params = _parameters()
    assert adpc.height == 10 and adpc["PCSEQ"].to_list() == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    assert params.rows() == [
        ("S1", "CR/CRi by day 28", 5, 0, 4000.0, 14, 52500.0, 90, False),
        ("S2", "No CR/CRi by day 28", 5, 0, 800.0, 7, 8750.0, 14, False),
    ]


@pytest.mark.parametrize(
    ("therapy", "expected"),
    [
        # HSCT on day 60: the day-90 sample (50 copies) is the transplant's, not the product's
        ("HSCT", ("S1", "CR/CRi by day 28", 4, 1, 4000.0, 14, 52500.0, 28, False)),
        # a second infusion on day 60: the day-90 sample is the new product's
        ("reinfusion", ("S1", "CR/CRi by day 28", 4, 1, 4000.0, 14, 52500.0, 28, False)),
        # new therapy on day 14: the samples from day 14 on (4000, 500, 50) are set aside; the
        # day 0-28 window is not the product's whole, so no Cmax, Tmax or AUC (a red team's AUC
        # of days 0-7, 3500 here, stood among the non-responders' as a whole one); Tlast 7; the
        # CR on day 28 is the new therapy's, not the product's
        ("NEW_THERAPY", ("S1", "No CR/CRi by day 28", 2, 3, None, None, None, 7, None)),
        # a second infusion on day 1 (a split dose) is the first product's: nothing set aside
        ("split", ("S1", "CR/CRi by day 28", 5, 0, 4000.0, 14, 52500.0, 90, False)),
        # a split dose (days 0 and 1) and a re-infusion on day 60: the day-90 sample is the new
        # product's (until 2026-12-06 TR02SDT was day 1, the split's fraction, so the re-infusion
        # was never seen: a red team's Tlast day 730 for 180; here it would be 90, nothing set aside)
        ("split+reinfusion", ("S1", "CR/CRi by day 28", 4, 1, 4000.0, 14, 52500.0, 28, False)),
        # HSCT on day 0 (before the day-0 sample: ATTRENDT is exclusive) sets every sample aside:
        # the subject is listed with none used
        ("HSCT0", ("S1", "No CR/CRi by day 28", 0, 5, None, None, None, None, None)),
    ],
)
def test_the_kinetics_are_the_first_products_until_hsct_new_therapy_or_a_second_infusion(therapy, expected):
    """S1 of ``_trial`` (0, 1000, 4000, 500 copies on days 0, 7, 14, 28; 50 on day 90).
    A sample on or after the first HSCT, new anti-leukaemia therapy or a re-infusion (an
    infusion more than 7 days after day 0; one within 7 days is a split dose's fraction)
    is not the first product's: it is counted (``n_set_aside``) and not used. Until
    2026-12-01 the day-90 sample after an HSCT on day 60 made Tlast 90 (49 of the sample's
    subjects had a Tlast after HSCT or new therapy). Cut on day 200; for new therapy, also
    at day 20 (day 28 after the cut, but the window is closed by the therapy)."""
    t = Trial()
    t.enrol("S1").infuse("S1").assess("S1", 28, "CR", 0.0)
    t.lab("S1", "CAR_TRANSGENE", (0, 0.0), (7, 1000), (14, 4000), (28, 500), (90, 50), blq=False)
    if therapy in ("reinfusion", "split", "split+reinfusion"):
        for at in {"reinfusion": (60,), "split": (1,), "split+reinfusion": (1, 60)}[therapy]:
            t.infuse("S1", at=at)
    else:
        t.event("S1", {"HSCT": 60, "HSCT0": 0, "NEW_THERAPY": 14}[therapy], therapy.rstrip("0"), "detail")
    for cut_day in (200, 20) if therapy == "NEW_THERAPY" else (200,):
        d = t.derive(cut_day=cut_day)
        adpc = kinetics.derive_adpc(labs.derive_adlb(d.records["labs"], d.adsl, labs.Limits()))
        params = kinetics.parameters(adpc, d.adsl, day(cut_day))
        assert params.rows() == [expected if cut_day == 200 else (*expected[:2], 2, 1, *expected[4:])]
    if therapy.startswith("split"):  # TR02SDT is the re-infusion (the second product), not a split's fraction
        assert d.adsl["TR02SDT"].to_list() == [day(60) if therapy == "split+reinfusion" else None]
        assert d.adsl["NINFUS"].to_list() == [3 if therapy == "split+reinfusion" else 2]  # every infusion


def test_a_cri_by_day_28_is_in_the_cr_cri_group():
    """S1 in CRi on day 28 (not CR): grouped "CR/CRi by day 28" as its label says, not
    among the non-responders (the group read the CR-only flag until 2026-11-30)."""
    t = Trial()
    t.enrol("S1").infuse("S1").assess("S1", 28, "CRi", 0.0)
    t.lab("S1", "CAR_TRANSGENE", (0, 0.0), (7, 1000), (14, 4000), (28, 500), blq=False)
    d = t.derive(cut_day=200)
    adpc = kinetics.derive_adpc(labs.derive_adlb(d.records["labs"], d.adsl, labs.Limits()))
    assert kinetics.parameters(adpc, d.adsl)["response"].to_list() == ["CR/CRi by day 28"]


def test_summary_geometric_mean_and_cv():
    """All: Cmax 4000 and 800: geometric mean sqrt(4000 x 800) = 1788.854; the logs
    differ by ln 5, so their variance is (ln 5)^2 / 2 = 1.29514 and the geometric CV is
    100 sqrt(exp(1.29514) - 1) = 162.835 % (R: 100 * sqrt(exp(var(log(c(4000, 800)))) - 1)).
    Tmax: median of 14 and 7 = 10.5, range 7-14."""
    _, params = _parameters()
    summary = kinetics.summary(params)
    cmax = summary.filter((summary["response"] == "All") & (summary["parameter"] == "Cmax")).row(0, named=True)
    assert cmax["n"] == 2
    assert cmax["centre"] == pytest.approx(1788.854, abs=1e-3)
    assert cmax["geo_cv_pct"] == pytest.approx(162.8351, abs=1e-4)
    tmax = summary.filter((summary["response"] == "All") & (summary["parameter"] == "Tmax")).row(0, named=True)
    assert (tmax["centre"], tmax["low"], tmax["high"]) == (10.5, 7.0, 14.0)
    one = summary.filter((summary["response"] == "CR/CRi by day 28") & (summary["parameter"] == "Cmax"))
    assert one.row(0, named=True)["geo_cv_pct"] is None  # one subject: no CV


def test_a_subject_without_measurable_expansion_is_counted_not_dropped():
    """A red team's non-expander (every transgene sample BLQ: no Cmax, AUC 0) left the
    summary's geometric means, its group's n 13 -> 12, without a word. Three subjects: Cmax
    4000 and 800 and a third with no quantifiable sample (no Cmax, AUC 0). The geometric
    mean stays over the two positive values (sqrt(4000 x 800) = 1788.854), n 2 of N 3, one
    without expansion; the report's population says "1 of 3"."""
    import polars as pl

    from trial_outcomes.reporting.laboratory import _no_expansion

    _, params = _parameters()
    third = params.head(1).with_columns(
        pl.lit("S9").alias("USUBJID"),
        pl.lit(None, pl.Float64).alias("cmax"),
        pl.lit(0.0).alias("auc_0_28"),
        pl.lit(True).alias("no_expansion"),
    )
    summary = kinetics.summary(pl.concat([params, third.cast(params.schema)]))
    cmax = summary.filter((pl.col("response") == "All") & (pl.col("parameter") == "Cmax")).row(0, named=True)
    assert (cmax["n"], cmax["n_subjects"], cmax["n_no_expansion"]) == (2, 3, 1)
    assert cmax["centre"] == pytest.approx(1788.854, abs=1e-3)
    assert _no_expansion(summary).startswith("1 of 3 (")
    assert _no_expansion(kinetics.summary(params)) == "none"


def test_trapezoid_needs_two_samples():
    assert kinetics.trapezoid([3], [10.0]) == 0
    assert kinetics.trapezoid([0, 2, 6], [0.0, 4.0, 0.0]) == 4.0 + 8.0


def test_the_spaghetti_plot_draws_at_most_150_subjects_and_says_so():
    """400 subjects with one sample each: one in ceil(400 / 150) = 3 by identifier, so
    134 lines (subjects 0, 3, ..., 399), and the subtitle says how many of how many."""
    import polars as pl

    from trial_outcomes.reporting.figures.specs import kinetics_spec

    ids = [f"S{i:03d}" for i in range(400)]
    adpc = pl.DataFrame({"USUBJID": ids, "ADY": [7] * 400, "AVAL": [1000.0] * 400, "BLQFL": ["N"] * 400})
    params = pl.DataFrame({"USUBJID": ids, "response": ["CR/CRi by day 28"] * 400, "n_samples": [1] * 400})
    spec = kinetics_spec(adpc, params)
    assert len(spec.profiles) == 134
    assert spec.subtitle.startswith("134 of 400 infused subjects (one in 3 by identifier)")
    small = kinetics_spec(adpc.head(10), params.head(10))
    assert len(small.profiles) == 10 and small.subtitle.startswith("10 infused subjects;")


def test_the_figure_draws_the_samples_the_parameters_use():
    """S1 of the HSCT case: its day-90 sample (after the HSCT on day 60) is not drawn; the
    line ends on day 28, its Tlast."""
    from trial_outcomes.reporting.figures.specs import kinetics_spec

    t = Trial()
    t.enrol("S1").infuse("S1").assess("S1", 28, "CR", 0.0).event("S1", 60, "HSCT", "allogeneic")
    t.lab("S1", "CAR_TRANSGENE", (0, 0.0), (7, 1000), (14, 4000), (28, 500), (90, 50), blq=False)
    d = t.derive(cut_day=200)
    adpc = kinetics.derive_adpc(labs.derive_adlb(d.records["labs"], d.adsl, labs.Limits()))
    spec = kinetics_spec(adpc, kinetics.parameters(adpc, d.adsl, day(200)))
    assert [p.day for p in spec.profiles] == [[0.0, 7.0, 14.0, 28.0]]


def test_kinetics_wait_for_day_28_and_survive_huge_values():
    """At a cut on day 20 the expansion window is open: no Cmax, Tmax or AUC yet. Values 1
    and 1e17 apart: the logs' variance is (ln 1e17)^2 / 2 = 766, exp() would overflow, so
    the geometric CV is left empty; the geometric mean is 10^8.5."""
    d = _trial().derive(cut_day=20)
    adpc = kinetics.derive_adpc(labs.derive_adlb(d.records["labs"], d.adsl, labs.Limits()))
    params = kinetics.parameters(adpc, d.adsl, day(20))
    assert params.select("cmax", "tmax_day", "auc_0_28").rows() == [(None, None, None), (None, None, None)]
    mean, cv = kinetics.geometric([1.0, 1e17])
    assert mean == pytest.approx(10**8.5) and cv is None


def test_subjects_whose_response_is_pending_have_their_own_rows():
    """A cut on day 35: the kinetics window (days 0-28) has closed for S1 and S2, so both
    have Cmax (4000 and 800), but their day-28 responses are pending (the day 21-42
    window is open; a response counts once its window closes, endpoints.md). The summary
    gives them a "Pending" group: Cmax n = 2, geometric mean sqrt(4000 x 800) = 1788.854,
    as All; CR/CRi and No CR/CRi have n = 0, so the groups add up to All (the group was
    missing: 0 + 0 of 2). At day 200 nobody is pending and there is no such row."""
    d = _trial().derive(cut_day=35)
    adpc = kinetics.derive_adpc(labs.derive_adlb(d.records["labs"], d.adsl, labs.Limits()))
    params = kinetics.parameters(adpc, d.adsl, day(35))
    assert params["response"].to_list() == ["Pending", "Pending"]
    summary = kinetics.summary(params)
    cmax = {r["response"]: r for r in summary.filter(summary["parameter"] == "Cmax").iter_rows(named=True)}
    assert list(cmax) == ["CR/CRi by day 28", "No CR/CRi by day 28", "Pending", "All"]
    assert [cmax[g]["n"] for g in cmax] == [0, 0, 2, 2]
    assert cmax["Pending"]["centre"] == pytest.approx(1788.854, abs=1e-3)
    _, final = _parameters()
    assert "Pending" not in kinetics.summary(final)["response"].to_list()


def test_no_measurable_expansion_needs_days_0_28_seen_whole():
    """S1: every transgene sample below the LLOQ (days 7, 14, 28): no Cmax, AUC 0, and
    ``no_expansion`` at a cut on day 200. At a cut on day 20 the window is open: empty,
    not yet a non-expander. S2 (1000 copies on day 7): an expansion."""
    t = Trial()
    t.enrol("S1").infuse("S1").assess("S1", 28, "NR", 40.0)
    t.enrol("S2").infuse("S2").assess("S2", 28, "CR", 0.0)
    t.lab("S1", "CAR_TRANSGENE", (7, 20), (14, 20), (28, 20), blq=True)
    t.lab("S2", "CAR_TRANSGENE", (7, 1000), (14, 200), (28, 20), blq=False)
    for cut_day, expected in ((200, [(None, 0.0, True), (1000.0, 5740.0, False)]), (20, [(None, None, None)] * 2)):
        d = t.derive(cut_day=cut_day)
        adpc = kinetics.derive_adpc(labs.derive_adlb(d.records["labs"], d.adsl, labs.Limits()))
        params = kinetics.parameters(adpc, d.adsl, day(cut_day))
        # S2's AUC: 7 (1000 + 200)/2 + 14 (200 + 20)/2 = 4200 + 1540 = 5740 from day 7
        assert params.select("cmax", "auc_0_28", "no_expansion").rows() == expected


def test_a_withdrawal_before_day_28_leaves_the_kinetics_window_unseen():
    """A red team's subject withdrew on day 10: days 0-10 stood for days 0-28 (its Cmax and
    AUC among the non-responders'; with every sample BLQ, a "non-expander"). S1 withdraws
    on day 10 (samples 1000 and 2000 copies on days 7 and 10): no Cmax, Tmax, AUC or
    no_expansion. S2, lost on day 28, the window seen: Cmax 2000 on day 14, AUC 7 (1000 +
    2000)/2 + 14 (2000 + 500)/2 = 10500 + 17500 = 28000."""
    t = Trial()
    t.enrol("S1").infuse("S1").lab("S1", "CAR_TRANSGENE", (7, 1000), (10, 2000), blq=False)
    t.event("S1", 10, "WITHDRAWAL", "Consent withdrawn")
    t.enrol("S2").infuse("S2").lab("S2", "CAR_TRANSGENE", (7, 1000), (14, 2000), (28, 500), blq=False)
    t.event("S2", 28, "LOST", "No contact")
    d = t.derive(cut_day=200)
    adpc = kinetics.derive_adpc(labs.derive_adlb(d.records["labs"], d.adsl, labs.Limits()))
    params = kinetics.parameters(adpc, d.adsl, day(200))
    assert params.select("USUBJID", "cmax", "tmax_day", "auc_0_28", "no_expansion").rows() == [
        ("S1", None, None, None, None),
        ("S2", 2000.0, 14, 28000.0, False),
    ]
    # S1, withdrawn before any assessment, is outside the efficacy set: not a non-responder (a
    # DSMB reviewer's sample counted 31 "No CR/CRi by day 28" where the response tables had 29:
    # two such subjects). S2, lost, not withdrawn, is in it, with no response: a non-responder.
    assert d.adsl.sort("USUBJID")["EFFFL"].to_list() == ["N", "Y"]
    assert params["response"].to_list() == ["Not evaluable for response", "No CR/CRi by day 28"]
    groups = kinetics.summary(params).filter(pl.col("parameter") == "Cmax")
    assert groups.select("response", "n_subjects").rows() == [
        ("CR/CRi by day 28", 0),
        ("No CR/CRi by day 28", 1),
        ("Not evaluable for response", 1),
        ("All", 2),
    ]


# the parameters as they were computed subject by subject (until 2026-12-02: a loop over
# 100,000 subjects took 3.8 s), the reference the column expressions are held to
def _ref_parameters(adpc, adsl, cut):

    out = []
    for r in adsl.filter(pl.col("SAFFL") == "Y").sort("USUBJID").iter_rows(named=True):
        # TR02SDT is the re-infusion (ADSL takes a split dose's fractions as the first product)
        end = min((d for d in (r["ATTRENDT"], r["TR02SDT"]) if d is not None), default=None)
        left = min((d for d in (r["WDDT"], r["LOSTDT"]) if d is not None), default=None)
        mine = sorted(
            (s["ADY"], s["ADT"], s["AVAL"], s["BLQFL"])
            for s in adpc.iter_rows(named=True)
            if s["USUBJID"] == r["USUBJID"] and s["ADY"] >= 0
        )
        if not mine:
            continue
        own = [(d, v if flag != "Y" else 0.0) for d, when, v, flag in mine if end is None or when < end]
        early = [(d, v) for d, v in own if d <= kinetics.AUC_END_DAY]
        peak = max((v for _, v in early), default=0.0)
        tmax = next((d for d, v in early if v == peak), None) if peak > 0 else None
        auc = None
        if len(early) >= 2:
            auc = sum(
                (early[i + 1][0] - early[i][0]) * (early[i][1] + early[i + 1][1]) / 2 for i in range(len(early) - 1)
            )
        tlast = max((d for d, v in own if v > 0), default=None)
        cut_short = (end is not None and (end - r["TRTSDT"]).days <= 28) or (
            left is not None and (left - r["TRTSDT"]).days < 28
        )
        ended = r["DTHDT"] is not None or end is not None
        window_open = cut is not None and not ended and (cut - r["TRTSDT"]).days < 28
        whole = not (window_open or cut_short or not own)
        if not whole:
            peak, tmax, auc = 0.0, None, None
        group = (
            "Not evaluable for response"
            if r["EFFFL"] != "Y"
            else "Pending"
            if r["D28PNDFL"] == "Y"
            else kinetics.RESPONSE_GROUPS[0 if r["CRFL"] == "Y" else 1]
        )
        no_expansion = (bool(early) and peak == 0) if whole else None
        out.append(
            (
                r["USUBJID"],
                group,
                len(own),
                len(mine) - len(own),
                peak if peak > 0 else None,
                tmax,
                auc,
                tlast,
                no_expansion,
            )
        )
    return out


_KIN_SUBJECTS = ["S1", "S2", "S3"]
# days at the rules' edges (day 28) as often as any other
_KIN_DAY = st.one_of(st.none(), st.sampled_from([0, 27, 28, 29]), st.integers(0, 45))


@settings(max_examples=examples(100), deadline=None)
@given(
    samples=st.lists(
        st.tuples(
            st.sampled_from(_KIN_SUBJECTS),
            st.one_of(st.sampled_from([0, 28, 29]), st.integers(-5, 60)),
            st.one_of(st.just(0.0), st.floats(0.1, 1e6), st.sampled_from([0.3, 1.7, 1e-3, 123456.789])),
            st.sampled_from(["Y", "N", None]),
        ),
        max_size=40,
        unique_by=lambda s: s[:2],
    ),
    subjects=st.lists(
        st.tuples(
            st.booleans(), st.booleans(), st.booleans(), _KIN_DAY, _KIN_DAY, _KIN_DAY, _KIN_DAY, _KIN_DAY, st.booleans()
        ),
        min_size=3,
        max_size=3,
    ),
    starts=st.lists(st.integers(-2, 2), min_size=3, max_size=3),
    order=st.permutations(_KIN_SUBJECTS),
    cut_day=st.one_of(st.none(), st.integers(0, 60)),
)
def test_parameters_follow_the_rules_subject_by_subject(samples, subjects, starts, order, cut_day):
    """Any transgene samples of three subjects (BLQ or not, on any day from -5 to 60, any
    value from 0 to a million), infused or not, responding or pending, dead, at the end of
    attribution, re-infused, withdrawn or lost on any day or never, at any cut or none:
    ``parameters`` equals the rules computed subject by subject in Python (the loop its
    column expressions replaced), the AUC to the last bit (the areas added one after the
    other); each subject infused on its own day, ADSL's rows in any order."""
    import datetime as dt

    day0 = dt.date(2021, 1, 1)

    def on(d):
        return None if d is None else day0 + dt.timedelta(days=d)

    adpc = pl.DataFrame(
        {
            "USUBJID": [s for s, *_ in samples],
            "ADT": [on(starts[_KIN_SUBJECTS.index(s)] + d) for s, d, *_ in samples],
            "ADY": [d for _, d, *_ in samples],
            "AVAL": [v for *_, v, _ in samples],
            "BLQFL": [f for *_, f in samples],
        },
        schema={"USUBJID": pl.String, "ADT": pl.Date, "ADY": pl.Int64, "AVAL": pl.Float64, "BLQFL": pl.String},
    )
    dates = ("DTHDT", "ATTRENDT", "TR02SDT", "WDDT", "LOSTDT")
    adsl = pl.DataFrame(
        {
            "USUBJID": _KIN_SUBJECTS,
            "SAFFL": ["Y" if s[0] else "N" for s in subjects],
            "EFFFL": ["Y" if s[0] and s[8] else "N" for s in subjects],
            "CRFL": ["Y" if s[1] else "N" for s in subjects],
            "D28PNDFL": ["Y" if s[2] else None for s in subjects],
            "TRTSDT": [on(start) for start in starts],
            **{name: [on(s[3 + i]) for s in subjects] for i, name in enumerate(dates)},
        },
        schema={"USUBJID": pl.String, "SAFFL": pl.String, "EFFFL": pl.String, "CRFL": pl.String, "D28PNDFL": pl.String}
        | dict.fromkeys(("TRTSDT", *dates), pl.Date),
    )[[_KIN_SUBJECTS.index(s) for s in order]]
    cut = on(cut_day)
    got = kinetics.parameters(adpc, adsl, cut)
    assert got.rows() == _ref_parameters(adpc, adsl, cut)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.lists(st.floats(0, 1e12), max_size=300), max_size=4))
def test_areas_are_added_one_after_the_other(groups):
    """The AUC's areas, in a subject's group as ``parameters`` adds them, are added left to
    right with each addition rounded: the sum the loop over subjects computed (Python
    3.11's ``sum``), written here as that loop. Groups of up to 300 areas: polars' ``sum``
    in a group adds in another order and differs in the last bit, and so would Python
    3.12's compensated ``sum``."""
    frame = pl.DataFrame(
        {"USUBJID": [f"S{i}" for i, g in enumerate(groups) for _ in g], "_area": [v for g in groups for v in g]},
        schema={"USUBJID": pl.String, "_area": pl.Float64},
    )
    got = dict(frame.group_by("USUBJID").agg(kinetics._area(pl.col("_area"))).iter_rows())
    for i, values in enumerate(groups):
        if not values:
            continue
        total = 0.0
        for v in values:
            total += v
        assert got[f"S{i}"] == total


def test_blqfl_is_empty_when_the_drop_does_not_collect_below_lloq():
    """A labs file without ``below_lloq`` states no value below the limit of
    quantification: ADLB's BLQFL is empty, not N ("quantified", as if recorded so), and
    each value counts as itself. S2's day-0, 28 and 90 values (50 copies) then count as
    50, not as zero: AUC0-28 = 7 (50 + 800)/2 + 7 (800 + 300)/2 + 14 (300 + 50)/2 =
    2975 + 3850 + 2450 = 9275; Tlast 90 (the last quantified value)."""
    d = _trial().derive(cut_day=200)
    adlb = labs.derive_adlb(d.records["labs"], d.adsl, labs.Limits(), blq_collected=False)
    assert adlb["BLQFL"].null_count() == adlb.height
    params = kinetics.parameters(kinetics.derive_adpc(adlb), d.adsl)
    s2 = params.filter(pl.col("USUBJID") == "S2").row(0)
    assert s2[4:8] == (800.0, 7, 9275.0, 90)
    collected = labs.derive_adlb(d.records["labs"], d.adsl, labs.Limits())
    assert set(collected["BLQFL"].to_list()) == {"Y", "N"}
