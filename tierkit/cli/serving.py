"""`tierkit serve` (the REST API) and `tierkit users` (API keys and roles)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tierkit.cli.options import JsonOpt, WorkspaceOpt
from tierkit.cli.render import emit, err_console, print_json

users_app = typer.Typer(help="API users: roles admin, analyst, agent; keys shown once, stored hashed.")


def serve_command(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    rate_limit: Annotated[float, typer.Option(help="Requests per second per API key (0: no limit).")] = 100.0,
    burst: Annotated[int, typer.Option(help="Requests at once per API key.")] = 200,
    workers: Annotated[int, typer.Option(help="Worker processes (each maps the run's lookup file).")] = 1,
) -> None:
    """Serve the published run: customer cards, lists, overrides, runs (OpenAPI at /docs)."""
    import os

    import uvicorn

    from tierkit.app import workspaces
    from tierkit.app.connections import uvicorn_options

    root, environment = workspaces.serve_environment(workspace, rate_limit, burst)
    os.environ.update(environment)  # for the worker processes uvicorn starts (see docs/settings.md)
    where = f"http://{host}:{port}"
    err_console.print(f"serving {root} on {where} with {workers} worker(s): workbench at {where}/app/, docs at /docs")
    uvicorn.run(
        "tierkit.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        # time-outs for idle, slow-header and slow-body connections, a cap on request heads and
        # on connections per worker (tierkit.app.connections; docs/api.md#limits)
        **uvicorn_options(),
    )


@users_app.command("add")
def add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, analyst or agent")],
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a user; prints the API key once (it is stored only as a hash)."""
    from tierkit.app import users

    key = users.add(workspace, name, role)
    if json_out:
        print_json({"name": name, "role": role, "key": key})
    else:
        print(key)
        err_console.print(f"user {name} ({role}) created; the key above is shown only now")


def _print_users(found: Any) -> None:
    for user in found:
        state = " (disabled)" if user["disabled_at"] else ""
        print(f"{user['name']:<20} {user['role']:<8} {user['created_at']:%Y-%m-%d}{state}")


@users_app.command("list")
def list_(workspace: WorkspaceOpt = None, json_out: JsonOpt = False) -> None:
    """List users and roles (never keys)."""
    from tierkit.app import users

    emit(users.users(workspace), json_out, _print_users)


@users_app.command("disable")
def disable(name: str, workspace: WorkspaceOpt = None) -> None:
    """Disable a user's key at once (the audit log keeps their entries)."""
    from tierkit.app import users

    users.disable(workspace, name)
    err_console.print(f"user {name} disabled")
