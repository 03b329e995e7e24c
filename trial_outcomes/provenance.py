"""Where an output came from: code version, environment, and file hashes."""

from __future__ import annotations

import hashlib
import platform
import subprocess
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
    }


def short_version() -> str:
    v = code_version()
    return str(v["git_commit"])[:10] + ("-dirty" if v["dirty"] else "")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    return {"python": platform.python_version(), "packages": {p: _version(p) for p in PACKAGES}}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def changed_since_publication(cut_dir: Path, outputs: dict[str, str]) -> list[str]:
    """The published files of ``cut_dir`` whose bytes are no longer those its manifest
    recorded (``outputs``: file name -> SHA-256), missing files included, in the
    manifest's order: a number edited in a published CSV after publication."""
    return [
        name
        for name, digest in outputs.items()
        if not (cut_dir / name).is_file() or sha256_file(cut_dir / name) != digest
    ]
