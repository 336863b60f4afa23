"""A workspace: one folder with its config, policy, data files and graded runs.

tierkit.yaml   policy, engine, language, data files
policy.yaml    the grading policy (a copy of a preset to edit)
data/          orders, customers, interactions, contacts: imported parts (data/orders/*.parquet,
               see ingest.imports) or single .parquet/.csv files
runs/          one folder per run, and CURRENT naming the published one
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tierkit.errors import WorkspaceError
from tierkit.policy.loader import LoadedPolicy, load_policy, preset_names, preset_text
from tierkit.settings import DEFAULT_LANG, setting
from tierkit.tables.locations import is_uri
from tierkit.yaml_reading import load_yaml

CONFIG = "tierkit.yaml"
TABLE_NAMES = ("orders", "customers", "interactions", "contacts")


def default_dir(given: str | Path | None) -> Path:
    return Path(given or setting("workspace") or ".")


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: dict[str, object]

    @classmethod
    def open(cls, given: str | Path | None = None) -> Workspace:
        root = default_dir(given)
        config_file = root / CONFIG
        if not config_file.exists():
            found = workspaces_below(root)
            if found:
                listed = ", ".join(str(p) for p in found[:5])
                raise WorkspaceError(
                    f"{root}: not a tierkit workspace (no {CONFIG}); give one with -w DIR "
                    f"(found below: {listed}), or create one with 'tierkit init {root}'"
                )
            raise WorkspaceError(
                f"{root}: not a tierkit workspace (no {CONFIG}); give one with -w DIR (or $TIERKIT_WORKSPACE), "
                f"or create one with 'tierkit init {root}'"
            )
        try:
            config = load_yaml(config_file.read_text("utf-8")) or {}
        except yaml.YAMLError as err:  # e.g. schedule: */5 * * * * unquoted (an alias in YAML)
            mark = getattr(err, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise WorkspaceError(
                f"{config_file}{where}: not valid YAML ({problem}); quote values with * or : in them, "
                'e.g. schedule: "*/5 * * * *"'
            ) from None
        if not isinstance(config, dict):
            raise WorkspaceError(f"{config_file}: expected a mapping")
        return cls(root, config)

    @classmethod
    def init(cls, given: str | Path | None, preset: str = "retail", demo: bool = False) -> Workspace:
        """Create a workspace, or open the one already there (nothing in it is changed)."""
        root = default_dir(given)
        if (root / CONFIG).exists():
            return cls.open(root)
        if demo and root.exists() and any(root.iterdir()):
            raise WorkspaceError(
                f"{root}: the folder is not empty and not a demo workspace; choose another --workspace"
            )
        if preset not in preset_names():
            raise WorkspaceError(f"unknown preset '{preset}' (presets: {', '.join(preset_names())})")
        for sub in ("data", "runs"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "policy.yaml").write_text(preset_text(preset), "utf-8")
        config: dict[str, object] = {"policy": "policy.yaml", "engine": "duckdb", "lang": DEFAULT_LANG, "data": {}}
        if demo:
            config["demo"] = True  # `tierkit demo` may overwrite data/ here, and nowhere else
        (root / CONFIG).write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
        return cls(root, config)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def policy(self, override: str | None = None) -> LoadedPolicy:
        name = override or str(self.config.get("policy", "policy.yaml"))
        path = self.root / name
        return load_policy(path if path.exists() else name)

    def data_file(self, table: str) -> Path | None:
        """The configured file for a table, else the parts `tierkit import` wrote (data/TABLE/),
        else data/TABLE.parquet or data/TABLE.csv."""
        data = self.config.get("data") or {}
        if isinstance(data, dict) and data.get(table):
            return self.root / str(data[table])
        if any((self.data_dir / table).glob("*.parquet")):
            return self.data_dir / table
        for suffix in (".parquet", ".csv"):
            candidate = self.root / "data" / f"{table}{suffix}"
            if candidate.exists():
                return candidate
        return None

    def data_location(self, table: str) -> str | Path | None:
        """`data_file`, or the URI `data:` names for the table, kept as text for --engine spark
        (`self.root / 's3a://b/x'` would be a local path, its '//' collapsed)."""
        data = self.config.get("data") or {}
        given = str(data.get(table) or "") if isinstance(data, dict) else ""
        return given if is_uri(given) else self.data_file(table)

    def setting(self, key: str, default: str) -> str:
        """A setting as text; `refunds: false` (a YAML boolean) is 'False', not the default."""
        value = self.config.get(key)
        return default if value is None or value == "" else str(value)


def workspaces_below(folder: Path, depth: int = 2) -> list[Path]:
    """Workspaces in `folder`'s subfolders (two levels), nearest first: where a user who forgot
    `-w` most likely meant to be."""
    found: list[Path] = []
    level = [folder]
    for _ in range(depth):
        nxt: list[Path] = []
        for parent in level:
            try:
                children = sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))
            except OSError:
                continue
            for child in children:
                (found if (child / CONFIG).exists() else nxt).append(child)
        level = nxt
    return found
