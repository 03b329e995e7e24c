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
    cut: str
    version: str
    manifest_sha256: str
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
        adsl=pl.read_parquet(folder / "adsl.parquet"),
        adtte=pl.read_parquet(folder / "adtte.parquet"),
    )
