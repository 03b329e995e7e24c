"""The closed report's listings and narratives stay a document a board can read at any
size: past a limit the report prints the first events and says where all of them are."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl

from trial_outcomes.analysis.listings import GRADE3, SAE, ListingTables
from trial_outcomes.reporting.content import Paragraph, Table
from trial_outcomes.reporting.safety import CLOSED_LISTING_LIMIT, NARRATIVE_LIMIT, listings_section


def _listings(n_grade3: int, n_sae: int) -> pl.DataFrame:
    rows = [
        {
            "listing": listing,
            "USUBJID": f"S{i:06d}",
            "AEDECOD": "Neutropenia",
            "AETERM": "Neutropenia",
            "ASTDY": i % 30,
            "AETOXGR": 3,
            "AESER": "N",
            "AEREL": "RELATED",
            "outcome": "resolved",
            "NEWFL": "N",
        }
        for listing, n in ((GRADE3, n_grade3), (SAE, n_sae))
        for i in range(n)
    ]
    return pl.DataFrame(rows)


def test_a_listing_past_the_limit_prints_the_first_events_and_names_the_file():
    """2,500 grade >= 3 events: 1,000 rows printed, the title counts 2,500, a note says
    all are in ae_listings.csv; 3 serious events: all printed, no note. 700
    narratives: 500 printed and the note says where the rest are."""
    narratives = pl.DataFrame({"USUBJID": [f"S{i}" for i in range(700)], "text": [f"told {i}" for i in range(700)]})
    inp = SimpleNamespace(listings=ListingTables(_listings(2500, 3), narratives, None))
    section = listings_section(inp)  # type: ignore[arg-type]
    tables = {t.title: t for t in section.blocks if isinstance(t, Table)}
    grade3 = tables["Listing: grade >= 3 adverse events (2500 subjects, 2500 events)"]
    assert len(grade3.rows) == CLOSED_LISTING_LIMIT == 1000
    assert grade3.notes == ["First 1000 of 2500 events; all of them in ae_listings.csv."]
    sae = tables["Listing: serious adverse events (3 subjects, 3 events)"]
    assert len(sae.rows) == 3 and sae.notes == []
    told = [b for b in section.blocks if isinstance(b, Paragraph) and b.text.startswith("told ")]
    assert len(told) == NARRATIVE_LIMIT == 500
    note = next(b for b in section.blocks if isinstance(b, Paragraph) and b.text.startswith("Narratives"))
    assert "Narratives (700)" in note.text and "first 500 are here; all of them in narratives.csv" in note.text


def test_the_overdue_assessments_listing_shows_the_longest_overdue_first_up_to_the_limit():
    """1,200 overdue assessments due on consecutive days from 2020-01-01: the listing
    prints 1,000, the first due (2020-01-01) first, and says how many there are."""
    import datetime as dt

    from trial_outcomes.analysis.conduct import ConductTables
    from trial_outcomes.plan import load_plan
    from trial_outcomes.reporting.efficacy import OVERDUE_LIMIT, conduct_section

    summary = pl.DataFrame(
        {"section": ["mrd"], "group": ["all"], "n": [4], "count": [1], "planned": [None]},
        schema_overrides={"planned": pl.Int64},
    ).with_columns(median_days=pl.lit(None, pl.Float64), min_days=pl.lit(None, pl.Float64))
    overdue = pl.DataFrame(
        {
            "USUBJID": [f"S{i:05d}" for i in range(1200)][::-1],
            "visit": ["M3"] * 1200,
            "due_date": [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(1200)][::-1],
        }
    )
    inp = SimpleNamespace(conduct=ConductTables(summary, overdue), plan=load_plan(), adsl=NO_TREATMENTS)
    section = conduct_section(inp)  # type: ignore[arg-type]
    table = next(b for b in section.blocks if isinstance(b, Table) and b.title.startswith("Listing: overdue"))
    assert len(table.rows) == OVERDUE_LIMIT == 1000
    assert table.rows[0] == ["S00000", "M3", "2020-01-01", ""]
    assert table.notes[0].startswith("The 1000 longest overdue of 1200 assessments; the others are not listed")


#: an ADSL whose subjects had no HSCT and no new therapy (none of the listed subjects in it)
NO_TREATMENTS = pl.DataFrame(schema={"USUBJID": pl.String, "HSCTDT": pl.Date, "NTHERDT": pl.Date})


def test_an_overdue_visit_after_an_hsct_or_new_therapy_is_marked_and_counted():
    """A statistician found 22 of 52 overdue visits due after the subject's new therapy,
    read as the sites' lapses. Three overdue M3 visits due 2021-04-01: S1 began new therapy
    on 2021-03-01 (before: marked), S2 had its HSCT on 2021-05-01 (after the visit fell due:
    not marked), S3 neither. The note says 1 of the 3."""
    import datetime as dt

    from trial_outcomes.analysis.conduct import ConductTables
    from trial_outcomes.plan import load_plan
    from trial_outcomes.reporting.efficacy import conduct_section

    summary = pl.DataFrame(
        {"section": ["mrd"], "group": ["all"], "n": [4], "count": [1], "planned": [None]},
        schema_overrides={"planned": pl.Int64},
    ).with_columns(median_days=pl.lit(None, pl.Float64), min_days=pl.lit(None, pl.Float64))
    due = dt.date(2021, 4, 1)
    overdue = pl.DataFrame({"USUBJID": ["S1", "S2", "S3"], "visit": ["M3"] * 3, "due_date": [due] * 3})
    adsl = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3"],
            "HSCTDT": [None, dt.date(2021, 5, 1), None],
            "NTHERDT": [dt.date(2021, 3, 1), None, None],
        }
    )
    inp = SimpleNamespace(conduct=ConductTables(summary, overdue), plan=load_plan(), adsl=adsl)
    section = conduct_section(inp)  # type: ignore[arg-type]
    tables = {b.title: b for b in section.blocks if isinstance(b, Table)}
    assert [r[3] for r in tables["Listing: overdue disease assessments"].rows] == ["Yes", "", ""]
    notes = tables["Disease assessments due and overdue at the cut, by visit"].notes
    assert any(n.startswith("1 of the 3 overdue visits fell due after the subject's consolidative HSCT") for n in notes)


def test_the_excerpt_the_listings_step_keeps_gives_the_same_section():
    """The listings step hands the report the first 1,000 events of each listing and the
    first 500 narratives with the counts of all of them: 2,500 grade >= 3 events of 2,500
    subjects and 3 serious ones, 700 narratives. The section is the same as from the
    whole tables: same titles (2,500 events), rows, notes and narratives."""
    narratives = pl.DataFrame({"USUBJID": [f"S{i}" for i in range(700)], "text": [f"told {i}" for i in range(700)]})
    whole = ListingTables(_listings(2500, 3), narratives, "2023-12-31")
    excerpt = whole.excerpt()
    assert excerpt.listings.height == CLOSED_LISTING_LIMIT + 3 and excerpt.narratives.height == NARRATIVE_LIMIT
    assert excerpt.listing_size(GRADE3) == (2500, 2500) and excerpt.narrative_count == 700

    def shown(tables: ListingTables) -> list[tuple[object, ...]]:
        blocks = listings_section(SimpleNamespace(listings=tables)).blocks  # type: ignore[arg-type]
        return [(b.title, b.rows, b.notes) if isinstance(b, Table) else (b.text,) for b in blocks]

    assert shown(excerpt) == shown(whole)


def test_listings_of_events_or_visits_that_tie_on_the_day_are_in_one_order_whatever_the_input_order():
    """Two events of each of 1,500 subjects start on one day after the treatment-emergent
    window (AE1 a GVHD, AE2 a sepsis), and 1,200 subjects are overdue for one visit on
    the same day in pairs. Fed in 20 orders, the listings are always the same rows in
    the same order: events by subject, day and AE id; overdue visits by due date,
    subject and visit. Sorted by subject and day alone (and by due date alone), the
    events of one day came out in either order at 1,000 rows (a reviewer's finding)."""
    import datetime as dt

    from trial_outcomes.analysis.conduct import ConductTables
    from trial_outcomes.plan import load_plan
    from trial_outcomes.reporting.efficacy import conduct_section
    from trial_outcomes.reporting.safety import after_window_listing

    n = 1500
    adae = pl.DataFrame(
        {
            "USUBJID": [f"S{i // 2:05d}" for i in range(2 * n)],
            "AESPID": ["AE1", "AE2"] * n,
            "AEDECOD": ["Graft versus host disease", "Sepsis"] * n,
            "ASTDT": [dt.date(2024, 1, 1)] * (2 * n),
            "ASTDY": [200] * (2 * n),
            "AETOXGR": [2, 4] * n,
            "TRTEMFL": ["N"] * (2 * n),
            "TRTEMRSN": ["On or after the first consolidative HSCT"] * (2 * n),
        }
    )
    overdue = pl.DataFrame(
        {
            "USUBJID": [f"S{i:05d}" for i in range(1200)],
            "visit": ["M3"] * 1200,
            "due_date": [dt.date(2020, 1, 1) + dt.timedelta(days=i // 2) for i in range(1200)],
        }
    )
    summary = pl.DataFrame(
        {"section": ["mrd"], "group": ["all"], "n": [4], "count": [1], "planned": [None]},
        schema_overrides={"planned": pl.Int64},
    ).with_columns(median_days=pl.lit(None, pl.Float64), min_days=pl.lit(None, pl.Float64))
    plan = load_plan()

    def shown(events: pl.DataFrame, visits: pl.DataFrame) -> tuple[list, list]:
        late = after_window_listing(SimpleNamespace(adae=events.lazy()))  # type: ignore[arg-type]
        section = conduct_section(
            SimpleNamespace(conduct=ConductTables(summary, visits), plan=plan, adsl=NO_TREATMENTS)  # type: ignore[arg-type]
        )
        table = next(b for b in section.blocks if isinstance(b, Table) and b.title.startswith("Listing: overdue"))
        return late.rows, table.rows

    events, visits = shown(adae, overdue)
    assert [row[1] for row in events[:4]] == ["Graft versus host disease", "Sepsis"] * 2
    assert visits[:3] == [
        ["S00000", "M3", "2020-01-01", ""],
        ["S00001", "M3", "2020-01-01", ""],
        ["S00002", "M3", "2020-01-02", ""],
    ]
    for seed in range(20):
        again = shown(
            adae.sample(fraction=1.0, shuffle=True, seed=seed), overdue.sample(fraction=1.0, shuffle=True, seed=seed)
        )
        assert again == (events, visits), seed
