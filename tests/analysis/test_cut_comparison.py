"""The changes between two cuts, as the report prints them."""

from __future__ import annotations

import datetime as dt

import polars as pl

from trial_outcomes.analysis.cut_comparison import (
    RESPONDERS_ITEM,
    REVISED_ITEMS,
    _responders,
    _side_by_side,
    compare_cuts,
    revised,
)


def test_a_change_is_the_difference_of_the_printed_values():
    """A red team found "+3.1 pp" between 84.2% and 87.4%. A 6-month estimate of 0.8424
    then 0.8736 prints 84.2% and 87.4%: the change is +3.2 pp (unrounded, 3.12). A median
    of 200 days then 321 prints 6.6 and 10.5 months (200 / 30.4375 = 6.571, 321 / 30.4375
    = 10.546): +3.9 mo (unrounded, 3.975). Counts are exact: 90 to 120 is +30."""
    assert _side_by_side("rate_6m", 0.8424, 0.8736) == {"previous": "84.2%", "current": "87.4%", "change": "+3.2 pp"}
    assert _side_by_side("median_days", 200.0, 321.0) == {"previous": "6.6", "current": "10.5", "change": "+3.9 mo"}
    assert _side_by_side("n", 90, 120)["change"] == "+30"
    assert _side_by_side("rate_6m", None, 0.5)["change"] == ""
    assert _side_by_side("median_days", None, 321.0) == {"previous": "NR", "current": "10.5", "change": ""}


def test_the_responders_row_gives_each_cut_its_denominator_and_rate():
    """A statistician read "CR/CRi by day 28: 43 -> 58, +15" where the rate had fallen. With
    the evaluable: 43 of 51 = 84.31% -> 84.3%, 58 of 72 = 80.56% -> 80.6%, change +15 and
    80.6 - 84.3 = -3.7 pp. With none evaluable before, no rate to compare: "0 of 0", +3."""
    assert _responders(43, 51, 58, 72) == {
        "previous": "43 of 51 (84.3%)",
        "current": "58 of 72 (80.6%)",
        "change": "+15; rate -3.7 pp",
    }
    assert _responders(0, 0, 3, 4) == {"previous": "0 of 0", "current": "3 of 4 (75.0%)", "change": "+3"}
    summary = pl.DataFrame(schema={"endpoint": pl.String, "analysis": pl.String, "group_var": pl.String})
    table = compare_cuts("2020-12-31", _adsl(PREVIOUS), summary, _adsl(CURRENT), summary)
    row = table.filter(pl.col("item") == RESPONDERS_ITEM).row(0, named=True)
    # before: A, B, D responders of A-D (4 evaluable) = 75.0%; now: A of A, B, C, E (4) = 25.0%
    assert (row["previous"], row["current"], row["change"]) == ("3 of 4 (75.0%)", "1 of 4 (25.0%)", "-2; rate -50.0 pp")


def test_an_estimate_resting_on_few_at_risk_is_marked_in_either_cut():
    """A statistician read the 24-month OS falling by 11.5 pp (83.1% to 71.6%) where the
    earlier estimate had rested on 3 subjects at risk, unsaid. Earlier: 24-month 0.8311 with
    3 at risk, median not reached; now: 0.7164 with 25 at risk (not marked: 10 or more), a
    median of 400 days (400 / 30.4375 = 13.14 months) with 4 at risk. The change is that
    of the printed rates, 71.6 - 83.1 = -11.5 pp, the mark aside. Without an earlier
    ``survival_details`` (a publication made before) its side goes unmarked."""
    keys = {"endpoint": "OS", "analysis": "primary", "group_var": "all"}

    def summary(median: float | None, rate: float) -> pl.DataFrame:
        return pl.DataFrame([{**keys, "n_events": 5, "median_days": median, "rate_24m": rate}])

    def details(median_nrisk: int | None, nrisk: int) -> pl.DataFrame:
        return pl.DataFrame([{**keys, "median_nrisk": median_nrisk, "nrisk_24m": nrisk}])

    adsl = _adsl([{"USUBJID": "A"}])
    table = compare_cuts(
        "2022-09-30",
        adsl,
        summary(None, 0.8311),
        adsl,
        summary(400.0, 0.7164),
        details=(details(None, 3), details(4, 25)),
    )
    rows = {r["item"]: (r["previous"], r["current"], r["change"]) for r in table.iter_rows(named=True)}
    assert rows["OS 24-month estimate, %"] == ("83.1% [3]*", "71.6%", "-11.5 pp")
    assert rows["OS median, months"] == ("NR", "13.1 [4]*", "")
    # no estimate (a landmark past the last follow-up), nothing to mark, whatever is at risk
    past = compare_cuts("2022-09-30", adsl, summary(None, None), adsl, summary(None, 0.5), details=(details(0, 0),) * 2)
    assert past.filter(pl.col("item") == "OS 24-month estimate, %").row(0)[1:3] == ("NE", "50.0% [0]*")
    assert rows["OS events"] == ("5", "5", "0")
    unmarked = compare_cuts(
        "2022-09-30", adsl, summary(None, 0.8311), adsl, summary(400.0, 0.7164), details=(None, details(4, 25))
    )
    assert unmarked.filter(pl.col("item") == "OS 24-month estimate, %")["previous"].item() == "83.1%"


def _adsl(rows: list[dict]) -> pl.DataFrame:
    """An ADSL with the columns the comparison reads; dates as ISO text."""
    base = {
        "SAFFL": "Y",
        "EFFFL": "Y",
        "CRFL": "N",
        "D28PNDFL": "N",
        "BOR28": "NR",
        "MRDNEGFL": "N",
        "DISPSTAT": "ONGOING",
        "ENRLDT": "2019-12-01",
        "TRTSDT": "2020-01-01",
        "RELDT": None,
        "HSCTDT": None,
        "DTHDT": None,
        "CRSGRAJ": None,
        "CRSONDY": None,
        "ICANGRAJ": None,
        "ICANONDY": None,
    }
    frame = pl.DataFrame([{**base, **r} for r in rows], infer_schema_length=None)
    return frame.with_columns(pl.col("ENRLDT", "TRTSDT", "RELDT", "HSCTDT", "DTHDT").cast(pl.String).str.to_date())


PREVIOUS = [
    {"USUBJID": "A", "CRFL": "Y", "BOR28": "CR", "MRDNEGFL": "Y", "RELDT": "2020-05-01"},
    {"USUBJID": "B", "CRFL": "Y", "BOR28": "CR", "MRDNEGFL": "Y", "DTHDT": "2020-06-01"},
    {"USUBJID": "C", "HSCTDT": "2020-04-01"},
    {"USUBJID": "D", "CRFL": "Y", "BOR28": "CRi"},
]
CURRENT = [
    {"USUBJID": "A", "CRFL": "Y", "BOR28": "CR", "MRDNEGFL": "Y"},
    {"USUBJID": "B", "BOR28": "NR", "DTHDT": "2020-06-08"},
    {"USUBJID": "C", "HSCTDT": "2020-04-01", "TRTSDT": "2020-01-03"},
    {"USUBJID": "E", "RELDT": "2020-07-01"},
]


def test_what_the_previous_cut_published_and_this_one_withdraws_or_re_dates_is_named():
    """A red team withdrew a published relapse in a later export and added another:
    "Relapses 3 to 3, +0", and nothing said which. Previous cut: A a responder relapsed
    2020-05-01; B a responder dead 2020-06-01; C transplanted 2020-04-01, infused
    2020-01-01; D a responder (CRi). This cut: A's relapse withdrawn (none); B dead
    2020-06-08 and best response NR (no longer counted); C infused 2020-01-03, the same
    HSCT; D gone; E new, relapsed (a new relapse, not a revision). So, by hand: one
    subject gone (D), one infusion re-dated (C, 2020-01-01 to 2020-01-03), one response
    no longer counted (B, now NR), one relapse withdrawn (A, 2020-05-01 to none), no
    HSCT, one death re-dated (B, 2020-06-01 to 2020-06-08)."""
    cut = dt.date(2020, 6, 30)  # the earlier publication's cut
    rows = {r["item"]: (r["current"], r["change"]) for r in revised(_adsl(PREVIOUS), _adsl(CURRENT), cut)}
    assert rows == {
        "Subjects no longer in the data": ("1", "D"),
        "Infusions withdrawn or re-dated": ("1", "C (2020-01-01 to 2020-01-03)"),
        "Responses by day 28 no longer counted": ("1", "B (now best response by day 28 NR)"),
        "MRD-negative remissions by day 28 no longer counted": ("1", "B (now best response by day 28 NR)"),
        "Relapses withdrawn or re-dated": ("1", "A (2020-05-01 to none)"),
        "Consolidative HSCT withdrawn or re-dated": ("0", ""),
        "Deaths withdrawn or re-dated": ("1", "B (2020-06-01 to 2020-06-08)"),
        # E is new and was enrolled 2019-12-01, by the earlier cut: a late entry
        "Subjects enrolled by the earlier cut, not in its publication": ("1", "E (2019-12-01)"),
        "Infusions dated by the earlier cut, not in its publication": ("0", ""),
        "Responses by day 28 newly counted": ("0", ""),
        "MRD-negative remissions by day 28 newly counted": ("0", ""),
        "Relapses dated by the earlier cut, not in its publication": ("0", ""),
        "Consolidative HSCT dated by the earlier cut, not in its publication": ("0", ""),
        "Deaths dated by the earlier cut, not in its publication": ("0", ""),
        "Grade >= 4 CRS or ICANS no longer recorded": ("0", ""),
        "Grade >= 4 CRS or ICANS with onset by the earlier cut, not in its publication": ("0", ""),
    }
    assert list(rows) == list(REVISED_ITEMS)
    # the same publication again revises nothing
    assert {r["current"] for r in revised(_adsl(CURRENT), _adsl(CURRENT), cut)} == {"0"}


def test_what_the_earlier_publication_should_have_held_is_named():
    """A red team re-read BR-009's assessment of 2021-03-30 as a relapse in a later export:
    the 2021-09-30 cut listed it among "New relapses", as if after the 2021-03-31 interim,
    whose CIR, DFS and EFS had missed it. Earlier cut 2021-03-31. Earlier publication: F a
    day-28 responder in remission; G a day-28 non-responder (NR), alive; H a responder,
    alive, no HSCT; K pending at day 28. This one: F relapsed 2021-03-30 (by the earlier
    cut: named); G a responder (CR) now (newly counted: named); H transplanted 2021-04-15
    and dead 2021-03-31 (the death by the cut: named; the HSCT after it: a new fact, not
    named); K a responder (was pending: not named); L new, enrolled 2021-05-01 (after the
    cut: not named). And MRD (a red team's re-read MRD moved the MRD-negative rate with no
    subject named): F MRD-negative before, not now (named, no longer counted); G
    MRD-negative now (named, newly counted, as its response); M a responder in CR not
    MRD-negative before, MRD-negative now (named, newly counted; its response not). By
    hand: one relapse, one response, one death, one MRD-negative remission lost and two
    gained; nothing else."""
    cut = dt.date(2021, 3, 31)
    earlier = [
        {"USUBJID": "F", "CRFL": "Y", "BOR28": "CR", "MRDNEGFL": "Y"},
        {"USUBJID": "G", "BOR28": "NR"},
        {"USUBJID": "M", "CRFL": "Y", "BOR28": "CR"},
        {"USUBJID": "H", "CRFL": "Y", "BOR28": "CR"},
        {"USUBJID": "K", "D28PNDFL": "Y", "BOR28": None},
    ]
    now = [
        {"USUBJID": "F", "CRFL": "Y", "BOR28": "CR", "RELDT": "2021-03-30"},
        {"USUBJID": "G", "CRFL": "Y", "BOR28": "CR", "MRDNEGFL": "Y"},
        {"USUBJID": "M", "CRFL": "Y", "BOR28": "CR", "MRDNEGFL": "Y"},
        {"USUBJID": "H", "CRFL": "Y", "BOR28": "CR", "HSCTDT": "2021-04-15", "DTHDT": "2021-03-31"},
        {"USUBJID": "K", "CRFL": "Y", "BOR28": "CR"},
        {"USUBJID": "L", "ENRLDT": "2021-05-01"},
    ]
    rows = {r["item"]: (r["current"], r["change"]) for r in revised(_adsl(earlier), _adsl(now), cut)}
    named = {item: said for item, said in rows.items() if said[0] != "0"}
    assert named == {
        "MRD-negative remissions by day 28 no longer counted": (
            "1",
            "F (now best response by day 28 CR, not MRD-negative)",
        ),
        "Responses by day 28 newly counted": ("1", "G (was best response by day 28 NR)"),
        "MRD-negative remissions by day 28 newly counted": (
            "2",
            "G (was best response by day 28 NR), M (was best response by day 28 CR, not MRD-negative)",
        ),
        "Relapses dated by the earlier cut, not in its publication": ("1", "F (2021-03-30)"),
        "Deaths dated by the earlier cut, not in its publication": ("1", "H (2021-03-31)"),
    }


def test_a_stopping_rule_toxicity_re_graded_or_backdated_is_named():
    """The safety rule counts a grade >= 4 CRS or ICANS (worst adjudicated grade); a
    corrected export re-grading one to 2 moved its count with no subject named. Earlier
    cut 2020-03-31, everyone infused 2020-01-01. Earlier publication: P CRS grade 4 (onset
    day 3); Q ICANS grade 4 (day 5); R CRS grade 2 (day 2); S none; T CRS grade 4 (day 1).
    This one: P CRS grade 2 (re-graded: named, "4 to 2"); Q no ICANS at all (withdrawn:
    "4 to none"); R CRS grade 4, onset day 2 = 2020-01-03, by the cut (named); S ICANS
    grade 4, onset day 120 = 2020-04-30, after the cut (a new event: not named); T CRS
    grade 5 (still >= 4: not named). By hand: two no longer counted, one backdated."""
    cut = dt.date(2020, 3, 31)
    earlier = [
        {"USUBJID": "P", "CRSGRAJ": 4, "CRSONDY": 3},
        {"USUBJID": "Q", "ICANGRAJ": 4, "ICANONDY": 5},
        {"USUBJID": "R", "CRSGRAJ": 2, "CRSONDY": 2},
        {"USUBJID": "S"},
        {"USUBJID": "T", "CRSGRAJ": 4, "CRSONDY": 1},
    ]
    now = [
        {"USUBJID": "P", "CRSGRAJ": 2, "CRSONDY": 3},
        {"USUBJID": "Q"},
        {"USUBJID": "R", "CRSGRAJ": 4, "CRSONDY": 2},
        {"USUBJID": "S", "ICANGRAJ": 4, "ICANONDY": 120},
        {"USUBJID": "T", "CRSGRAJ": 5, "CRSONDY": 1},
    ]
    rows = {r["item"]: (r["current"], r["change"]) for r in revised(_adsl(earlier), _adsl(now), cut)}
    named = {item: said for item, said in rows.items() if said[0] != "0"}
    assert named == {
        "Grade >= 4 CRS or ICANS no longer recorded": ("2", "P (CRS grade 4 to 2), Q (ICANS grade 4 to none)"),
        "Grade >= 4 CRS or ICANS with onset by the earlier cut, not in its publication": (
            "1",
            "R (CRS grade 4, onset 2020-01-03)",
        ),
    }
    # an earlier publication without the grades is said not to be compared, not read as none
    older = _adsl(earlier).drop("CRSGRAJ", "ICANGRAJ")
    rows = {r["item"]: r["change"] for r in revised(older, _adsl(now), cut)}
    assert rows["Grade >= 4 CRS or ICANS no longer recorded"] == "not compared (no adjudicated CRS and ICANS grades)"


def test_the_comparison_with_a_superseded_version_is_marked_as_such():
    """Compared with version v001 of the same cut (the one a corrected export supersedes),
    every row carries the cut and the version; an earlier cut's rows carry no version.
    The revised rows sit after the new ones, and the counts say A's relapse is gone
    (Relapses 1 to 1: A's withdrawn, E's new)."""
    summary = pl.DataFrame(schema={"endpoint": pl.String, "group_var": pl.String, "analysis": pl.String})
    table = compare_cuts("2021-03-31", _adsl(PREVIOUS), summary, _adsl(CURRENT), summary, "v001")
    assert set(table["previous_cut"]) == {"2021-03-31"} and set(table["previous_version"]) == {"v001"}
    by_item = {r["item"]: r for r in table.iter_rows(named=True)}
    assert (by_item["Relapses"]["previous"], by_item["Relapses"]["current"]) == ("1", "1")
    assert by_item["New relapses"]["change"] == "E"
    assert list(by_item).index("Subjects no longer in the data") == list(by_item).index("New relapses") + 1
    earlier = compare_cuts("2021-03-31", _adsl(PREVIOUS), summary, _adsl(CURRENT), summary)
    assert earlier["previous_version"].null_count() == earlier.height


def test_a_change_of_analysis_plan_between_publications_is_the_first_row():
    """A plan red team's second cut under another plan moved the safety rule's P from 0.10
    to 0.007 on the same data, and the changes table said nothing had changed. The first
    row gives each publication's plan (SHA-256, 12 characters) and "changed"; the same
    plan, nothing; an earlier manifest without one, "not recorded"; no plans given, no row."""
    from trial_outcomes.analysis.cut_comparison import PLAN_ITEM

    summary = pl.DataFrame(schema={"endpoint": pl.String, "group_var": pl.String, "analysis": pl.String})
    a, b = "a" * 64, "b" * 64

    def first(plans):
        return compare_cuts("2021-03-31", _adsl(PREVIOUS), summary, _adsl(CURRENT), summary, None, plans).row(
            0, named=True
        )

    row = first((a, b))
    assert (row["item"], row["previous"], row["current"], row["change"]) == (PLAN_ITEM, "a" * 12, "b" * 12, "changed")
    assert first((b, b))["change"] == "" and first((None, b))["change"] == "not recorded"
    assert first(None)["item"] == "Enrolled"


def test_a_publication_made_by_other_code_says_so_in_a_row():
    """An upgrade red team's CNS relapse on day 21, before a day-25 CR: the code that made
    the first cut counted the CR, the upgraded code did not, and the changes table read
    "Responses by day 28 no longer counted: BR-004" with nothing to say the code had
    changed. A row ``Code version`` gives each publication's commit (10 characters, as the
    report's pages print it, -dirty with uncommitted edits) when the code differs, by the
    source's SHA-256 when both manifests have it, else by a clean commit; "not recorded"
    when the earlier manifest names none; no row for the same code (a re-run of the same
    code stays byte-identical)."""
    from trial_outcomes.analysis.cut_comparison import CODE_ITEM
    from trial_outcomes.provenance import same_code

    summary = pl.DataFrame(schema={"endpoint": pl.String, "group_var": pl.String, "analysis": pl.String})
    old = {"git_commit": "59dcd35302" + "0" * 30, "dirty": False, "source_sha256": "1" * 64}
    new = {"git_commit": "472f2ffdb3" + "0" * 30, "dirty": False, "source_sha256": "2" * 64}
    edited = {**old, "dirty": True, "source_sha256": "3" * 64}

    def code_rows(codes):
        table = compare_cuts("2021-03-31", _adsl(PREVIOUS), summary, _adsl(CURRENT), summary, None, None, codes)
        return [r for r in table.iter_rows(named=True) if r["item"] == CODE_ITEM]

    [row] = code_rows((old, new))
    assert (row["previous"], row["current"], row["change"]) == ("59dcd35302", "472f2ffdb3", "changed")
    [row] = code_rows((old, edited))
    assert (row["previous"], row["current"], row["change"]) == ("59dcd35302", "59dcd35302-dirty", "changed")
    [row] = code_rows((None, new))
    assert (row["previous"], row["change"]) == ("", "not recorded")
    assert code_rows((old, dict(old))) == [] and code_rows(None) == []
    # two edits of one commit print alike: each with its source's SHA-256 (a red team's
    # "made by code 7caf042287, this one by code 7caf042287")
    [row] = code_rows((edited, {**edited, "source_sha256": "4" * 64}))
    assert (row["previous"], row["current"]) == (
        "59dcd35302-dirty (source 333333333333)",
        "59dcd35302-dirty (source 444444444444)",
    )
    # without the source's hash, a clean commit alike is the same code, an edited one is not
    bare = {"git_commit": old["git_commit"], "dirty": False}
    assert same_code(bare, {**bare}) and not same_code({**bare, "dirty": True}, bare)
    assert not same_code({"git_commit": "unknown"}, {"git_commit": "unknown"})
    assert (
        code_rows((bare, {"git_commit": "unknown", "package_version": "0.1.0", "source_sha256": "4" * 64}))[0][
            "current"
        ]
        == "0.1.0 sha256:444444444444"
    )
