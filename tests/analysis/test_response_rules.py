"""Response rules of endpoints.md version 3, each with its worked example in study
days (day 0 = infusion; the cut is day 1000 unless said)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import Trial, adsl_row, day, tte
from trial_outcomes.analysis.rates import response_summary


def test_remission_after_salvage_is_not_a_car_t_remission():
    """NR at day 28, salvage chemotherapy from day 43, CR at month 2 (day 61): no
    attributable remission, so no DFS/CIR row, EFS treatment failure at day 1,
    ORR3M N. Version 1 credited the CR to CAR-T."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "NR")
        .event("S1", 43, "NEW_THERAPY", "Salvage chemotherapy")
        .assess("S1", 61, "CR", 0.0)
        .derive()
    )
    row = adsl_row(d)
    assert (row["FRMDT"], row["CRFL"], row["ORR3MFL"], row["ATTRENDT"]) == (None, "N", "N", day(43))
    assert tte(d, "DFS") is None and tte(d, "CIR") is None
    assert (tte(d, "EFS")["AVAL"], tte(d, "EFS")["EVNTDESC"]) == (1, "Treatment failure: no CR/CRi by day 42")


def test_assessment_on_the_day_of_new_therapy_does_not_count():
    """CR on day 30, the same day as an HSCT: not before the HSCT, so not attributable;
    with the HSCT on day 31 it is."""
    same = Trial().enrol("S1").infuse("S1").assess("S1", 30, "CR", 0.0).event("S1", 30, "HSCT", "Donor").derive()
    later = Trial().enrol("S1").infuse("S1").assess("S1", 30, "CR", 0.0).event("S1", 31, "HSCT", "Donor").derive()
    assert adsl_row(same)["CRFL"] == "N" and adsl_row(later)["CRFL"] == "Y"


def test_best_response_window_is_day_21_to_42_and_cr_beats_cri():
    """S1: CR on day 20 (outside), CRi day 28 -> CRi. S2: CRi day 21, CR day 42 -> CR
    dated day 42. S3: CR on day 43 only -> NE (non-responder), a late responder."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 20, "CR")
        .assess("S1", 28, "CRi")
        .enrol("S2")
        .infuse("S2")
        .assess("S2", 21, "CRi")
        .assess("S2", 42, "CR")
        .enrol("S3")
        .infuse("S3")
        .assess("S3", 43, "CR")
        .derive()
    )
    assert [adsl_row(d, s)["BOR28"] for s in ("S1", "S2", "S3")] == ["CRi", "CR", "NE"]
    assert adsl_row(d, "S2")["BORDY"] == 42
    assert [adsl_row(d, s)["CRFL"] for s in ("S1", "S2", "S3")] == ["Y", "Y", "N"]
    assert (adsl_row(d, "S3")["LATERMFL"], adsl_row(d, "S3")["FRMDY"]) == ("Y", 43)


def test_mrd_persistent_entrants_respond_by_mrd_conversion():
    """Three MRD-persistent entrants (in morphologic CR at entry), CR at day 28: S1 MRD
    0.005 % (converted: responder, remission day 28); S2 MRD 0.3 % (not converted:
    not a responder, no DFS row, EFS failure); S3 MRD 0.3 % at day 28, 0.004 % at
    day 61 (converts late: remission day 61, EFS failure at day 1)."""
    t = Trial()
    for sid in ("S1", "S2", "S3"):
        t.enrol(sid, disease_status="mrd_persistent", bm_blast_pct=2.0).infuse(sid)
    t.assess("S1", 28, "CR", 0.005).assess("S2", 28, "CR", 0.3).assess("S3", 28, "CR", 0.3).assess(
        "S3", 61, "CR", 0.004
    )
    d = t.derive()
    assert [adsl_row(d, s)["CRFL"] for s in ("S1", "S2", "S3")] == ["Y", "N", "N"]
    assert [adsl_row(d, s)["BOR28"] for s in ("S1", "S2", "S3")] == ["CR", "CR", "CR"]
    assert [adsl_row(d, s)["FRMDT"] for s in ("S1", "S2", "S3")] == [day(28), None, day(61)]
    assert tte(d, "DFS", "S2") is None
    assert [tte(d, "EFS", s)["CNSR"] for s in ("S2", "S3")] == [0, 0]


def test_relapse_in_the_window_after_an_early_cr_is_a_relapse_not_a_failure():
    """CR on day 14, relapse on day 28: the subject responded (by day 42), so the EFS
    event is the relapse on day 28, consistent with DFS (from day 14, event at 14
    days); the day-28 best response is the relapse: no remission in day 21-42, but an
    assessment (not NE, which is a window without one)."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 14, "CR", 0.0)
        .assess("S1", 28, "RELAPSE", site="BM", cd19="NEG")
        .derive()
    )
    efs, dfs = tte(d, "EFS"), tte(d, "DFS")
    assert (efs["AVAL"], efs["CNSR"], efs["EVNTDESC"]) == (28, 0, "Relapse")
    assert (dfs["STARTDT"], dfs["AVAL"], dfs["EVNTDESC"]) == (day(14), 14, "Relapse")
    row = adsl_row(d)
    assert (row["BOR28"], row["RSP42FL"], row["TRTFLFL"], row["RELCD19"]) == ("RELAPSE", "Y", "N", "NEG")


def test_a_remission_after_the_first_relapse_is_no_best_response_nor_an_orr3m_remission():
    """A red team's subject: CR on day 13, an isolated CNS relapse on day 31, marrow CR on
    day 41, no therapy between, cut day 1000. The best response up to the relapse, in days
    21-42, is the relapse (the day-41 CR comes after it): BOR28 RELAPSE, not a responder,
    not MRD-negative. ORR3M: the day-13 remission is broken by the relapse 18 days later and
    the day-41 one comes after the relapse: N. EFS keeps the relapse on day 31. Until
    2026-12-06 the day-41 CR made the subject CR by day 28 and an ORR3M responder. S2, the
    same without the relapse: CR by day 28 (day 41) and ORR3M Y from day 13."""
    t = Trial()
    for sid in ("S1", "S2"):
        t.enrol(sid).infuse(sid).assess(sid, 13, "CR", 0.0)
    t.assess("S1", 31, "RELAPSE", site="CNS", cd19="NEG").assess("S1", 41, "CR", 0.0)
    t.assess("S2", 41, "CR", 0.0)
    d = t.derive()
    one, two = adsl_row(d, "S1"), adsl_row(d, "S2")
    assert (one["BOR28"], one["CRFL"], one["MRDNEGFL"], one["ORR3MFL"]) == ("RELAPSE", "N", "N", "N")
    assert (one["RSP42FL"], one["RELDT"]) == ("Y", day(31))
    efs = tte(d, "EFS", "S1")
    assert (efs["AVAL"], efs["CNSR"], efs["EVNTDESC"]) == (31, 0, "Relapse")
    assert (two["BOR28"], two["CRFL"], two["ORR3MFL"], two["ORR3MDT"]) == ("CR", "Y", "Y", day(13))


def test_a_remission_lost_without_a_relapse_record_is_found_for_the_report():
    """S1: CR on day 14, NR on day 28 and 60 (the synthetic drops' transient remission):
    lost on day 28. S2: CR on day 14, RELAPSE on day 40, NR on day 60: the relapse is on
    record, not found. S3: CRi on day 28, PR on day 56: lost on day 56. S4: NR on day 28,
    CR on day 60: a late response, nothing lost. S5: CR on day 28, NR after an HSCT on day
    40 (on day 90): found whatever the attribution, day 90. The note names the endpoint."""
    from trial_outcomes.analysis.response import remission_lost_without_relapse
    from trial_outcomes.reporting.efficacy import lost_remission_note

    t = Trial()
    for sid in ("S1", "S2", "S3", "S4", "S5"):
        t.enrol(sid).infuse(sid)
    t.assess("S1", 14, "CR", 0.0).assess("S1", 28, "NR").assess("S1", 60, "NR")
    t.assess("S2", 14, "CR", 0.0).assess("S2", 40, "RELAPSE", site="BM", cd19="NEG").assess("S2", 60, "NR")
    t.assess("S3", 28, "CRi", 0.0).assess("S3", 56, "PR")
    t.assess("S4", 28, "NR").assess("S4", 60, "CR", 0.0)
    t.assess("S5", 28, "CR", 0.0).event("S5", 40, "HSCT", "Donor").assess("S5", 90, "NR")
    lost = remission_lost_without_relapse(t.derive().adrs)
    assert lost.rows() == [("S1", day(28)), ("S3", day(56)), ("S5", day(90))]
    assert lost_remission_note(3, "DFS").startswith(
        "3 subject(s) lost a CR/CRi without a relapse record (an NR or PR assessment after it, before any relapse): "
        "DFS counts no relapse for them at the loss"
    )


def test_an_mrd_persistent_entrant_relapses_from_day_0():
    """MRD-persistent entrants are in morphologic remission from entry (a red team's two
    drops). S1 relapses on day 14 (BM, CD19-negative) and never converts: EFS is the
    treatment failure at day 1, DFS has no S1, and the relapse is in the relapse table
    (before, only relapses after an MRD-negative remission were, so this CD19-negative
    relapse was in no table). S2 relapses on day 14 and is MRD-negative in CR on day 28:
    the EFS event is the relapse on day 14 (before: censored at the last assessment);
    DFS starts on day 28 and, with no relapse after it, is censored there."""
    from trial_outcomes.analysis.relapse import relapse_summary

    d = (
        Trial()
        .enrol("S1", disease_status="mrd_persistent")
        .infuse("S1")
        .assess("S1", 14, "RELAPSE", site="BM", cd19="NEG")
        .assess("S1", 28, "NR", 2.0)
        .enrol("S2", disease_status="mrd_persistent")
        .infuse("S2")
        .assess("S2", 14, "RELAPSE", site="BM", cd19="POS")
        .assess("S2", 28, "CR", 0.005)
        .derive()
    )
    s1, s2 = adsl_row(d, "S1"), adsl_row(d, "S2")
    assert (s1["RLAPDT"], s1["RLAPCD19"], s1["RELDT"]) == (day(14), "NEG", None)
    assert (s2["RLAPDT"], s2["RELDT"], s2["FRMDT"]) == (day(14), None, day(28))
    assert (tte(d, "EFS", "S1")["AVAL"], tte(d, "EFS", "S1")["EVNTDESC"]) == (
        1,
        "Treatment failure: no CR/CRi by day 42",
    )
    assert (tte(d, "EFS", "S2")["AVAL"], tte(d, "EFS", "S2")["CNSR"], tte(d, "EFS", "S2")["EVNTDESC"]) == (
        14,
        0,
        "Relapse",
    )
    dfs = tte(d, "DFS", "S2")
    assert (dfs["AVAL"], dfs["CNSR"]) == (0, 1)
    table = relapse_summary(d.adsl, (6,)).summary.filter(pl.col("section") == "site_by_cd19")
    counts = {(r["site"], r["cd19"]): r["n"] for r in table.iter_rows(named=True)}
    assert (counts[("BM", "NEG")], counts[("BM", "POS")], counts[("All", "All")]) == (1, 1, 2)


def test_pending_subjects_leave_the_denominator_responders_too():
    """Cut on 2021-01-31 (day 30 of S1-S3). S1: CR on day 21, window open until day
    42: pending, an early responder (version 3: out of numerator and denominator;
    version 2 counted it, 1/3). S2: NR on day 21, window open: pending. S3: NR on
    day 28, died on day 29: the death closes the window, a non-responder. S4,
    infused 20 days earlier: NR on its days 23 and 25, window closed on its day 42
    (before the cut): a non-responder. CR/CRi by day 28: 0/2 with 2 pending, 1 of
    them responding (the futility rule's set: S3 and S4)."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 21, "CR", 0.0)
        .enrol("S2")
        .infuse("S2")
        .assess("S2", 21, "NR")
        .enrol("S3")
        .infuse("S3")
        .assess("S3", 28, "NR")
        .event("S3", 29, "DEATH", "Refractory leukemia")
        .enrol("S4", enrol_day=-30)
        .infuse("S4", at=-20)
        .assess("S4", 3, "NR")
        .assess("S4", 5, "NR")
    )
    d = t.derive(cut_day=30)
    assert [adsl_row(d, s)["D28PNDFL"] for s in ("S1", "S2", "S3", "S4")] == ["Y", "Y", "N", "N"]
    assert [adsl_row(d, s)["D28ERLFL"] for s in ("S1", "S2", "S3", "S4")] == ["Y", "N", "N", "N"]
    assert [adsl_row(d, s)["BOR28"] for s in ("S1", "S2")] == ["PENDING", "PENDING"]
    overall = (
        response_summary(d.adsl, ())
        .filter((pl.col("parameter") == "CR/CRi by day 28") & (pl.col("group_var") == "all"))
        .row(0, named=True)
    )
    assert (overall["responders"], overall["n"], overall["n_pending"], overall["n_pending_responders"]) == (
        0,
        2,
        2,
        1,
    )
    # at day 42 S1's and S2's windows close: 1/4
    later = response_summary(t.derive(cut_day=42).adsl, ()).row(0, named=True)
    assert (later["responders"], later["n"], later["n_pending"]) == (1, 4, 0)


def test_mrd_negative_at_any_remission_in_the_window():
    """Version 3. S1: CR with MRD 0.5 % on day 27, then CR with MRD 0 on day 39:
    MRD-negative (version 2 looked only at day 27, the best response's first date).
    S2: CRi MRD 0 on day 22, then CR MRD 0.8 % on day 28: best response CR (MRD 0.8),
    and MRD-negative by the CRi. S3: CR MRD 0 on day 45 only (outside the window):
    not MRD-negative. S4: PR MRD 0 on day 28: not a remission, not MRD-negative."""
    t = Trial()
    for sid in ("S1", "S2", "S3", "S4"):
        t.enrol(sid).infuse(sid)
    t.assess("S1", 27, "CR", 0.5).assess("S1", 39, "CR", 0.0)
    t.assess("S2", 22, "CRi", 0.0).assess("S2", 28, "CR", 0.8)
    t.assess("S3", 28, "NR").assess("S3", 45, "CR", 0.0)
    t.assess("S4", 28, "PR", 0.0)
    d = t.derive()
    assert [adsl_row(d, s)["MRDNEGFL"] for s in ("S1", "S2", "S3", "S4")] == ["Y", "Y", "N", "N"]
    assert (adsl_row(d, "S2")["BOR28"], adsl_row(d, "S2")["BORMRD"]) == ("CR", 0.8)


def test_orr3m_needs_a_remission_by_day_91_maintained_28_days():
    """Cut on day 100. S1: CR on day 28 and 61, no relapse by day 56: ORR3M Y, dated
    day 28. S2: CR on day 28, relapse on day 50 (within 28 days: not maintained) and
    no other remission by day 91: N. S3: first CR on day 85; its 28 days end on day
    113, after the cut: pending (Y at a cut on day 120). S4: NR on day 28 and 61,
    day 91 passed: N."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "CR", 0.0)
        .assess("S1", 61, "CR", 0.0)
        .enrol("S2")
        .infuse("S2")
        .assess("S2", 28, "CR", 0.0)
        .assess("S2", 50, "RELAPSE")
        .enrol("S3")
        .infuse("S3")
        .assess("S3", 28, "NR")
        .assess("S3", 85, "CR", 0.0)
        .enrol("S4")
        .infuse("S4")
        .assess("S4", 28, "NR")
        .assess("S4", 61, "NR")
    )
    d = t.derive(cut_day=100)
    rows = [adsl_row(d, s) for s in ("S1", "S2", "S3", "S4")]
    assert [(r["ORR3MFL"], r["ORR3MPFL"]) for r in rows] == [("Y", "N"), ("N", "N"), ("N", "Y"), ("N", "N")]
    assert rows[0]["ORR3MDT"] == day(28)
    assert adsl_row(t.derive(cut_day=120), "S3")["ORR3MFL"] == "Y"


def test_orr3m_remission_must_last_28_days_without_relapse_loss_or_death():
    """Version 3 (version 2 looked only for a relapse record). Cut day 1000.
    S1: CR on days 15 and 28, dies of leukaemia on day 40 with no relapse record:
    both remissions end by death within 28 days (40 - 15 = 25, 40 - 28 = 12): N.
    S2: CR on day 28, dies of sepsis on day 52 (24 days later): N.
    S3: CR on day 13, NR on day 26 (13 days later): the remission is lost: N.
    S4: CR on day 13, NR on day 26, CR again on day 60 and 90, alive: the day-60
    remission lasts to day 88 unbroken: Y, dated day 60.
    S5: CR on day 28, HSCT on day 40, CR after it on day 60: consolidation does not
    end a remission: Y, dated day 28.
    S6: CR on day 28, death on day 57 (29 days later): maintained: Y."""
    t = Trial()
    for sid in ("S1", "S2", "S3", "S4", "S5", "S6"):
        t.enrol(sid).infuse(sid)
    t.assess("S1", 15, "CR", 0.0).assess("S1", 28, "CR", 0.0).event("S1", 40, "DEATH", "Leukaemia")
    t.assess("S2", 28, "CR", 0.0).event("S2", 52, "DEATH", "Sepsis")
    t.assess("S3", 13, "CR", 0.0).assess("S3", 26, "NR")
    t.assess("S4", 13, "CR", 0.0).assess("S4", 26, "NR").assess("S4", 60, "CR", 0.0).assess("S4", 90, "CR", 0.0)
    t.assess("S5", 28, "CR", 0.0).event("S5", 40, "HSCT", "Donor").assess("S5", 60, "CR", 0.0)
    t.assess("S6", 28, "CR", 0.0).event("S6", 57, "DEATH", "Sepsis")
    d = t.derive()
    got = {s: (adsl_row(d, s)["ORR3MFL"], adsl_row(d, s)["ORR3MDT"]) for s in ("S1", "S2", "S3", "S4", "S5", "S6")}
    assert got == {
        "S1": ("N", None),
        "S2": ("N", None),
        "S3": ("N", None),
        "S4": ("Y", day(60)),
        "S5": ("Y", day(28)),
        "S6": ("Y", day(28)),
    }
    assert all(adsl_row(d, s)["ORR3MPFL"] == "N" for s in got)


def test_a_remission_whose_28_days_a_loss_to_follow_up_cuts_short_is_not_maintained():
    """A red team's subject lost 11 days after a CR was an ORR3M responder (28 of 37 for 27):
    the 28 days were never seen. Cut day 1000. S1: CR on day 28, lost on day 39: N, not
    pending. S2: the same, and assessed CR on day 60 after the loss (an assessment can
    follow one): Y, dated day 28. S3: CR on day 28, withdrawn on day 70, after the 28
    days: Y. S4: CR on day 28, withdrawn on day 39, at a cut on day 50 (the 28 days end on
    day 56): pending, as a remission awaiting its 28 days is."""
    t = Trial()
    for sid in ("S1", "S2", "S3"):
        t.enrol(sid).infuse(sid).assess(sid, 28, "CR", 0.0)
    t.event("S1", 39, "LOST").event("S2", 39, "LOST").assess("S2", 60, "CR", 0.0).event("S3", 70, "WITHDRAWAL")
    d = t.derive()
    got = {
        s: (adsl_row(d, s)["ORR3MFL"], adsl_row(d, s)["ORR3MDT"], adsl_row(d, s)["ORR3MPFL"])
        for s in ("S1", "S2", "S3")
    }
    assert got == {"S1": ("N", None, "N"), "S2": ("Y", day(28), "N"), "S3": ("Y", day(28), "N")}
    early = (
        Trial().enrol("S4").infuse("S4").assess("S4", 28, "CR", 0.0).event("S4", 39, "WITHDRAWAL").derive(cut_day=50)
    )
    assert (adsl_row(early, "S4")["ORR3MFL"], adsl_row(early, "S4")["ORR3MPFL"]) == ("N", "Y")


def test_an_mrd_persistent_remission_ends_when_mrd_comes_back():
    """MRD-persistent entrants respond by MRD conversion (endpoints.md, Response), so MRD
    back within 28 days ends their remission, a morphologic CR or not (a red team's
    subject: CR with MRD 0.003 % on day 14, CR with MRD 0.7 % on day 30, counted as an
    ORR3M responder). Cut day 1000.
    P1: MRD 0.003 % on day 14, 0.7 % on day 30 (16 days later), 0.004 % on day 80:
    the day-14 remission is broken 16 days later; the day-80 one (on or before day 91)
    has nothing ending it by day 108: Y, dated day 80.
    P2: MRD 0.003 % on day 14, 0.7 % on day 30, nothing after: N.
    P3: MRD 0.003 % on day 14, CR with MRD not measured on day 30: no evidence of loss:
    Y, dated day 14.
    M1, a morphologic entrant with the same days as P2: MRD back is not the loss of a
    morphologic remission: Y, dated day 14."""
    t = Trial()
    for sid in ("P1", "P2", "P3"):
        t.enrol(sid, disease_status="mrd_persistent", bm_blast_pct=2.0).infuse(sid)
    t.enrol("M1").infuse("M1")
    t.assess("P1", 14, "CR", 0.003).assess("P1", 30, "CR", 0.7).assess("P1", 80, "CR", 0.004)
    t.assess("P2", 14, "CR", 0.003).assess("P2", 30, "CR", 0.7)
    t.assess("P3", 14, "CR", 0.003).assess("P3", 30, "CR", None)
    t.assess("M1", 14, "CR", 0.003).assess("M1", 30, "CR", 0.7)
    d = t.derive()
    got = {s: (adsl_row(d, s)["ORR3MFL"], adsl_row(d, s)["ORR3MDT"]) for s in ("P1", "P2", "P3", "M1")}
    assert got == {"P1": ("Y", day(80)), "P2": ("N", None), "P3": ("Y", day(14)), "M1": ("Y", day(14))}


def test_rates_by_response_stratum():
    """Morphologic S1 responder, S2 NR; MRD-persistent S3 converted, S4 not: overall 2/4;
    morphologic 1/2; MRD-persistent 1/2."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "CR", 0.5)
        .enrol("S2")
        .infuse("S2")
        .assess("S2", 28, "NR")
        .enrol("S3", disease_status="mrd_persistent")
        .infuse("S3")
        .assess("S3", 28, "CR", 0.001)
        .enrol("S4", disease_status="mrd_persistent")
        .infuse("S4")
        .assess("S4", 28, "CR", 0.2)
    )
    table = response_summary(t.derive().adsl, ("SEX",)).filter(pl.col("parameter") == "CR/CRi by day 28")
    got = {(r["group_var"], r["group"]): (r["responders"], r["n"]) for r in table.iter_rows(named=True)}
    assert got[("all", "all")] == (2, 4)
    assert got[("STRATUM", "morphologic")] == (1, 2)
    assert got[("STRATUM", "mrd_persistent")] == (1, 2)


def test_intention_to_treat_counts_the_never_infused_as_non_responders():
    """All enrolled (ITT): S1 infused, CR on day 28 (responder); S2 withdrawn on day -3
    for a manufacturing failure, never infused (a non-responder); S3 enrolled, awaiting
    infusion at the cut (pending, out of the denominator). ITT CR/CRi by day 28: 1/2 =
    50 %, Clopper-Pearson 1.26-98.74 %; the efficacy set: 1/1."""
    from trial_outcomes.analysis.rates import EFFICACY_POPULATION, ITT_POPULATION

    t = Trial()
    t.enrol("S1").infuse("S1").assess("S1", 28, "CR", 0.0)
    t.enrol("S2").event("S2", -3, "WITHDRAWAL", "Manufacturing failure")
    t.enrol("S3", enrol_day=50)
    table = response_summary(t.derive(cut_day=60).adsl, ()).filter(
        (pl.col("parameter") == "CR/CRi by day 28") & (pl.col("group_var") == "all")
    )
    itt = table.filter(pl.col("population") == ITT_POPULATION).row(0, named=True)
    assert (itt["n"], itt["responders"], itt["n_pending"]) == (2, 1, 1)
    assert itt["rate_lcl"] == pytest.approx(0.01257912, abs=1e-8)
    assert itt["rate_ucl"] == pytest.approx(0.98742088, abs=1e-8)
    eff = table.filter(pl.col("population") == EFFICACY_POPULATION).row(0, named=True)
    assert (eff["n"], eff["responders"]) == (1, 1)


def test_a_manufacturing_failure_the_apheresis_file_alone_reports_is_a_non_responder_not_pending():
    """A red team's drop: S2's product FAILED in the apheresis file, with no withdrawal in
    follow-up. S2 is a manufacturing failure (NINFCAT), so a non-responder in the
    intention-to-treat set, not awaiting infusion. S3's product is still PENDING: S3 is
    awaiting infusion and pending (the control). ITT CR/CRi by day 28: 1/2 (S1 a
    responder, S2 not), 1 pending; the old rule read S2 as awaiting: 1/1, 2 pending."""

    t = Trial()
    t.enrol("S1", enrol_day=-35).apheresis("S1", -30, "RELEASED", released=-12).infuse("S1").assess("S1", 28, "CR", 0.0)
    t.enrol("S2", enrol_day=-35).apheresis("S2", -25, "FAILED", not_infused="MANUFACTURING_FAILURE")
    t.enrol("S3", enrol_day=-35).apheresis("S3", -20, "PENDING")
    adsl = t.derive(cut_day=60).adsl
    assert adsl.select("USUBJID", "NINFCAT").rows() == [
        ("S1", None),
        ("S2", "MANUFACTURING_FAILURE"),
        ("S3", "AWAITING"),
    ]
    assert _itt_cr_cri(adsl) == (2, 1, 1)


def _itt_cr_cri(adsl: pl.DataFrame) -> tuple[int, int, int]:
    """(evaluable, responders, pending) of the intention-to-treat CR/CRi by day 28, all subjects."""
    from trial_outcomes.analysis.rates import ITT_POPULATION

    itt = (
        response_summary(adsl, ())
        .filter(
            (pl.col("parameter") == "CR/CRi by day 28")
            & (pl.col("group_var") == "all")
            & (pl.col("population") == ITT_POPULATION)
        )
        .row(0, named=True)
    )
    return itt["n"], itt["responders"], itt["n_pending"]


def test_the_apheresis_files_reason_not_infused_counts_at_a_cut_that_sees_the_whole_drop():
    """A red team's S2: product RELEASED on day -12, not infused for PROGRESSION (the
    apheresis file), nothing in follow-up; it stayed "awaiting infusion", pending, three
    years on, and the ITT rate was 43/59 for 43/60. The file's reason has no date: at a cut
    that sees the whole drop (day 60, after its latest record, S1's CR on day 28) S2 is
    not infused for progression, a non-responder: ITT CR/CRi 1/2, none pending. At a cut
    on day 20 (before S1's day-28 assessment, so the reason may postdate it) S2 is awaiting
    infusion and pending, as before: ITT 0/0, 2 pending (S1's window open too)."""

    t = Trial()
    t.enrol("S1", enrol_day=-35).apheresis("S1", -30, "RELEASED", released=-12).infuse("S1").assess("S1", 28, "CR", 0.0)
    t.enrol("S2", enrol_day=-35).apheresis("S2", -25, "RELEASED", released=-12, not_infused="PROGRESSION")

    def itt(cut_day: int) -> tuple[list[tuple[str, str | None, str | None]], tuple[int, int, int]]:
        adsl = t.derive(cut_day=cut_day).adsl
        return adsl.select("USUBJID", "NINFCAT", "APHNINF").rows(), _itt_cr_cri(adsl)

    assert itt(60) == ([("S1", None, None), ("S2", "PROGRESSION", "PROGRESSION")], (2, 1, 0))
    assert itt(20) == ([("S1", None, None), ("S2", "AWAITING", None)], (0, 0, 2))


def test_a_loss_to_follow_up_leaves_the_window_open_so_a_closed_outcome_never_changes():
    """A red team's drop: S1 lost to follow-up on day 25, then assessed CR on day 28. With
    the loss closing the window, a cut on day 26 made S1 a non-responder (the futility rule
    "certain") and a cut on day 30 a responder. Now the window stays open to day 42: S1 is
    pending on day 26, pending and already in remission on day 30 (as any early
    responder), CR from day 42. S2 withdrew on day 25 and was never assessed: pending
    until day 42, NE (a non-responder) from then. S3 died on day 25: the window closes at
    the death, NE on day 26 (the control)."""
    t = Trial()
    t.enrol("S1").infuse("S1").event("S1", 25, "LOST").assess("S1", 28, "CR", 0.0)
    t.enrol("S2").infuse("S2").event("S2", 25, "WITHDRAWAL", "Consent withdrawn")
    t.enrol("S3").infuse("S3").event("S3", 25, "DEATH", "Sepsis", category="INFECTION")

    def bor(cut_day: int) -> list[tuple[str, str, str, str]]:
        adsl = t.derive(cut_day=cut_day).adsl.sort("USUBJID")
        return adsl.select("USUBJID", "BOR28", "D28PNDFL", "D28ERLFL").rows()

    assert bor(26) == [("S1", "PENDING", "Y", "N"), ("S2", "PENDING", "Y", "N"), ("S3", "NE", "N", "N")]
    assert bor(30) == [("S1", "PENDING", "Y", "Y"), ("S2", "PENDING", "Y", "N"), ("S3", "NE", "N", "N")]
    assert bor(42) == [("S1", "CR", "N", "N"), ("S2", "NE", "N", "N"), ("S3", "NE", "N", "N")]


def test_the_day_28_window_closes_by_the_last_day_the_drop_shows():
    """S1 infused on day 0 with an assessment on day 14 (PR) and none after. At a cut on
    day 60 whose drop shows to day 60, the day 21-42 window closed without an assessment:
    BOR28 NE, not pending. A stale drop whose latest record is day 30, cut on day 60, has
    not shown day 42: pending, as the efficacy rule counts it (it closed windows by the
    latest record since 2026-12-01, and the headline rate, read from ADSL, must agree)."""
    from trial_outcomes.analysis.adsl import derive_adsl

    t = Trial()
    t.enrol("S1").infuse("S1").assess("S1", 14, "PR", 5.0)
    d = t.derive(cut_day=60)
    at_cut = adsl_row(d)
    assert (at_cut["BOR28"], at_cut["D28PNDFL"]) == ("NE", "N")
    stale = derive_adsl(d.records, day(60), d.deviations, d.adae, (d.crs, d.icans), seen_to=day(30))
    assert stale.select("BOR28", "D28PNDFL").row(0) == ("PENDING", "Y")


def test_a_relapse_without_its_site_is_counted_as_not_recorded():
    """A red team's marrow relapse with the site left blank was counted under OTHER. S1 in
    CR on day 28, relapsed on day 100 with no site and no CD19 status: site UNKNOWN ("Not
    recorded" in the report), CD19 UNKNOWN; OTHER 0; all sites 1."""
    from trial_outcomes.analysis.relapse import relapse_summary

    d = Trial().enrol("S1").infuse("S1").assess("S1", 28, "CR", 0.0).assess("S1", 100, "RELAPSE").derive()
    table = relapse_summary(d.adsl, (6,)).summary.filter(pl.col("section") == "site_by_cd19")
    counts = {(r["site"], r["cd19"]): r["n"] for r in table.iter_rows(named=True)}
    assert (counts[("UNKNOWN", "UNKNOWN")], counts[("OTHER", "All")], counts[("All", "All")]) == (1, 0, 1)


def test_a_first_relapse_before_the_window_is_the_best_response_by_day_28():
    """A red team's relapse on day 19, assessed again on day 31, read "not evaluable: no
    assessment in days 21-42". S1: CR day 14, RELAPSE day 19, RELAPSE day 31: BOR28
    RELAPSE dated day 19, not a responder. S2: CR day 14, nothing after: NE. S3: CR day 14,
    RELAPSE day 19, CR day 35 (after the relapse: counts for nothing): RELAPSE."""
    t = Trial()
    for sid in ("S1", "S2", "S3"):
        t.enrol(sid).infuse(sid).assess(sid, 14, "CR", 0.0)
    t.assess("S1", 19, "RELAPSE", site="BM", cd19="POS").assess("S1", 31, "RELAPSE", site="BM", cd19="POS")
    t.assess("S3", 19, "RELAPSE", site="BM", cd19="POS").assess("S3", 35, "CR", 0.0)
    d = t.derive(cut_day=200)
    got = [(adsl_row(d, s)["BOR28"], adsl_row(d, s)["BORDY"], adsl_row(d, s)["CRFL"]) for s in ("S1", "S2", "S3")]
    assert got == [("RELAPSE", 19, "N"), ("NE", None, "N"), ("RELAPSE", 19, "N")]
