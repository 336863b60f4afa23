"""FastAPI's own OpenTelemetry is a setting, off by default (TIERKIT_SERVE_TELEMETRY,
docs/settings.md): asking whether a provider is configured cost every card about 2%, and tierkit
configures none. With it on, a process that configures a tracer provider gets spans per request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import settings_from_env
from tierkit.errors import WorkspaceError

# a process with a tracer provider of its own that records the names of the spans started
RECORDING = """
import json, sys
from pathlib import Path
from opentelemetry import trace
from fastapi.testclient import TestClient

started = []

class Tracer(trace.NoOpTracer):
    def start_span(self, name, *args, **kwargs):
        started.append(name)
        return super().start_span(name, *args, **kwargs)

class Provider(trace.TracerProvider):
    def get_tracer(self, *args, **kwargs):
        return Tracer()

trace.set_tracer_provider(Provider())
from tierkit.api.app import app_from_env
answer = TestClient(app_from_env()).get("/health")
print(json.dumps({"status": answer.status_code, "spans": started}))
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return make_workspace(tmp_path_factory.mktemp("telemetry") / "ws", "sqlite", customers=40)


def _spans(shop: Served, value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "TIERKIT_SERVE_TELEMETRY"}
    env["TIERKIT_SERVE_WORKSPACE"] = str(shop.workspace.root)
    if value is not None:
        env["TIERKIT_SERVE_TELEMETRY"] = value
    done = subprocess.run([sys.executable, "-c", RECORDING], env=env, capture_output=True, text=True, check=True)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200
    return list(answer["spans"])


def test_off_by_default_no_span_even_with_a_provider(shop: Served) -> None:
    assert _spans(shop, None) == []
    assert _spans(shop, "off") == []


def test_on_a_span_per_request(shop: Served) -> None:
    spans = _spans(shop, "ON")
    assert spans[0] == "GET" and "fastapi.endpoint" in spans, spans  # the request, then its stages


def test_a_value_neither_on_nor_off_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIERKIT_SERVE_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("TIERKIT_SERVE_TELEMETRY", "yes")
    with pytest.raises(WorkspaceError, match="TIERKIT_SERVE_TELEMETRY: 'yes' is neither on nor off"):
        settings_from_env()
