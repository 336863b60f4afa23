"""Who is asking, and may they: FastAPI dependencies, declared once as `Annotated` aliases.

Every route names the roles it admits with `allow(...)`; the roles are also written into the
OpenAPI schema (`x-roles`); the tests check them against the role table of docs/api.md.

The dependencies are `async def`: FastAPI runs a plain `def` dependency in its thread pool, and
three hand-offs to a thread and back per request cost more than the card itself (profiled in
docs/benchmarks.md). None of them waits on anything but a key the process has not seen in
KEY_TTL seconds, and that store query goes to the thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from tierkit.app.access import ROLES, caller_for, remembered
from tierkit.app.customers import Caller
from tierkit.app.serving import ServedWorkspace


def served(request: Request) -> ServedWorkspace:
    return request.app.state.service  # type: ignore[no-any-return]


async def get_service(request: Request) -> ServedWorkspace:
    return served(request)


ServiceDep = Annotated[ServedWorkspace, Depends(get_service)]


async def current_user(request: Request) -> Caller:
    # the service read here, not as a dependency: each dependency FastAPI resolves costs a card
    # a few percent (docs/benchmarks.md)
    service = served(request)
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "an API key is needed: Authorization: Bearer KEY",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = remembered(key) or await run_in_threadpool(caller_for, service, key)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown or disabled API key", headers={"WWW-Authenticate": "Bearer"}
        )
    request.state.user = user
    return user


UserDep = Annotated[Caller, Depends(current_user)]


def allow(*roles: str) -> dict[str, Any]:
    """Route keyword arguments admitting `roles` only (403 for the others), shown in OpenAPI.
    Every role admitted: the key is checked and no role (each dependency FastAPI resolves costs
    an agent's card a few percent; a route taking `UserDep` too resolves it once)."""
    if set(ROLES) <= set(roles):
        return {"dependencies": [Depends(current_user)], "openapi_extra": {"x-roles": list(roles)}}

    async def check(user: UserDep) -> Caller:
        return admitted(user, roles)

    check.__name__ = f"allow_{'_'.join(roles)}"
    return {"dependencies": [Depends(check)], "openapi_extra": {"x-roles": list(roles)}}


def admitted(user: Caller, roles: tuple[str, ...]) -> Caller:
    """`user`, if their role is among `roles` (else 403)."""
    if user.role not in roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {user.role} role may not do this")
    return user


ALL = ROLES
STAFF = ("admin", "analyst")


def role_of(user: Caller) -> Callable[[str], bool]:
    return lambda role: user.role == role
