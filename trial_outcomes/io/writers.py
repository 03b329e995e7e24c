"""Writing output files whole: each file goes to a temporary name and is renamed,
so no reader ever sees half a file. Files get the permissions the user's umask
gives (``mkstemp`` alone would make them private to the owner).

CSV files are safe to open in a spreadsheet: text from the drop that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would run as a
formula (CSV injection, OWASP), so such a cell is written with a leading
single quote. Numbers written as text (``-3``, ``+0.5``) are left alone.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import BinaryIO

import polars as pl

from trial_outcomes.contracts import held_as_categories, with_declared_text

FORMULA_START = r"^[=+\-@\t\r]"
PLAIN_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a newly created file gets under the current umask."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    return 0o777 & ~_umask()


def make_dirs(path: Path) -> Path:
    """``mkdir -p`` with the umask's permissions."""
    path.mkdir(parents=True, exist_ok=True, mode=dir_mode())
    return path


#: whether a file written here is synced to the disk before it is renamed into place
_SYNC_EACH: ContextVar[bool] = ContextVar("sync_each", default=True)


@contextmanager
def syncing_later() -> Iterator[None]:
    """Files written inside are renamed into place without waiting for the disk: the
    kernel writes them back while the run goes on, and ``sync_files`` makes them durable
    before they are published (``publishing.publish``). A run's working folder is
    written so: waiting for each file's bytes to reach the disk was a fixed cost of the
    run (ADLB's 1 GB XPT at 100,000 subjects: 4 s at this machine's 250 MB/s), and a
    working folder is emptied when a run starts, so a crash loses nothing published."""
    token = _SYNC_EACH.set(False)
    try:
        yield
    finally:
        _SYNC_EACH.reset(token)


def sync_files(paths: Iterable[Path]) -> None:
    """Every file of ``paths`` (folders walked) on the disk: its written bytes durable,
    and each folder walked too (its entries: the names of those files). A file the
    kernel has already written back costs a system call."""
    for path in paths:
        for member in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if member.is_file() and not member.is_symlink():
                _fsync(member)
        if path.is_dir():
            for folder in [path, *sorted(p for p in path.rglob("*") if p.is_dir() and not p.is_symlink())]:
                sync_folder(folder)


def sync_folder(folder: Path) -> None:
    """``folder``'s entries on the disk: a rename or a new link in it survives a power
    loss once this returns (a file's own ``fsync`` does not make its name durable). A
    file system that cannot sync a folder (EINVAL) is left to its own ordering."""
    try:
        _fsync(folder)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write_pieces(path, [data])


def atomic_write_pieces(path: Path, pieces: Iterable[bytes | memoryview]) -> Path:
    """The file ``path`` written whole from ``pieces`` in order (none held at once)."""

    def write(handle: BinaryIO) -> None:
        for piece in pieces:
            handle.write(piece)

    return atomic_write_with(path, write)


def atomic_write_with(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """The file ``path`` written whole by ``write(handle)``: into a temporary file beside
    it, synced (unless ``syncing_later``), then renamed into place (a writer that fails
    leaves nothing)."""
    make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            if _SYNC_EACH.get():
                os.fsync(handle.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


#: rows per Parquet row group, stated: left to polars, a frame's row groups follow how
#: its memory happens to be chunked, so one table written from a lazy query and from
#: joins gave two files (ADLB at 100,000 subjects, 7.6 million rows, equal values)
PARQUET_ROW_GROUP = 512 * 512


def write_parquet(frame: pl.DataFrame, path: Path) -> Path:
    """Parquet written whole, then renamed into place: same values, same bytes, however
    the frame's memory is chunked. Written straight to the file, never held as bytes (a
    million subjects' ADAE is 0.3 GB).

    Text held as categories is written as its text (``contracts.with_declared_text``) by polars'
    streaming sink, a batch of rows made text at a time: the same bytes as the text frame
    written whole (``tests/io/test_writers.py``), without every row's text held at once
    (ADTTE's 8 million rows at a million subjects, whose fourteen text columns' views
    alone are 1.8 GB)."""
    if held_as_categories(frame.schema):
        return atomic_write_with(
            path,
            lambda handle: with_declared_text(frame.lazy()).sink_parquet(
                handle, compression="zstd", statistics=True, row_group_size=PARQUET_ROW_GROUP
            ),
        )
    return atomic_write_with(
        path,
        lambda handle: frame.write_parquet(
            handle, compression="zstd", statistics=True, row_group_size=PARQUET_ROW_GROUP
        ),
    )


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading quote. Only the
    columns that hold such a cell are rewritten (the others are shared, not copied)."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]

    def risky(name: str) -> pl.Expr:
        value = pl.col(name)
        return value.str.contains(FORMULA_START) & ~value.str.contains(PLAIN_NUMBER)

    if not text or frame.is_empty():
        return frame
    found = frame.select(risky(name).any().alias(name) for name in text).row(0, named=True)
    return frame.with_columns(
        pl.when(risky(name)).then(pl.concat_str(pl.lit("'"), pl.col(name))).otherwise(pl.col(name)).alias(name)
        for name in text
        if found[name]
    )


def _write_csv_to(frame: pl.DataFrame, target: BinaryIO) -> None:
    """A published CSV's tables are small: text held as categories is made text whole,
    then its formulas neutralised."""
    neutralise_formulas(with_declared_text(frame)).write_csv(target, null_value="", float_precision=None)


def csv_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    _write_csv_to(frame, buffer)
    return buffer.getvalue()


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    """The CSV of ``frame`` (formulas neutralised), written straight to the file: the text
    of a million subjects' listings is never held in memory, twice, as it was."""
    return atomic_write_with(path, lambda handle: _write_csv_to(frame, handle))
