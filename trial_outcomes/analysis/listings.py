"""Subject listings and narratives for the closed DSMB report (issue 26).

``ae_listings``: the serious, the grade >= 3 and the special-interest treatment-emergent
adverse events, one row per event and listing, with onset, grade, seriousness,
relatedness, outcome and day from infusion; an event not in the previous published cut
is marked new (``NEWFL``; empty when there is no previous cut to compare with).

``narratives``: a short text per death and per serious adverse event, written from the
subject's records in a fixed template (``NARRATIVE_FIELDS`` names every field it reads);
a field the records lack is written "not recorded", never guessed. Worked examples:
``tests/analysis/test_listings.py``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, NamedTuple

import polars as pl

from trial_outcomes import labels
from trial_outcomes.analysis.frames import AnyFrame, require, stacked, streamed

SAE, GRADE3, AESI = "Serious adverse events", "Grade >= 3 adverse events", "Adverse events of special interest"
LISTINGS = {
    SAE: pl.col("AESER") == "Y",
    GRADE3: pl.col("AETOXGR") >= 3,
    AESI: pl.col("AESIFL") == "Y",
}
NOT_RECORDED = "not recorded"
LISTING_COLUMNS = (
    "listing",
    "USUBJID",
    "AESPID",
    "AEDECOD",
    "AETERM",
    "AESOC",
    "ASTDT",
    "ASTDY",
    "AENDY",
    "AETOXGR",
    "AESER",
    "AEREL",
    "outcome",
    "NEWFL",
)


#: the closed report prints the first events of each listing and the first narratives
REPORT_EVENTS = 1000
REPORT_NARRATIVES = 500


class ListingTables(NamedTuple):
    """The listings and narratives of a cut, and the previous cut they were marked against.
    ``excerpt`` keeps what the closed report prints with the counts of the whole tables
    (``counts``: listing, events, subjects; ``narrated``); without them the frames are
    whole and counted."""

    listings: pl.DataFrame
    narratives: pl.DataFrame
    previous_cut: str | None
    counts: pl.DataFrame | None = None
    narrated: int | None = None

    def excerpt(self, events: int = REPORT_EVENTS, narratives: int = REPORT_NARRATIVES) -> ListingTables:
        """The first ``events`` of each listing and the first ``narratives`` narratives,
        with the counts of all of them: what the report reads (the whole tables are
        published as files; at a million subjects they were 1 GB held for the report)."""
        listings = self.listings.lazy()
        counts = streamed(
            listings.group_by("listing").agg(
                pl.len().cast(pl.Int64).alias("events"), pl.col("USUBJID").n_unique().cast(pl.Int64).alias("subjects")
            )
        )
        # each listing's first events, listing by listing (a window over every listed event
        # held 1 GB at a million subjects); the report prints them listing by listing
        names = self.listings.get_column("listing").unique(maintain_order=True)
        head = (
            pl.concat(
                [listings.filter(pl.col("listing") == name).head(events).collect() for name in names],
                how="vertical",
            )
            if names.len()
            else self.listings.head(0)
        )
        return ListingTables(head, self.narratives.head(narratives), self.previous_cut, counts, self.narratives.height)

    def listing_size(self, name: str) -> tuple[int, int]:
        """(events, subjects) of listing ``name``, of the whole listing."""
        if self.counts is None:
            part = self.listings.filter(pl.col("listing") == name)
            return part.height, part["USUBJID"].n_unique()
        row = self.counts.filter(pl.col("listing") == name)
        return (int(row["events"][0]), int(row["subjects"][0])) if row.height else (0, 0)

    @property
    def narrative_count(self) -> int:
        return self.narratives.height if self.narrated is None else self.narrated


#: the outcome of an AE unresolved when its subject died of something else
NOT_RESOLVED_AT_DEATH = "Not resolved at death"


def outcome(grade: pl.Expr, ongoing: pl.Expr, died: pl.Expr) -> pl.Expr:
    """``Fatal`` (grade 5), ``Not resolved at death`` (no resolution, and the subject died
    by the cut: ``died`` is the death date), ``Ongoing`` at the cut, else ``Resolved``.
    Until 2026-12-06 an AE of a child who died years before the cut read "Ongoing", and a
    narrative "ongoing at the cut" beside "Died on day 122" (a red team's)."""
    return (
        pl.when(grade == 5)
        .then(pl.lit("Fatal"))
        .when((ongoing == "Y") & died.is_not_null())
        .then(pl.lit(NOT_RESOLVED_AT_DEATH))
        .when(ongoing == "Y")
        .then(pl.lit("Ongoing"))
        .otherwise(pl.lit("Resolved"))
    )


def _with_death(events: pl.DataFrame, deaths: pl.DataFrame) -> pl.DataFrame:
    """``events`` with their subject's death date (``DTHDT``, null when alive at the cut)."""
    died = deaths.select("USUBJID", "DTHDT").filter(pl.col("DTHDT").is_not_null())
    return events.join(died, on="USUBJID", how="left", maintain_order="left")


def ae_listings(adae: AnyFrame, previous_keys: pl.DataFrame | None, deaths: pl.DataFrame) -> pl.DataFrame:
    """Every treatment-emergent AE in each listing it belongs to (an event may be in
    several), by listing, subject and onset; ``deaths``: ADSL's ``USUBJID, DTHDT`` (the
    outcome of an event unresolved at death). ``previous_keys``: ``listing, USUBJID,
    AESPID`` of the previous published cut's listings (``NEWFL`` Y: not in that listing
    then), or ``USUBJID, AESPID`` of its ADAE (Y: not in ADAE then), or None when there is
    none (``NEWFL`` empty).
    ``adae`` may be a lazy scan of the stored dataset: only the listed events' shown
    columns are read."""
    require(adae, "ADAE", "USUBJID", "AESPID", "AESER", "AETOXGR", "AESIFL", "TRTEMFL", "AEONGO")
    # each listing sorted on its own and the listings put one after the other in one piece, a
    # column at a time (``frames.stacked``): sorting them together held the 4.7 million listed
    # events of a million subjects three times, and a frame left in three pieces was copied
    # whole into one by each later reader (the contract's check, the UI's preview, the writer)
    return stacked(_listed(adae.lazy(), previous_keys, deaths))


def _listed(adae: pl.LazyFrame, previous_keys: pl.DataFrame | None, deaths: pl.DataFrame) -> list[pl.DataFrame]:
    """Each listing of ``ae_listings`` in ``LISTINGS`` order, by subject and onset.

    The events any listing holds are read once, with the columns a listing shows, in
    their order in ADAE; they are put in the listings' order by their positions alone,
    and each listing takes its rows from them in that order: the events were copied
    whole, sorted and filtered (ADAE's 3.9 million events at a million subjects held
    beside it twice), and ADAE's forty columns were held for the listings' fourteen."""
    listed = (pl.col("TRTEMFL") == "Y") & pl.any_horizontal(rule.fill_null(False) for rule in LISTINGS.values())
    # only the columns a listing shows, the one its outcome needs and the listings' rules read
    names = adae.collect_schema().names()
    columns = list(dict.fromkeys([c for c in LISTING_COLUMNS if c in names] + ["AEONGO", "AESIFL"]))
    shown = _with_death(adae.filter(listed).select(columns).collect(), deaths)
    # an event is once in a listing (AESPID is unique within a subject): this order is total
    order = (
        shown.lazy()
        .with_row_index("_row")
        .sort("USUBJID", "ASTDT", "AESPID", maintain_order=True)
        .select("_row", *[rule.fill_null(False).alias(name) for name, rule in LISTINGS.items()])
        .collect()
    )
    # new in a listing: the event was not in the same listing at the previous cut (an event
    # that became serious, grade >= 3 or special interest since is new where it now is: a
    # cytopenia unresolved at day 28 entered the AESI listing unmarked); a previous cut known
    # only by its ADAE keys, per event
    on = ["listing", "USUBJID", "AESPID"] if previous_keys is not None and "listing" in previous_keys.columns else None
    seen = (
        None
        if previous_keys is None
        else previous_keys.select(on or ["USUBJID", "AESPID"]).unique().with_columns(pl.lit("N").alias("NEWFL"))
    )
    parts = []
    for name in LISTINGS:
        part = shown[order.filter(pl.col(name)).get_column("_row")].with_columns(
            outcome(pl.col("AETOXGR"), pl.col("AEONGO"), pl.col("DTHDT")).alias("outcome"),
            pl.lit(name).alias("listing"),
        )
        if seen is None:
            part = part.with_columns(pl.lit(None, dtype=pl.String).alias("NEWFL"))
        else:
            part = part.join(seen, on=on or ["USUBJID", "AESPID"], how="left", maintain_order="left").with_columns(
                pl.col("NEWFL").fill_null("Y")
            )
        parts.append(part.select(LISTING_COLUMNS))
    return parts


def _text(value: object) -> str:
    return NOT_RECORDED if value is None or value == "" else str(value)


def _day(day: object, date: object) -> str:
    """``day 23 (2020-08-10)``; the date alone before any infusion (no study day)."""
    if day is None:
        return NOT_RECORDED if date is None else str(date)
    return f"day {day} ({date})"


def _age_words(age: float) -> str:
    """An age as a narrative gives it, in completed years (9.7 is a 9-year-old, as ADSL's
    age group "<10" has it; rounding made 40 of 104 narratives a year older, BR-050 an
    18-year-old), or completed months under a year."""
    if age < 1:
        return f"{math.floor(age * 12)}-month-old"
    return f"{math.floor(age)}-year-old"


def _profile(s: dict[str, Any]) -> str:
    """Who the subject is and what they received: the opening of every narrative."""
    age = _age_words(s["AGE"]) if s.get("AGE") is not None else "age not recorded,"
    sex = {"M": "boy", "F": "girl"}.get(s.get("SEX") or "", "child")
    status = labels.level("DISSTAT", s["DISSTAT"]).lower() if s.get("DISSTAT") else NOT_RECORDED
    if s.get("TRTSDT") is None:
        return f"{s['USUBJID']}: {age} {sex} ({status}), not infused ({_text(s.get('NINFREAS'))})."
    dose = f"{s['DOSE'] / 1e6:.2f} x 10^6 CAR+ T cells/kg" if s.get("DOSE") is not None else "dose not recorded"
    again = ""
    if s.get("TR02SDT") is not None:  # a re-infusion (a split dose's fractions are one dose)
        doses, first = s.get("NDOSE") or 2, _day((s["TR02SDT"] - s["TRTSDT"]).days, s["TR02SDT"])
        again = f" First re-infused on {first}; {doses} doses in all." if doses > 2 else f" Re-infused on {first}."
    return (
        f"{s['USUBJID']}: {age} {sex} ({status}), infused on {s['TRTSDT']} (day 0; {dose}, "
        f"lymphodepletion {_text(s.get('LDREGIM'))}).{again} Best response by day 28: {_text(s.get('BOR28'))}."
    )


def _event_sentence(e: dict[str, Any]) -> str:
    related = "related" if e["AEREL"] == "Y" else "not related"
    drugs = [d for d, flag in (("tocilizumab", e.get("AETOCI")), ("corticosteroids", e.get("AESTER"))) if flag == "Y"]
    treated = f"; treated with {' and '.join(drugs)}" if drugs else ""
    ending = {
        "Fatal": "fatal",
        "Ongoing": "ongoing at the cut",
        NOT_RESOLVED_AT_DEATH: f"not resolved at death ({e.get('DTHDT')})",
        "Resolved": f"resolved on {_day(e.get('AENDY'), e.get('AENDT'))}",
    }[e["outcome"]]
    serious = "serious" if e["AESER"] == "Y" else "not serious"
    term = e["AETERM"] if e["AETERM"] == e["AEDECOD"] else f"{e['AETERM']} ({e['AEDECOD']})"
    return (
        f"On {_day(e['ASTDY'], e['ASTDT'])}: {term}, grade {e['AETOXGR']}, {serious}, "
        f"{related} to CAR-T by the investigator{treated}; {ending}."
    )


def _death_sentence(s: dict[str, Any]) -> str:
    group = labels.DEATH_GROUPS.get(s.get("DTHCGR1") or "", _text(s.get("DTHCGR1")))
    return (
        f"Died on {_day(s.get('DTHDY'), s.get('DTHDT'))}; cause as reported: {_text(s.get('DTHCAUS'))} "
        f"(category {_text(s.get('DTHCAT'))}; counted as {group})."
    )


#: every record field a narrative reads (ADSL and ADAE variables)
NARRATIVE_FIELDS = [
    "USUBJID",
    "AGE",
    "SEX",
    "DISSTAT",
    "TRTSDT",
    "TR02SDT",
    "NDOSE",
    "DOSE",
    "LDREGIM",
    "BOR28",
    "NINFREAS",
    "FRMDY",
    "RELDT",
    "HSCTDT",
    "NTHERDT",
    "NTHERDSC",
    "DTHDT",
    "DTHDY",
    "DTHCAUS",
    "DTHCAT",
    "DTHCGR1",
    "AESPID",
    "AETERM",
    "AEDECOD",
    "AETOXGR",
    "AESER",
    "AEREL",
    "AETOCI",
    "AESTER",
    "ASTDT",
    "ASTDY",
    "AENDT",
    "AENDY",
    "AEONGO",
]


#: the ADAE columns the listings and the narratives may read (those ADAE has)
ADAE_COLUMNS = (*LISTING_COLUMNS, "AESIFL", "TRTEMFL", *NARRATIVE_FIELDS)

#: serious AEs narrated at a time
NARRATIVE_BLOCK = 20_000


def narratives(adsl: pl.DataFrame, adae: AnyFrame) -> pl.DataFrame:
    """One narrative per death (``kind`` death) and per serious treatment-emergent AE
    (``kind`` SAE, with its ``AESPID``), each from the fixed template: the subject, what
    they received and their day-28 response; the event; the death when there was one."""
    names = adae.collect_schema().names()
    read = [c for c in (*NARRATIVE_FIELDS, "TRTEMFL") if c in names]
    serious = _with_death(
        adae.lazy()
        .select(read)
        .filter((pl.col("TRTEMFL") == "Y") & (pl.col("AESER") == "Y"))
        .sort("USUBJID", "ASTDT", "AESPID")
        .collect(),
        adsl,
    ).with_columns(outcome(pl.col("AETOXGR"), pl.col("AEONGO"), pl.col("DTHDT")).alias("outcome"))
    # only what a narrative reads (ADSL has a hundred columns)
    adsl = adsl.select(c for c in NARRATIVE_FIELDS if c in adsl.columns)
    rows: list[dict[str, object]] = []
    for s in adsl.filter(pl.col("DTHDT").is_not_null()).sort("DTHDT", "USUBJID").iter_rows(named=True):
        course = _course(s)
        middle = (" Course: " + "; ".join(course) + ".") if course else ""
        text = f"{_profile(s)}{middle} {_death_sentence(s)}"
        rows.append({"kind": "death", "USUBJID": s["USUBJID"], "AESPID": None, "text": text})
    parts = [_frame(rows)]
    # the serious AEs a block at a time, with the records of the block's subjects only: the
    # texts of 870,000 SAEs at a million subjects are written block by block, not held as rows
    for start in range(0, serious.height, NARRATIVE_BLOCK):
        block = serious.slice(start, NARRATIVE_BLOCK)
        named = adsl.filter(pl.col("USUBJID").is_in(block["USUBJID"].unique().implode()))
        subjects = {r["USUBJID"]: r for r in named.iter_rows(named=True)}
        rows = []
        for e in block.iter_rows(named=True):
            s = subjects.get(e["USUBJID"], {"USUBJID": e["USUBJID"]})
            text = f"{_profile(s)} {_event_sentence(e)}"
            if e["outcome"] == "Fatal" and s.get("DTHDT") is not None:
                text += " " + _death_sentence(s)
            rows.append({"kind": "SAE", "USUBJID": e["USUBJID"], "AESPID": e["AESPID"], "text": text})
        parts.append(_frame(rows))
    return pl.concat(parts)


def _course(s: dict[str, Any]) -> list[str]:
    """A death narrative's course, in date order: first remission, relapse, HSCT and new
    anti-leukaemia therapy (a reviewer's narrative put an HSCT five months before the
    relapse after it, and left out the therapy given after the relapse)."""
    events: list[tuple[object, int, str]] = []
    if s.get("FRMDY") is not None and s.get("TRTSDT") is not None:
        when = s["TRTSDT"] + dt.timedelta(days=s["FRMDY"])
        events.append((when, 0, f"first remission on day {s['FRMDY']}"))
    if s.get("RELDT") is not None:
        events.append((s["RELDT"], 1, f"relapse on {s['RELDT']}"))
    if s.get("HSCTDT") is not None:
        events.append((s["HSCTDT"], 2, f"HSCT on {s['HSCTDT']}"))
    if s.get("NTHERDT") is not None:
        therapy = f" ({s['NTHERDSC']})" if s.get("NTHERDSC") else ""
        events.append((s["NTHERDT"], 3, f"new anti-leukaemia therapy{therapy} on {s['NTHERDT']}"))
    return [text for _, _, text in sorted(events, key=lambda e: (e[0], e[1]))]


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"kind": pl.String, "USUBJID": pl.String, "AESPID": pl.String, "text": pl.String})
