"""Where an output came from: code version, environment, and file hashes."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from collections.abc import Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "trial-outcomes",
    "dagster",
    "polars",
    "dataframely",
    "numpy",
    "scipy",
    "matplotlib",
    "typst",
    "jinja2",
    "fastexcel",
    "pydantic",
)
ROOT = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """The git commit of the checkout the code runs from, and whether it has
    uncommitted changes to tracked files; 'unknown' outside a git checkout."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": commit or "unknown",
        "dirty": bool(dirty) if dirty is not None else None,
        "package_version": _version("trial-outcomes"),
        "source_sha256": source_sha256(),
    }


#: the kinds of file of the package that make its outputs (its Python, the packaged plan and
#: the report's templates); an editor's backup or a patch's leftover (``x.py.orig``) is not one:
#: a red team's untracked ``.orig`` made the same commit read as other code
SOURCE_SUFFIXES = frozenset({".py", ".toml", ".typ", ".j2"})


def source_sha256() -> str:
    """One SHA-256 of the code that makes the numbers: every file of the package of the
    kinds in ``SOURCE_SUFFIXES`` and the R QC program, by path and bytes.
    Outside a git checkout (a pip install) or with uncommitted edits, the commit alone
    does not say the code changed; this does."""
    package = Path(__file__).resolve().parent
    files = sorted(
        p for p in package.rglob("*") if p.is_file() and p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts
    )
    qc = ROOT / "qc" / "qc.R"
    digest = hashlib.sha256()
    for path in [*files, *([qc] if qc.is_file() else [])]:
        name = path.relative_to(package.parent if path.is_relative_to(package) else ROOT).as_posix()
        digest.update(name.encode() + b"\0" + sha256_file(path).encode() + b"\n")
    return digest.hexdigest()


def short_version() -> str:
    """The code version every page prints: the commit (``-dirty`` with uncommitted edits),
    or outside a git checkout (a pip install, an unpacked archive) the package's version and
    the first 12 hex digits of ``source_sha256``: never "unknown" (a reviewer's snapshot
    printed "Code version unknown" on every page)."""
    return code_label(code_version())


def same_code(made: Mapping[str, Any] | None, makes: Mapping[str, Any]) -> bool:
    """Whether a publication's code (its manifest's ``code``: ``git_commit``, ``dirty``,
    ``source_sha256``) is this run's: the source's SHA-256 when both have it (it sees an
    uncommitted edit, and code outside a checkout), else the commit, clean in both."""
    if made is None:
        return False
    if made.get("source_sha256") and makes.get("source_sha256"):
        return bool(made["source_sha256"] == makes["source_sha256"])
    return bool(
        made.get("git_commit") not in (None, "unknown")
        and made.get("git_commit") == makes.get("git_commit")
        and not made.get("dirty")
        and not makes.get("dirty")
    )


def code_label(code: Mapping[str, Any], source: bool = False) -> str:
    """A manifest's ``code`` (``code_version``) as the report's pages print it:
    the commit's first 10 digits (``-dirty`` with uncommitted edits), else the package's
    version and the source's SHA-256; ``source``: with the source's SHA-256 after a commit
    too (two edits of one commit print alike without it)."""
    commit = str(code.get("git_commit") or "unknown")
    sha = str(code.get("source_sha256") or "")[:12]
    if commit == "unknown":
        return f"{code.get('package_version') or 'source'} sha256:{sha}"
    return commit[:10] + ("-dirty" if code.get("dirty") else "") + (f" (source {sha})" if source and sha else "")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "blas_kernels": blas_kernels(),
    }


#: the OpenBLAS each package bundles (its wheel's ``<package>.libs``) and how it names its kernel
_OPENBLAS = (
    ("numpy", "scipy_openblas_get_corename64_"),
    ("scipy", "scipy_openblas_get_corename"),
)


@lru_cache(maxsize=1)
def blas_kernels() -> dict[str, str | None]:
    """The OpenBLAS kernel numpy's and scipy's linear algebra run on (``Haswell``,
    ``SkylakeX``): chosen for the CPU at start, or by ``OPENBLAS_CORETYPE``. The models'
    statistics (Cox, Fine-Gray, the PH residuals) differ in their 11th to 16th
    significant digit between kernels, so the same drop, cut and code give the same bytes
    on one kernel, not on every machine; the manifest says which. None where a package's
    wheel bundles no OpenBLAS (a distribution's build)."""
    import ctypes

    out: dict[str, str | None] = {}
    for package, symbol in _OPENBLAS:
        out[package] = None
        try:
            module = __import__(package)
            libs = Path(module.__file__ or "").resolve().parent.parent / f"{package}.libs"
            for path in sorted(libs.glob("*openblas*")):
                corename = getattr(ctypes.CDLL(str(path)), symbol, None)
                if corename is not None:
                    corename.restype = ctypes.c_char_p
                    out[package] = corename().decode()
                    break
        except (ImportError, OSError, AttributeError):
            pass
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def changed_since_publication(cut_dir: Path, outputs: dict[str, str]) -> list[str]:
    """The published files of ``cut_dir`` whose bytes are no longer those its manifest
    recorded (``outputs``: file name -> SHA-256), missing files included, in the
    manifest's order (a number edited in a published CSV after publication), then the
    files added since (named "+ NAME"; the manifest itself apart)."""
    changed = [
        name
        for name, digest in outputs.items()
        if not (cut_dir / name).is_file() or sha256_file(cut_dir / name) != digest
    ]
    present = (p.relative_to(cut_dir).as_posix() for p in cut_dir.rglob("*") if p.is_file())
    return changed + [f"+ {name}" for name in sorted(present) if name not in outputs and name != "manifest.json"]
