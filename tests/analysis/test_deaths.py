"""Cause of death category and non-relapse mortality (endpoints.md, Adverse events)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import Trial, adsl_row, day, tte
from trial_outcomes.analysis.deaths import cause_and_fatal_syndrome_disagree, cause_category_from_text
from trial_outcomes.analysis.safety_summary import safety_headline


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Relapsed leukemia", "LEUKEMIA"),
        ("Refractory leukaemia", "LEUKEMIA"),
        ("Disease progression before infusion", "LEUKEMIA"),
        ("Cytokine release syndrome", "CRS"),
        ("ICANS with cerebral edema", "ICANS"),
        ("Transplant-related mortality after HSCT", "TRANSPLANT"),
        ("Infection (sepsis) during aplasia", "INFECTION"),
        # version 3: a negation or several categories is UNKNOWN (a data query)
        ("Sepsis; in continuing remission, no relapse", "UNKNOWN"),
        ("Transplant-related mortality, leukaemia-free", "UNKNOWN"),
        ("Pneumonia without evidence of relapse", "UNKNOWN"),
        ("Infection in remission", "UNKNOWN"),
        ("Non-relapse mortality", "UNKNOWN"),
        ("MRD-negative; died of GVHD", "UNKNOWN"),
        ("Transplant-related (GVHD and infection)", "UNKNOWN"),
        ("Relapsed leukaemia and sepsis", "UNKNOWN"),
        ("Progressive leukemia", "LEUKEMIA"),
        # refractory and progression are leukaemia only when they qualify the disease or stand alone
        ("Progressive disease", "LEUKEMIA"),
        ("Progression of underlying disease", "LEUKEMIA"),
        ("Refractory B-ALL", "LEUKEMIA"),
        ("Primary refractory", "LEUKEMIA"),
        ("Progression", "LEUKEMIA"),
        ("Disease refractory to all therapy", "LEUKEMIA"),
        ("Chemorefractory disease", "LEUKEMIA"),
        ("Chemorefractory", "LEUKEMIA"),
        ("Chemo-refractory disease", "LEUKEMIA"),
        ("Chemorefractory hypotension", "OTHER"),
        ("CNS disease", "LEUKEMIA"),
        ("Progressive CNS disease", "LEUKEMIA"),
        ("No CNS disease; cardiac arrest", "UNKNOWN"),
        ("Cardiac arrest, refractory hypotension", "OTHER"),
        # "all" is not ALL, a malignant arrhythmia no malignancy, a lung disease not the disease (a red team's)
        ("Hypotension refractory to all vasopressors", "OTHER"),
        ("Multi-organ failure, refractory to all measures", "OTHER"),
        ("Progressive lung disease", "OTHER"),
        ("Refractory malignant arrhythmia", "OTHER"),
        ("Refractory pre-B ALL", "LEUKEMIA"),
        ("Progressive ALL", "LEUKEMIA"),
        ("Refractory malignancy", "LEUKEMIA"),
        # a second red team's: ALL in capitals after another word, a CAR-T's second malignancy
        ("HYPOTENSION REFRACTORY TO ALL MEASURES", "OTHER"),
        ("MULTI-ORGAN FAILURE, PROGRESSIVE OVER ALL SYSTEMS", "OTHER"),
        ("Cardiogenic shock refractory to ALL inotropes", "OTHER"),
        ("Progressive secondary malignancy", "UNKNOWN"),  # another cancer: a query (OTHER until 2026-12-04)
        ("Progressive CD19+ B-ALL", "LEUKEMIA"),
        ("Recurrent B-ALL", "LEUKEMIA"),
        ("Refractory T-ALL", "LEUKEMIA"),
        ("Progressive multifocal leukoencephalopathy", "OTHER"),
        ("Progressive respiratory failure", "OTHER"),
        ("Refractory septic shock", "INFECTION"),
        ("Multi-organ failure; progressive disease", "LEUKEMIA"),
        # the twenty-eighth session's doubts: ALL after its immunophenotype or standing as the
        # cause, a relapse of another disease, an infection by a name of its own
        ("Refractory CD19-/CD22- ALL", "LEUKEMIA"),
        ("Progressive B-cell precursor ALL", "LEUKEMIA"),
        ("Death due to ALL", "LEUKEMIA"),
        ("ALL, refractory", "LEUKEMIA"),
        ("ALL", "LEUKEMIA"),
        ("MULTI-ORGAN FAILURE, REFRACTORY TO ALL", "OTHER"),
        ("FAILURE OF ALL ORGANS", "OTHER"),
        ("Relapsed HLH", "OTHER"),
        ("Relapsing fever", "OTHER"),
        ("Relapse", "LEUKEMIA"),
        ("CD19-negative relapse", "LEUKEMIA"),
        ("Relapse in the CNS", "LEUKEMIA"),
        ("Relapse 3 months after infusion", "LEUKEMIA"),
        ("Relapsed CMV infection", "INFECTION"),
        ("Invasive mould infection", "INFECTION"),
        ("Progressive disease: mucormycosis", "UNKNOWN"),
        # a third red team's (2026-12-04): another disease's relapse or progression, another cancer,
        # a negated CRS or ICANS, MedDRA's terms for them and the transplant's, the disease's own names
        ("HLH relapse", "UNKNOWN"),
        ("Relapse of seizures", "OTHER"),
        ("Relapse of the underlying disease", "LEUKEMIA"),
        ("Lung disease progression", "OTHER"),
        ("Secondary malignancy progression", "UNKNOWN"),
        ("Secondary acute myeloid leukaemia", "UNKNOWN"),
        ("MOF - FAILURE OF ALL (5) ORGANS", "OTHER"),
        ("WITHDRAWAL OF CARE FROM ALL.", "OTHER"),
        ("Complications of ALL", "LEUKEMIA"),
        ("Cytokine storm", "CRS"),
        ("Cytokine-release syndrome", "CRS"),
        ("Brain oedema", "ICANS"),
        ("Neurological toxicity", "ICANS"),
        ("Cardiac arrest; no CRS", "UNKNOWN"),
        ("Sudden death - CRS resolved", "UNKNOWN"),
        ("Intracranial haemorrhage (not ICANS)", "UNKNOWN"),
        ("aGVHD grade IV", "TRANSPLANT"),
        ("GRAFT VS HOST DISEASE", "TRANSPLANT"),
        ("VOD/SOS", "TRANSPLANT"),
        ("CD19-negative ALL", "LEUKEMIA"),
        ("Relapsed b-all", "LEUKEMIA"),
        ("Relapsed hypodiploid ALL", "LEUKEMIA"),
        ("BCP-ALL", "LEUKEMIA"),
        ("ALL - PROGRESSION", "LEUKEMIA"),
        ("Relapse x2", "LEUKEMIA"),
        ("Recurrence", "LEUKEMIA"),
        ("Recurrent pneumonia", "INFECTION"),
        ("Persistent disease", "LEUKEMIA"),
        ("Died of disease", "LEUKEMIA"),
        ("DOD", "LEUKEMIA"),
        ("Not in remission; progressive disease", "LEUKEMIA"),
        ("No curative options, progressive disease", "LEUKEMIA"),
        ("Hyperleukocytosis", "LEUKEMIA"),
        ("Never achieved remission", "LEUKEMIA"),
        ("Non-response", "LEUKEMIA"),
        ("Sepsis, never in remission", "INFECTION"),  # no remission is the disease only as the whole text
        # a second red team's (2026-12-04): another disease's recurrence, the disease's status
        # stated, an HLH beside CRS's words, CRS's spellings, a CAR-T's treatment-related mortality
        ("Pneumothorax recurrence", "OTHER"),
        ("Haemorrhage, recurrent", "OTHER"),
        ("Recurrent disease", "LEUKEMIA"),
        ("Disease recurrence", "LEUKEMIA"),
        ("Residual disease negative; cardiac arrest", "UNKNOWN"),
        ("Primary disease in CR; sudden death", "UNKNOWN"),
        ("Unrelated to primary disease; cardiac arrest", "UNKNOWN"),
        ("HLH/cytokine storm", "UNKNOWN"),
        ("Relapse - HLH", "UNKNOWN"),
        ("Relapsed after 6 months in CR", "LEUKEMIA"),
        ("Cytokines release syndrome", "CRS"),
        ("sCRS", "CRS"),
        ("CRS4", "CRS"),
        ("ICANS4", "ICANS"),
        ("CRS recurrence", "CRS"),
        ("TRM after CAR-T", "OTHER"),
        ("Sepsis pre-engraftment", "INFECTION"),
        # another cause of a swollen or poisoned brain beside ICANS's words: a query
        ("Cerebral oedema secondary to intracranial haemorrhage", "UNKNOWN"),
        ("Methotrexate neurotoxicity", "UNKNOWN"),
        ("Intracranial haemorrhage", "OTHER"),
        ("ICANS grade 4 with cerebral oedema", "ICANS"),
        # a transplant as the time of another cause names no category beside it
        ("Relapse post-HSCT", "LEUKEMIA"),
        ("Post-transplant relapse", "LEUKEMIA"),
        ("Relapse post 2nd transplant", "LEUKEMIA"),
        ("Sepsis after allogeneic transplant", "INFECTION"),
        ("GVHD after HSCT", "TRANSPLANT"),
        ("Died after transplant", "TRANSPLANT"),
        ("Relapse and GVHD after HSCT", "UNKNOWN"),
        ("Septic shock", "INFECTION"),
        # B-lymphoblastic lymphoma is this leukaemia's other presentation (WHO); a T-lymphoblastic
        # lymphoma is not (OTHER, as "T-cell lymphoma"), nor a secondary one (a query)
        ("B-lymphoblastic lymphoma", "LEUKEMIA"),
        ("Relapsed precursor B-lymphoblastic lymphoma", "LEUKEMIA"),
        ("B-LBL", "LEUKEMIA"),
        ("T-lymphoblastic lymphoma", "OTHER"),
        ("Secondary T-lymphoblastic lymphoma", "UNKNOWN"),
        ("Citokine release syndrome", "CRS"),
        # a treatment's failure (the disease, or a toxicity?) is a query, beside another cause too;
        # a herniation naming no cause is a query (ICANS's oedema counts in the safety rule), beside one, that one
        ("Treatment failure", "UNKNOWN"),
        ("Failure of CAR-T therapy", "UNKNOWN"),
        ("Treatment failure; sepsis", "UNKNOWN"),
        ("Antifungal treatment failure; invasive aspergillosis", "INFECTION"),
        ("Failure of antifungal therapy; aspergillosis", "INFECTION"),
        ("Failure of salvage chemotherapy", "UNKNOWN"),
        ("Heart failure", "OTHER"),
        ("Brain herniation", "UNKNOWN"),
        ("Brain herniation due to cerebral oedema (ICANS)", "ICANS"),
        ("Road accident", "OTHER"),
        # a text saying the cause is not known is a query, as a blank one is (a red team's
        # "Unknown" read OTHER); beside a cause named, that cause
        ("Unknown", "UNKNOWN"),
        ("Cause unknown", "UNKNOWN"),
        ("Not known", "UNKNOWN"),
        ("Unk", "UNKNOWN"),
        ("N/K", "UNKNOWN"),
        ("Undetermined", "UNKNOWN"),
        ("Sudden death, pending autopsy", "UNKNOWN"),
        ("Awaiting post-mortem", "UNKNOWN"),
        ("Cause of death not reported", "UNKNOWN"),
        ("Sepsis, organism unknown", "INFECTION"),
        ("Unknown; relapsed leukaemia", "LEUKEMIA"),
        # a third red team's: more ways of saying it, and a cause named beside them is that cause
        ("Cause of death: not stated", "UNKNOWN"),
        ("Sudden unexplained death", "UNKNOWN"),
        ("Undiagnosed", "UNKNOWN"),
        ("Indeterminate", "UNKNOWN"),
        ("Not provided", "UNKNOWN"),
        ("No information", "UNKNOWN"),
        ("Missing", "UNKNOWN"),
        ("U/K", "UNKNOWN"),
        ("Coroner's inquest ongoing", "UNKNOWN"),
        ("Desconocida", "UNKNOWN"),
        ("原因不明", "UNKNOWN"),
        ("Road traffic accident, pending inquest", "OTHER"),
        ("Drowning; autopsy pending", "OTHER"),
        ("Suicide, pending coroner's report", "OTHER"),
        ("Accident, details unknown", "OTHER"),
        ("Haemorrhage of unknown origin", "OTHER"),
        ("Pending autopsy; likely relapse", "LEUKEMIA"),
        ("Cardiac arrest", "OTHER"),
        ("", "UNKNOWN"),
        (None, "UNKNOWN"),
    ],
)
def test_keyword_rule_for_a_cause_without_a_category(text, category):
    frame = pl.DataFrame({"t": [text]}, schema={"t": pl.String})
    assert frame.select(cause_category_from_text(pl.col("t"))).item() == category


def test_coded_category_wins_over_the_text():
    """'Multi-organ failure' coded CRS is CRS (the text alone would say OTHER)."""
    d = Trial().enrol("S1").infuse("S1").event("S1", 9, "DEATH", "Multi-organ failure", "CRS").derive()
    row = adsl_row(d)
    assert (row["DTHCAT"], row["DTHCATSR"]) == ("CRS", "Reported (cause_category)")


def test_non_responder_dying_of_refractory_leukaemia_is_not_nrm():
    """NR at day 14, death of refractory leukaemia on day 20 (no relapse: never in
    remission): not non-relapse mortality (version 1 said NRMFL = Y)."""
    d = Trial().enrol("S1").infuse("S1").assess("S1", 14, "NR").event("S1", 20, "DEATH", "Refractory leukemia").derive()
    assert (adsl_row(d)["DTHCAT"], adsl_row(d)["NRMFL"]) == ("LEUKEMIA", "N")


def test_infection_death_in_remission_is_nrm_and_early():
    """CR on day 21, sepsis on day 25 without relapse: NRM (DTHCGR1 NRM, the NRM
    endpoint's event at AVAL 25 - 21 = 4), within 30 and 100 days."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 21, "CR", 0.0)
        .event("S1", 25, "DEATH", "Sepsis during aplasia")
        .derive()
    )
    row = adsl_row(d)
    assert (row["DTHCAT"], row["NRMFL"], row["DTHCGR1"], row["DTH30FL"], row["DTH100FL"], row["DTHDY"]) == (
        "INFECTION",
        "Y",
        "NRM",
        "Y",
        "Y",
        25,
    )
    assert (tte(d, "NRM")["AVAL"], tte(d, "NRM")["EVNTTYPE"]) == (4, 1)


def test_three_death_categories_never_overlap_and_nrm_is_the_endpoint():
    """Version 3's three categories. S1 NR on day 28, dies of sepsis on day 35 (never
    in remission): NOT_IN_REMISSION, NRMFL N (version 2 counted it non-relapse).
    S2 CR day 28, relapse day 90, dies of pneumonia day 120: NOT_IN_REMISSION. S3
    CR day 28, dies of GVHD day 150 without relapse: NRM. S4 CR day 28, dies of
    relapsed leukaemia (no relapse record) day 200: LEUKEMIA. S5 dies of progression
    before infusion: LEUKEMIA. S6 CR day 28, dies day 60 of "Sepsis; in continuing
    remission, no relapse" without cause_category: UNKNOWN, and NRM. The counts 2 +
    2 + 2 = 6 deaths; NRMFL = Y exactly for the 2 NRM endpoint events (S3, S6)."""
    t = Trial()
    for sid in ("S1", "S2", "S3", "S4", "S6"):
        t.enrol(sid).infuse(sid)
    t.enrol("S5")
    t.assess("S1", 28, "NR").event("S1", 35, "DEATH", "Sepsis during aplasia")
    t.assess("S2", 28, "CR", 0.0).assess("S2", 90, "RELAPSE").event("S2", 120, "DEATH", "Pneumonia")
    t.assess("S3", 28, "CR", 0.0).event("S3", 150, "DEATH", "Graft-versus-host disease")
    t.assess("S4", 28, "CR", 0.0).event("S4", 200, "DEATH", "Relapsed leukaemia")
    t.event("S5", -2, "DEATH", "Disease progression before infusion")
    t.assess("S6", 28, "CR", 0.0).event("S6", 60, "DEATH", "Sepsis; in continuing remission, no relapse")
    d = t.derive()
    groups = {s: adsl_row(d, s)["DTHCGR1"] for s in ("S1", "S2", "S3", "S4", "S5", "S6")}
    assert groups == {
        "S1": "NOT_IN_REMISSION",
        "S2": "NOT_IN_REMISSION",
        "S3": "NRM",
        "S4": "LEUKEMIA",
        "S5": "LEUKEMIA",
        "S6": "NRM",
    }
    assert adsl_row(d, "S6")["DTHCAT"] == "UNKNOWN"
    nrm_flags = {s for s in groups if adsl_row(d, s)["NRMFL"] == "Y"}
    nrm_events = set(d.adtte.filter((pl.col("PARAMCD") == "NRM") & (pl.col("EVNTTYPE") == 1))["USUBJID"])
    assert nrm_flags == nrm_events == {"S3", "S6"}


def test_death_after_relapse_is_not_nrm_whatever_its_cause():
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .assess("S1", 28, "CR", 0.0)
        .assess("S1", 200, "RELAPSE")
        .event("S1", 260, "DEATH", "Pneumonia")
        .derive()
    )
    assert (adsl_row(d)["DTHCAT"], adsl_row(d)["NRMFL"]) == ("INFECTION", "N")


def test_early_death_rates_count_the_subjects_known_at_the_cut():
    """Cut on day 50. A infused day 0, died day 10; B infused day 0, alive; C infused
    day 30, alive; D infused day 30, died day 35 (5 days after). Within 30 days:
    A, B and D are known (C's 30 days end on day 60), 2 of 3. Within 100 days: only
    the dead are known, 2 of 2. D had grade 3 CRS on day 32: grade >= 3 CRS counts
    over the subjects infused 30 days (the safety rule's window) before the cut or
    with it, A, B and D, 1 of 3 (C not yet known). NRM stays over the safety set, 4.
    Clopper-Pearson (R binom.test): 2 of 3, 0.09429932 to 0.99159624; 1 of 3,
    0.00840375866 to 0.90570067595."""
    t = (
        Trial()
        .enrol("A")
        .infuse("A")
        .event("A", 10, "DEATH", "Sepsis during aplasia", "INFECTION")
        .enrol("B")
        .infuse("B")
        .event("B", 45, "CONTACT")
        .enrol("C", 20)
        .infuse("C", 30)
        .event("C", 45, "CONTACT")
        .enrol("D", 20)
        .infuse("D", 30)
        .ae("D", "Cytokine release syndrome", 32, 3)
        .event("D", 35, "DEATH", "Sepsis during aplasia", "INFECTION")
    )
    d = t.derive(cut_day=50)
    rows = {r["measure"]: r for r in safety_headline(d.adsl, day(50)).iter_rows(named=True)}
    d30, d100 = rows["Death within 30 days of infusion"], rows["Death within 100 days of infusion"]
    assert (d30["n_events"], d30["n"], d100["n_events"], d100["n"]) == (2, 3, 2, 2)
    assert (d30["rate_lcl"], d30["rate_ucl"]) == pytest.approx((0.09429932, 0.99159624), abs=1e-8)
    for measure in ("Grade >= 3 CRS (adjudicated)", "Grade >= 3 CRS (reported)"):
        crs = rows[measure]
        assert (crs["n_events"], crs["n"]) == (1, 3)
        assert (crs["rate_lcl"], crs["rate_ucl"]) == pytest.approx((0.00840375866, 0.90570067595), abs=1e-10)
    assert (rows["Grade >= 3 ICANS (adjudicated)"]["n_events"], rows["Grade >= 3 ICANS (adjudicated)"]["n"]) == (0, 2)
    assert rows["Non-relapse mortality (any time)"]["n"] == 4
    # a shorter window (a plan's choice) knows C too
    wide = {r["measure"]: r for r in safety_headline(d.adsl, day(50), window_days=14).iter_rows(named=True)}
    assert wide["Grade >= 3 CRS (adjudicated)"]["n"] == 4


def test_a_death_cause_and_a_fatal_syndrome_event_that_disagree_are_queried():
    """S1 died of CRS with a grade-5 CRS AE: agrees. S2 died of CRS, its only grade-5 AE
    sepsis: queried (no grade-5 CRS). S3 had a grade-5 CRS AE, cause coded INFECTION:
    queried (the cause is Infection). S4 died of ICANS with a grade-4 ICANS AE and a
    grade-5 CRS AE: both queries, in that order. S5 died of leukaemia with no grade-5
    AE: agrees."""
    died = pl.DataFrame(
        {"USUBJID": ["S5", "S4", "S3", "S2", "S1"], "DTHCAT": ["LEUKEMIA", "ICANS", "INFECTION", "CRS", "CRS"]}
    )
    adae = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4", "S4"],
            "AETOXGR": [5, 5, 5, 4, 5],
            "CRSFL": ["Y", "N", "Y", "N", "Y"],
            "ICANSFL": ["N", "N", "N", "Y", "N"],
        }
    )
    found = cause_and_fatal_syndrome_disagree(died, adae.lazy())
    assert found.select("USUBJID", "QUERY").rows() == [
        ("S2", "cause CRS, but no grade-5 CRS adverse event"),
        ("S3", "a grade-5 CRS adverse event, but the cause is Infection"),
        ("S4", "cause ICANS, but no grade-5 ICANS adverse event; a grade-5 CRS adverse event, but the cause is ICANS"),
    ]
    assert cause_and_fatal_syndrome_disagree(died.filter(pl.col("USUBJID") == "S1"), adae).is_empty()


def test_deaths_attributed_to_the_treatment_whatever_their_category():
    """S1 died of sepsis with a related treatment-emergent grade-5 AE (a DSMB reader's day-22
    death in aplasia, "another cause, not in remission" on page 1): attributed. S2 died of CRS,
    no AE: attributed. S3's grade-5 AE is not related, S4's related one is not treatment-emergent
    (after an HSCT): neither. S5 is alive with a related grade-3 AE: not a death. S1 and S2."""
    import datetime as dt

    from trial_outcomes.analysis.deaths import treatment_related_deaths

    day = dt.date(2022, 1, 1)
    adsl = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4", "S5"],
            "DTHDT": [day, day, day, day, None],
            "DTHCAT": ["INFECTION", "CRS", "INFECTION", "OTHER", None],
        }
    )
    adae = pl.DataFrame(
        {
            "USUBJID": ["S1", "S3", "S4", "S5"],
            "AETOXGR": [5, 5, 5, 3],
            "AEREL": ["Y", "N", "Y", "Y"],
            "TRTEMFL": ["Y", "Y", "N", "Y"],
        }
    )
    assert treatment_related_deaths(adsl, adae) == ["S1", "S2"]
    assert treatment_related_deaths(adsl, adae.lazy()) == ["S1", "S2"]
