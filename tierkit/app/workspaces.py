"""Workspaces as use cases: create one, its language, and the settings a service over it
starts with. Light (no engine): every command asks for the workspace's language first."""

from __future__ import annotations

from pathlib import Path

from tierkit.settings import DEFAULT_LANG, environment_for
from tierkit.workspace import CONFIG, Workspace, default_dir


def folder(workspace: Path | None) -> Path:
    """The workspace folder a command means: the one given, else the workspace setting, else ."""
    return default_dir(workspace)


def exists(workspace: Path | None) -> bool:
    return (default_dir(workspace) / CONFIG).exists()


def init(workspace: Path | None, preset: str = "retail") -> Workspace:
    """Create a workspace (tierkit.yaml, policy.yaml from a preset, data/, runs/), or open it."""
    return Workspace.init(workspace, preset)


def language(workspace: Path | None) -> str:
    """The workspace's `lang:` when there is a workspace, else the default."""
    return Workspace.open(workspace).setting("lang", DEFAULT_LANG) if exists(workspace) else DEFAULT_LANG


def serve_environment(workspace: Path | None, rate_limit: float, burst: int) -> tuple[Path, dict[str, str]]:
    """The workspace a service serves, and the environment its worker processes read it from."""
    ws = Workspace.open(workspace)
    values = {
        "serve_workspace": str(ws.root.resolve()),
        "serve_rate": str(rate_limit),
        "serve_burst": str(burst),
        "serve_lang": ws.setting("lang", DEFAULT_LANG),
    }
    return ws.root, environment_for(values)
