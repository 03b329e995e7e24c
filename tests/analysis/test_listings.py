"""Listings and narratives of the closed report (analysis/listings.py), worked examples
in study days (day 0 = 2021-01-01)."""

from __future__ import annotations

import polars as pl

from tests.builders import Trial
from trial_outcomes.analysis.listings import AESI, GRADE3, NARRATIVE_FIELDS, SAE, ae_listings, narratives
from trial_outcomes.contracts import ADAE, ADSL

#: ADSL's death dates of subjects alive at the cut
NO_DEATHS = pl.DataFrame(schema={"USUBJID": pl.String, "DTHDT": pl.Date})


def _trial() -> Trial:
    """S1: sepsis day 20 grade 4 serious, resolved day 30; rash day 5 grade 1 (in no
    listing). S2: pneumonia day 10 grade 3 not serious, ongoing; CRS day 2 grade 2 (an
    AESI, not serious, toci); death day 40 from infection, with pneumonia fatal (grade 5)
    on day 38."""
    t = Trial()
    t.enrol("S1", age_years=7.4, sex="M").infuse("S1", dose=1.2e6).assess("S1", 28, "CR", 0.0)
    t.ae("S1", "Sepsis", 20, 4, resolved=30, serious=True, related=False)
    t.ae("S1", "Rash", 5, 1, resolved=9, serious=False)
    t.enrol("S2", age_years=12.0, sex="F").infuse("S2").assess("S2", 28, "NR", 50.0)
    t.ae("S2", "Lung infection", 10, 3, serious=False, related=False)
    t.ae("S2", "Cytokine release syndrome", 2, 2, resolved=6, toci=True, serious=False)
    t.ae("S2", "Pneumonia", 38, 5, serious=True, related=False)
    t.event("S2", 40, "DEATH", "Pneumonia", "INFECTION")
    return t


def test_each_emergent_event_is_in_every_listing_it_belongs_to_with_its_outcome():
    """Serious: S1 sepsis (resolved), S2 pneumonia (fatal). Grade >= 3: the same two and
    S2's lung infection (unresolved when S2 died on day 40: "Not resolved at death", not
    "Ongoing" at the cut of day 60, as it read until 2026-12-06). AESI (endpoints.md: CRS, and grade >= 3
    infections): S2's CRS and the three infections. The rash is in none. Without a
    previous cut NEWFL is empty."""
    d = _trial().derive(cut_day=60)
    table = ae_listings(d.adae, None, d.adsl)
    got = {(r["listing"], r["USUBJID"], r["AETERM"], r["outcome"]) for r in table.iter_rows(named=True)}
    assert got == {
        (SAE, "S1", "Sepsis", "Resolved"),
        (SAE, "S2", "Pneumonia", "Fatal"),
        (GRADE3, "S1", "Sepsis", "Resolved"),
        (GRADE3, "S2", "Lung infection", "Not resolved at death"),
        (GRADE3, "S2", "Pneumonia", "Fatal"),
        (AESI, "S2", "Cytokine release syndrome", "Resolved"),
        (AESI, "S1", "Sepsis", "Resolved"),
        (AESI, "S2", "Lung infection", "Not resolved at death"),
        (AESI, "S2", "Pneumonia", "Fatal"),
    }
    assert table["NEWFL"].is_null().all()
    assert table.filter(pl.col("AETERM") == "Sepsis")["ASTDY"].to_list() == [20, 20, 20]


def test_an_event_not_in_the_previous_cut_is_marked_new():
    """The previous cut (day 15) knew S2's lung infection (day 10) and CRS (day 2) only:
    at day 60 sepsis and pneumonia are new, those two are not."""
    t = _trial()
    before, now = t.derive(cut_day=15).adae, t.derive(cut_day=60).adae
    table = ae_listings(now, before.select("USUBJID", "AESPID"), NO_DEATHS)
    new = {(r["AETERM"], r["NEWFL"]) for r in table.iter_rows(named=True)}
    assert new == {("Sepsis", "Y"), ("Pneumonia", "Y"), ("Lung infection", "N"), ("Cytokine release syndrome", "N")}


def test_narratives_follow_the_template_word_for_word():
    """A death narrative and an SAE narrative of S2, and the SAE of S1, written out by
    hand from the records above: nothing in them that the records do not hold."""
    d = _trial().derive(cut_day=60)
    told = narratives(d.adsl, d.adae)
    assert told.select("kind", "USUBJID").rows() == [("death", "S2"), ("SAE", "S1"), ("SAE", "S2")]
    s2 = (
        "S2: 12-year-old girl (relapsed), infused on 2021-01-01 (day 0; 1.00 x 10^6 CAR+ T cells/kg, "
        "lymphodepletion FC). Best response by day 28: NR."
    )
    death = (
        "Died on day 40 (2021-02-10); cause as reported: Pneumonia (category INFECTION; counted as "
        "Death of another cause, not in remission (before any remission, or after relapse))."
    )
    assert told["text"][0] == f"{s2} {death}"
    assert told["text"][1] == (
        "S1: 7-year-old boy (relapsed), infused on 2021-01-01 (day 0; 1.20 x 10^6 CAR+ T cells/kg, "
        "lymphodepletion FC). Best response by day 28: CR. On day 20 (2021-01-21): Sepsis, grade 4, serious, "
        "not related to CAR-T by the investigator; resolved on day 30 (2021-01-31)."
    )
    assert told["text"][2] == (
        f"{s2} On day 38 (2021-02-08): Pneumonia, grade 5, serious, not related to CAR-T by the investigator; "
        f"fatal. {death}"
    )


def test_a_narrative_reads_only_the_fields_it_declares():
    """Every field in NARRATIVE_FIELDS is an ADSL or ADAE variable, and blanking every
    other column changes no narrative."""
    d = _trial().derive(cut_day=60)
    known = set(ADSL.columns()) | set(ADAE.columns())
    assert set(NARRATIVE_FIELDS) <= known
    keep_adsl = [c for c in d.adsl.columns if c in NARRATIVE_FIELDS or c in ("DTHDT",)]
    keep_adae = [c for c in d.adae.columns if c in NARRATIVE_FIELDS or c in ("TRTEMFL",)]
    blanked_adsl = d.adsl.with_columns(pl.lit(None).alias(c) for c in d.adsl.columns if c not in keep_adsl)
    blanked_adae = d.adae.with_columns(pl.lit(None).alias(c) for c in d.adae.columns if c not in keep_adae)
    assert narratives(blanked_adsl, blanked_adae).equals(narratives(d.adsl, d.adae))


def test_narratives_written_a_block_at_a_time_are_the_same(monkeypatch):
    """Blocks of one serious AE (each with its own subjects' records) give the narratives
    of one block."""
    from trial_outcomes.analysis import listings

    d = _trial().derive(cut_day=60)
    whole = narratives(d.adsl, d.adae)
    monkeypatch.setattr(listings, "NARRATIVE_BLOCK", 1)
    assert narratives(d.adsl, d.adae).equals(whole)
    assert whole.height == 3


def test_a_scan_of_the_stored_adae_gives_the_same_listings_and_narratives(tmp_path):
    """The listings step reads ADAE as a lazy scan of its stored file (ADAE's forty
    columns of 3.9 million events at a million subjects were held for fourteen of the
    listed ones): from an Arrow file of the trial's ADAE, with a previous cut and
    without, the listings and the narratives equal those from the frame."""
    d = _trial().derive(cut_day=60)
    d.adae.write_ipc(tmp_path / "adae.arrow", compression="lz4")
    scanned = pl.scan_ipc(tmp_path / "adae.arrow")
    before = d.adae.filter(pl.col("AETERM") != "Pneumonia").select("USUBJID", "AESPID")
    for keys in (None, before):
        assert ae_listings(scanned, keys, d.adsl).equals(ae_listings(d.adae, keys, d.adsl))
    assert (
        ae_listings(scanned, before, d.adsl)["NEWFL"].to_list().count("Y") == 3
    )  # the pneumonia: serious, grade 5, an infection
    assert narratives(d.adsl, scanned).equals(narratives(d.adsl, d.adae))


def test_a_narrative_gives_the_age_in_completed_years():
    """A reviewer's BR-007, 15.6 at enrolment, read "16-year-old" (40 of 104 narratives
    were a year older, BR-050 at 17.7 an "18-year-old" in a paediatric trial); ADSL's
    age group has 9.7 under 10. 15.6 is a 15-year-old, 9.7 a 9-year-old, 11.9 an
    11-year-old, 0.7 (8.4 months) an 8-month-old."""
    t = Trial()
    for sid, age in (("S1", 15.6), ("S2", 9.7), ("S3", 11.9), ("S4", 0.7)):
        t.enrol(sid, age_years=age).infuse(sid).event(sid, 40, "DEATH", "Sepsis", "INFECTION")
    d = t.derive(cut_day=60)
    opening = [text.split(" girl")[0] for text in narratives(d.adsl, d.adae)["text"].to_list()]
    assert opening == ["S1: 15-year-old", "S2: 9-year-old", "S3: 11-year-old", "S4: 8-month-old"]


def test_an_event_new_to_a_listing_is_new_there():
    """A reviewer's BR-109: grade 4 neutrophil count decreased from day 5, not serious. At
    day 20 it is in the grade >= 3 listing only (day 28 not reached: not yet a prolonged
    cytopenia); at day 60, unresolved past day 28, it is also an AESI. NEW in the AESI
    listing (it was not there), not in the grade >= 3 listing. Known only by the previous
    ADAE's keys (a cut published before the listings' keys were read), it is new nowhere."""
    t = Trial().enrol("S1").infuse("S1").ae("S1", "Neutrophil count decreased", 5, 4, serious=False)
    before = ae_listings(t.derive(cut_day=20).adae, None, NO_DEATHS)
    assert before.select("listing", "NEWFL").rows() == [(GRADE3, None)]
    now = t.derive(cut_day=60).adae
    listed = ae_listings(now, before.select("listing", "USUBJID", "AESPID"), NO_DEATHS)
    assert listed.select("listing", "NEWFL").rows() == [(GRADE3, "N"), (AESI, "Y")]
    by_event = ae_listings(now, t.derive(cut_day=20).adae.select("USUBJID", "AESPID"), NO_DEATHS)
    assert by_event.select("listing", "NEWFL").rows() == [(GRADE3, "N"), (AESI, "N")]


def test_a_death_narratives_course_is_in_date_order_with_the_new_therapy():
    """A reviewer's BR-024: HSCT (day 83) five months before the relapse (day 240) was
    told after it, and the therapy after the relapse (day 261) not at all. Course by
    date (day 0 = 2021-01-01): first remission day 28; HSCT 2021-03-25; relapse
    2021-08-29; new therapy 2021-09-19."""
    t = Trial().enrol("S1").infuse("S1").assess("S1", 28, "CR", 0.0).event("S1", 83, "HSCT", "Donor")
    t.assess("S1", 240, "RELAPSE", site="BM", cd19="POS").event("S1", 261, "NEW_THERAPY", "Inotuzumab")
    t.event("S1", 300, "DEATH", "Relapsed leukaemia", "LEUKEMIA")
    d = t.derive(cut_day=400)
    (text,) = narratives(d.adsl, d.adae)["text"].to_list()
    assert (
        " Course: first remission on day 28; HSCT on 2021-03-25; relapse on 2021-08-29; new anti-leukaemia "
        "therapy (Inotuzumab) on 2021-09-19. Died on day 300" in text
    )


def test_a_narrative_says_an_event_was_unresolved_at_death_and_names_a_re_infusion():
    """A red team's BR-008: a serious grade-4 ICANS without a resolution date read
    "ongoing at the cut" beside "Died on day 122", and BR-017's second CAR-T infusion on
    day 35 was in no narrative. Day 0 = 2021-01-01. S1: serious ICANS grade 4 on day 8,
    never resolved; death on day 122 (2021-05-03) from relapse. S2: infused on day 0 and
    again on day 35 (2021-02-05: past the 7 days of a split dose, so a second dose), a
    serious sepsis on day 40 resolved on day 45; alive at the cut (day 200)."""
    t = Trial().enrol("S1").infuse("S1").ae("S1", "Immune effector cell-associated neurotoxicity syndrome", 8, 4)
    t.event("S1", 122, "DEATH", "Relapsed leukaemia", "LEUKEMIA")
    t.enrol("S2").infuse("S2").infuse("S2", at=35).ae("S2", "Sepsis", 40, 3, resolved=45, serious=True)
    d = t.derive(cut_day=200)
    told = narratives(d.adsl, d.adae)
    sae = told.filter((pl.col("kind") == "SAE") & (pl.col("USUBJID") == "S1"))["text"].item()
    assert sae.endswith(
        "On day 8 (2021-01-09): Immune effector cell-associated neurotoxicity syndrome, grade 4, serious, related "
        "to CAR-T by the investigator; not resolved at death (2021-05-03)."
    )
    assert "ongoing at the cut" not in sae
    again = told.filter(pl.col("USUBJID") == "S2")["text"].item()
    assert (
        "infused on 2021-01-01 (day 0; 1.00 x 10^6 CAR+ T cells/kg, lymphodepletion FC). Re-infused on day 35 "
        "(2021-02-05). Best response by day 28" in again
    )
    thrice = d.adsl.filter(pl.col("USUBJID") == "S2").with_columns(pl.lit(3).alias("NDOSE"))
    [thrice_text] = narratives(thrice, d.adae.filter(pl.col("USUBJID") == "S2"))["text"]
    assert "lymphodepletion FC). First re-infused on day 35 (2021-02-05); 3 doses in all. Best response" in thrice_text
    listed = ae_listings(d.adae, None, d.adsl).filter(pl.col("USUBJID") == "S1")
    assert set(listed["outcome"].to_list()) == {"Not resolved at death"}
