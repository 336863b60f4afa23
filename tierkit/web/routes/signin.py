"""/app/login and /app/logout: an API key in, a server-side session out.

The key (from `tierkit users add`) is checked as the API checks it; the browser then holds only
a random session token in an HttpOnly, SameSite=Strict cookie (Secure over TLS). Failed
attempts are rationed per client address, so that the form is no faster a way to guess keys
than the API.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tierkit.app import sessions
from tierkit.errors import TooManyError
from tierkit.web.render import page
from tierkit.web.visitors import LOGIN_COOKIE, SESSION_COOKIE, FormDep, ServiceDep, VisitorDep, lang_of

router = APIRouter(prefix="/app", include_in_schema=False)
SIGN_INS_PER_MINUTE = 20  # per client address: a person mistypes; a script guessing keys is stopped


def _home(role: str) -> str:
    return "/app/customers" if role == "agent" else "/app/"


def _safe_next(value: str | None, role: str) -> str:
    """Only a path on this site: never an address elsewhere (//host, https://host, \\host)."""
    if value and value.startswith("/app") and not value.startswith(("//", "/\\")) and "\\" not in value:
        return value
    return _home(role)


def _login_page(request: Request, served: ServiceDep, error: str | None, status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    lang = lang_of(request, served)
    shown = page(
        request,
        "login.html",
        lang,
        None,
        status,
        error=error,
        form_token=token,
        back=request.query_params.get("next", ""),
    )
    shown.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=1800,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/app/login",
    )
    return shown


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, served: ServiceDep) -> HTMLResponse:
    return _login_page(request, served, None)


@router.post("/login", response_model=None)
def login(
    request: Request,
    served: ServiceDep,
    key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(csrf.encode(), expected.encode()):
        return _login_page(request, served, "signin.error_form", 403)
    address = request.client.host if request.client else "?"
    signed = sessions.sign_in(served, key.strip(), address)
    if signed is None:
        try:
            served.ration(address, "sign-in", SIGN_INS_PER_MINUTE)
        except TooManyError:
            return _login_page(request, served, "signin.error_too_many", 429)
        return _login_page(request, served, "signin.error_key", 401)
    caller, token = signed
    lifetime = dt.timedelta(seconds=served.settings.session_max)
    done = RedirectResponse(_safe_next(next, caller.role), status_code=303)
    done.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    done.delete_cookie(LOGIN_COOKIE, path="/app/login")
    return done


@router.post("/logout")
def logout(seen: VisitorDep, served: ServiceDep, _form: FormDep) -> RedirectResponse:
    sessions.end(served, seen.token, seen.caller)
    done = RedirectResponse("/app/login", status_code=303)
    done.delete_cookie(SESSION_COOKIE, path="/")
    return done
