"""A data drop read and typed: its files, their hashes, and the records at a cut."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from trial_outcomes.io.readers import EXTENSIONS
from trial_outcomes.schema import DROP_INFO_FILE, SCHEMAS


class Frames(Mapping[str, pl.DataFrame]):
    """Frames by name, read-only, each loaded when first read. The IO manager stores each
    frame on its own (``pipelines/storage.py``); a step that reads the adverse events of
    the records loads those, not the other ten record types (3.5 GB of records at a
    million subjects, for each of a dozen steps).

    A frame read from a source (a stored file) is held for the next reader; with
    ``held_bytes`` only while the frames read most recently fit in that many bytes, and
    one let go is read again when next asked for: the validation of a million subjects'
    drop reads every record type, and held them all at once (3.9 GB). The store writes
    a frame that comes from a stored file, read or not, as a link to that file
    (``source``), not again."""

    def __init__(
        self,
        frames: Mapping[str, pl.DataFrame | Callable[[], pl.DataFrame]] | None = None,
        *,
        held_bytes: int | None = None,
    ):
        self._frames: dict[str, pl.DataFrame | Callable[[], pl.DataFrame]] = dict(frames or {})
        # name -> where a frame not given whole is read from, kept after it is read: a scan
        # made before still reads its file, a frame let go is read again, and the store links it
        self._sources = {name: value for name, value in self._frames.items() if not isinstance(value, pl.DataFrame)}
        self._held_bytes = held_bytes
        self._held: dict[str, int] = {}  # name -> bytes, least recently read first (with ``held_bytes``)

    def __getitem__(self, name: str) -> pl.DataFrame:
        value = self._frames[name]
        if isinstance(value, pl.DataFrame):
            if name in self._held:  # now the most recently read
                self._held[name] = self._held.pop(name)
            return value
        frame = value()
        self._hold(name, frame)
        return frame

    def _hold(self, name: str, frame: pl.DataFrame) -> None:
        if self._held_bytes is None:
            self._frames[name] = frame
            return
        size = frame_bytes(frame)
        if size > self._held_bytes:
            return
        while self._held and sum(self._held.values()) + size > self._held_bytes:
            oldest = next(iter(self._held))
            del self._held[oldest]
            self._frames[oldest] = self._sources[oldest]
        self._frames[name] = frame
        self._held[name] = size

    def source(self, name: str) -> Callable[[], pl.DataFrame] | None:
        """Where the frame is read from (a stored file's reader), or None for a frame
        given whole."""
        return self._sources.get(name)

    def entry(self, name: str) -> pl.DataFrame | Callable[[], pl.DataFrame]:
        """The frame's source if it has one (whether read or not), else the frame: what
        another ``Frames`` of the same frame is made of, without reading it."""
        return self._sources.get(name) or self._frames[name]

    def height(self, name: str) -> int:
        """The frame's rows, counted from its file where it is not held."""
        value = self._frames[name]
        if isinstance(value, pl.DataFrame):
            return value.height
        return int(self.scan(name).select(pl.len()).collect().item())

    def scan(self, name: str) -> pl.LazyFrame:
        """The frame as a lazy query, which reads from the stored file (where it has one
        and the frame was not read whole yet) only the columns and rows the query needs:
        the last date known alive reads two of the adverse events' twelve columns, not the
        whole record type (0.6 GB at a million subjects). Collect the query while these
        frames are held: it names the file by the descriptor they keep open, which the
        system may give to another file once they are gone."""
        value = self._frames[name]
        if isinstance(value, pl.DataFrame):
            return value.lazy()
        scan = getattr(value, "scan", None)
        return scan() if callable(scan) else self[name].lazy()

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __contains__(self, name: object) -> bool:  # without loading the frame
        return name in self._frames

    def __len__(self) -> int:
        return len(self._frames)

    def __repr__(self) -> str:
        return f"Frames({list(self._frames)})"

    def __reduce__(self) -> tuple[Any, ...]:  # pickled elsewhere than the IO manager: every frame, loaded
        return (Frames, ({name: self[name] for name in self},))


@dataclass(frozen=True)
class RawRecords:
    """One file of the drop typed by its schema, the file's name and SHA-256 (None for
    an optional file the drop lacks), the optional columns it lacks and the columns
    outside the contract that were dropped unread. The rows as text (the raw layer)
    stay in the step that reads the file: its preview is the asset's metadata and its
    problems the ``schema_conformance`` check; no later step reads text, and keeping it
    held the whole drop twice (1.6 GB of text at a million subjects)."""

    frames: Frames  # {"typed": the typed rows}, by name: a reader loads them when it reads them
    file: str | None = None
    sha256: str | None = None
    absent_columns: tuple[str, ...] = ()
    dropped_columns: tuple[str, ...] = ()

    @classmethod
    def of(cls, typed: pl.DataFrame, **facts: Any) -> RawRecords:
        return cls(Frames({"typed": typed}), **facts)

    @property
    def typed(self) -> pl.DataFrame:
        return self.frames["typed"]


def drop_fingerprint(files: dict[str, str]) -> str:
    """One SHA-256 for a drop: over each data file's name and SHA-256 (hex), in name order.
    Runs are tagged with it when requested; ``trial_drop`` checks the files it read
    against it and ``published_cut`` checks the files on disk again before publishing."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + bytes.fromhex(files[name]))
    return digest.hexdigest()


@dataclass(frozen=True)
class DropQuery:
    """A non-blocking finding on the whole drop (a warning check of ``trial_drop`` or of a
    raw file), as the report states it: the check and what it found, naming files, rows
    and columns but no subject; and what the open report prints, the same sentence made
    with the rows withheld (``open_finding``: the files alone; ``naming_no_row`` makes a
    query whose finding names no row, the two the same). A row could be traced to its
    child by anyone holding the drop (a red team's)."""

    check: str
    finding: str
    open_finding: str

    @classmethod
    def naming_no_row(cls, check: str, finding: str) -> DropQuery:
        """A query whose finding names files or columns but no row: printed whole in both
        reports."""
        return cls(check, finding, finding)


@dataclass(frozen=True)
class TrialDrop:
    """Typed frames (``io.parse``) keyed by record type, the cut, the file hashes and
    what the drop lacks: ``absent`` maps a record to the optional columns its file
    does not have (every column, for an optional file the drop does not have)."""

    records: Mapping[str, pl.DataFrame]  # held as ``Frames``: loaded record type by record type
    cut: dt.date
    files: dict[str, str] = field(default_factory=dict)  # file name -> SHA-256
    absent: dict[str, tuple[str, ...]] = field(default_factory=dict)
    latest_record: dt.date | None = None  # the latest date of any record of the whole drop
    extracted_on: dt.date | None = None  # drop_info.toml: the day the export was taken
    queries: tuple[DropQuery, ...] = ()  # the warnings raised on the whole drop, for the report
    #: ``"record.column"`` -> {spelling: the spelling it is counted under} for the free text
    #: counted by value (``validation.spelling_variants``: AE terms and SOCs)
    spellings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.records, Frames):
            object.__setattr__(self, "records", Frames(self.records))

    @property
    def seen_to(self) -> dt.date:
        """The last day the drop can show: the cut, or for a planned cut later than the
        drop's latest record (and no ``extracted_on`` to say the export reaches the cut)
        that record's date. A window counts as closed, its subject known to be free of
        an event in it, only by then: a red team's stale drop, cut two months after its
        latest record, counted a subject infused days before that record as followed 30
        days without a grade >= 4 CRS (81 evaluable became 82, and P(rate > 0.2) fell)."""
        if self.extracted_on is not None or self.latest_record is None:
            return self.cut
        return min(self.cut, self.latest_record)

    @property
    def sees_whole_drop(self) -> bool:
        """Whether the cut is on or after the drop's latest record: an undated statement of
        the drop (the apheresis file's reason not infused) is known at such a cut only."""
        return self.latest_record is None or self.latest_record <= self.cut

    @property
    def days_after_latest_record(self) -> int:
        """How many days the (planned) cut lies after the drop's latest record; 0 when
        the cut falls on or before it."""
        return max(0, (self.cut - self.latest_record).days) if self.latest_record else 0

    def __getitem__(self, record: str) -> pl.DataFrame:
        return self.records[record]

    @property
    def frames(self) -> Frames:
        """The records as held (``Frames``: loaded record type by record type)."""
        assert isinstance(self.records, Frames)
        return self.records

    def has(self, record: str, column: str | None = None) -> bool:
        """Whether the drop holds ``record`` (and its ``column``)."""
        missing = self.absent.get(record, ())
        if column is None:
            return set(missing) != set(SCHEMAS[record].column_names)
        return column not in missing

    @property
    def fingerprint(self) -> str:
        return drop_fingerprint(self.files)


#: polars' string views: bytes each text value has besides its characters
VIEW_BYTES = 16


def frame_bytes(frame: pl.DataFrame) -> int:
    """Bytes of ``frame``: polars' estimate, which counts a text column's characters but
    not the 16-byte view of each value (19 million short codes are 0.3 GB of views that
    the estimate leaves out), plus those views."""
    text = sum(1 for dtype in frame.schema.dtypes() if dtype in (pl.String, pl.Binary))
    return int(frame.estimated_size()) + VIEW_BYTES * frame.height * text


def drop_files(folder: Path) -> dict[str, str]:
    """Name -> SHA-256 (hex) of each file in ``folder`` that the pipeline would read,
    ``drop_info.toml`` included."""
    paths = [folder / f"{schema.record}.{ext}" for schema in SCHEMAS.values() for ext in EXTENSIONS]
    paths.append(folder / DROP_INFO_FILE)
    return {p.name: _sha256(p) for p in paths if p.is_file()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
