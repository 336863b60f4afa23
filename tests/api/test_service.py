"""The service under change: publish while reading, limits, keys and the users command."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.app import access
from tierkit.app.grading import grade_workspace
from tierkit.app.serving import Settings
from tierkit.cli.app import app as cli
from tierkit.runs.files import load_run, store_of


def tiers_of(served: Served, run_id: str) -> dict[str, str]:
    table = pq.read_table(load_run(served.workspace, run_id).result, columns=["customer_id", "tier"])
    return dict(zip(table["customer_id"].to_pylist(), table["tier"].to_pylist(), strict=True))


STORES = ["sqlite", "postgresql"]  # every concurrency test runs on both operational stores


@pytest.mark.parametrize("store", STORES)
def test_lookups_switch_to_a_new_run_and_never_mix_two(tmp_path: Path, store: str) -> None:
    served = make_workspace(tmp_path / "ws", store, customers=300)
    first = load_run(served.workspace).run_id
    settings = Settings(rate_per_second=0, pointer_ttl=0.2)
    seen: Counter[str] = Counter()
    wrong: list[tuple[str, str, str]] = []
    stop = threading.Event()
    with TestClient(create_app(served.workspace.root, settings)) as client:
        expected = {first: tiers_of(served, first)}

        def read() -> None:
            ids = list(expected[first])[:50]
            while not stop.is_set():
                for cid in ids:
                    response = client.get(f"/customers/{cid}", headers=served.headers("agent"))
                    if response.status_code == 404:  # not yet a customer as of the other run's day
                        seen["404"] += 1
                        continue
                    if response.status_code != 200:
                        wrong.append(("status", cid, str(response.status_code)))
                        continue
                    card = response.json()
                    seen[card["run_id"]] += 1
                    truth = expected.get(card["run_id"])
                    if truth is not None and truth.get(cid) != card["automatic_tier"]:
                        wrong.append((card["run_id"], cid, card["automatic_tier"]))

        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(0.5)
        # another grading of the same workspace, as of an earlier day: other tiers, published
        summary = grade_workspace(served.workspace.root, as_of="2026-03-31", lang="zh", publish=True)
        second = str(summary["run_id"])
        expected[second] = tiers_of(served, second)
        deadline = time.monotonic() + 10
        while seen[second] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        reader.join()
        after = client.get("/health").json()["run_id"]
    assert seen[first] > 0 and seen[second] > 0, seen  # served both, switched without a restart
    assert after == second
    assert expected[first] != expected[second]  # the two runs really differ
    assert not wrong, wrong[:3]  # every card matched the run it named


@pytest.mark.parametrize("store", STORES)
def test_rate_and_size_limits(tmp_path: Path, store: str) -> None:
    served = make_workspace(tmp_path / "ws", store, customers=100)
    settings = Settings(rate_per_second=1, burst=3, max_body=1024)
    with TestClient(create_app(served.workspace.root, settings)) as client:
        codes = [client.get("/customers/00000001", headers=served.headers("agent")).status_code for _ in range(6)]
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
        assert client.get("/customers/00000001", headers=served.headers("admin")).status_code == 200  # per key
        big = client.post(
            "/customers/00000001/contacts",
            headers=served.headers("admin"),
            content=b"{" + b" " * 4096 + b"}",
        )
        assert big.status_code == 413


@pytest.mark.parametrize("store", STORES)
def test_users_add_shows_the_key_once_and_stores_a_hash(tmp_path: Path, store: str) -> None:
    served = make_workspace(tmp_path / "ws", store, customers=50)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["users", "add", "carol", "--role", "agent", "-w", str(served.workspace.root), "--json"]
    )
    assert result.exit_code == 0, result.output
    key = json.loads(result.output)["key"]
    with store_of(served.workspace).connect() as con:  # the store keeps a hash, never the key
        rows = [tuple(row) for row in con.execute(sa.text("SELECT * FROM users"))]
    assert rows and key not in repr(rows)
    assert hashlib.sha256(key.encode()).hexdigest() in repr(rows)  # its sha256, as docs/api.md says
    if store == "sqlite":
        assert key.encode() not in (served.workspace.root / "tierkit.db").read_bytes()
    with TestClient(create_app(served.workspace.root)) as client:
        assert client.get("/customers/00000001", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    bad = runner.invoke(cli, ["users", "add", "dave", "--role", "boss", "-w", str(served.workspace.root)])
    assert bad.exit_code != 0
    listed = runner.invoke(cli, ["users", "list", "-w", str(served.workspace.root), "--json"])
    assert {u["name"] for u in json.loads(listed.output)} >= {"carol", "agent-user"}
    assert "tk_" not in listed.output


@pytest.mark.parametrize("store", STORES)
def test_a_disabled_key_stops_working_while_cards_are_read(
    tmp_path: Path, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/api.md: a process trusts a verified key for 5 s, so a disabled key stops working within
    5 s. Here the trust is cut to 1 s (the bound with it) while cards are read without pause: the
    agent's key turns 401 within that time and stays refused; the admin's key never falters."""
    assert access.KEY_TTL <= 5.0  # what the docs promise
    trust = 1.0
    monkeypatch.setattr(access, "KEY_TTL", trust)
    served = make_workspace(tmp_path / "ws", store, customers=50)
    seen: list[tuple[float, str, int]] = []
    stop = threading.Event()
    with TestClient(create_app(served.workspace.root, Settings(rate_per_second=0))) as client:

        def read() -> None:
            while not stop.is_set():
                for role in ("agent", "admin"):
                    sent = time.monotonic()  # when it was sent: a loaded machine answers late, never early
                    code = client.get("/customers/00000001", headers=served.headers(role)).status_code
                    seen.append((sent, role, code))

        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(0.5)  # the agent's key is verified and trusted by now
        disabled = CliRunner().invoke(cli, ["users", "disable", "agent-user", "-w", str(served.workspace.root)])
        done = time.monotonic()
        time.sleep(trust + 1.5)
        stop.set()
        reader.join()
    assert disabled.exit_code == 0, disabled.output
    agent = [(at, code) for at, role, code in seen if role == "agent"]
    assert any(code == 200 for at, code in agent if at < done)  # the key worked before
    later = [code for at, code in agent if at > done + trust]
    assert later and set(later) == {401}, (len(later), set(later))  # sent after the trust ran out: refused
    refused = [at for at, code in agent if code == 401]
    assert {code for at, code in agent if at >= refused[0]} == {401}  # once refused, never let in again
    assert {code for at, role, code in seen if role == "admin"} == {200}


@pytest.mark.parametrize("store", STORES)
def test_flush_writes_what_the_background_writer_holds(tmp_path: Path, store: str) -> None:
    """An entry recorded just before `flush()` is in the log when it returns, even when the
    background thread has taken it from the queue and not yet committed it."""
    from tierkit.store.audit import AuditLog, entries

    served = make_workspace(tmp_path / "ws", store, customers=20)
    engine = store_of(served.workspace)

    class SlowCommits:
        """The store, with each write 20 ms slow: the writer holds entries long enough to be seen."""

        def begin(self) -> Any:
            time.sleep(0.02)
            return engine.begin()

    log = AuditLog(SlowCommits(), interval=0.001)  # type: ignore[arg-type]  # drains all the time
    try:
        missed = 0
        for i in range(40):
            log.record("bench", "agent", "view_card", f"c{i}")
            time.sleep(0.005)  # let the writer take it from the queue
            log.flush()
            missed += entries(engine, f"c{i}", 1) == []
        assert missed == 0
    finally:
        log.close()
