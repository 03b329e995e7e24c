"""What the pooled analysis reads: a trial's published cut (its ADSL and ADTTE, the
version its link shows and that version's manifest hash). Only what was published
is pooled: a cut that failed, or is still being written, is not there to read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from trial_outcomes.io.publishing import PublishRefused, current, published_cuts
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


def read_published_cut(trial: str, out_dir: Path, cut: str | None) -> PublishedCut:
    """``cut`` of the trial published in ``out_dir`` (None: its latest published cut)."""
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
    # the version the link shows now, resolved once: a publication meanwhile cannot mix two versions
    folder = (out_dir / cut).resolve()
    missing = [name for name in POOLED_INPUTS if not (folder / name).is_file()]
    if missing:
        raise PooledInputError(f"trial {trial}: {folder} has no {', '.join(missing)}")
    return PublishedCut(
        cut=cut,
        version=folder.name,
        manifest_sha256=sha256_file(folder / "manifest.json"),
        drop_sha256=shown.drop_sha256,
        adsl=pl.read_parquet(folder / "adsl.parquet"),
        adtte=pl.read_parquet(folder / "adtte.parquet"),
    )


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
