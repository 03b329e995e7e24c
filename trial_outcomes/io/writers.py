"""Writing output files whole: each file goes to a temporary name and is renamed,
so no reader ever sees half a file."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import polars as pl


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_parquet(frame: pl.DataFrame, path: Path) -> Path:
    """Parquet written whole, then renamed into place: same frame, same bytes."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    return atomic_write_bytes(path, buffer.getvalue())


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    return atomic_write_bytes(path, frame.write_csv(null_value="", float_precision=None).encode("utf-8"))
