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
    "designs": 0,
    "plan": 1,
    "runspec": 1,
    "portfolio": 1,
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
    """Every module ``path`` imports, ``from trial_outcomes import io`` as ``trial_outcomes.io``."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "trial_outcomes":
            names += [f"trial_outcomes.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def _imported_names(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from trial_outcomes.x import name`` in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("trial_outcomes."):
            out += [(node.module, alias.name) for alias in node.names]
    return out


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


def test_the_import_reader_sees_package_imports(tmp_path):
    """``from trial_outcomes import io`` is an import of the io layer (the test missed it)."""
    source = tmp_path / "m.py"
    source.write_text("from trial_outcomes import io, plan\nimport trial_outcomes.assets.shared\n")
    assert _imports(source) == ["trial_outcomes.io", "trial_outcomes.plan", "trial_outcomes.assets.shared"]


def test_no_layer_reaches_into_another_modules_private_names():
    """``runner``, ``sensors`` and ``cli`` used ``io/`` internals: a name starting with an
    underscore is its module's own."""
    wrong = [
        f"{path.relative_to(PACKAGE)} imports {name} from {module}"
        for _, path in _modules()
        for module, name in _imported_names(path)
        if name.startswith("_")
    ]
    assert not wrong, wrong


def test_docs_architecture_names_every_layer_in_its_order():
    """docs/architecture.md's layer table lists the layers this test enforces, in order."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    rows = [line.split("|")[1].strip().strip("`").rstrip("/") for line in text.splitlines() if line.startswith("| `")]
    documented = [r.removesuffix(".py") for r in rows]
    assert set(documented) == set(LAYER), set(documented) ^ set(LAYER)
    ranks = [LAYER[name] for name in documented]
    assert ranks == sorted(ranks), documented
