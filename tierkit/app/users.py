"""The users of a workspace's service: add one (its key shown once), list them, disable one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tierkit.runs.files import store_of
from tierkit.store.users import add_user, disable_user, list_users
from tierkit.workspace import Workspace


def add(workspace: Path | None, name: str, role: str) -> str:
    """A new user; its API key, which is stored only as a hash."""
    return add_user(store_of(Workspace.open(workspace)), name, role)


def users(workspace: Path | None) -> list[dict[str, Any]]:
    return list_users(store_of(Workspace.open(workspace)))


def disable(workspace: Path | None, name: str) -> None:
    disable_user(store_of(Workspace.open(workspace)), name)
