"""One test per endpoint rule of endpoints.md, each on a hand-made subject.

Day 0 is the infusion (2021-01-01); the cut is day 1000 unless said.
"""

from __future__ import annotations

from tests.builders import Trial, adsl_row, day, tte


def responder(sid: str = "S1") -> Trial:
    """Infused day 0, CR MRD-negative on day 28."""
    return Trial().enrol(sid).infuse(sid).assess(sid, 28, "CR", 0.0)


def test_dfs_censors_at_last_remission_assessment_not_last_contact():
    """CR day 28 and day 90, contact on day 400: DFS starts day 28 and is censored
    at day 90 (AVAL 90 - 28 = 62); OS is censored at the contact, day 400."""
    t = responder().assess("S1", 90, "CR", 0.0).event("S1", 400, "CONTACT")
    d = t.derive()
    dfs = tte(d, "DFS")
    assert (dfs["STARTDT"], dfs["ADT"], dfs["AVAL"], dfs["CNSR"]) == (day(28), day(90), 62, 1)
    assert dfs["CNSDTDSC"] == "Last assessment in remission"
    assert (tte(d, "OS")["AVAL"], tte(d, "OS")["CNSR"]) == (400, 1)


def test_death_after_the_cut_is_ignored():
    """Death on day 200, cut on day 150: OS censored at the last record known
    alive by the cut, the CR of day 90 (AVAL 90); with a cut on day 200 the
    death counts (AVAL 200, CNSR 0)."""
    t = responder().assess("S1", 90, "CR", 0.0).event("S1", 200, "DEATH", "Relapse")
    before = tte(t.derive(cut_day=150), "OS")
    assert (before["AVAL"], before["CNSR"]) == (90, 1)
    after = tte(t.derive(cut_day=200), "OS")
    assert (after["AVAL"], after["CNSR"], after["EVNTDESC"]) == (200, 0, "Death")


def test_relapse_on_the_day_of_the_last_assessment_is_an_event():
    """CR day 28, RELAPSE day 180 (the last assessment): DFS event at day 180,
    AVAL 152; CIR event type 1; EFS event at day 180, AVAL 180."""
    d = responder().assess("S1", 180, "RELAPSE").derive()
    assert (tte(d, "DFS")["AVAL"], tte(d, "DFS")["CNSR"], tte(d, "DFS")["EVNTDESC"]) == (152, 0, "Relapse")
    assert (tte(d, "CIR")["EVNTTYPE"], tte(d, "CIR")["CNSR"]) == (1, 0)
    assert (tte(d, "EFS")["AVAL"], tte(d, "EFS")["CNSR"]) == (180, 0)


def test_a_leukaemia_death_in_remission_without_a_recorded_relapse_is_named_in_cir_and_nrm():
    """CR day 28 (MRD 0), CR day 90, death coded LEUKEMIA on day 150 with no RELAPSE
    assessment. NRM counts only deaths whose category is not leukaemia (endpoints.md,
    cause of death), so this death is CIR's event (type 1, AVAL 150 - 28 = 122) and
    NRM's competing event, named as what it is, not as a relapse (a red team read
    "Relapse (competing)" for a subject who never relapsed)."""
    d = responder().assess("S1", 90, "CR", 0.0).event("S1", 150, "DEATH", "Leukaemia", "LEUKEMIA").derive(cut_day=200)
    cir, nrm = tte(d, "CIR"), tte(d, "NRM")
    assert (cir["EVNTTYPE"], cir["AVAL"], cir["EVNTDESC"]) == (1, 122, "Death from leukaemia without recorded relapse")
    assert (nrm["EVNTTYPE"], nrm["AVAL"]) == (2, 122)
    assert nrm["EVNTDESC"] == "Death from leukaemia without recorded relapse (competing)"


def test_no_cr_by_day_42_is_an_efs_event_at_day_1_and_absent_from_dfs_and_cir():
    """NR on day 28, alive at day 300: treatment failure, an EFS event at day 1 (AVAL
    1); no DFS or CIR row; OS censored at day 300."""
    d = Trial().enrol("S1").infuse("S1").assess("S1", 28, "NR").event("S1", 300, "CONTACT").derive()
    efs = tte(d, "EFS")
    assert (efs["ADT"], efs["AVAL"], efs["CNSR"], efs["EVNTDESC"]) == (
        day(1),
        1,
        0,
        "Treatment failure: no CR/CRi by day 42",
    )
    assert tte(d, "DFS") is None and tte(d, "CIR") is None
    assert (tte(d, "OS")["AVAL"], tte(d, "OS")["CNSR"]) == (300, 1)


def test_hsct_censors_only_in_the_sensitivity_analysis_and_never_os():
    """CR day 28, HSCT day 100, relapse day 300, contact day 400.
    primary DFS: relapse event, AVAL 300 - 28 = 272; censor_at_hsct: censored
    at HSCT, AVAL 100 - 28 = 72, reason 'Consolidative HSCT'; the same for CIR and
    DOR. OS has no censor_at_hsct analysis (censoring deaths at a later therapy is
    informative; version 1 had it): censored at day 400 only."""
    d = responder().event("S1", 100, "HSCT").assess("S1", 300, "RELAPSE").event("S1", 400, "CONTACT").derive()
    assert (tte(d, "DFS")["AVAL"], tte(d, "DFS")["CNSR"]) == (272, 0)
    sens = tte(d, "DFS", analysis="censor_at_hsct")
    assert (sens["AVAL"], sens["CNSR"], sens["CNSDTDSC"]) == (72, 1, "Consolidative HSCT")
    assert tte(d, "CIR", analysis="censor_at_hsct")["EVNTTYPE"] == 0
    assert tte(d, "DOR", analysis="censor_at_hsct")["AVAL"] == 72
    assert tte(d, "OS")["AVAL"] == 400 and tte(d, "OS", analysis="censor_at_hsct") is None
    assert tte(d, "NRM", analysis="censor_at_hsct") is None


def test_sensitivity_censors_at_the_earlier_of_hsct_and_new_therapy():
    """CR day 28, maintenance blinatumomab from day 70, HSCT day 120, relapse day
    300: censor_at_hsct DFS censored at day 70 (AVAL 42), 'New anti-leukemia therapy'."""
    d = (
        responder()
        .event("S1", 70, "NEW_THERAPY", "Blinatumomab")
        .event("S1", 120, "HSCT")
        .assess("S1", 300, "RELAPSE")
        .derive()
    )
    sens = tte(d, "DFS", analysis="censor_at_hsct")
    assert (sens["AVAL"], sens["CNSR"], sens["CNSDTDSC"]) == (42, 1, "New anti-leukemia therapy")


def test_event_on_the_day_of_hsct_still_counts_in_the_sensitivity_analysis():
    """CR day 28; HSCT and death both on day 100: the DFS death is kept (AVAL 72, CNSR 0)."""
    d = responder().event("S1", 100, "HSCT").event("S1", 100, "DEATH", "Infection").derive()
    sens = tte(d, "DFS", analysis="censor_at_hsct")
    assert (sens["AVAL"], sens["CNSR"]) == (72, 0)


def test_death_before_day_28():
    """CRS death on day 9 before any assessment: OS event AVAL 9; EFS event the
    death on day 9 (v3: without any disease assessment there is no treatment
    failure; version 2 put the event at day 1); not in DFS; death within 30 and
    100 days; non-relapse mortality."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", "Cytokine release syndrome", 2, 5)
        .event("S1", 9, "DEATH", "Cytokine release syndrome")
    )
    d = t.derive()
    assert (tte(d, "OS")["AVAL"], tte(d, "OS")["CNSR"]) == (9, 0)
    assert (tte(d, "EFS")["AVAL"], tte(d, "EFS")["CNSR"], tte(d, "EFS")["EVNTDESC"]) == (9, 0, "Death")
    assert tte(d, "DFS") is None
    row = adsl_row(d)
    assert (row["DTH30FL"], row["DTH100FL"], row["NRMFL"], row["DTHDY"], row["BOR28"]) == ("Y", "Y", "N", 9, "NE")
    assert row["DTHCGR1"] == "NOT_IN_REMISSION"


def test_death_in_remission_is_the_competing_event_of_cir_and_the_event_of_nrm():
    """CR day 28, death from infection day 150 without relapse: CIR type 2 at
    AVAL 122; NRM type 1 at AVAL 122; DFS event (death) at AVAL 122; DOR censored
    at the death (another cause than leukaemia)."""
    d = responder().event("S1", 150, "DEATH", "Infection").derive()
    cir, nrm, dor = tte(d, "CIR"), tte(d, "NRM"), tte(d, "DOR")
    assert (cir["EVNTTYPE"], cir["CNSR"], cir["AVAL"]) == (2, 0, 122)
    assert (nrm["EVNTTYPE"], nrm["CNSR"], nrm["AVAL"], nrm["EVNTDESC"]) == (1, 0, 122, "Non-relapse death: INFECTION")
    assert (tte(d, "DFS")["EVNTDESC"], tte(d, "DFS")["AVAL"]) == ("Death", 122)
    assert (dor["CNSR"], dor["AVAL"], dor["CNSDTDSC"]) == (1, 122, "Death from another cause: INFECTION")


def test_relapse_is_the_event_of_dor_and_the_competing_event_of_nrm():
    """CR day 28, relapse day 200: DOR event at AVAL 172; NRM type 2 (competing) at 172."""
    d = responder().assess("S1", 200, "RELAPSE").derive()
    assert (tte(d, "DOR")["CNSR"], tte(d, "DOR")["AVAL"]) == (0, 172)
    assert (tte(d, "NRM")["EVNTTYPE"], tte(d, "NRM")["AVAL"]) == (2, 172)


def test_death_from_leukaemia_without_recorded_relapse_counts_with_relapse():
    """CR day 28, death from 'Relapsed leukemia' on day 300 with no RELAPSE assessment
    (the marrow was not examined): CIR type 1, NRM competing (type 2), DOR event;
    NRMFL N."""
    d = responder().event("S1", 300, "DEATH", "Relapsed leukemia").derive()
    assert (tte(d, "CIR")["EVNTTYPE"], tte(d, "NRM")["EVNTTYPE"], tte(d, "DOR")["CNSR"]) == (1, 2, 0)
    assert adsl_row(d)["NRMFL"] == "N"


def test_relapse_and_death_on_the_same_day_count_as_relapse():
    """CR day 28; RELAPSE assessment and death both on day 200: CIR type 1."""
    d = responder().assess("S1", 200, "RELAPSE").event("S1", 200, "DEATH", "Relapse").derive()
    assert tte(d, "CIR")["EVNTTYPE"] == 1


def test_efs_pending_while_the_day_28_window_is_open():
    """Infused day 0, NR on day 14, cut on day 30 (window closes day 42): not yet
    a failure; EFS censored at the day-14 assessment (AVAL 14)."""
    d = Trial().enrol("S1").infuse("S1").assess("S1", 14, "NR").derive(cut_day=30)
    efs = tte(d, "EFS")
    assert (efs["AVAL"], efs["CNSR"], efs["CNSDTDSC"]) == (14, 1, "Day-28 response pending at the cut")


def test_efs_censored_at_the_last_disease_assessment():
    """CR day 28 and day 180, contact day 500: EFS censored day 180 (AVAL 180)."""
    d = responder().assess("S1", 180, "CR", 0.0).event("S1", 500, "CONTACT").derive()
    assert (tte(d, "EFS")["AVAL"], tte(d, "EFS")["CNSR"]) == (180, 1)


def test_late_remission_after_day_42_enters_dfs_but_fails_efs():
    """NR day 28, CR day 60 on CAR-T alone: EFS event at day 1; DFS starts on day 60."""
    d = Trial().enrol("S1").infuse("S1").assess("S1", 28, "NR").assess("S1", 60, "CR").derive()
    assert tte(d, "EFS")["AVAL"] == 1
    assert tte(d, "DFS")["STARTDT"] == day(60)


def test_a_subject_withdrawn_before_any_assessment_is_censored_at_day_0_not_a_failure():
    """endpoints.md v3, EFS: S1 withdrawn on day 10 without any disease assessment is
    not a treatment failure (version 2: an EFS event at day 1): censored at day 0.
    S2, no assessment, dies on day 12: the death is the event, on day 12."""
    t = Trial().enrol("S1").infuse("S1").event("S1", 10, "WITHDRAWAL", "Consent withdrawn")
    t.enrol("S2").infuse("S2").event("S2", 12, "DEATH", "Sepsis", "INFECTION")
    d = t.derive()
    s1 = tte(d, "EFS", "S1")
    assert s1 is not None and (s1["AVAL"], s1["CNSR"], s1["CNSDTDSC"]) == (
        0,
        1,
        "No disease assessment: censored at day 0",
    )
    s2 = tte(d, "EFS", "S2")
    assert s2 is not None and (s2["AVAL"], s2["CNSR"], s2["EVNTDESC"]) == (12, 0, "Death")
