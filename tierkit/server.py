"""The service `tierkit serve` runs: the REST API and the web workbench in one process.

The API (tierkit.api) and the workbench (tierkit.web) are front ends that never import each
other; this module puts them together over one ServedWorkspace, so that a page and an API call
see the same run, caches and limits. A user error becomes JSON for the API and a page in words
under /app/.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from tierkit.api.app import create_app as create_api
from tierkit.api.app import json_error, settings_from_env
from tierkit.app.background import ServiceLoop
from tierkit.app.serving import Settings
from tierkit.app.warmup import warm_up
from tierkit.errors import TierkitError
from tierkit.web import mount, page_error


def create_app(workspace: Path | None = None, settings: Settings | None = None, warm: bool = False) -> FastAPI:
    """The API and the workbench; `warm`: prepare lookups and per-run figures in a background
    thread now (what `tierkit serve` does), so that the first card or page does not wait, and
    run the service loop (scheduled gradings, ...) while the app serves."""
    app = create_api(workspace, settings)
    mount(app)
    if warm:
        threading.Thread(target=warm_up, args=(app.state.service,), name="warm-up", daemon=True).start()
        in_background(app)

    async def user_error(request: Request, err: Exception) -> Response:
        assert isinstance(err, TierkitError)
        shown = page_error(request, err)
        return shown if shown is not None else json_error(err)

    app.add_exception_handler(TierkitError, user_error)
    return app


def in_background(app: FastAPI) -> ServiceLoop:
    """The service loop (scheduled gradings, ...) of this process, from the app's start to its
    shutdown (`app.state.loop`); several worker processes each run one, and take turns by the
    store's locks."""
    loop = ServiceLoop(app.state.service)
    app.state.loop = loop
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with inner(application) as state:
            loop.start()
            try:
                yield state
            finally:  # before the service closes; a grading still under way after 10 s ends with the process
                await asyncio.to_thread(loop.stop)

    app.router.lifespan_context = lifespan
    return loop


def app_from_env() -> FastAPI:
    """The app as `tierkit serve --workers N` starts it in each worker process (settings by env)."""
    workspace, settings = settings_from_env()
    return create_app(workspace, settings, warm=True)
