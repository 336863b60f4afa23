"""The dependency rule of docs/architecture.md, checked on every import statement in tierkit/
(function-local and type-only ones too): a layer imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "tierkit"

# Lowest first. A module may import its own layer and any layer listed before it; modules of
# one row import each other only when they are one layer (api, web and cli never do).
LAYERS: list[tuple[str, ...]] = [
    (
        "errors",
        "settings",
        "version",
        "canonical",
        "yaml_reading",
        "json_values",
    ),  # ground: imported by anything, importing nothing of ours
    ("policy",),
    ("tables",),
    ("backends",),
    ("engine",),
    ("models",),
    ("workspace",),
    ("store",),
    ("runs",),
    ("ingest",),
    ("ops",),
    ("demo",),
    ("app",),
    ("api", "web", "cli"),  # each its own room: none imports another
    ("server",),  # the API and the workbench in one process: the one place both are imported
    ("__init__", "__main__"),
]
GROUND = LAYERS[0]
FRONT_ENDS = ("api", "web", "cli")  # they call the application layer, nothing below it


def layer_of(name: str) -> int:
    for level, members in enumerate(LAYERS):
        if name in members:
            return level
    raise AssertionError(f"tierkit/{name} is in no layer of LAYERS: add it (and to docs/architecture.md)")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported tierkit module) for every import statement in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module)]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "tierkit"]


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        source = relative.parts[0].removesuffix(".py")
        for line, module in imports(path):
            target = room(module)
            if target == source:
                continue
            if source in GROUND:
                found.append(f"tierkit/{relative}:{line}: {source} is ground and imports {module}")
            elif source in FRONT_ENDS and target not in ("app", *GROUND):
                found.append(f"tierkit/{relative}:{line}: {source} imports {module}; front ends call tierkit.app")
            elif layer_of(target) > layer_of(source) or (layer_of(target) == layer_of(source) and target not in GROUND):
                found.append(f"tierkit/{relative}:{line}: {source} imports {module}, a layer above it or beside it")
    return found


def test_no_import_runs_up_the_layers() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("engine", "models", False),
        ("engine", "runs", False),
        ("tables", "engine", False),
        ("api", "cli", False),
        ("cli", "api", False),
        ("policy", "tables", False),
        ("models", "engine", True),
        ("cli", "app", True),
        ("policy", "errors", True),
    ],
)
def test_the_rules_of_the_issue_hold_in_the_table(source: str, target: str, allowed: bool) -> None:
    """The table itself says what docs/architecture.md says (a guard against loosening it)."""
    above = layer_of(target) > layer_of(source)
    beside = layer_of(target) == layer_of(source) and target not in GROUND
    assert (not above and not beside) == allowed


def test_a_forbidden_import_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "grade.py"
    path.write_text("def f():\n    from tierkit.models.churn import churn_metrics\n", "utf-8")
    assert imports(path) == [(2, "tierkit.models.churn")]


def test_only_the_backends_speak_to_a_database_engine() -> None:
    """DuckDB and Spark are reached through tierkit.backends: no other module imports them or
    writes SQL text (the operational store's SQLAlchemy aside)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("backends", "store"):
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [
                f"{relative}:{node.lineno}: imports {n}" for n in names if n.split(".")[0] in ("duckdb", "pyspark")
            ]
            sql = ("SELECT ", "COPY ", "CREATE ", "SET ")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lstrip().startswith(sql):
                found.append(f"{relative}:{node.lineno}: SQL text {node.value[:30]!r}")
    assert found == []
