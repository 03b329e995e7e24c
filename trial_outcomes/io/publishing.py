"""Where a cut's outputs go, and how they land without damaging earlier ones.

Layout of an output folder:

* ``<out>/<cut>``: a symbolic link to the version of the cut that is current;
* ``<out>/.versions/<cut>/v001/``, ``v002/``, ...: every version ever published,
  each complete with its ``manifest.json``; none is ever deleted;
* ``<out>/.work/<cut>/<run id>/``: the files of one run, empty when the run starts;
* ``<out>/.locks/<cut>.lock``: held by the run of the cut (one at a time);
* ``<out>/.locks/<cut>.alert.lock``: held for a moment by a process deciding whether it
  announces a crossed boundary of the cut (``alert_lock``).

A published cut is identified by its date and its drop (the drop's SHA-256 in
the manifest). Running the same drop and cut again is idempotent: identical
outputs publish nothing new; outputs that differ (new code or plan) become a
new version. A different drop for a published cut is refused unless the run
supersedes it with a reason, which the manifest and the report record with
both drops' hashes. A real folder at ``<out>/<cut>`` that the pipeline did not
make is never touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from trial_outcomes.io.writers import dir_mode, make_dirs, sync_files, sync_folder
from trial_outcomes.provenance import changed_since_publication, code_label, same_code
from trial_outcomes.text import first_of

VERSION = re.compile(r"^v(\d{3,})$")


class CutBusy(RuntimeError):
    """Another process holds the lock of this cut in this output folder."""


class PublishRefused(RuntimeError):
    """Publishing this run would mix or replace outputs it must not touch."""


class UnreadablePublication(PublishRefused):
    """``<out>/<cut>`` is a link the pipeline made, but its version's ``manifest.json`` is
    missing or unreadable: which drop the cut holds cannot be told."""

    def __init__(self, message: str, version: str) -> None:
        super().__init__(message)
        self.version = version


#: the drop a superseded version was made from, when its manifest could not be read
UNKNOWN_DROP = "unknown (its manifest.json was missing or unreadable)"


def _lock_path(out_dir: Path, cut: str) -> Path:
    locks = out_dir / ".locks"
    if locks.is_symlink() or (locks.exists() and not locks.is_dir()):
        raise CutBusy(
            f"{locks} is not the pipeline's lock folder (a file or a link is there); move it away and run again"
        )
    return make_dirs(locks) / f"{cut}.lock"


def _pipeline_link(out_dir: Path, cut: str) -> bool:
    """Whether ``<out>/<cut>`` is a link the pipeline made: relative, into
    ``.versions/<cut>/vNNN`` (a user's own link elsewhere is not one)."""
    final = out_dir / cut
    if not final.is_symlink():
        return False
    target = Path(os.readlink(final))
    return (
        not target.is_absolute()
        and len(target.parts) == 3
        and target.parts[:2] == (".versions", cut)
        and VERSION.match(target.parts[2]) is not None
    )


def _try_lock(handle: IO[str], out_dir: Path, cut: str) -> None:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        raise CutBusy(
            f"data cut {cut} is being written to {out_dir} by {holder}; wait for that run to end and run again"
        ) from None


@contextmanager
def cut_lock(out_dir: Path, cut: str, holder: str = "", running: Callable[[str], bool] | None = None) -> Iterator[None]:
    """Hold ``<out>/.locks/<cut>.lock`` (an advisory ``flock``, released by the kernel
    when the holder exits, even when killed); raise ``CutBusy`` at once if another
    run holds it. Every run of a cut takes it, whoever launched it. A lease of a
    portfolio run (``take_lease``) that ``running`` says is going refuses it too;
    one of an ended run is dropped."""
    with open(_lock_path(out_dir, cut), "a+") as handle:
        _try_lock(handle, out_dir, cut)
        held = _read_lease(handle)
        if held is not None and running is not None and running(held.run):
            fcntl.flock(handle, fcntl.LOCK_UN)
            raise _busy(cut, out_dir, held.run)
        handle.seek(0)
        handle.truncate()
        handle.write(holder or f"process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _flock_within(handle: IO[str], seconds: float) -> bool:
    """Take ``handle``'s ``flock``, waiting up to ``seconds`` for another holder's short
    look; whether it was taken (``_flocked``, ``alert_lock``)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


#: how long a process waits for another's look at a cut's alerts before it goes on without the lock
ALERT_LOCK_WAIT_SECONDS = 30.0


@contextmanager
def alert_lock(out_dir: Path, cut: str) -> Iterator[bool]:
    """Hold ``<out>/.locks/<cut>.alert.lock`` (an advisory ``flock``, released by the kernel
    when the holder exits) while a process reads which runs announced a version of ``cut``
    and writes that it is sending: two processes (the CLI after its run and a sensor, or two
    runs of one version at the same tick) then never both find the alert unclaimed and both
    send. Held for a moment: never while sending. Yields whether it is held: not when the
    folder takes no lock file (read-only, or ``.locks`` is not the pipeline's) or another
    process held it ``ALERT_LOCK_WAIT_SECONDS``; the alert then goes without it, as a board
    told twice is better than one not told."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", cut) or "_"
    try:
        handle = open(_lock_path(out_dir, f"{name}.alert"), "a+")  # noqa: SIM115 (closed below)
    except (OSError, CutBusy):
        yield False
        return
    with handle:
        held = _flock_within(handle, ALERT_LOCK_WAIT_SECONDS)
        try:
            yield held
        finally:
            if held:
                fcntl.flock(handle, fcntl.LOCK_UN)


#: the lock file's words while a run executed step by step in several processes holds the cut:
#: ``lease <root run> <run>`` (a re-execution of a failed run shares its root run)
LEASE = "lease"
#: how long a step waits for another step of its run to finish looking at the lock
LEASE_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Lease:
    root: str  # the run, or the run a re-execution re-executes: the working folder's owner
    run: str  # the run holding it now


def _read_lease(handle: IO[str]) -> Lease | None:
    handle.seek(0)
    words = handle.read().split()
    if len(words) >= 2 and words[0] == LEASE:
        return Lease(words[1], words[2] if len(words) > 2 else words[1])
    return None


def _write_lease(handle: IO[str], lease: Lease | None) -> None:
    handle.seek(0)
    handle.truncate()
    if lease is not None:
        handle.write(f"{LEASE} {lease.root} {lease.run}\n")
    handle.flush()


@contextmanager
def _flocked(out_dir: Path, cut: str) -> Iterator[IO[str]]:
    """The lock file under its ``flock`` for a short look (waiting up to
    ``LEASE_WAIT_SECONDS`` for another step's look; ``CutBusy`` naming the holder when a
    run of ``trial-outcomes run`` holds it for its whole run)."""
    with open(_lock_path(out_dir, cut), "a+") as handle:
        if not _flock_within(handle, LEASE_WAIT_SECONDS):
            _try_lock(handle, out_dir, cut)  # raises CutBusy naming the holder (or has it, freed just now)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _busy(cut: str, out_dir: Path, run: str) -> CutBusy:
    return CutBusy(
        f"data cut {cut} is being written to {out_dir} by run {run[:8]}; wait for that run to end and run "
        "again (a run that died without ending: trial-outcomes portfolio release)"
    )


def take_lease(out_dir: Path, cut: str, root: str, run: str, running: Callable[[str], bool]) -> bool:
    """Hold the cut for the run ``run`` (re-executing ``root``; else ``root == run``)
    across processes: the lease for runs whose steps run in other processes (celery
    workers), where no process lives as long as the run. Under the file's ``flock``:

    - held by ``run``: another step of the run goes on;
    - held by a run that ``running`` says is still going: ``CutBusy``;
    - held by an ended run of the same ``root`` (a failed attempt): taken over, its
      working folder kept, so a re-execution finds what the attempt wrote;
    - free, or held by an ended run of another root: taken, and the cut's working
      folder emptied before the flock is let go (no other step writes meanwhile).

    A run of ``trial-outcomes run`` holds the flock for its whole run, so it and a
    lease exclude each other (``cut_lock`` refuses a lease whose run is going).
    Returns True when the lease is new to ``root``."""
    with _flocked(out_dir, cut) as handle:
        held = _read_lease(handle)
        if held is not None and held.run == run:
            return False
        if held is not None and running(held.run):
            raise _busy(cut, out_dir, held.run)
        new = held is None or held.root != root
        if new:
            clear_work(out_dir, cut)
        _write_lease(handle, Lease(root, run))
        return new


@contextmanager
def leased_publication(out_dir: Path, cut: str, run: str) -> Iterator[None]:
    """Publish under the flock, only while ``run`` still holds the lease (a fencing
    check: a run whose lease was taken over publishes nothing), and give it back."""
    with _flocked(out_dir, cut) as handle:
        held = _read_lease(handle)
        if held is None or held.run != run:
            taken = f"run {held.run[:8]}" if held is not None else "no run"
            raise CutBusy(f"data cut {cut}: run {run[:8]} no longer holds its lease ({taken} does); nothing published")
        yield
        _write_lease(handle, None)


def lease_holder(out_dir: Path, cut: str) -> str | None:
    """The run holding the cut's lease, if any (whether it still runs is the instance's to say)."""
    path = out_dir / ".locks" / f"{cut}.lock"
    if not path.is_file():
        return None
    words = path.read_text().split()
    return (words[2] if len(words) > 2 else words[1]) if len(words) >= 2 and words[0] == LEASE else None


def release_lease(out_dir: Path, cut: str, run: str) -> bool:
    """Remove ``run``'s lease (a run that died without ending: ``portfolio release``); False when it holds none."""
    with _flocked(out_dir, cut) as handle:
        held = _read_lease(handle)
        if held is None or held.run != run:
            return False
        _write_lease(handle, None)
        return True


def lock_is_free(out_dir: Path, cut: str) -> None:
    """Raise ``CutBusy`` now if a run holds the cut (a quick look before starting one)."""
    with open(_lock_path(out_dir, cut), "a+") as handle:
        _try_lock(handle, out_dir, cut)
        fcntl.flock(handle, fcntl.LOCK_UN)


def run_work_dir(out_dir: Path, cut: str, run_id: str) -> Path:
    """The folder of one run's files: ``<out>/.work/<cut>/<run id>/``."""
    return make_dirs(out_dir / ".work" / cut / run_id)


def clear_work(out_dir: Path, cut: str) -> None:
    """Start a run of the cut with no earlier run's files (called under the cut's lock)."""
    folder = out_dir / ".work" / cut
    if folder.is_dir():
        shutil.rmtree(folder)


@dataclass(frozen=True)
class Published:
    """The version of a cut that ``<out>/<cut>`` shows."""

    version: str
    drop_sha256: str
    manifest: dict[str, Any]
    folder: Path | None = None  # the version's folder, the link resolved (None: not on disk)

    def changed_on_disk(self) -> list[str]:
        """The version's files whose bytes are not those its manifest recorded (edited,
        deleted or added since it was published: ``provenance.changed_since_publication``)."""
        if self.folder is None:
            return []
        return changed_since_publication(self.folder, self.manifest.get("outputs", {}))


def current(out_dir: Path, cut: str) -> Published | None:
    """The current published version of ``cut``, or None. A real folder at
    ``<out>/<cut>`` (not a link the pipeline made) is refused, never read or moved."""
    final = out_dir / cut
    if final.is_symlink() and not _pipeline_link(out_dir, cut):
        raise PublishRefused(
            f"{final} is a link the pipeline did not make (it points to {os.readlink(final)}, not into "
            f"{out_dir / '.versions' / cut}); move it away or choose another --out: it is left untouched"
        )
    if not final.is_symlink():
        if final.exists():
            raise PublishRefused(
                f"{final} is a folder the pipeline did not make (published cuts are links into "
                f"{out_dir / '.versions'}); move it away or choose another --out: it is left untouched"
            )
        return None
    # resolved once: a publication meanwhile cannot give this version another's manifest
    # (a red team's pooled manifest named one version's drop and code, and read another's files)
    folder = final.resolve()
    manifest_path = folder / "manifest.json"
    version = folder.name
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        drop = manifest["data_drop"]["sha256"]
        if not isinstance(drop, str) or not drop.strip():
            raise ValueError("no drop hash")  # null or "" let another drop replace the cut, unrecorded
    except (OSError, ValueError, KeyError, TypeError):
        # it was taken for a cut never published: a red team's half-written manifest let
        # another drop replace the cut without --supersede, and without a word in the audit trail
        raise UnreadablePublication(
            f"{final} shows version {version}, whose manifest.json is missing or unreadable: which drop it was "
            "made from cannot be told, so this run cannot tell whether it would replace another drop's outputs. "
            'Restore the manifest, or run again with --supersede "REASON" to publish a new version (the earlier '
            "one is kept)",
            version,
        ) from None
    return Published(version, drop, manifest, folder)


def readable(out_dir: Path, cut: str) -> Published | None:
    """``current``, with a version whose manifest cannot be read taken as none (where a
    run has already been allowed to replace it: ``plan_publication``)."""
    try:
        return current(out_dir, cut)
    except UnreadablePublication:
        return None


@dataclass(frozen=True)
class Publication:
    """What publishing this run will do, decided when the run starts (and recorded
    in the manifest and the report): which version it will be, and what it replaces."""

    cut: str
    drop_sha256: str
    previous_version: str | None
    previous_drop_sha256: str | None
    supersede_reason: str
    inherited: dict[str, Any] | None = None  # what the current version of this same drop superseded

    @property
    def supersedes(self) -> bool:
        return self.previous_drop_sha256 is not None and self.previous_drop_sha256 != self.drop_sha256

    def manifest_entry(self) -> dict[str, Any]:
        """The ``supersedes`` entry of the manifest. A re-run of the drop that superseded
        an earlier one keeps saying so, so that re-running it stays idempotent."""
        if not self.supersedes:
            return {"supersedes": self.inherited} if self.inherited else {}
        return {
            "supersedes": {
                "version": self.previous_version,
                "drop_sha256": self.previous_drop_sha256,
                "reason": self.supersede_reason,
            }
        }


def plan_publication(out_dir: Path, cut: str, drop_sha256: str, supersede_reason: str = "") -> Publication:
    """Refuse now what publishing would refuse later: a real folder in the way, or
    another drop already published for this cut without a reason to supersede it (or a
    version whose manifest cannot be read: its drop is unknown)."""
    try:
        published = current(out_dir, cut)
    except UnreadablePublication as exc:
        if not supersede_reason.strip():
            raise
        return Publication(cut, drop_sha256, exc.version, UNKNOWN_DROP, supersede_reason.strip())
    if published is None:
        return Publication(cut, drop_sha256, None, None, supersede_reason)
    if published.drop_sha256 == drop_sha256:
        return Publication(
            cut,
            drop_sha256,
            published.version,
            published.drop_sha256,
            supersede_reason.strip(),
            published.manifest.get("supersedes"),
        )
    if published.drop_sha256 and not supersede_reason.strip():
        raise PublishRefused(
            f"data cut {cut} is already published from another drop (SHA-256 {published.drop_sha256[:16]}..., "
            f"version {published.version}); this drop is {drop_sha256[:16]}.... Two drops never share a cut: to "
            'replace it, run again with --supersede "REASON" (the earlier version is kept), or choose another cut'
        )
    return Publication(cut, drop_sha256, published.version, published.drop_sha256, supersede_reason.strip())


def revised_version(
    out_dir: Path, cut: str, publication: Publication, plan: str, code: Mapping[str, Any]
) -> str | None:
    """The version of ``cut``, published from this same drop, that this run revises with
    other code or another plan (``plan``: this run's plan's SHA-256; ``code``: its
    ``provenance.code_version``): the version the cut shows when its code or plan differ,
    else the first along the versions each revised (``revises``) whose code or plan differ
    (a re-run then compares with it again: idempotent, even after a revision for another
    reason, a comparison or a file changed on disk: a second red team's); None when none,
    or another drop is published. An upgrade's re-run of a published cut flipped its
    futility boundary, and its report did not say it revised the version the board had
    read (an upgrade red team's)."""
    if publication.previous_version is None or publication.supersedes:
        return None
    versions = out_dir / ".versions" / cut
    version: object = publication.previous_version
    seen: set[str] = set()
    while isinstance(version, str) and version not in seen and (versions / version).is_dir():
        seen.add(version)
        manifest = manifest_of(versions / version)  # read once: its plan, its code, what it revised
        if _plan_of(manifest) != plan or not same_code(_code_of(manifest), code):
            return version
        earlier = manifest.get("revises")
        version = earlier.get("version") if isinstance(earlier, dict) else None
    return None


def version_outputs(out_dir: Path, cut: str) -> dict[str, dict[str, str]]:
    """Every published version of ``cut`` (``vNNN``) and the outputs its manifest records."""
    found = {}
    for manifest in sorted((out_dir / ".versions" / cut).glob("v[0-9][0-9][0-9]/manifest.json")):
        try:
            found[manifest.parent.name] = json.loads(manifest.read_text(encoding="utf-8")).get("outputs", {})
        except (OSError, ValueError):
            continue
    return found


def revision(
    published: Published | None, manifest: dict[str, Any], earlier: dict[str, dict[str, str]] | None = None
) -> dict[str, Any] | None:
    """The ``revises`` entry of a new version of a cut made from the drop its current
    version was made from: which version it revises and what differs (the analysis
    plan, the code, the outputs), so that a cut re-analysed under another plan or
    comparison keeps its audit trail (it was a new version with nothing to say why).
    None when the drop differs (``supersedes`` says that, with its reason), or when the
    outputs are the same (no version is made). When an ``earlier`` version (version ->
    its outputs) holds exactly these outputs (a plan put back), ``same_outputs_as``
    names it."""
    if published is None or published.drop_sha256 != manifest["data_drop"]["sha256"]:
        return None
    before, after = published.manifest.get("outputs", {}), manifest["outputs"]
    if before == after:
        tampered = published.changed_on_disk()
        if not tampered:
            return None
        why = f"{published.version}'s files changed since publication ({first_of(tampered, 6)}): published again"
        return {"version": published.version, "changed": [why], "files": tampered}
    changed = []
    read = published.manifest.get("analysis_plan")
    plans = (str(read.get("sha256", "")) if isinstance(read, dict) else "", manifest["analysis_plan"]["sha256"])
    if plans[0] != plans[1]:
        changed.append(f"analysis plan (SHA-256 {plans[0][:12]} to {plans[1][:12]})")
    made = published.manifest.get("code")  # not a mapping: a manifest edited by hand (a red team's crash)
    was, now = made if isinstance(made, dict) else {}, manifest["code"]
    if any(was.get(k) != now.get(k) for k in ("git_commit", "dirty", "source_sha256")):
        changed.append(f"code ({code_label(was, source=True)} to {code_label(now, source=True)})")
    compared = (published.manifest.get("compared_with", "unknown"), manifest.get("compared_with", "unknown"))
    if compared[0] != compared[1]:
        changed.append(f"comparison (with {compared[0]} to with {compared[1]})")
    files = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
    shown = first_of(files, 6)
    changed.append(f"{len(files)} output file(s): {shown}")
    entry: dict[str, Any] = {"version": published.version, "changed": changed, "files": files}
    same = [v for v, outputs in sorted((earlier or {}).items()) if outputs == after]
    if same:
        entry["same_outputs_as"] = same[0]
        changed.append(f"its outputs are those of {same[0]}")
    return entry


def _next_version(versions: Path) -> str:
    numbers = [int(m.group(1)) for p in versions.iterdir() if (m := VERSION.match(p.name))] if versions.is_dir() else []
    return f"v{max(numbers, default=0) + 1:03d}"


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    """``target`` as a second name of the working folder's file (a hard link: a million
    subjects' 5.7 GB of outputs were copied, and then held twice on disk), or a copy where
    the file system has no hard links. Files in the working folder are never changed in
    place (every write goes to a new file renamed over the old), so the version's files
    cannot change with it."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


@contextmanager
def interrupts_deferred() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM while the block runs (on the main thread; elsewhere a no-op):
    each signal that arrives is recorded in the list yielded, not raised. Publishing a cut
    and saying so is one act: an interrupt just after the link moved made the run say
    "nothing was published" of a cut that showed its new version, and lost its alert (a
    red team's SIGINT at the link's change). A second signal is held too; SIGKILL is not
    a signal a process can hold."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in held}
    for s in held:
        signal.signal(s, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def manifest_of(folder: Path) -> dict[str, Any]:
    """A publication's ``manifest.json`` (``folder``: a cut's or a version's); empty when it
    is missing or unreadable."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def plan_sha256(folder: Path) -> str | None:
    """The SHA-256 of the analysis plan a publication (``folder``: a cut's or a version's)
    read, from its ``manifest.json``; None when the manifest is missing, unreadable or
    names none."""
    return _plan_of(manifest_of(folder))


def _plan_of(manifest: Mapping[str, Any]) -> str | None:
    plan = manifest.get("analysis_plan")
    sha = plan.get("sha256") if isinstance(plan, dict) else None
    return sha if isinstance(sha, str) else None


def published_code(folder: Path) -> dict[str, Any] | None:
    """The code that made a publication (its manifest's ``code``: ``git_commit``, ``dirty``,
    ``source_sha256``...); None when the manifest is missing, unreadable or names none."""
    return _code_of(manifest_of(folder))


def _code_of(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    code = manifest.get("code")
    return code if isinstance(code, dict) else None


#: the independent QC's report, the reports whose page 1 states the QC's result, and
#: define.xml, which names the code's commit (a commit of documents alone changes it: a
#: re-verifier's run without R replaced the QC'd version so)
QC_STATED = ("qc_report.csv", "report.pdf", "report.html", "report_open.pdf", "report_open.html", "define.xml")


def only_its_qc_missing(published: dict[str, str], outputs: dict[str, str]) -> bool:
    """Whether ``outputs`` are the published ``outputs`` less their independent QC: the
    published version has ``qc_report.csv``, these have none, and every other output has
    the same SHA-256 but the reports, whose page 1 says whether the QC ran. A newcomer's
    run on a machine without R replaced a QC'd version with one that said "not run", and
    the board's current report lost its double programming (2026-12-07)."""
    if QC_STATED[0] not in published or QC_STATED[0] in outputs:
        return False

    def rest(o: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in o.items() if k not in QC_STATED}

    return rest(published) == rest(outputs)


def publish(out_dir: Path, cut: str, files: list[Path], manifest_outputs: dict[str, str]) -> tuple[Path, bool]:
    """Make ``<out>/<cut>`` show exactly ``files`` (files or folders) as a new version,
    in one atomic step, unless the current version holds the same outputs, or the same
    outputs and its independent QC where these have none (``only_its_qc_missing``): then
    nothing changes (a re-run is idempotent, and never undoes a QC). Returns the link and
    whether a new version was published. Earlier versions are kept."""
    published = readable(out_dir, cut)
    held = {} if published is None else published.manifest.get("outputs") or {}
    if (
        published is not None
        and (held == manifest_outputs or only_its_qc_missing(held, manifest_outputs))
        and not published.changed_on_disk()  # a file edited or deleted in it is published again, whole
    ):
        _remove_leftovers(out_dir, cut)  # an attacker's killed run left a staging folder no re-run removed
        return out_dir / cut, False
    versions = make_dirs(out_dir / ".versions" / cut)
    staging = versions / f".staging-{uuid.uuid4().hex[:12]}"
    staging.mkdir(mode=dir_mode())
    try:
        for f in files:
            if f.is_dir():
                shutil.copytree(f, staging / f.name, copy_function=_link_or_copy)
            else:
                _link_or_copy(f, staging / f.name)
        # every byte on the disk before the version appears (the working folder's files
        # were written without waiting for it: ``writers.syncing_later``)
        sync_files([staging])
        version = _next_version(versions)
        target = versions / version
        os.rename(staging, target)
        try:
            sync_folder(versions)  # the version's name durable before any link shows it
        except OSError:
            os.rename(target, staging)  # removed below: no version is left that no link showed
            raise
        link = out_dir / f".{cut}.{uuid.uuid4().hex[:12]}.link"
        os.symlink(os.path.relpath(target, out_dir), link)
        os.replace(link, out_dir / cut)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_leftovers(out_dir, cut)
    try:  # the cut's new link durable: a power loss cannot bring back the version it replaced
        sync_folder(out_dir)
    except OSError as exc:  # said as what it is: the cut shows the new version (a reviewer's finding)
        raise OSError(
            exc.errno,
            f"data cut {cut} shows its new version {target.name}, but the disk failed to make the link "
            f"durable ({exc.strerror}): check the disk; a power loss could bring back the version before",
        ) from exc
    return out_dir / cut, True


def _remove_leftovers(out_dir: Path, cut: str) -> None:
    """What a run killed while publishing ``cut`` left: its staging folder and its
    temporary link (the caller holds the cut's lock, so no publication is under way)."""
    for stale in (out_dir / ".versions" / cut).glob(".staging-*"):  # left by a run killed while copying
        shutil.rmtree(stale, ignore_errors=True)
    for leftover in out_dir.glob(f".{cut}.*.link"):
        leftover.unlink(missing_ok=True)


def published_cuts(out_dir: Path) -> list[str]:
    """The cuts published in ``out_dir`` (links the pipeline made), in date order."""
    if not out_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in out_dir.iterdir()
        if p.is_symlink() and _pipeline_link(out_dir, p.name) and (p / "manifest.json").is_file()
    )
