"""The web workbench: server-rendered pages under /app/ beside the REST API, in one process.

Pages call the same application layer as the API (tierkit.app), so a figure on a screen is the
figure the API and the CLI give. Assets (ECharts, CSS, our scripts) are served from the package:
a page makes no request to any other host.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from tierkit.errors import NotFoundError, StoreUnavailableError, TierkitError, WorkspaceError
from tierkit.web.render import page
from tierkit.web.routes import signin
from tierkit.web.visitors import PageRefused, SignInNeeded, lang_of

ROUTERS = [signin.router]


def _routers() -> list:  # type: ignore[type-arg]
    from tierkit.web.routes import overview

    found = [*ROUTERS, overview.router]
    for name in ("customers", "card", "alerts", "migration", "watchlists", "cohorts", "plans", "small", "runs"):
        try:
            module = __import__(f"tierkit.web.routes.{name}", fromlist=["router"])
        except ModuleNotFoundError:
            continue
        found.append(module.router)
    return found


def mount(app: FastAPI) -> None:
    """Add the workbench's pages, its assets and the redirect from / to an app."""
    app.mount("/app/static", StaticFiles(packages=[("tierkit.web", "static")]), name="workbench-static")
    for router in _routers():
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=307)

    @app.exception_handler(SignInNeeded)
    async def sign_in(_request: Request, err: SignInNeeded) -> Response:
        return RedirectResponse(f"/app/login?next={quote(err.back, safe='')}", status_code=303)

    @app.exception_handler(PageRefused)
    async def refused(request: Request, err: PageRefused) -> HTMLResponse:
        served = request.app.state.service
        lang = lang_of(request, served)
        key = "error.csrf" if err.reason == "csrf" else "error.role"
        return page(request, "error.html", lang, None, 403, message_key=key, role=err.reason.removeprefix("role:"))


def page_error(request: Request, err: TierkitError) -> HTMLResponse | None:
    """A user error on a page (not the API) as a page in words, or None for an API path."""
    if not request.url.path.startswith("/app"):
        return None
    served = request.app.state.service
    lang = lang_of(request, served)
    if isinstance(err, StoreUnavailableError):  # the database is restarting: 503, try again shortly
        shown = page(request, "error.html", lang, None, 503, message=str(err))
        shown.headers["Retry-After"] = str(err.retry_after)
        return shown
    status = 404 if isinstance(err, NotFoundError) else 409 if isinstance(err, WorkspaceError) else 400
    return page(request, "error.html", lang, None, status, message=str(err))
