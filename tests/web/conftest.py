"""The workbench under test: a demo shop with two runs, a user of each role, signed-in clients,
and (for the browser tests) a live server and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tierkit.app.demo import demo
from tierkit.app.grading import grade_workspace
from tierkit.app.serving import Settings
from tierkit.runs.files import store_of
from tierkit.server import create_app
from tierkit.store.users import add_user
from tierkit.workspace import Workspace

CHROMIUM = os.environ.get("TIERKIT_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("TIERKIT_SCREENSHOTS", Path(__file__).resolve().parents[2] / "screenshots"))
ROLES = ("admin", "analyst", "agent")


@dataclass
class Shop:
    root: Path
    keys: dict[str, str]  # role -> API key


def make_shop(root: Path, policy: str | None = None, customers: int = 600) -> Shop:
    """A demo shop (two runs: the quarter before, and the published one) graded with `policy`."""
    demo(root, customers, 7, None, "zh", history=True, churn=True)
    if policy is not None:  # the same shop graded with another preset, both quarters again (published)
        grade_workspace(root, policy=policy, as_of="2026-06-30", publish=False)
        grade_workspace(root, policy=policy)
    ws = Workspace.open(root)
    keys = {role: add_user(store_of(ws), f"{role}-user", role) for role in ROLES}
    return Shop(root, keys)


def current_result(shop: Shop) -> Path:
    """The published run's result file, as the workspace's pointer names it."""
    run_id = (shop.root / "runs" / "CURRENT").read_text("utf-8").strip()
    return shop.root / "runs" / run_id / "result.parquet"


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return make_shop(tmp_path_factory.mktemp("web") / "shop")


def app_for(root: Path, **settings: Any) -> Any:
    return create_app(root, Settings(rate_per_second=0, lang="zh", **settings))


def sign_in(client: TestClient, key: str, back: str = "/app/") -> Any:
    form = client.get("/app/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    return client.post("/app/login", data={"key": key, "csrf": token.group(1), "next": back}, follow_redirects=False)


@pytest.fixture
def visit(shop: Shop) -> Iterator[Any]:
    """visit(role) -> a TestClient signed in as that role (one app for the test)."""
    with TestClient(app_for(shop.root)) as client:

        def signed(role: str) -> TestClient:
            client.cookies.clear()
            done = sign_in(client, shop.keys[role])
            assert done.status_code == 303, done.text[:500]
            return client

        yield signed


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


# --- a real browser ---------------------------------------------------------------------------


@dataclass
class Live:
    url: str
    shop: Shop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(shops: dict[str, Shop], **settings: Any) -> Iterator[dict[str, Live]]:
    """Each shop served by uvicorn on a free loopback port, in a thread, for the test's length."""
    import uvicorn

    started = []
    found = {}
    for name, one in shops.items():
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app_for(one.root, **settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        started.append((server, thread))
        found[name] = Live(f"http://127.0.0.1:{port}", one)
    try:
        yield found
    finally:
        for server, thread in started:
            server.should_exit = True
            thread.join(10)


@pytest.fixture(scope="session")
def live(shop: Shop) -> Iterator[Live]:
    with serve({"shop": shop}) as found:
        yield found["shop"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium for the browser tests")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        found = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield found
        found.close()
