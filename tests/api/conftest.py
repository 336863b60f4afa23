"""A small graded demo workspace per store backend (SQLite, PostgreSQL), users of every role, a client."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from tierkit.api.app import create_app
from tierkit.app.demo import demo
from tierkit.app.serving import Settings
from tierkit.runs.files import store_of
from tierkit.store.users import add_user
from tierkit.workspace import Workspace

PG_ENV = "TIERKIT_TEST_PG_URL"


def postgres_database() -> str:
    """A fresh database on the test server (TIERKIT_TEST_PG_URL, started by .ci/run)."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set: .ci/run starts PostgreSQL for the store tests")
        pytest.skip(f"{PG_ENV} not set (run .ci/run, or .ci/postgres.sh, to test on PostgreSQL)")
    import sqlalchemy as sa

    name = f"tierkit_{secrets.token_hex(4)}"
    with sa.create_engine(url, isolation_level="AUTOCOMMIT").connect() as con:
        con.execute(sa.text(f"CREATE DATABASE {name}"))
    return url.rsplit("/", 1)[0] + "/" + name


@dataclass
class Served:
    workspace: Workspace
    keys: dict[str, str]  # role -> key
    backend: str

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def make_workspace(root: Path, backend: str, customers: int = 400) -> Served:
    if backend == "postgresql":
        url = postgres_database()
        root.mkdir(parents=True, exist_ok=True)
        Workspace.init(root, "retail", demo=True)
        config = yaml.safe_load((root / "tierkit.yaml").read_text("utf-8"))
        config["database"] = url
        (root / "tierkit.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    demo(root, customers, 7, None, "zh")
    ws = Workspace.open(root)
    keys = {role: add_user(store_of(ws), f"{role}-user", role) for role in ("admin", "analyst", "agent")}
    return Served(ws, keys, backend)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Served:
    return make_workspace(tmp_path_factory.mktemp(f"api-{request.param}") / "ws", request.param)


@pytest.fixture
def client(served: Served) -> Iterator[TestClient]:
    settings = Settings(rate_per_second=0, lang="zh")  # limits are tested on their own
    with TestClient(create_app(served.workspace.root, settings)) as test_client:
        yield test_client
