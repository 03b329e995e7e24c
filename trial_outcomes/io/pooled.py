"""What the pooled analysis reads: a trial's published cut (its ADSL and ADTTE, the
version its link shows and that version's manifest hash). Only what was published
is pooled: a cut that failed, or is still being written, is not there to read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from trial_outcomes.io.publishing import Published, PublishRefused, current, manifest_of, published_cuts
from trial_outcomes.provenance import sha256_file
from trial_outcomes.text import first_of

#: the files of a published cut the pooled analysis reads
POOLED_INPUTS = ("adsl.parquet", "adtte.parquet")


class PooledInputError(RuntimeError):
    """A trial's cut to pool is not published (the message names the trial, folder and cut)."""


@dataclass(frozen=True)
class PublishedCut:
    """A trial's published cut: its date, version, manifest hash, the SHA-256 of the drop
    it was made from, ADSL and ADTTE."""

    cut: str
    version: str
    manifest_sha256: str
    drop_sha256: str
    adsl: pl.DataFrame
    adtte: pl.DataFrame
    #: the code that made it (its manifest's ``code``; None when it names none)
    code: dict[str, Any] | None = None


def read_published_cut(trial: str, out_dir: Path, cut: str | None) -> PublishedCut:
    """``cut`` of the trial published in ``out_dir`` (None: its latest published cut)."""
    folder, shown = _published_folder(trial, out_dir, cut)
    missing = [name for name in POOLED_INPUTS if not (folder / name).is_file()]
    if missing:
        raise PooledInputError(f"trial {trial}: {folder} has no {', '.join(missing)}")
    return PublishedCut(
        cut=folder.parent.name,
        version=folder.name,
        manifest_sha256=sha256_file(folder / "manifest.json"),
        drop_sha256=shown.drop_sha256,
        adsl=pl.read_parquet(folder / "adsl.parquet"),
        adtte=pl.read_parquet(folder / "adtte.parquet"),
        code=shown.manifest["code"] if isinstance(shown.manifest.get("code"), dict) else None,
    )


def pooled_input(trial: str, out_dir: Path, cut: str | None) -> dict[str, str]:
    """The trial's cut the pooled analysis would read now, as the pooled manifest records
    it (``trial``, ``data_cut``, ``version``, ``manifest_sha256``), its frames unread."""
    folder, _ = _published_folder(trial, out_dir, cut)
    return {
        "trial": trial,
        "data_cut": folder.parent.name,
        "version": folder.name,
        "manifest_sha256": sha256_file(folder / "manifest.json"),
    }


def _published_folder(trial: str, out_dir: Path, cut: str | None) -> tuple[Path, Published]:
    """The version folder ``<out>/.versions/<cut>/vNNN`` that the link of ``cut`` shows now
    (None: the trial's latest published cut), resolved once, and its publication."""
    cuts = published_cuts(out_dir)
    if cut is None:
        if not cuts:
            raise PooledInputError(f"trial {trial}: no cut is published in {out_dir} yet; run its cuts first")
        cut = cuts[-1]
    try:
        shown = current(out_dir, cut)
    except PublishRefused as exc:
        raise PooledInputError(f"trial {trial}: {exc}") from None
    if shown is None or cut not in cuts:
        raise PooledInputError(
            f"trial {trial}: data cut {cut} is not published in {out_dir} (published: {', '.join(cuts) or 'none'})"
        )
    # the version the link showed when its manifest was read (``current`` resolves it once): a
    # publication meanwhile cannot mix two versions (a second resolve here could: a red team's)
    return shown.folder or (out_dir / cut).resolve(), shown


def published_pooled(out_dir: Path, name: str) -> dict[str, Any] | None:
    """The ``pooled`` block of the pooled analysis's published manifest (its portfolio,
    factor and the trials' cuts it read), None when none is published or it is unreadable."""
    pooled = manifest_of(out_dir / name).get("pooled")
    return pooled if isinstance(pooled, dict) else None


def pooled_inputs_changed(
    published: Mapping[str, Any], factor: str, now: Sequence[Mapping[str, str]], was: str = "pooled"
) -> list[str]:
    """What differs between the inputs of the published pooled analysis (``published``:
    its manifest's ``pooled`` block) and the trials' cuts it would read now (``now``:
    ``pooled_input`` of each trial), a sentence each; empty when it is current. A trial
    cut superseded by ``trial-outcomes run --supersede``, a later cut published, a trial
    added or the factor changed each leave the pooled report stale. ``was`` names the
    earlier value in the sentence: "pooled" for a published analysis, "read" for the
    inputs of a run about to publish."""
    changes = []
    if published.get("factor") != factor:
        changes.append(f"the comparison factor is now {factor} ({was}: {published.get('factor')})")
    before = {t.get("trial"): t for t in published.get("trials") or [] if isinstance(t, dict)}
    for trial in now:
        before_cut = before.pop(trial["trial"], None)
        if before_cut is None:
            changes.append(f"trial {trial['trial']} is not in the published pooled analysis")
        elif before_cut.get("data_cut") != trial["data_cut"]:
            changes.append(
                f"trial {trial['trial']}: cut {trial['data_cut']} is to be pooled ({was}: {before_cut.get('data_cut')})"
            )
        elif (before_cut.get("version"), before_cut.get("manifest_sha256")) != (
            trial["version"],
            trial["manifest_sha256"],
        ):
            changes.append(
                f"trial {trial['trial']}: cut {trial['data_cut']} is now version {trial['version']} "
                f"({was}: {before_cut.get('version')})"
            )
    changes += [f"trial {t} is pooled but no longer in the portfolio" for t in before]
    return changes


#: what makes two ADSL rows of two trials one child: the identifier, consent, enrolment and age
SAME_SUBJECT = ("USUBJID", "RFICDT", "ENRLDT", "AGE")


def refuse_counting_twice(cuts: dict[str, PublishedCut]) -> None:
    """Refuse to pool two trials made from one drop, or sharing a subject: its identifier,
    consent and enrolment dates and age the same in both (``cuts``: trial -> its cut). A
    portfolio whose two entries named one drop folder, or two output folders published
    from one drop, pooled its subjects twice (a red team's pooled OS: n 228 and 68 events
    for 114 and 34, with narrower intervals); so did two exports of one trial differing in
    a byte (a corrected record: n 226, 66 events), which the drop's hash cannot see."""
    seen: dict[str, str] = {}
    for trial, cut in cuts.items():
        if cut.drop_sha256 in seen:
            raise PooledInputError(
                f"trials {seen[cut.drop_sha256]} and {trial} were published from one drop "
                f"(SHA-256 {cut.drop_sha256[:12]}...): pooling them would count its subjects twice; "
                "check each trial's data and out in the portfolio file"
            )
        seen[cut.drop_sha256] = trial
    names = list(cuts)
    for a, first in enumerate(names):
        for second in names[a + 1 :]:
            keys = [c for c in SAME_SUBJECT if c in cuts[first].adsl.columns and c in cuts[second].adsl.columns]
            if "USUBJID" not in keys:
                continue
            both = cuts[first].adsl.select(keys).join(cuts[second].adsl.select(keys), on=keys, nulls_equal=True)
            if both.height:
                shown = first_of(sorted(both["USUBJID"].cast(pl.String).to_list()), 5)
                raise PooledInputError(
                    f"trials {first} and {second} share {both.height} subject(s) ({shown}: the same identifier, "
                    "consent and enrolment dates and age in both): pooling them would count them twice; are they "
                    "two exports of one trial? check each trial's data and out in the portfolio file"
                )
