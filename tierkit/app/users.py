"""The users of a workspace's service: add one (its key shown once), list them, disable one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tierkit.errors import WorkspaceError
from tierkit.runs.files import store_of
from tierkit.store.users import ROLES, add_user, disable_user, list_users, new_key
from tierkit.workspace import Workspace


def add(workspace: Path | None, name: str, role: str) -> str:
    """A new user; its API key, which is stored only as a hash."""
    return add_user(store_of(Workspace.open(workspace)), name, role)


def users(workspace: Path | None) -> list[dict[str, Any]]:
    return list_users(store_of(Workspace.open(workspace)))


def disable(workspace: Path | None, name: str) -> None:
    disable_user(store_of(Workspace.open(workspace)), name)


DEMO_AGENT = "王芳"  # an account manager of the demo shop (tierkit/demo/people.py): her inbox has alerts


def demo_users() -> dict[str, str]:
    """The demo's user per role; the agent is one of the shop's owners, whose customers she serves."""
    return {role: DEMO_AGENT if role == "agent" else f"demo-{role}" for role in ROLES}


def demo_keys(workspace: Path) -> dict[str, str]:
    """A key per role (demo-admin, demo-analyst, and the agent 王芳) for a demo workspace only,
    made afresh each time: what `tierkit demo` prints so that the workbench opens at once."""
    ws = Workspace.open(workspace)
    if not ws.config.get("demo"):
        raise WorkspaceError(f"{ws.root} is not a demo workspace: add users with 'tierkit users add'")
    return {role: new_key(store_of(ws), name, role) for role, name in demo_users().items()}
