"""A validated data drop: typed frames per record type, and its data cut."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from trial_outcomes.io.readers import EXTENSIONS
from trial_outcomes.schema import SCHEMAS


@dataclass(frozen=True)
class RawRecords:
    """One file of the drop: every row as text (the raw layer), typed by its schema,
    and the file's name and SHA-256 (None for an optional file the drop lacks)."""

    text: pl.DataFrame
    typed: pl.DataFrame
    file: str | None = None
    sha256: str | None = None


def drop_fingerprint(files: dict[str, str]) -> str:
    """One SHA-256 for a drop: over each data file's name and SHA-256 (hex), in name order.
    The new-drop sensor tags its runs with it; ``trial_drop`` checks the files it read against it."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + bytes.fromhex(files[name]))
    return digest.hexdigest()


@dataclass(frozen=True)
class TrialDrop:
    """Typed frames (``analysis.parse``) keyed by record type, the cut, and file hashes."""

    records: dict[str, pl.DataFrame]
    cut: dt.date
    files: dict[str, str] = field(default_factory=dict)  # file name -> SHA-256

    def __getitem__(self, record: str) -> pl.DataFrame:
        return self.records[record]


def drop_files(folder: Path) -> dict[str, str]:
    """Name -> SHA-256 (hex) of each file in ``folder`` that the pipeline would read."""
    paths = [folder / f"{schema.record}.{ext}" for schema in SCHEMAS.values() for ext in EXTENSIONS]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}
