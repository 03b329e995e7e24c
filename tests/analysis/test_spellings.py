"""One AE term or SOC written several ways is counted once, under one spelling
(text.one_spelling, terms.counted_spellings, data-contract.md: values are read in the
spellings real exports use where the meaning is unambiguous)."""

from __future__ import annotations

import polars as pl

from tests.builders import Trial
from trial_outcomes.analysis.ae_tables import ae_soc_summary, ae_summary, aesi_summary
from trial_outcomes.text import one_spelling

FN = "Febrile neutropenia"
INFECTIONS = "Infections and infestations"


def test_the_spelling_counted_is_the_dictionarys_else_the_most_written():
    """A red team's drop: 33 rows "Febrile neutropenia", 2 each "FEBRILE NEUTROPENIA",
    "Febrile Neutropenia" and "febrile neutropenia": all are the first (most rows). An SOC
    only ever in capitals is MedDRA's spelling of it. With one row each, a capital then
    small letters comes before all capitals and before a capital on every word. Another
    term ("Febrile neutropenic episode") is left alone."""
    counts = {FN: 33, "FEBRILE NEUTROPENIA": 2, "Febrile Neutropenia": 2, "febrile  neutropenia": 2, "Sepsis": 4}
    assert one_spelling(counts) == {
        "FEBRILE NEUTROPENIA": FN,
        "Febrile Neutropenia": FN,
        "febrile  neutropenia": FN,
    }
    capitals = "INFECTIONS AND INFESTATIONS"
    assert one_spelling({capitals: 5}, (INFECTIONS,)) == {capitals: INFECTIONS}
    assert one_spelling({"FEBRILE NEUTROPENIA": 1, "Febrile Neutropenia": 1, FN: 1}) == {
        "FEBRILE NEUTROPENIA": FN,
        "Febrile Neutropenia": FN,
    }
    assert one_spelling({"Febrile neutropenic episode": 1, FN: 1}) == {}


def test_an_ampersand_is_and_where_it_makes_an_soc_meddras():
    """A red team's export wrote one febrile neutropenia's SOC "Blood & lymphatic system
    disorders" (another wrote "Blood &lymphatic ..."): each was an SOC of its own in the SOC
    table, and MedDRA's lost a grade 3 row (3 subjects -> 2). An "&" is "and" where a value
    is matched to a MedDRA name (data-contract.md); elsewhere it stays a sign ("Nausea &
    vomiting" is not "Nausea and vomiting": no dictionary name is at stake). By hand, with
    ``_trial``'s S1-S3 febrile neutropenia under MedDRA's spelling and S4's written with
    "&": one blood SOC row of 4 subjects."""
    blood = "Blood and lymphatic system disorders"
    socs = {blood: 12, "Blood & lymphatic system disorders": 1, "Blood &lymphatic system disorders": 1}
    assert one_spelling(socs, (blood,)) == {
        "Blood & lymphatic system disorders": blood,
        "Blood &lymphatic system disorders": blood,
    }
    assert one_spelling({"Nausea & vomiting": 1, "Nausea and vomiting": 1}) == {}
    t = _trial()
    t.ae("S4", FN, 8, 3, resolved=9, soc="Blood & lymphatic system disorders")
    d = t.derive()
    socs_table = ae_soc_summary(d.adae, d.adsl).filter((pl.col("row_type") == "soc") & (pl.col("table") == "All TEAEs"))
    assert socs_table.filter(pl.col("soc").str.contains("&")).height == 0
    assert socs_table.filter(pl.col("soc") == blood)["n_any"].to_list() == [4]


def _trial() -> Trial:
    """S1-S4 infused. Grade 3 febrile neutropenia: S1 "Febrile neutropenia", S2 "FEBRILE
    NEUTROPENIA", S3 "febrile neutropenia" and S1 again "Febrile Neutropenia" (grade 4).
    Grade 3 sepsis, SOC "INFECTIONS AND INFESTATIONS" (S2) and "infections and
    infestations" (S4); grade 3 pneumonia, MedDRA's SOC spelling (S3)."""
    t = Trial()
    for sid in ("S1", "S2", "S3", "S4"):
        t.enrol(sid).infuse(sid)
    blood = "Blood and lymphatic system disorders"
    t.ae("S1", FN, 5, 3, resolved=9, soc=blood).ae("S1", "Febrile Neutropenia", 20, 4, resolved=25, soc=blood)
    t.ae("S2", "FEBRILE NEUTROPENIA", 6, 3, resolved=9, soc=blood).ae("S3", "febrile neutropenia", 7, 3, soc=blood)
    t.ae("S2", "Sepsis", 30, 3, resolved=40, soc="INFECTIONS AND INFESTATIONS")
    t.ae("S4", "Sepsis", 31, 3, resolved=40, soc="infections and infestations")
    t.ae("S3", "Pneumonia", 32, 3, resolved=40, soc=INFECTIONS)
    return t


def test_one_term_in_four_spellings_is_one_row_of_the_ae_table():
    """By hand: febrile neutropenia in S1 (worst grade 4), S2 and S3 (grade 3): one row, 3
    subjects of 4 with any grade and 3 with grade >= 3; sepsis in S2 and S4. The SOC
    table has one infections block of 3 subjects (S2, S3, S4), spelt as MedDRA spells it.
    ADAE keeps each verbatim term in AETERM."""
    d = _trial().derive()
    table = ae_summary(d.adae, d.adsl)
    fn = table.filter(pl.col("term").str.to_lowercase() == FN.lower())
    assert fn.select("term", "n_any", "n_grade3plus").rows() == [(FN, 3, 3)]
    assert sorted(d.adae.filter(pl.col("AEDECOD") == FN)["AETERM"].to_list()) == sorted(
        [FN, "Febrile Neutropenia", "FEBRILE NEUTROPENIA", "febrile neutropenia"]
    )
    socs = ae_soc_summary(d.adae, d.adsl).filter((pl.col("row_type") == "soc") & (pl.col("table") == "All TEAEs"))
    infections = socs.filter(pl.col("soc").str.to_lowercase() == INFECTIONS.lower())
    assert infections.select("soc", "n_any").rows() == [(INFECTIONS, 3)]


def test_an_soc_in_capitals_is_still_the_infections_aesi():
    """Grade >= 3 infections: S2 (sepsis, SOC in capitals), S3 (pneumonia), S4 (sepsis,
    SOC in small letters): 3 of 4 subjects. Counted by the SOC's exact spelling, S2 and
    S4 were lost: 1 of 4."""
    d = _trial().derive()
    row = aesi_summary(d.adae, d.adsl).filter(pl.col("category") == "Grade >= 3 infection").row(0, named=True)
    assert (row["n_any"], row["n_grade3plus"], row["n_events"]) == (3, 3, 3)


def test_signs_and_symbols_are_not_spelling():
    """A reviewer found "CD19- relapse" counted as "CD19+ relapse" and "Platelet count
    >20" as "<20": signs, comparisons and superscripts are not punctuation; a dash, a
    full stop and an accent are."""
    assert one_spelling({"CD19- relapse": 1, "CD19+ relapse": 2}) == {}
    assert one_spelling({"Platelet count >20": 1, "Platelet count <20": 2}) == {}
    assert one_spelling({"ANC < 0.5 x 10⁹/L": 1, "ANC < 0.5 x 109/L": 2}) == {}
    assert one_spelling({"Tumour lysis syndrome": 1, "Tumour-lysis syndrome.": 2, "Tumour lysis syndrôme": 1}) == {
        "Tumour lysis syndrome": "Tumour-lysis syndrome.",
        "Tumour lysis syndrôme": "Tumour-lysis syndrome.",
    }


def test_the_aesi_rules_read_a_term_counted_under_a_punctuated_spelling():
    """A reviewer's drop wrote 46 of 90 "Neutrophil count decreased" rows with a full stop
    and 2 of 3 "Tumour lysis syndrome" rows with a hyphen: counted under the spelling of
    the most rows, every one of them left the AESI (prolonged cytopenia 48 -> 25 subjects,
    TLS 3 -> 0). By hand: S1 grade 4 "Neutrophil count decreased." from day 5, unresolved
    at day 28 (prolonged cytopenia); S2 and S3 "Tumour-lysis syndrome" and S4 "Tumour
    lysis syndrome" (TLS, 3 subjects)."""
    t = Trial()
    for sid in ("S1", "S2", "S3", "S4"):
        t.enrol(sid).infuse(sid)
    t.ae("S1", "Neutrophil count decreased.", 5, 4, resolved=40)
    t.ae("S2", "Tumour-lysis syndrome", 2, 3, resolved=6).ae("S3", "Tumour-lysis syndrome", 2, 3, resolved=6)
    t.ae("S4", "Tumour lysis syndrome", 2, 3, resolved=6)
    d = t.derive()
    rows = {r["category"]: r for r in aesi_summary(d.adae, d.adsl).iter_rows(named=True)}
    assert rows["Prolonged cytopenia"]["n_any"] == 1
    assert rows["Tumour lysis syndrome"]["n_any"] == 3


def test_british_and_american_spellings_are_one_term():
    """A red team's export wrote "Anaemia" for half its subjects and "Anemia" for the rest:
    the AE table had two rows, 11 and 10 subjects, for 21. Each pair is one value, counted
    under the spelling of the most rows; words that only look alike are not merged."""
    assert one_spelling({"Anaemia": 11, "Anemia": 10}) == {"Anemia": "Anaemia"}
    assert one_spelling({"Oedema peripheral": 1, "Edema peripheral": 2}) == {"Oedema peripheral": "Edema peripheral"}
    assert one_spelling({"Diarrhoea": 3, "Diarrhea": 1, "Haemorrhage": 1, "Hemorrhage": 2}) == {
        "Diarrhea": "Diarrhoea",
        "Haemorrhage": "Hemorrhage",
    }
    assert one_spelling({"Tumour lysis syndrome": 2, "Tumor lysis syndrome": 1}) == {
        "Tumor lysis syndrome": "Tumour lysis syndrome"
    }
    assert one_spelling({"Toe pain": 1, "Te pain": 1, "Hypokalaemia": 1, "Hyperkalemia": 1}) == {}
