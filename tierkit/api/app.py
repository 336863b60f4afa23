"""The tierkit service: FastAPI over a workspace's published run and its operational store.

`create_app(workspace)` is what `tierkit serve` runs (and what tests call). OpenAPI is at
/openapi.json and its documentation at /docs, open, behind a key or not served as
TIERKIT_SERVE_DOCS says (docs/settings.md).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from tierkit.api.deps import ALL, allow
from tierkit.api.limits import RequestLimits
from tierkit.api.routes import admin, alerts, customers, entitlements, owners, plans, runs, small
from tierkit.api.unavailable import answer
from tierkit.api.unavailable import install as answer_store_lost
from tierkit.app.access import caller_for, remembered
from tierkit.app.serving import ServedWorkspace, Settings
from tierkit.errors import (
    ConflictError,
    DiskFullError,
    NotAllowedError,
    NotFoundError,
    RequestError,
    StoreFullError,
    StoreUnavailableError,
    TierkitError,
    TooManyError,
    ValueRefusedError,
    WorkspaceError,
    as_error,
)
from tierkit.settings import BY_NAME, DEFAULT_LANG, setting
from tierkit.version import __version__

DOCS_MODES = ("open", "key", "off")  # TIERKIT_SERVE_DOCS (docs/settings.md)
STATUS = {
    NotFoundError: 404,
    NotAllowedError: 403,
    RequestError: 400,
    ValueRefusedError: 422,
    TooManyError: 429,
    ConflictError: 409,
    DiskFullError: 507,  # no room for a file or the SQLite store (docs/reliability.md, "A full disk")
    StoreFullError: 503,  # the PostgreSQL server's disk is full: the service cannot write until it has room
    StoreUnavailableError: 503,  # the PostgreSQL server is down or restarting: Retry-After (api/unavailable.py)
}


def create_app(workspace: Path | None = None, settings: Settings | None = None) -> FastAPI:
    service = ServedWorkspace.open(workspace, settings)
    service.histories.start()  # a serving process: the recent runs' tiers joined (app/tier_history.py)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    docs = _docs_mode(service.settings.docs)
    app = FastAPI(
        title="tierkit",
        version=__version__,
        description="Customer tiers, tags and service at contact time (客户分级管理). "
        "Send `Authorization: Bearer KEY` (keys: `tierkit users add NAME --role admin|analyst|agent`).",
        lifespan=lifespan,
        # the API's own documentation is a setting (TIERKIT_SERVE_DOCS: open, key, off)
        openapi_url="/openapi.json" if docs == "open" else None,
        docs_url="/docs" if docs == "open" else None,
        redoc_url="/redoc" if docs == "open" else None,
        # asking whether a provider is configured costs every request (~2% of a card) even when none is
        telemetry=None if service.settings.telemetry else {"tracing": False, "metrics": False, "logs": False},
    )
    if docs == "key":

        @app.get("/openapi.json", include_in_schema=False, **allow(*ALL))
        def schema() -> dict[str, Any]:
            """The OpenAPI schema, to a key of any role; no /docs page (a browser cannot send the key)."""
            return app.openapi()

    app.state.service = service
    app.include_router(entitlements.router)  # before customers: its /{customer_id}/{kind} matches too
    app.include_router(customers.router)
    app.include_router(owners.router)
    app.include_router(runs.router)
    app.include_router(plans.router)
    app.include_router(small.router)
    app.include_router(alerts.router)
    app.include_router(admin.router)

    @app.get("/health", tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness, and which run is served (no key needed; nothing personal)."""
        return {"status": "ok", "run_id": service.current_id()}

    @app.exception_handler(TierkitError)
    async def user_error(_request: Request, err: TierkitError) -> Response:
        """What the application layer refuses, as HTTP: its error type says which status."""
        return json_error(err)

    @app.exception_handler(OSError)
    async def full_disk(_request: Request, err: Exception) -> Response:
        """A full disk that no writer named (pyarrow's and Python's own writes; DuckDB's are named
        where they write): 507 with the reason; any other error stays a 500 with its traceback."""
        full = as_error(err)
        if full is None:
            raise err
        return json_error(full)

    answer_store_lost(app)  # a lost store met outside its hook: 503, never a 500

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, err: RequestValidationError) -> Response:
        """FastAPI's 422, with each problem's input made fit for JSON: a body of NaN or a lone
        surrogate ("\\ud800") echoed back as it came made the answer itself fail (a 500)."""
        return JSONResponse({"detail": json_safe(jsonable_encoder(err.errors()))}, status_code=422)

    async def identify(key: str) -> str | None:
        """The user a key belongs to, for the rate limiter: from the key cache, else the store
        (in a thread: the event loop never waits on a query)."""
        caller = remembered(key) or await run_in_threadpool(caller_for, service, key)
        return caller.name if caller is not None else None

    chosen = service.settings
    app.add_middleware(
        RequestLimits, rate=chosen.rate_per_second, burst=chosen.burst, max_body=chosen.max_body, identify=identify
    )
    return app


def json_error(err: TierkitError) -> JSONResponse:
    if isinstance(err, StoreUnavailableError):
        return answer(err)  # 503 with Retry-After
    return JSONResponse({"detail": json_safe(str(err))}, status_code=STATUS.get(type(err), 409))


def json_safe(value: Any) -> Any:
    """`value` with what strict JSON in UTF-8 cannot hold written out: NaN and infinities as text,
    lone surrogates as `\\udXXX` escapes."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def settings_from_env() -> tuple[Path, Settings]:
    """The workspace and settings `tierkit serve` hands its worker processes through the environment."""
    workspace = setting("serve_workspace")
    if not workspace:
        raise WorkspaceError(f"{BY_NAME['serve_workspace'].env} is not set: start the service with 'tierkit serve'")
    settings = Settings(
        rate_per_second=float(setting("serve_rate") or 100),
        burst=int(setting("serve_burst") or 200),
        lang=setting("serve_lang") or DEFAULT_LANG,
        docs=_docs_mode(setting("serve_docs") or "open"),
        telemetry=_switch("serve_telemetry"),
    )
    return Path(workspace), settings


def _switch(name: str) -> bool:
    value = (setting(name) or "off").lower()
    if value not in ("on", "off"):
        raise WorkspaceError(f"{BY_NAME[name].env}: '{value}' is neither on nor off")
    return value == "on"


def _docs_mode(mode: str) -> str:
    if mode not in DOCS_MODES:
        raise WorkspaceError(f"{BY_NAME['serve_docs'].env}: '{mode}' is not one of {', '.join(DOCS_MODES)}")
    return mode


def app_from_env() -> FastAPI:
    """The API alone as a worker process starts it (`tierkit serve` starts tierkit.server's)."""
    workspace, settings = settings_from_env()
    return create_app(workspace, settings)
