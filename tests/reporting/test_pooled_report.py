"""The pooled report (reporting/pooled.py) from the sample split into two "trials"
(alternate subjects): what was pooled, the survival tables with the stratified tests, the forest and
survival figures, pooled safety with heterogeneity; no subject identifier anywhere."""

from __future__ import annotations

import datetime as dt
from functools import cache

import polars as pl
import pytest

from tests.helpers import derive_sample
from trial_outcomes.analysis.pooled import POOLED, TrialCut, pooled_analysis
from trial_outcomes.reporting.figures.render import draw
from trial_outcomes.reporting.pooled import build_pooled_document, figure_specs
from trial_outcomes.reporting.render import render_html, render_pdf


@cache
def _trial_cuts() -> tuple[TrialCut, ...]:
    """The sample's subjects in two trials, alternately."""
    derived = derive_sample()
    adsl, adtte = derived.adsl, derived.adtte
    subjects = sorted(adsl["USUBJID"].to_list())
    halves = {"north": subjects[0::2], "south": subjects[1::2]}
    return tuple(
        TrialCut(
            trial=trial,
            label=f"Trial {trial}",
            cut=dt.date(2024, 3, 31),
            version="v001",
            manifest_sha256="0" * 64,
            adsl=adsl.filter(pl.col("USUBJID").is_in(ids)),
            adtte=adtte.filter(pl.col("USUBJID").is_in(ids)),
        )
        for trial, ids in halves.items()
    )


@pytest.fixture(scope="module")
def tables():
    return pooled_analysis(list(_trial_cuts()), "PRHSCTFL"), derive_sample().adsl


def test_the_pool_adds_up(tables) -> None:
    pooled, adsl = tables
    infused = adsl.filter(pl.col("SAFFL") == "Y").height
    os_all = pooled.survival.filter((pl.col("endpoint") == "OS") & (pl.col("trial") == POOLED)).row(0, named=True)
    assert os_all["n"] == infused
    per_trial = pooled.survival.filter((pl.col("endpoint") == "OS") & (pl.col("trial") != POOLED))
    assert per_trial["n"].sum() == infused and per_trial["n_events"].sum() == os_all["n_events"]
    crs = pooled.safety.filter(pl.col("measure") == "CRS grade >= 3 (adjudicated)")
    assert crs.filter(pl.col("trial") == POOLED)["n"].item() == crs.filter(pl.col("trial") != POOLED)["n"].sum()
    assert pooled.adsl.select("TRIAL", "USUBJID").is_unique().all()


def test_the_report_shows_every_part_and_no_subject(tables) -> None:
    pooled, adsl = tables
    titles = {"north": "Trial north", "south": "Trial south"}
    svgs = {name: draw(spec) for name, spec in figure_specs(pooled, titles).items()}
    assert sorted(svgs) == [
        "pooled_EFS_by_trial.svg",
        "pooled_EFS_forest_PRHSCTFL_Y.svg",
        "pooled_OS_by_trial.svg",
        "pooled_OS_forest_PRHSCTFL_Y.svg",
    ]
    doc = build_pooled_document(pooled, titles, list(svgs), "portfolio.toml", "test")
    html = render_html(doc, svgs)
    for words in (
        "Trials pooled",
        "Overall survival (OS) by trial",
        "stratified log-rank",
        "stratified Cox",
        "Cochran",
        "Pooled safety",
        "heterogeneity across trials",
        "Trial north",
    ):
        assert words in html, words
    assert not any(subject in html for subject in adsl["USUBJID"].to_list())
    pdf = render_pdf(doc, svgs)
    assert pdf.startswith(b"%PDF")


def test_trials_pooled_at_different_cuts_are_not_headed_with_one_cut(tables) -> None:
    """A red team's portfolio pooled trial-2 at 2023-12-31 and the others at 2024-03-31;
    every page's header said "Data cut 2024-03-31". With one cut the header gives it; with
    two, both."""
    from dataclasses import replace

    pooled, _ = tables
    doc = build_pooled_document(pooled, {}, [], "portfolio.toml", "test")
    assert doc.cut == "2024-03-31"
    trials = pooled.trials.with_columns(
        pl.when(pl.col("trial") == "south")
        .then(pl.lit("2023-12-31"))
        .otherwise(pl.col("data_cut").cast(pl.String))
        .alias("data_cut")
    )
    doc = build_pooled_document(replace(pooled, trials=trials), {}, [], "portfolio.toml", "test")
    assert doc.cut == "by trial, 2023-12-31 and 2024-03-31"


def test_trials_made_by_other_code_than_the_pooling_are_said_so(tables) -> None:
    """An upgrade red team's pooled report said "Code 472f2ffdb3" over trial-1 published by
    it and trial-2 and trial-3 by 59dcd35302, whose endpoint rules differ. Each trial's
    row gives its code; when one differs from the pooling's, an alert names each code with
    its trials; all alike, no alert."""
    from dataclasses import replace

    from trial_outcomes.reporting.content import Paragraph

    pooled, _ = tables
    assert pooled.trials["code"].to_list() == ["not recorded", "not recorded"]  # a TrialCut without one
    assert pooled.other_code == ()  # no code given to compare with
    new = {"git_commit": "472f2ffdb3" + "0" * 30, "dirty": False, "source_sha256": "2" * 64}
    old = {"git_commit": "59dcd35302" + "0" * 30, "dirty": False, "source_sha256": "1" * 64}
    # the same source outside git (a git archive): another label, the same code (a red team's false alarm)
    archived = {"git_commit": "unknown", "package_version": "0.1.0", "source_sha256": "2" * 64}
    cuts = [replace(t, code=new if t.trial == "north" else archived) for t in _trial_cuts()]
    alike = pooled_analysis(cuts, "PRHSCTFL", new)
    assert alike.other_code == () and alike.trials["code"].to_list() == ["472f2ffdb3", "0.1.0 sha256:222222222222"]
    doc = build_pooled_document(alike, {}, [], "portfolio.toml", "472f2ffdb3")
    first = doc.sections[0].blocks
    assert first[0].rows[0][4] == "472f2ffdb3" and not any(
        isinstance(b, Paragraph) and b.style == "alert" for b in first
    )
    mixed = pooled_analysis([replace(t, code=old if t.trial == "south" else new) for t in cuts], "PRHSCTFL", new)
    assert mixed.other_code == ("south",)
    doc = build_pooled_document(mixed, {}, [], "portfolio.toml", "472f2ffdb3")
    [alert] = [b for b in doc.sections[0].blocks if isinstance(b, Paragraph) and b.style == "alert"]
    assert alert.text.startswith(
        "The trials' cuts were not all made by this analysis's code (472f2ffdb3): 472f2ffdb3: north; 59dcd35302: "
        "south. A rule that changed"
    )


def test_a_trial_without_the_factor_is_said_to_be_left_out() -> None:
    """A red team's trial that did not collect bridging therapy read "(n=0, 0 events) NE:
    no events" on the forest plot beside its OS table's subjects and deaths. The sample
    split in two, "south" without BRIDGFL: its forest row says the factor was not
    recorded for its subjects (the infused half of the sample), and the survival table's
    stratified tests say who they leave out."""
    derived = derive_sample()
    adsl, adtte = derived.adsl, derived.adtte
    subjects = sorted(adsl["USUBJID"].to_list())
    trials = []
    for trial, ids in {"north": subjects[0::2], "south": subjects[1::2]}.items():
        part = adsl.filter(pl.col("USUBJID").is_in(ids))
        if trial == "south":
            part = part.with_columns(pl.lit(None, pl.String).alias("BRIDGFL"))
        trials.append(
            TrialCut(
                trial,
                f"Trial {trial}",
                dt.date(2024, 3, 31),
                "v001",
                "0" * 64,
                part,
                adtte.filter(pl.col("USUBJID").is_in(ids)),
            )
        )
    pooled = pooled_analysis(trials, "BRIDGFL")
    south = adsl.filter(pl.col("USUBJID").is_in(subjects[1::2]) & (pl.col("SAFFL") == "Y")).height
    specs = figure_specs(pooled, {"north": "Trial north", "south": "Trial south"})
    forest_rows = next(spec for name, spec in specs.items() if name.startswith("pooled_OS_forest")).rows  # type: ignore[attr-defined]
    (row,) = [r for r in forest_rows if r.label.startswith("Trial south")]
    assert row.label == f"Trial south (Bridging therapy not recorded for its {south} subjects)"
    assert row.right == "NE: BRIDGFL not recorded: not in the pooled estimate"
    html = render_html(build_pooled_document(pooled, {}, [], "portfolio.toml", "test"), {})
    assert (
        f"{south} subject(s) without BRIDGFL recorded are left out: south (not recorded for any of its {south})" in html
    )


def test_long_trial_titles_are_told_apart_in_the_figures(tables) -> None:
    """A red team's three titles alike in their first 90 characters ("A phase II
    multicentre study of ... cohort A (Europe)") were cut to one label on the three forest
    rows, and ran off the survival legend. A title longer than 32 characters is named by
    the trial's portfolio id in the figures (table 1 gives both)."""
    from trial_outcomes.reporting.pooled import figure_name

    pooled, _ = tables
    long = {t: f"A phase II multicentre study of CD19 CAR-T in children, cohort {t}" for t in ("north", "south")}
    assert figure_name("north", long) == "north" and figure_name("north", {"north": "Trial north"}) == "Trial north"
    specs = figure_specs(pooled, long)
    forest_rows = next(spec for name, spec in specs.items() if "forest" in name).rows  # type: ignore[attr-defined]
    assert [r.label.split(" (")[0] for r in forest_rows] == ["north", "south", "Pooled, stratified by trial"]
    curves = specs["pooled_OS_by_trial.svg"].curves  # type: ignore[attr-defined]
    assert [c.label.split(" (")[0] for c in curves] == ["north", "south"]
