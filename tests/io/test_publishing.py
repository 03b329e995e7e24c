"""Publishing a cut: versions never lost, drops never mixed, a user's folder never
touched, files safe to open in a spreadsheet and readable as the umask says."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import polars as pl
import pytest

from trial_outcomes.io.publishing import (
    CutBusy,
    PublishRefused,
    clear_work,
    cut_lock,
    lock_is_free,
    plan_publication,
    publish,
    published_cuts,
    run_work_dir,
)
from trial_outcomes.io.writers import csv_bytes, write_csv, write_parquet

CUT = "2024-03-31"


def _version(tmp_path, out, name: str, drop: str, content: str):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "table.csv").write_text(content)
    manifest = {"data_drop": {"sha256": drop}, "outputs": {"table.csv": hashlib.sha256(content.encode()).hexdigest()}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return publish(out, CUT, [folder / "table.csv", folder / "manifest.json"], manifest["outputs"])


def test_versions_are_kept_and_an_identical_rerun_publishes_nothing(tmp_path):
    out = tmp_path / "out"
    _, new = _version(tmp_path, out, "a", "d1", "one")
    assert new and (out / CUT / "table.csv").read_text() == "one"
    _, again = _version(tmp_path, out, "b", "d1", "one")
    assert not again  # same outputs: idempotent
    _version(tmp_path, out, "c", "d1", "two")  # new code or plan, same drop: a new version
    versions = sorted(p.name for p in (out / ".versions" / CUT).iterdir())
    assert versions == ["v001", "v002"]
    assert (out / ".versions" / CUT / "v001" / "table.csv").read_text() == "one"  # never deleted
    assert (out / CUT / "table.csv").read_text() == "two"
    assert published_cuts(out) == [CUT]


def test_another_drop_for_a_published_cut_needs_a_reason(tmp_path):
    out = tmp_path / "out"
    _version(tmp_path, out, "a", "d1" * 32, "one")
    with pytest.raises(PublishRefused, match=r"already published from another drop.*--supersede"):
        plan_publication(out, CUT, "d2" * 32)
    same = plan_publication(out, CUT, "d1" * 32)
    assert not same.supersedes
    superseding = plan_publication(out, CUT, "d2" * 32, "  corrected death dates at site 02  ")
    assert superseding.manifest_entry() == {
        "supersedes": {"version": "v001", "drop_sha256": "d1" * 32, "reason": "corrected death dates at site 02"}
    }


def test_a_published_file_edited_or_deleted_is_published_again_by_a_rerun(tmp_path):
    """A red team edited OS's events in a published survival_summary.csv (33 to 13): every
    rerun said "no new version: v001 already holds these outputs", and --supersede with
    the same drop had nothing to supersede. A rerun with the same outputs now checks the
    current version's bytes against its manifest: changed, it publishes them again (v002,
    v001 kept as it is found); intact, nothing."""
    from trial_outcomes.io.publishing import current, revision

    out = tmp_path / "out"
    _version(tmp_path, out, "a", "d1", "one")
    (out / CUT / "table.csv").write_text("edited")
    shown = current(out, CUT)
    assert shown is not None and shown.changed_on_disk() == ["table.csv"]
    entry = revision(shown, {"data_drop": {"sha256": "d1"}, "outputs": shown.manifest["outputs"]})
    assert entry == {
        "version": "v001",
        "changed": ["v001's files changed since publication (table.csv): published again"],
        "files": ["table.csv"],
    }
    _, new = _version(tmp_path, out, "b", "d1", "one")
    assert new and (out / CUT / "table.csv").read_text() == "one" and os.readlink(out / CUT).endswith("v002")
    assert (out / ".versions" / CUT / "v001" / "table.csv").read_text() == "edited"  # kept as found
    (out / CUT / "table.csv").unlink()
    _, new = _version(tmp_path, out, "c", "d1", "one")
    assert new and os.readlink(out / CUT).endswith("v003")
    _, again = _version(tmp_path, out, "d", "d1", "one")
    assert not again


def test_a_cut_whose_manifest_cannot_be_read_is_not_replaced_without_a_reason(tmp_path):
    """A red team cut a published manifest.json in half: the cut was taken for one never
    published, and another drop replaced it with no --supersede and no word in the audit
    trail. It is refused now, saying why; with a reason it is superseded, its drop named
    as unknown. A deleted manifest, and a link whose version is gone, are refused alike."""
    from trial_outcomes.io.publishing import UNKNOWN_DROP, UnreadablePublication

    out = tmp_path / "out"
    _version(tmp_path, out, "a", "d1" * 32, "one")
    manifest = out / CUT / "manifest.json"
    text = manifest.read_text()
    manifest.write_text(text[: len(text) // 2])
    for drop in ("d2" * 32, "d1" * 32):
        with pytest.raises(UnreadablePublication, match=r"v001, whose manifest.json is missing or unreadable"):
            plan_publication(out, CUT, drop)
    superseding = plan_publication(out, CUT, "d2" * 32, "manifest lost in a copy")
    assert superseding.manifest_entry() == {
        "supersedes": {"version": "v001", "drop_sha256": UNKNOWN_DROP, "reason": "manifest lost in a copy"}
    }
    for missing in (None, "", "  "):  # a red team's null hash let another drop replace the cut, unrecorded
        manifest.write_text(json.dumps({**json.loads(text), "data_drop": {"sha256": missing}}))
        with pytest.raises(UnreadablePublication):
            plan_publication(out, CUT, "d2" * 32)
    manifest.unlink()
    with pytest.raises(UnreadablePublication):
        plan_publication(out, CUT, "d2" * 32)
    import shutil

    shutil.rmtree(out / ".versions" / CUT / "v001")
    with pytest.raises(UnreadablePublication):
        plan_publication(out, CUT, "d2" * 32)


def test_a_users_own_folder_at_the_cut_is_never_touched(tmp_path):
    out = tmp_path / "out"
    (out / CUT).mkdir(parents=True)
    (out / CUT / "my_notes.txt").write_text("mine")
    with pytest.raises(PublishRefused, match="a folder the pipeline did not make"):
        plan_publication(out, CUT, "d1")
    with pytest.raises(PublishRefused):
        _version(tmp_path, out, "a", "d1", "one")
    assert (out / CUT / "my_notes.txt").read_text() == "mine"


def test_one_run_per_cut_and_a_fresh_work_folder(tmp_path):
    out = tmp_path / "out"
    stale = run_work_dir(out, CUT, "old-run")
    (stale / "cut_comparison.csv").write_text("stale")
    with cut_lock(out, CUT, "run abc"):
        with pytest.raises(CutBusy, match="by run abc"):
            lock_is_free(out, CUT)
        clear_work(out, CUT)
    assert not (out / ".work" / CUT).exists()
    lock_is_free(out, CUT)


def test_csv_cells_that_would_run_as_formulas_are_neutralised():
    """OWASP: a leading =, +, -, @, tab or CR gets a quote; numbers stay numbers."""
    frame = pl.DataFrame(
        {
            "term": ['=HYPERLINK("x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "Fever", "-3", "+0.5"],
            "n": [1, 2, 3, 4, 5, 6, 7, 8],
        }
    )
    text = csv_bytes(frame).decode()
    assert text.splitlines()[1:] == [
        '"\'=HYPERLINK(""x"")",1',
        "'+cmd|' /C calc'!A0,2",
        "'-2+3,3",
        "'@SUM(A1),4",
        "'\tx,5",
        "Fever,6",
        "-3,7",
        "+0.5,8",
    ]


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        path = write_csv(pl.DataFrame({"a": [1]}), tmp_path / "x" / "a.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750


def test_a_rerun_of_the_superseding_drop_keeps_saying_what_it_superseded(tmp_path):
    """v001 from drop 1; v002 from drop 2 supersedes it; re-running drop 2 (no reason
    given this time) carries the same 'supersedes' entry, so its outputs are identical."""
    out = tmp_path / "out"
    _version(tmp_path, out, "a", "d1" * 32, "one")
    entry = plan_publication(out, CUT, "d2" * 32, "corrected dates").manifest_entry()
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"data_drop": {"sha256": "d2" * 32}, **entry, "outputs": {}}))
    publish(out, CUT, [folder / "manifest.json"], {})
    again = plan_publication(out, CUT, "d2" * 32)
    assert not again.supersedes and again.manifest_entry() == entry


def test_a_version_links_the_working_files_and_outlives_the_next_run(tmp_path, monkeypatch):
    """A published file is the working folder's file under a second name (no copy of a
    million subjects' outputs); the next run of the cut clears its working folder and the
    version keeps every byte. Where hard links fail, the file is copied."""
    out = tmp_path / "out"
    work = run_work_dir(out, CUT, "run-1")
    (work / "plots").mkdir()
    (work / "adsl.csv").write_text("USUBJID\nS1\n")
    (work / "plots" / "os.svg").write_text("<svg/>")
    link, _ = publish(out, CUT, [work / "adsl.csv", work / "plots"], {"adsl.csv": "h1"})
    assert (link / "adsl.csv").samefile(work / "adsl.csv")
    assert (link / "plots" / "os.svg").samefile(work / "plots" / "os.svg")
    clear_work(out, CUT)
    assert (link / "adsl.csv").read_text() == "USUBJID\nS1\n" and (link / "plots" / "os.svg").read_text() == "<svg/>"

    def no_links(*_args):
        raise OSError("hard links are not supported")

    monkeypatch.setattr(os, "link", no_links)
    work = run_work_dir(out, CUT, "run-2")
    (work / "adsl.csv").write_text("USUBJID\nS2\n")
    link, new = publish(out, CUT, [work / "adsl.csv"], {"adsl.csv": "h2"})
    assert new and (link / "adsl.csv").read_text() == "USUBJID\nS2\n"
    assert not (link / "adsl.csv").samefile(work / "adsl.csv")


def test_files_changed_since_publication_are_named_in_the_manifests_order(tmp_path):
    """Three files recorded: one kept, one edited, one deleted; the edited and the
    deleted are named, in the manifest's order; then a file added since."""
    from trial_outcomes.provenance import changed_since_publication, sha256_file

    for name in ("a.csv", "b.csv", "c.csv"):
        (tmp_path / name).write_text(f"{name}\n")
    outputs = {name: sha256_file(tmp_path / name) for name in ("c.csv", "a.csv", "b.csv")}
    assert changed_since_publication(tmp_path, outputs) == []
    (tmp_path / "a.csv").write_text("a.csv edited\n")
    (tmp_path / "c.csv").unlink()
    assert changed_since_publication(tmp_path, outputs) == ["c.csv", "a.csv"]
    (tmp_path / "manifest.json").write_text("{}")  # the manifest is not one of its own outputs
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "extra.svg").write_text("<svg/>")
    assert changed_since_publication(tmp_path, outputs) == ["c.csv", "a.csv", "+ plots/extra.svg"]


def test_a_new_version_of_the_same_drop_says_what_it_revises():
    """v001 of drop D with plan P; a run of D with plan Q changes two files: the new
    manifest revises v001, naming the plan's change and the files. Another drop is a
    supersession (no revision); the same outputs make no version (no revision)."""
    from trial_outcomes.io.publishing import Published, revision

    def manifest(drop: str, plan: str, outputs: dict[str, str], source: str = "S", compared: str = "none") -> dict:
        return {
            "data_drop": {"sha256": drop},
            "analysis_plan": {"sha256": plan},
            "code": {"git_commit": "abc1234", "dirty": False, "source_sha256": source * 64},
            "compared_with": compared,
            "outputs": outputs,
        }

    v001 = Published("v001", "D" * 64, manifest("D" * 64, "P" * 64, {"a.csv": "1", "b.csv": "2", "c.csv": "3"}))
    rerun = manifest("D" * 64, "Q" * 64, {"a.csv": "1", "b.csv": "9", "c.csv": "8"})
    assert revision(v001, rerun) == {
        "version": "v001",
        "changed": ["analysis plan (SHA-256 PPPPPPPPPPPP to QQQQQQQQQQQQ)", "2 output file(s): b.csv, c.csv"],
        "files": ["b.csv", "c.csv"],
    }
    # the same commit with edited source (a pip install has no commit), another comparison
    edited = manifest("D" * 64, "P" * 64, rerun["outputs"], source="T", compared="2021-06-30")
    assert revision(v001, edited)["changed"] == [
        "code (abc1234 (source SSSSSSSSSSSS) to abc1234 (source TTTTTTTTTTTT))",
        "comparison (with none to with 2021-06-30)",
        "2 output file(s): b.csv, c.csv",
    ]
    # the plan put back after a v002: the outputs are v001's, and the revision says so
    back = manifest("D" * 64, "P" * 64, v001.manifest["outputs"])
    v002 = Published("v002", "D" * 64, rerun)
    entry = revision(v002, back, {"v001": v001.manifest["outputs"], "v002": rerun["outputs"]})
    assert entry is not None and entry["same_outputs_as"] == "v001"
    assert entry["changed"][-1] == "its outputs are those of v001"
    assert revision(v001, manifest("E" * 64, "Q" * 64, rerun["outputs"])) is None
    assert revision(v001, manifest("D" * 64, "P" * 64, v001.manifest["outputs"])) is None
    assert revision(None, rerun) is None


def test_the_code_version_outside_a_checkout_is_the_source_hash(monkeypatch):
    """In a git checkout: the commit's first 10 digits, -dirty with edits. Outside one (a
    pip install, an unpacked archive): the package version and the source's SHA-256, never
    "unknown" on every page of the report."""
    from trial_outcomes import provenance

    facts = {"git_commit": "0123456789abcdef", "dirty": True, "package_version": "0.3.0", "source_sha256": "ab" * 32}
    monkeypatch.setattr(provenance, "code_version", lambda: facts)
    assert provenance.short_version() == "0123456789-dirty"
    facts.update(git_commit="unknown", dirty=None)
    assert provenance.short_version() == "0.3.0 sha256:abababababab"


def test_the_source_hash_reads_every_file_the_package_ships_and_no_leftover(tmp_path, monkeypatch):
    """A red team's untracked ``cut_comparison.py.orig`` beside the same commit changed the
    source's SHA-256, and the cut comparison said the code had changed. Every file git
    tracks in the package is of a kind ``SOURCE_SUFFIXES`` reads (a new kind would change
    the outputs unseen); a copy of the package with an editor's leftovers beside its files
    hashes as the package does, and an edited file does not."""
    import shutil
    import subprocess

    from trial_outcomes import provenance

    root = Path(provenance.__file__).resolve().parents[1]
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "trial_outcomes"], capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    assert {Path(f).suffix for f in listed.stdout.split()} <= provenance.SOURCE_SUFFIXES
    copy = tmp_path / "trial_outcomes"
    shutil.copytree(root / "trial_outcomes", copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "__file__", str(copy / "provenance.py"))
    monkeypatch.setattr(provenance, "ROOT", root)  # the R QC program read where it is
    clean = provenance.source_sha256()
    (copy / "analysis" / "cut_comparison.py.orig").write_text("old")
    (copy / ".DS_Store").write_bytes(b"\0")
    assert provenance.source_sha256() == clean
    with (copy / "analysis" / "cut_comparison.py").open("a") as handle:
        handle.write("# edited\n")
    assert provenance.source_sha256() != clean


def test_a_parquet_file_has_the_same_bytes_however_its_frame_is_chunked(tmp_path):
    """600,000 rows written whole, and as two chunks of 300,000 or of 100,000 and
    500,000 (a lazy query's result and a join's are chunked differently): one file.
    Left to polars, the three gave three files."""
    whole = pl.DataFrame({"AVAL": list(range(600_000))})
    halves = pl.concat([whole[:300_000], whole[300_000:]], rechunk=False)
    uneven = pl.concat([whole[:100_000], whole[100_000:]], rechunk=False)
    assert halves.n_chunks() == uneven.n_chunks() == 2
    written = [write_parquet(f, tmp_path / f"{i}.parquet").read_bytes() for i, f in enumerate((whole, halves, uneven))]
    assert written[0] == written[1] == written[2]
    assert pl.read_parquet(tmp_path / "1.parquet").equals(whole)


def test_a_run_writes_without_waiting_for_the_disk_and_publishes_only_synced_files(tmp_path, monkeypatch):
    """Inside ``syncing_later`` (a run's working folder) a file is renamed into place
    without an ``fsync``; outside it, with one. Publishing syncs every file of the new
    version, in folders too, before the version appears: each ``fsync`` comes before the
    rename of the staging folder into ``v001``, and every folder of it (the files' names);
    the folder of versions is synced after that rename and the output folder after the
    cut's link moved, so a power loss after publication cannot bring back the version it
    replaced, nor lose the new version's name."""
    from trial_outcomes.io.writers import atomic_write_bytes, syncing_later

    events: list[str] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        events.append("fsync " + Path(os.readlink(f"/proc/self/fd/{fd}")).name)
        real_fsync(fd)

    def rename(source, target) -> None:
        events.append(f"rename {Path(target).name}")
        real_rename(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    out = tmp_path / "out"
    work = run_work_dir(out, CUT, "run-1")
    with syncing_later():
        write_csv(pl.DataFrame({"USUBJID": ["S1"]}), work / "adsl.csv")
        (work / "plots").mkdir()
        atomic_write_bytes(work / "plots" / "os.svg", b"<svg/>")
    assert events == []  # nothing waited for the disk
    atomic_write_bytes(tmp_path / "elsewhere.txt", b"x")
    assert len(events) == 1 and events[0].startswith("fsync .elsewhere.txt.")  # the temporary name, then renamed
    events.clear()
    publish(out, CUT, [work / "adsl.csv", work / "plots"], {"adsl.csv": "h1", "plots/os.svg": "h2"})
    assert sorted(events[:2]) == ["fsync adsl.csv", "fsync os.svg"]
    assert events[2].startswith("fsync .staging-") and events[3] == "fsync plots"  # the folders' entries
    assert events[4:] == ["rename v001", f"fsync {CUT}", "fsync out"]  # .versions/<cut>, then <out> with the link
    assert (out / CUT / "plots" / "os.svg").read_bytes() == b"<svg/>"


def test_an_unchanged_rerun_removes_what_a_killed_publication_left(tmp_path):
    """An attacker killed a run after it had staged its files: the staging folder (and a
    temporary link) stayed, and a re-run with the same outputs, which publishes nothing,
    returned before removing them. It removes them now, and the published cut is as it was."""
    out = tmp_path / "out"
    _version(tmp_path, out, "a", "d1", "one")
    stale = out / ".versions" / CUT / ".staging-0123456789ab"
    stale.mkdir()
    (stale / "table.csv").write_text("half")
    link = out / f".{CUT}.0123456789ab.link"
    link.symlink_to(".versions")
    _, new = _version(tmp_path, out, "b", "d1", "one")
    assert not new and not stale.exists() and not link.is_symlink()
    assert sorted(p.name for p in (out / ".versions" / CUT).iterdir()) == ["v001"]
    assert (out / CUT / "table.csv").read_text() == "one"


def test_a_folder_the_file_system_cannot_sync_is_left_to_it_and_a_failing_disk_is_said(tmp_path, monkeypatch):
    """``sync_folder``: EINVAL (a file system without folder sync) is not an error; an
    input/output error is raised, not taken for a durable publication."""
    import errno

    from trial_outcomes.io.writers import sync_folder

    def failing(code: int):
        def fsync(fd: int) -> None:
            raise OSError(code, os.strerror(code))

        return fsync

    monkeypatch.setattr(os, "fsync", failing(errno.EINVAL))
    sync_folder(tmp_path)
    monkeypatch.setattr(os, "fsync", failing(errno.EIO))
    with pytest.raises(OSError, match="Input/output error"):
        sync_folder(tmp_path)


def test_a_failed_folder_sync_leaves_no_hidden_version_and_says_what_the_cut_shows(tmp_path, monkeypatch):
    """The versions folder's sync failing (before any link shows the new version) leaves
    no ``vNNN`` behind; the output folder's sync failing (after the link moved) says the
    cut shows the new version, not that nothing was published."""
    import errno

    from trial_outcomes.io import publishing

    out = tmp_path / "out"
    _version(tmp_path, out, "a", "d1", "one")
    real = publishing.sync_folder

    def failing_at(name: str):
        def sync_folder(folder: Path) -> None:
            if folder.name == name:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            real(folder)

        return sync_folder

    monkeypatch.setattr(publishing, "sync_folder", failing_at(CUT))  # .versions/<cut>
    with pytest.raises(OSError):
        _version(tmp_path, out, "b", "d1", "two")
    assert sorted(p.name for p in (out / ".versions" / CUT).iterdir()) == ["v001"]
    assert (out / CUT / "table.csv").read_text() == "one"
    monkeypatch.setattr(publishing, "sync_folder", failing_at("out"))
    with pytest.raises(OSError, match=f"data cut {CUT} shows its new version v002"):
        _version(tmp_path, out, "c", "d1", "three")
    assert (out / CUT / "table.csv").read_text() == "three"


def test_a_run_with_other_code_or_plan_revises_the_version_the_cut_shows(tmp_path):
    """An upgrade red team's re-run of a published cut with new code flipped its futility
    boundary, and the new version's report compared it with nothing. ``revised_version``
    names the version of this drop that the run revises when its code or plan differ from
    the run's (v001, made by other code; then v002, read under another plan); when the
    version the cut shows is the run's own code and plan, the one that version revised (the
    re-run publishes the same comparison again: idempotent); none for another drop, for a
    cut never published, or when nothing differs from the start."""
    from trial_outcomes.io.publishing import revised_version

    out = tmp_path / "out"
    old = {"git_commit": "a" * 40, "dirty": False, "source_sha256": "1" * 64}
    new = {"git_commit": "b" * 40, "dirty": False, "source_sha256": "2" * 64}

    def version(name: str, code: dict, plan: str, revises: str | None = None) -> None:
        folder = tmp_path / name
        folder.mkdir()
        manifest = {
            "data_drop": {"sha256": "d1"},
            "code": code,
            "analysis_plan": {"sha256": plan},
            "outputs": {"x": name},
            **({"revises": {"version": revises}} if revises else {}),
        }
        (folder / "manifest.json").write_text(json.dumps(manifest))
        publish(out, CUT, [folder / "manifest.json"], manifest["outputs"])

    def revised(code: dict, plan: str, drop: str = "d1", reason: str = "") -> str | None:
        return revised_version(out, CUT, plan_publication(out, CUT, drop, reason), plan, code)

    assert revised(new, "p") is None  # nothing published
    version("a", old, "p")
    assert revised(old, "p") is None  # the same code and plan
    assert revised(new, "p") == "v001" and revised(old, "q") == "v001"
    version("b", new, "p", revises="v001")
    assert revised(new, "p") == "v001"  # the re-run compares with what v002 revised
    assert revised(new, "q") == "v002"  # another plan revises v002 itself
    assert revised(new, "p", drop="d2", reason="corrected export") is None  # another drop supersedes
    # a revision for another reason (a comparison changed) by the same code and plan: the chain is
    # followed back to the version of other code (a second red team's v004 lost v001's comparison)
    version("c", new, "q", revises="v002")
    version("d", new, "q", revises="v003")
    assert revised(new, "q") == "v002"
    version("e", old, "p")  # no record of what it revises, its code and plan v001's
    assert revised(old, "p") is None


def test_a_rerun_without_r_never_replaces_a_version_with_its_qc(tmp_path):
    """A newcomer ran the sample again on a machine without R: v002 replaced v001, whose
    outputs differed only by qc_report.csv and the reports (page 1: "Not run"), and the
    board's current report lost its QC. The same outputs less the QC publish nothing; any
    other output changed, or a QC present in both, is a new version as before."""
    out = tmp_path / "out"

    def run(name: str, files: dict[str, str]):
        folder = tmp_path / name
        folder.mkdir()
        for f, content in files.items():
            (folder / f).write_text(content)
        outputs = {f: hashlib.sha256(c.encode()).hexdigest() for f, c in files.items()}
        (folder / "manifest.json").write_text(json.dumps({"data_drop": {"sha256": "d1"}, "outputs": outputs}))
        return publish(out, CUT, [*(folder / f for f in files), folder / "manifest.json"], outputs)[1]

    with_qc = {"adsl.csv": "1", "report.pdf": "QC: all agree", "qc_report.csv": "agrees"}
    assert run("a", with_qc)
    assert not run("b", {"adsl.csv": "1", "report.pdf": "QC: not run"})  # only the QC missing: kept
    # define.xml names the code's commit: a commit of documents alone changed it (a re-verifier's)
    assert not run("b2", {"adsl.csv": "1", "report.pdf": "QC: not run", "define.xml": "code fe99858"})
    assert (out / CUT / "qc_report.csv").read_text() == "agrees"
    assert run("c", {"adsl.csv": "2", "report.pdf": "QC: not run"})  # a number changed: published, QC or not
    assert not (out / CUT / "qc_report.csv").exists()
    assert run("d", {"adsl.csv": "2", "report.pdf": "QC: all agree", "qc_report.csv": "agrees"})
    assert run("e", {"adsl.csv": "2", "report.pdf": "QC: one differs", "qc_report.csv": "differs"})
    assert sorted(p.name for p in (out / ".versions" / CUT).iterdir()) == ["v001", "v002", "v003", "v004"]
