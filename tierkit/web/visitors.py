"""Who is looking at a page: the signed-in visitor from the session cookie, and what they may do.

Pages take a `Visitor` through FastAPI dependencies, as the API's routes take a `Caller`: a page
names the roles it admits (`admit(...)`), and a form that changes something is read through
`checked_form`, which refuses it without the session's CSRF token. The language is the one asked
for (`?lang=`, remembered in a cookie), else the workspace's.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request

from tierkit.app import sessions
from tierkit.app.customers import Caller
from tierkit.app.serving import ServedWorkspace
from tierkit.web.catalogue import LANGS

SESSION_COOKIE = "tierkit_session"
LANG_COOKIE = "tierkit_lang"
LOGIN_COOKIE = "tierkit_login"  # the sign-in form's own CSRF token (double submit: no session yet)


class SignInNeeded(Exception):
    """No live session: the page answers with a redirect to the sign-in page, back here after."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


class PageRefused(Exception):
    """The visitor's role may not see this page (or the form lacked its CSRF token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Visitor:
    caller: Caller
    csrf: str
    lang: str
    token: str

    @property
    def role(self) -> str:
        return self.caller.role

    @property
    def staff(self) -> bool:
        return self.caller.role in ("admin", "analyst")


def served_of(request: Request) -> ServedWorkspace:
    """The workspace the process serves (the same object the REST API's routes use)."""
    return request.app.state.service  # type: ignore[no-any-return]


ServiceDep = Annotated[ServedWorkspace, Depends(served_of)]


def lang_of(request: Request, served: ServedWorkspace) -> str:
    """?lang= first, then the remembered choice, then the workspace's language."""
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in LANGS:
            return str(asked)
    return served.settings.lang if served.settings.lang in LANGS else LANGS[0]


def back_to(request: Request) -> str:
    """Where to return after signing in: this page (a path on this site only)."""
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return quote(path, safe="/?=&-_.~%")


def visitor(request: Request, served: ServiceDep) -> Visitor:
    token = request.cookies.get(SESSION_COOKIE, "")
    found = sessions.find(served, token) if token else None
    if found is None:
        raise SignInNeeded(back_to(request))
    return Visitor(Caller(found.user_name, found.role), found.csrf, lang_of(request, served), token)


VisitorDep = Annotated[Visitor, Depends(visitor)]


def admit(*roles: str) -> Callable[[Visitor], Visitor]:
    """A dependency that passes visitors of `roles` and refuses the others with a page saying so."""

    def check(seen: VisitorDep) -> Visitor:
        if seen.role not in roles:
            raise PageRefused(f"role:{seen.role}")
        return seen

    return check


StaffDep = Annotated[Visitor, Depends(admit("admin", "analyst"))]


async def checked_form(request: Request, seen: VisitorDep) -> dict[str, Any]:
    """The posted form, once its CSRF token is the session's (else the change is refused)."""
    form = await request.form()
    given = str(form.get("csrf") or request.headers.get("x-csrf-token") or "")
    if not secrets.compare_digest(given.encode(), seen.csrf.encode()):
        raise PageRefused("csrf")
    return {k: v for k, v in form.items() if k != "csrf"}


FormDep = Annotated[dict[str, Any], Depends(checked_form)]
CheckedForm = Callable[..., Awaitable[dict[str, Any]]]
