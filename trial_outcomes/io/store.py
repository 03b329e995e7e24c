"""The output store of one run: the cut's folder in the output folder, locked for the
run, with the run's working folder, and the only code that writes into either. The
IO manager writes what the assets return through it (``write``), and the last step
publishes the working folder through it (``publish``); ``io/publishing.py`` holds the
rules of versions, links and locks."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trial_outcomes.io.outputs import ToPublish, Writes, bundle_bytes, published_writes, run_writes, write_published
from trial_outcomes.io.publishing import clear_work, cut_lock, leased_publication, publish, run_work_dir, take_lease
from trial_outcomes.io.writers import atomic_write_bytes, syncing_later
from trial_outcomes.runspec import RunSpec

MANIFEST = "manifest.json"
#: what the writer thread may hold of tables not yet written (``WritesBehind``)
BEHIND_BYTES = 256 * 2**20


class WriteFailed(RuntimeError):
    """A file of the run's working folder could not be written: the run publishes nothing."""


class WritesBehind:
    """The working folder's files written on a thread of their own while the run goes on.

    The next steps' polars and Python then overlap the Parquet, CSV and XPT writes,
    which took 12 s of a 77 s run at 100,000 subjects (ADLB's 1 GB XPT alone, 4 s).
    Whatever can refuse the data (a number XPT cannot hold) is checked before a write
    is handed over, in the step that made the table (``outputs.table_writes``). The
    thread holds at most ``budget`` bytes of tables not yet written (one larger table
    alone): a step handing over more waits for the writes before it. A write that
    fails fails the next hand-over, or ``settle`` (the QC and the publishing step
    wait for every write there), naming its files: nothing of the run is published."""

    def __init__(self, budget: int = BEHIND_BYTES) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trial-outcomes-writes")
        self._budget = budget
        # each hand-over: its future, its bytes, its files and the step that made them
        self._pending: list[tuple[Future[list[Path]], int, list[Path], str]] = []

    def submit(self, writes: Writes, size: int, by: str = "") -> list[Path]:
        """Hand ``writes`` (holding ``size`` bytes; the step ``by`` made them) to the
        thread; their files."""
        while self._pending and (self._pending[0][0].done() or self._held() + size > self._budget):
            self._finish_oldest()
        self._pending.append((self._pool.submit(_written_behind, writes), size, list(writes), by))
        return list(writes)

    def settle(self) -> None:
        """Wait for every write handed over; the first that failed raises ``WriteFailed``."""
        while self._pending:
            self._finish_oldest()

    def close(self) -> None:
        """Wait for every write and stop the thread; the first failure raises, once all
        have ended (a run that has failed anyway leaves them: ``OutputStore.locked``)."""
        try:
            self.settle()
        finally:
            for future, *_ in self._pending:
                future.exception()  # waited for, whatever its end
            self._pending.clear()
            self._pool.shutdown(wait=True)

    def _held(self) -> int:
        return sum(size for _, size, *_ in self._pending)

    def _finish_oldest(self) -> None:
        future, _, files, by = self._pending.pop(0)
        try:
            future.result()
        except Exception as exc:
            names = ", ".join(p.name for p in files) + (f" (step {by})" if by else "")
            raise WriteFailed(f"writing {names} into the run's working folder failed: {exc}") from exc


def _written_behind(writes: Writes) -> list[Path]:
    with syncing_later():  # the writer thread's own context: synced when published, as the run's
        return run_writes(writes)


@dataclass(frozen=True)
class OutputStore:
    """Where this run writes: ``<out>/.work/<cut>/<run id>/``, then ``<out>/<cut>``.
    A leased store's ``run_id`` is the lease's owner, so a re-execution of a failed
    run finds the files its first attempt wrote."""

    spec: RunSpec
    run_id: str
    #: the run holds a lease (``leased``) rather than a lock held by this process
    leased_by: str | None = None
    #: the thread writing the files, for a run whose steps share this process (``locked``)
    behind: WritesBehind | None = field(default=None, compare=False, repr=False)

    @classmethod
    @contextmanager
    def locked(cls, spec: RunSpec, run_id: str, running: Callable[[str], bool] | None = None) -> Iterator[OutputStore]:
        """The store of the run, holding the cut's lock until the run ends (``CutBusy``
        when another run holds it, or a portfolio run that ``running`` says is going
        holds its lease), its working folder emptied first."""
        with cut_lock(spec.out_dir, spec.cut_key, f"run {run_id[:8]} (process {os.getpid()})", running):
            clear_work(spec.out_dir, spec.cut_key)
            behind = WritesBehind()
            try:
                yield cls(spec, run_id, behind=behind)
            except BaseException:
                with suppress(WriteFailed):  # the run's own failure is the one to tell
                    behind.close()
                raise
            behind.close()  # before the lock is let go: no write of this run after it

    @classmethod
    def leased(cls, spec: RunSpec, run_id: str, root: str, running: Callable[[str], bool]) -> OutputStore:
        """The store of one step of a run whose steps run in other processes (the celery
        executor): the cut is held by a lease naming the run (``take_lease``), taken by
        the first step and kept by the others. The working folder is the root run's,
        so a re-execution of a failed run continues it. ``CutBusy`` while another run
        that is still ``running`` holds it. Publishing checks the run still holds it,
        and gives it back."""
        take_lease(spec.out_dir, spec.cut_key, root, run_id, running)
        return cls(spec, root, leased_by=run_id)

    @property
    def out_dir(self) -> Path:
        return self.spec.out_dir

    @property
    def work_dir(self) -> Path:
        return run_work_dir(self.spec.out_dir, self.spec.cut_key, self.run_id)

    def write(self, bundle: ToPublish, by: str = "") -> list[Path]:
        """The tables and files of an asset's result, into the working folder (synced to
        the disk when published, not file by file: ``writers.syncing_later``); on the
        writer thread where the store has one (``WritesBehind``), ``by`` the step that made
        them. The files' paths."""
        if self.behind is not None:
            writes = published_writes(self.work_dir, bundle, self.spec.cut)
            return self.behind.submit(writes, bundle_bytes(bundle), by)
        with syncing_later():
            return write_published(self.work_dir, bundle, self.spec.cut)

    def written(self) -> Path:
        """The working folder, once every file handed to the store is in it (the first
        write that failed raises ``WriteFailed``)."""
        if self.behind is not None:
            self.behind.settle()
        return self.work_dir

    def publish(
        self, extra: dict[str, bytes], manifest_for: Callable[[list[Path], Path], dict[str, Any]]
    ) -> tuple[Path, bool, dict[str, Any]]:
        """Add ``extra`` files (the plan's copy, define.xml) to the working folder, write
        the manifest ``manifest_for(files, work folder)`` makes, and publish the folder
        as the cut's new version (nothing new when identical to the current one).
        Returns the cut's link, whether a version was added, and the manifest."""
        work = self.written()
        for name, data in extra.items():
            atomic_write_bytes(work / name, data)
        files = sorted(p for p in work.iterdir() if not p.name.startswith(".") and p.name != MANIFEST)
        manifest = manifest_for(files, work)
        atomic_write_bytes(work / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
        if self.leased_by is None:
            final, new = publish(self.out_dir, self.spec.cut_key, [*files, work / MANIFEST], manifest["outputs"])
        else:
            with leased_publication(self.out_dir, self.spec.cut_key, self.leased_by):
                final, new = publish(self.out_dir, self.spec.cut_key, [*files, work / MANIFEST], manifest["outputs"])
        return final, new, manifest


@dataclass(frozen=True)
class PooledStore:
    """The pooled analysis's folder: ``<pooled out>/<name>``, published as versions the
    way a cut is (``io/publishing.py``): under its lock, from a working folder, in one
    atomic step, nothing new when the outputs are the same."""

    out_dir: Path
    name: str = "pooled"

    def publish(
        self, run_id: str, bundle: ToPublish, when: dt.date, manifest: dict[str, Any]
    ) -> tuple[Path, bool, dict[str, Any]]:
        """Write ``bundle`` and ``manifest`` (with the outputs' hashes added) and publish them."""
        from trial_outcomes.provenance import sha256_file

        with cut_lock(self.out_dir, self.name, f"pooled run {run_id[:8]} (process {os.getpid()})"):
            clear_work(self.out_dir, self.name)
            work = run_work_dir(self.out_dir, self.name, run_id)
            write_published(work, bundle, when)
            files = sorted(p for p in work.iterdir() if not p.name.startswith(".") and p.name != MANIFEST)
            outputs = {
                member.relative_to(work).as_posix(): sha256_file(member)
                for path in files
                for member in (sorted(q for q in path.rglob("*") if q.is_file()) if path.is_dir() else [path])
            }
            manifest = {**manifest, "outputs": dict(sorted(outputs.items()))}
            atomic_write_bytes(work / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
            final, new = publish(self.out_dir, self.name, [*files, work / MANIFEST], manifest["outputs"])
            return final, new, manifest
