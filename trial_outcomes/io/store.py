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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trial_outcomes.io.outputs import ToPublish, write_published
from trial_outcomes.io.publishing import (
    PublishRefused,
    clear_work,
    cut_lock,
    leased_publication,
    publish,
    run_work_dir,
    take_lease,
)
from trial_outcomes.io.writers import atomic_write_bytes, syncing_later
from trial_outcomes.runspec import RunSpec

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class OutputStore:
    """Where this run writes: ``<out>/.work/<cut>/<run id>/``, then ``<out>/<cut>``.
    A leased store's ``run_id`` is the lease's owner, so a re-execution of a failed
    run finds the files its first attempt wrote."""

    spec: RunSpec
    run_id: str
    #: the run holds a lease (``leased``) rather than a lock held by this process
    leased_by: str | None = None

    @classmethod
    @contextmanager
    def locked(cls, spec: RunSpec, run_id: str, running: Callable[[str], bool] | None = None) -> Iterator[OutputStore]:
        """The store of the run, holding the cut's lock until the run ends (``CutBusy``
        when another run holds it, or a portfolio run that ``running`` says is going
        holds its lease), its working folder emptied first."""
        with cut_lock(spec.out_dir, spec.cut_key, f"run {run_id[:8]} (process {os.getpid()})", running):
            clear_work(spec.out_dir, spec.cut_key)
            yield cls(spec, run_id)

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

    def write(self, bundle: ToPublish) -> list[Path]:
        """The tables and files of an asset's result, into the working folder (synced to
        the disk when published, not file by file: ``writers.syncing_later``)."""
        with syncing_later():
            return write_published(self.work_dir, bundle, self.spec.cut)

    def publish(
        self, extra: dict[str, bytes], manifest_for: Callable[[list[Path], Path], dict[str, Any]]
    ) -> tuple[Path, bool, dict[str, Any]]:
        """Add ``extra`` files (the plan's copy, define.xml) to the working folder, write
        the manifest ``manifest_for(files, work folder)`` makes, and publish the folder
        as the cut's new version (nothing new when identical to the current one).
        Returns the cut's link, whether a version was added, and the manifest."""
        work = self.work_dir
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
        self,
        run_id: str,
        bundle: ToPublish,
        when: dt.date,
        manifest: dict[str, Any],
        moved: Callable[[], list[str]] | None = None,
    ) -> tuple[Path, bool, dict[str, Any]]:
        """Write ``bundle`` and ``manifest`` (with the outputs' hashes added) and publish them.
        ``moved``: what changed in the inputs since they were read (a trial's cut superseded
        or a later one published while the analysis ran), asked under the lock; anything
        there refuses the publication (``PublishRefused``): a red team's pooled run that read
        a trial's v001, held while v002 superseded it and a second pooled run pooled v002,
        then published v001's numbers as the current pooled analysis, with nothing to say so."""
        from trial_outcomes.provenance import sha256_file

        with cut_lock(self.out_dir, self.name, f"pooled run {run_id[:8]} (process {os.getpid()})"):
            changed = moved() if moved is not None else []
            if changed:
                raise PublishRefused(
                    "the trials' publications changed while this run pooled them (" + "; ".join(changed) + "): "
                    "nothing was published; run it again (trial-outcomes portfolio run --pooled-only)"
                )
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
