"""Where a cut's outputs go, and how they land without damaging earlier ones.

Assets write into a work folder, ``<out>/.work/<cut>/``; each file there is
written to a temporary name and renamed, so no reader sees half a file. The
last asset, ``published_cut``, then replaces ``<out>/<cut>`` as a whole by
re-pointing one symbolic link, so a failed or killed run leaves the previous
outputs of that cut as they were.

Two runs of the same cut into the same folder would write the same work files;
``cut_lock`` lets only one of them in (the CLI takes it for the whole run; runs
launched by the Dagster daemon are kept apart by the run queue, see
``dagster.yaml``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class CutBusy(RuntimeError):
    """Another process holds the lock of this cut in this output folder."""


@contextmanager
def cut_lock(out_dir: Path, cut: str) -> Iterator[None]:
    """Hold ``<out>/.locks/<cut>.lock`` (an advisory ``flock``, released by the
    kernel when the holder exits, even when killed); raise ``CutBusy`` at once
    if another process holds it."""
    locks = out_dir / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{cut}.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise CutBusy(
                f"data cut {cut} is being written to {out_dir} by {holder}; wait for that run to end and run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def work_dir(out_dir: Path, cut: str) -> Path:
    path = out_dir / ".work" / cut
    path.mkdir(parents=True, exist_ok=True)
    return path


def publish(out_dir: Path, cut: str, files: list[Path]) -> Path:
    """Make ``<out>/<cut>`` show exactly ``files`` (files or folders), in one atomic step.

    The files are copied into a new folder ``<out>/.versions/<cut>.<id>/``;
    ``<out>/<cut>`` is a symbolic link that is then re-pointed to it by a
    single rename, so at every instant it names a complete set of outputs.
    The version it pointed to before is removed afterwards.
    """
    versions = out_dir / ".versions"
    versions.mkdir(parents=True, exist_ok=True)
    new = versions / f"{cut}.{uuid.uuid4().hex[:12]}"
    new.mkdir()
    final = out_dir / cut
    try:
        for f in files:
            if f.is_dir():
                shutil.copytree(f, new / f.name)
            else:
                shutil.copyfile(f, new / f.name)
        if final.exists() and not final.is_symlink():
            # an output folder from before versioned publishing: retire it first
            os.replace(final, versions / f"{cut}.{uuid.uuid4().hex[:12]}.legacy")
        link = out_dir / f".{cut}.{uuid.uuid4().hex[:12]}.link"
        os.symlink(os.path.relpath(new, out_dir), link)
        os.replace(link, final)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    # the version now shown stays; the one it replaced and any left by killed runs go
    current = new.resolve()
    for stale in versions.glob(f"{cut}.*"):
        if stale.resolve() != current and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    for link in out_dir.glob(f".{cut}.*.link"):
        link.unlink(missing_ok=True)
    return final
