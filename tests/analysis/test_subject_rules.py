"""ADSL and ADRS rules of endpoints.md, on hand-made subjects (day 0 = infusion)."""

from __future__ import annotations

import polars as pl

from tests.builders import Trial, adae_rows, adsl_row, day


def test_enrolled_not_infused_is_out_of_the_safety_set_and_every_tte():
    """S2 enrolled, withdrew on day -2 for a manufacturing failure, never infused:
    ENRLFL Y, SAFFL/EFFFL N, no ADTTE row, disposition WITHDRAWN with the reason as
    recorded and the category MANUFACTURING_FAILURE."""
    t = Trial().enrol("S1").infuse("S1").enrol("S2").event("S2", -2, "WITHDRAWAL", "Manufacturing failure")
    d = t.derive()
    s2 = adsl_row(d, "S2")
    assert (s2["ENRLFL"], s2["SAFFL"], s2["EFFFL"], s2["PPROTFL"]) == ("Y", "N", "N", "N")
    assert (s2["DISPSTAT"], s2["NINFREAS"], s2["NINFCAT"]) == (
        "WITHDRAWN",
        "Manufacturing failure",
        "MANUFACTURING_FAILURE",
    )
    assert d.adtte.filter(pl.col("USUBJID") == "S2").is_empty()


def test_withdrawn_before_any_assessment_is_out_of_the_efficacy_set():
    """Infused day 0, withdrew day 10, no assessment: SAFFL Y, EFFFL N."""
    row = adsl_row(Trial().enrol("S1").infuse("S1").event("S1", 10, "WITHDRAWAL").derive())
    assert (row["SAFFL"], row["EFFFL"]) == ("Y", "N")


def test_protocol_deviation_keeps_safety_set_but_not_per_protocol():
    """CD19 on 94 % of blasts (IN01 fails), infused: SAFFL Y, PPROTFL N, ELIGDVFL Y."""
    row = adsl_row(Trial().enrol("S1", cd19_pct=94.0).infuse("S1").derive())
    assert (row["SAFFL"], row["PPROTFL"], row["ELIGDVFL"]) == ("Y", "N", "Y")


def test_enrolled_after_the_cut_is_not_in_adsl():
    d = Trial().enrol("S1").enrol("S2", enrol_day=50).derive(cut_day=40)
    assert d.adsl["USUBJID"].to_list() == ["S1"]


def test_last_known_alive_is_the_latest_record_showing_life():
    """Assessment day 90, AE resolved day 120, contact day 100, LOST day 150:
    last known alive is day 120 (a LOST record does not show the subject alive)."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 90, "CR")
        .ae("S1", "Anaemia", 60, 2, resolved=120)
        .event("S1", 100, "CONTACT")
        .event("S1", 150, "LOST")
    )
    row = adsl_row(t.derive())
    assert row["LSTALVDT"] == day(120)
    assert row["DISPSTAT"] == "LOST"


def test_mrd_negative_means_below_0_01_at_the_response_assessment():
    """MRD 0.009 % is negative; 0.01 % is positive; not done is not negative."""
    t = Trial()
    for sid, mrd in (("S1", 0.009), ("S2", 0.01), ("S3", None)):
        t.enrol(sid).infuse(sid).assess(sid, 28, "CR", mrd)
    d = t.derive()
    assert [adsl_row(d, s)["MRDNEGFL"] for s in ("S1", "S2", "S3")] == ["Y", "N", "N"]


def test_adrs_has_each_visit_its_attribution_and_one_best_response_and_orr3m_row():
    """NR on day 14, CR on day 28, HSCT on day 60, CR on day 91 (after the HSCT: not
    attributable, ANL01FL N): one BOR28 row (CR) and one ORR3M row (Y)."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 14, "NR", visit="D14")
        .assess("S1", 28, "CR", 0.0, visit="D28")
        .event("S1", 60, "HSCT", "Donor")
        .assess("S1", 91, "CR", 0.0, visit="M3")
        .derive()
    )
    assert d.adrs.select("PARAMCD", "AVISIT", "ADY", "AVALC", "ANL01FL").rows() == [
        ("BOR28", "D28", 28, "CR", "Y"),
        ("ORR3M", "M3", 28, "Y", "Y"),
        ("OVRLRESP", "D14", 14, "NR", "Y"),
        ("OVRLRESP", "D28", 28, "CR", "Y"),
        ("OVRLRESP", "M3", 91, "CR", "N"),
    ]


def test_early_cut_sees_only_subjects_and_records_up_to_the_cut():
    """Cut on day 40: S2 enrolled on day 50 is in no dataset, not even the eligibility
    deviations (S2's CD19 of 90 % would be one)."""
    d = Trial().enrol("S1").enrol("S2", enrol_day=50, cd19_pct=90.0).derive(cut_day=40)
    assert d.adsl["USUBJID"].to_list() == ["S1"]
    assert d.deviations["subject_id"].to_list() == []


def test_relapse_is_a_relapse_assessment_not_mrd_reappearance():
    """CR day 28 (MRD 0), CR day 90 with MRD 0.5 %, RELAPSE day 200: relapse day 200."""
    row = adsl_row(
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "CR", 0.0)
        .assess("S1", 90, "CR", 0.5)
        .assess("S1", 200, "RELAPSE")
        .derive()
    )
    assert row["RELDT"] == day(200)


def test_exposure_variables_from_the_first_infusion():
    """Enrolled day -10, lymphodepletion day -5, infused day 0 with 2.5e6 cells/kg after
    bridging with hydroxyurea: DOSE 2.5e6, ENRINFDY 10, LDINFDY 5, BRIDGFL Y."""
    row = adsl_row(Trial().enrol("S1").infuse("S1", dose=2.5e6, bridging="Hydroxyurea").derive())
    assert (row["DOSE"], row["ENRINFDY"], row["LDINFDY"], row["BRIDGING"], row["BRIDGFL"]) == (
        2.5e6,
        10,
        5,
        "Hydroxyurea",
        "Y",
    )
    # "None given" records no bridging: no text (the exposure table's "None"), BRIDGFL N
    none = adsl_row(Trial().enrol("S1").infuse("S1", dose=2.5e6, bridging="None given").derive())
    assert (none["BRIDGING"], none["BRIDGFL"]) == (None, "N")


def test_bridging_not_collected_is_no_flag_and_not_none():
    """A red team's drop without the optional bridging column exported BRIDGFL = N (not
    given) for all 113 infused subjects in ADSL's XPT, and the exposure table read "None
    113 (100.0%)" beside "Bridging therapy is not collected". With the column blank on
    every row (as absent), BRIDGFL is empty and the table's one category is "Not
    collected", 2 of 2. With the column, a blank is none: N ("None" in the table), as at an
    early cut whose subjects had none (a third red team's); one subject's recorded, Y."""
    from trial_outcomes.analysis.exposure import NOT_COLLECTED, exposure_summary, exposure_variables

    trial = Trial().enrol("S1").infuse("S1").enrol("S2").infuse("S2")
    records = trial.records()
    variables = exposure_variables(records, collected=False)
    assert variables["BRIDGFL"].to_list() == [None, None]
    adsl = (
        trial.derive()
        .adsl.drop("BRIDGFL", "BRIDGING")
        .join(variables.select(pl.col("subject_id").alias("USUBJID"), "BRIDGING", "BRIDGFL"), on="USUBJID")
    )
    table = exposure_summary(adsl).filter(pl.col("measure") == "Bridging therapy")
    assert table.select("category", "n", "pct").rows() == [(NOT_COLLECTED, 2, 100.0)]
    assert exposure_variables(records)["BRIDGFL"].to_list() == ["N", "N"]
    one = Trial().enrol("S1").infuse("S1", bridging="Hydroxyurea").enrol("S2").infuse("S2").derive()
    assert one.adsl.sort("USUBJID")["BRIDGFL"].to_list() == ["Y", "N"]


def test_a_fatal_ae_whose_death_is_after_the_cut_is_grade_4_ongoing_at_the_cut():
    """Sepsis from day 96, grade 5, death on day 108; cut on day 100: at the cut the AE
    is grade 4 and ongoing, no death, no fatal TEAE (the red team's drop counted 7
    fatal TEAEs with 6 deaths). At a cut on day 110 it is grade 5 and the death counts."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "CR", 0.0)
        .ae("S1", "Sepsis", 96, 5, soc="Infections and infestations")
        .event("S1", 108, "DEATH", "Sepsis", "INFECTION")
    )
    before = t.derive(cut_day=100)
    row = adae_rows(before)[0]
    assert (row["AETOXGR"], row["AENDT"], adsl_row(before)["DTHDT"]) == (4, None, None)
    after = t.derive(cut_day=110)
    assert (adae_rows(after)[0]["AETOXGR"], adsl_row(after)["DTHDT"]) == (5, day(108))


def test_the_cut_says_which_record_types_it_keeps_whole():
    """S1 enrolled day -10, assessed day 28 and day 90, with an AE from day 96; S2
    enrolled day 50. At a cut on day 200 every record type is kept whole (the frame read,
    itself: passed on as its stored file). With the AE resolving on day 250 the AEs are
    not (the resolution is blanked at the cut). At day 40 S2 and the assessment of day 90
    leave: enrolment and assessments are no longer whole, the infusions still are."""
    from trial_outcomes.analysis.cut import apply_cut, records_at_cut

    t = (
        Trial()
        .enrol("S1")
        .enrol("S2", enrol_day=50)
        .infuse("S1")
        .assess("S1", 28, "CR", 0.0)
        .assess("S1", 90, "CR", 0.0)
        .ae("S1", "Pyrexia", 96, 1)
    )
    records = t.records()
    late = {record: whole for record, _, whole in records_at_cut(records, day(200))}
    assert [r for r, whole in late.items() if not whole] == []
    t.rows["adverse_events"][0]["resolution_date"] = day(250)
    records = t.records()
    late = {record: whole for record, _, whole in records_at_cut(records, day(200))}
    assert [r for r, whole in late.items() if not whole] == ["adverse_events"]
    early = list(records_at_cut(records, day(40)))
    whole = {record: flag for record, _, flag in early}
    assert (whole["enrolment"], whole["assessments"], whole["infusion"]) == (False, False, True)
    by_record = {record: frame for record, frame, _ in early}
    assert by_record["enrolment"]["subject_id"].to_list() == ["S1"]
    assert by_record["assessments"].height == 1 and by_record["adverse_events"].height == 0
    assert all(by_record[r].equals(f) for r, f in apply_cut(records, day(40)).items())


def test_followed_for_a_window_needs_the_cut_past_it_and_no_withdrawal_or_loss_before_its_end():
    """Infused 1 January, a 30-day window ends 31 January. With the cut on 31 January:
    A (no leaving) is followed; B withdrew 5 January, before the end: not followed;
    C was lost on 31 January, the window's last day: followed; D was never infused: not
    followed. With the cut on 30 January nobody is followed yet."""
    import datetime as dt

    from trial_outcomes.analysis.timeline import followed_for

    jan = lambda d: dt.date(2024, 1, d)  # noqa: E731
    subjects = pl.DataFrame(
        {
            "USUBJID": ["A", "B", "C", "D"],
            "TRTSDT": [jan(1), jan(1), jan(1), None],
            "WDDT": [None, jan(5), None, None],
            "LOSTDT": [None, None, jan(31), None],
        },
        schema={"USUBJID": pl.String, "TRTSDT": pl.Date, "WDDT": pl.Date, "LOSTDT": pl.Date},
    )
    at = lambda cut: subjects.select(followed_for(30, cut)).to_series().to_list()  # noqa: E731
    assert at(jan(31)) == [True, False, True, False]
    assert at(jan(30)) == [False, False, False, False]


def test_a_site_written_two_ways_is_one_site():
    """A red team's "Boren" beside "BOREN" split one site into two rows of the conduct
    table (39/37 and 1/1), and would split a SITEID stratum, without a word. S1 and S2 at
    "BOREN", S3 at "Boren ": one site, written as most rows write it (BOREN); the spelling
    query lists S3's row, counted as 'BOREN'."""
    from trial_outcomes.analysis.terms import counted_spellings
    from trial_outcomes.io.validation import spelling_variants

    t = Trial().enrol("S1", site="BOREN").enrol("S2", site="BOREN").enrol("S3", site="Boren ")
    for sid in ("S1", "S2", "S3"):
        t.infuse(sid)
    d = t.derive()
    assert d.adsl.sort("USUBJID")["SITEID"].to_list() == ["BOREN", "BOREN", "BOREN"]
    found = spelling_variants(t.records(), counted_spellings(t.records()))
    assert found.select("file", "row", "column", "value", "rule").rows() == [
        ("enrolment.csv", 4, "site", "Boren ", "counted as 'BOREN'")
    ]
