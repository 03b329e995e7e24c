"""What the pooled analysis reads: a trial's published cut (its ADSL and ADTTE, the
version its link shows and that version's manifest hash). Only what was published
is pooled: a cut that failed, or is still being written, is not there to read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from trial_outcomes.io.publishing import PublishRefused, current, published_cuts
from trial_outcomes.provenance import sha256_file

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


def refuse_one_drop_twice(cuts: dict[str, PublishedCut]) -> None:
    """Refuse to pool two trials whose cuts were made from one drop (``cuts``: trial ->
    its cut): a portfolio whose two entries named one drop folder, or two output folders
    published from one drop, pooled its subjects twice (a red team's pooled OS: n 228 and
    68 events for 114 and 34, with narrower intervals)."""
    seen: dict[str, str] = {}
    for trial, cut in cuts.items():
        if cut.drop_sha256 in seen:
            raise PooledInputError(
                f"trials {seen[cut.drop_sha256]} and {trial} were published from one drop "
                f"(SHA-256 {cut.drop_sha256[:12]}...): pooling them would count its subjects twice; "
                "check each trial's data and out in the portfolio file"
            )
        seen[cut.drop_sha256] = trial
