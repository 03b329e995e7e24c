"""Adverse events of special interest (endpoints.md, Adverse events), in study days."""

from __future__ import annotations

from tests.builders import Trial, adae_rows
from trial_outcomes.analysis.ae_tables import aesi_summary

CRS = "Cytokine release syndrome"


def _aesi(t: Trial, cut_day: int = 1000) -> list[tuple[str, str | None, str, str]]:
    return [(r["AEDECOD"], r["AESICAT"], r["CYTO28FL"], r["CYTO90FL"]) for r in adae_rows(t.derive(cut_day))]


def test_prolonged_cytopenia_is_grade_3_unresolved_at_day_28_and_day_90():
    """Neutropenia grade 4 from day 2 to day 40: unresolved at day 28 (AESI), resolved
    by day 90. Thrombocytopenia grade 3 from day 3 to day 120: both. Neutropenia
    grade 3 from day 1 resolved day 20: not prolonged. Platelets grade 2 to day
    60: grade 2, not an AESI."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", "Neutrophil count decreased", 1, 3, resolved=20)
        .ae("S1", "Neutrophil count decreased", 2, 4, resolved=40)
        .ae("S1", "Platelet count decreased", 3, 3, resolved=120)
        .ae("S1", "Platelet count decreased", 4, 2, resolved=60)
    )
    assert _aesi(t) == [
        ("Neutrophil count decreased", None, "N", "N"),
        ("Neutrophil count decreased", "Prolonged cytopenia", "Y", "N"),
        ("Platelet count decreased", "Prolonged cytopenia", "Y", "Y"),
        ("Platelet count decreased", None, "N", "N"),
    ]


def test_cytopenia_ongoing_at_an_early_cut_is_not_yet_prolonged():
    """Grade 4 neutropenia from day 2, ongoing at a cut on day 20: day 28 not seen
    yet, so not (yet) prolonged; at a cut on day 30 it is."""
    t = Trial().enrol("S1").infuse("S1").ae("S1", "Neutrophil count decreased", 2, 4)
    assert _aesi(t, 20)[0][1:] == (None, "N", "N")
    assert _aesi(t, 30)[0][1:] == ("Prolonged cytopenia", "Y", "N")


def test_a_cytopenia_is_prolonged_only_at_a_day_the_subject_was_seen():
    """A red team's child died on day 9 with a grade 3 cytopenia unresolved, and ADAE said
    "unresolved at day 90". Grade 4 neutropenia from day 2, never resolved, cut on day
    200: S1 died on day 9 and S2 withdrew on day 5 (day 28 unseen: neither flag); S3 died
    on day 64 (day 28 seen: CYTO28FL and the AESI, day 90 unseen); S4 died on day 28 (seen
    on day 28: prolonged); S5, alive and followed, both."""
    t = Trial()
    for sid in ("S1", "S2", "S3", "S4", "S5"):
        t.enrol(sid).infuse(sid).ae(sid, "Neutrophil count decreased", 2, 4)
    t.event("S1", 9, "DEATH", "Sepsis", category="INFECTION")
    t.event("S2", 5, "WITHDRAWAL", "Consent withdrawn")
    t.event("S3", 64, "DEATH", "Sepsis", category="INFECTION")
    t.event("S4", 28, "DEATH", "Sepsis", category="INFECTION")
    adae = t.derive(200).adae.sort("USUBJID")
    rows = adae.select("USUBJID", "AESICAT", "CYTO28FL", "CYTO90FL").rows()
    assert rows == [
        ("S1", None, "N", "N"),
        ("S2", None, "N", "N"),
        ("S3", "Prolonged cytopenia", "Y", "N"),
        ("S4", "Prolonged cytopenia", "Y", "N"),
        ("S5", "Prolonged cytopenia", "Y", "Y"),
    ]


def test_infections_by_soc_or_by_term_and_grade():
    """Grade 3 pneumonia coded to Infections and infestations: AESI; grade 2 sepsis:
    not (grade < 3); grade 3 'Device related infection' without a SOC: by its term."""
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", "Pneumonia", 30, 3, soc="Infections and infestations")
        .ae("S1", "Sepsis", 31, 2, soc="Infections and infestations")
        .ae("S1", "Device related infection", 32, 3)
    )
    assert [row[1] for row in _aesi(t)] == ["Grade >= 3 infection", None, "Grade >= 3 infection"]


def test_named_syndromes():
    t = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", CRS, 1, 2)
        .ae("S1", "Tumor lysis syndrome", 2, 3)
        .ae("S1", "Haemophagocytic lymphohistiocytosis", 8, 4)
        .ae("S1", "Hypogammaglobulinemia", 30, 2)
        .ae("S1", "Headache", 31, 1)
    )
    assert [row[1] for row in _aesi(t)] == [
        "CRS",
        "Tumour lysis syndrome",
        "IEC-associated HLH/MAS",
        "Hypogammaglobulinaemia",
        None,
    ]


def test_aesi_summary_counts_subjects_and_events_with_every_category():
    """S1: two TLS events (grade 3 and 4); S2: one HLH grade 4; S3 nothing. Safety set
    3: TLS 1 subject (33.3 %), 2 events; HLH 1 (33.3 %); other categories 0."""
    d = (
        Trial()
        .enrol("S1")
        .infuse("S1")
        .ae("S1", "Tumour lysis syndrome", 2, 3, resolved=5)
        .ae("S1", "Tumour lysis syndrome", 9, 4)
        .enrol("S2")
        .infuse("S2")
        .ae("S2", "HLH", 8, 4)
        .enrol("S3")
        .infuse("S3")
        .derive()
    )
    rows = {r["category"]: r for r in aesi_summary(d.adae, d.adsl).iter_rows(named=True)}
    assert (
        rows["Tumour lysis syndrome"]["n_any"],
        rows["Tumour lysis syndrome"]["n_events"],
        rows["Tumour lysis syndrome"]["pct_any"],
    ) == (1, 2, 33.3)
    assert rows["IEC-associated HLH/MAS"]["n_grade3plus"] == 1
    assert rows["CRS"]["n_any"] == 0 and len(rows) == 7


def test_a_day_the_drop_does_not_show_is_not_seen():
    """Neutropenia grade 4 from day 2, unresolved in the drop. Cut on day 60 with the drop
    showing day 60: unresolved at day 28, seen, so prolonged (CYTO28FL, the AESI). A
    stale drop whose latest record is day 9, cut on day 60: day 28 is not shown, so
    neither (a red team's BR-077 was "prolonged" this way; the sample's full drop
    resolved it on day 20)."""
    from tests.builders import day
    from trial_outcomes.analysis.adae import derive_adae

    t = Trial().enrol("S1").infuse("S1").ae("S1", "Neutrophil count decreased", 2, 4)
    d = t.derive(60)
    assert [(r["AESICAT"], r["CYTO28FL"]) for r in adae_rows(d)] == [("Prolonged cytopenia", "Y")]
    stale = derive_adae(d.records, day(60), seen_to=day(9))
    assert stale.select("AESICAT", "CYTO28FL").rows() == [(None, "N")]


def test_the_categories_read_the_spellings_and_names_an_export_uses():
    """A red team's export: an SOC written "Infections & infestations" (every grade >= 3
    infection lost), an SOC that is none of MedDRA's ("Infectious disease") and no SOC at
    all with a pathogen's name (CMV reactivation, herpes zoster, COVID-19, mucormycosis:
    none was an infection), "Neutropaenia" (not a cytopenia), "TLS", "IgG decreased" and
    "IEC-HS". Each, grade 3 from day 2 (resolved day 50 where a cytopenia), is its
    category; "Infusion site pain" with no SOC, and a grade-3 pneumonia coded to another
    MedDRA SOC, are none (a coded SOC decides)."""
    infection = "Grade >= 3 infection"
    cases = [
        ("Pneumonia", "Infections & infestations", infection),
        ("Pneumonia", "Infectious disease", infection),
        ("CMV reactivation", None, infection),
        ("Herpes zoster", None, infection),
        ("COVID-19", None, infection),
        ("Mucormycosis", None, infection),
        ("Infusion site pain", None, None),
        ("Pneumonia", "Respiratory, thoracic and mediastinal disorders", None),
        ("Neutropaenia", None, "Prolonged cytopenia"),
        ("TLS", None, "Tumour lysis syndrome"),
        ("IgG decreased", None, "Hypogammaglobulinaemia"),
        ("IEC-HS", None, "IEC-associated HLH/MAS"),
    ]
    t = Trial().enrol("S1").infuse("S1")
    for term, soc, _ in cases:
        t.ae("S1", term, 2, 3, resolved=50, soc=soc)
    found = sorted((row[0], row[1] or "none") for row in _aesi(t))
    assert found == sorted((term, category or "none") for term, _, category in cases)
