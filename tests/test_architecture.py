"""The layering the house style asks for, checked from the source: imports run one
way (schema -> io -> analysis -> assets -> pipelines -> cli), and analysis/ is
pure (no Dagster, no file I/O)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "trial_outcomes"
LAYER = {
    "schema": 0,
    "errors": 0,
    "dates": 0,
    "labels": 0,
    "text": 0,
    "formatting": 0,
    "contracts": 0,
    "provenance": 0,
    "plan": 1,
    "io": 2,
    "synth": 2,
    "analysis": 3,
    "reporting": 4,
    "assets": 5,
    "pipelines": 6,
    "cli": 7,
}
FILE_IO = {
    "open",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "read_csv",
    "read_parquet",
    "write_csv",
    "write_parquet",
    "read_excel",
    "mkdir",
    "unlink",
}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        out.append((parts[0], path))
    return out


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_imports_run_one_way():
    wrong = []
    for top, path in _modules():
        if top in {"__init__", "analysis_plan"}:
            continue
        for name in _imports(path):
            if not name.startswith("trial_outcomes."):
                continue
            target = name.split(".")[1]
            if LAYER.get(target, 0) > LAYER[top]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not wrong, wrong


def test_analysis_is_pure():
    """No Dagster, no io layer and no file reading or writing in analysis/."""
    wrong = []
    for top, path in _modules():
        if top != "analysis":
            continue
        for name in _imports(path):
            if name.split(".")[0] == "dagster" or name.startswith("trial_outcomes.io"):
                wrong.append(f"{path.name} imports {name}")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in FILE_IO:
                    wrong.append(f"{path.name}:{node.lineno} calls {called}")
    assert not wrong, wrong


def test_assets_hold_no_derivation():
    """Derivations live in analysis/: an asset body only wires (polars expressions in
    assets/ are for metadata formatting)."""
    wrong = []
    for top, path in _modules():
        if top != "assets":
            continue
        text = path.read_text()
        for word in ("pl.when(", "group_by(", ".agg(", "with_columns(", "pl.concat("):
            if word in text:
                wrong.append(f"{path.name}: {word}")
    assert not wrong, wrong
