"""PostgreSQL restarted under a running `tierkit serve` (issue 15, part 5).

A real `tierkit serve` (a subprocess) over a small graded workspace whose store is a
PostgreSQL cluster of the test's own (pg_cluster.py: the CI server is shared, and stopping it
would fail other tests). While clients read cards and write contacts and overrides, the server
is stopped (`pg_ctl stop -m immediate`, then `-m fast`) and started again. The oracles are
outside tierkit: the HTTP answers as a client sees them, and the rows counted in PostgreSQL
with SQL at the end.

- while it is down, every request that needs the store answers 503 with a JSON reason and
  Retry-After, each within ANSWER_WITHIN seconds (never a hang, never a 500);
- once it is up, the same requests succeed again, without restarting tierkit, within
  RECOVERY_WITHIN seconds of `pg_ctl start` returning;
- a client that retries each 503 under its Idempotency-Key gets every write done exactly once:
  each acknowledged key is one row, no key is two; a write refused while the server was down
  (sent without a key, never retried) is not there;
- the CLI says so in one line, exit 2; the service loop and the audit writer live through it.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from tests.reliability.pg_cluster import Cluster, free_port, postgres_bin, throwaway_cluster

ANSWER_WITHIN = 3.0  # seconds: a request while the store is down answers at least this fast
RECOVERY_WITHIN = 10.0  # seconds after `pg_ctl start` returns until a card answers 200 again
OUTAGE = 2.5  # seconds the server stays down in each round
CUSTOMERS = ("00000003", "00000004", "00000005")
TIERKIT = [sys.executable, "-m", "tierkit"]
BIN = postgres_bin()

pytestmark = [
    pytest.mark.skipif(BIN is None, reason="PostgreSQL's server programs (initdb, pg_ctl) are not installed"),
    pytest.mark.xdist_group("pg_restart"),
]


@dataclass
class Answer:
    status: int
    took: float
    detail: str
    retry_after: str | None
    at: float  # time.monotonic() when it came


@dataclass
class Service:
    cluster: Cluster
    ws: Path
    port: int
    keys: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]

    def call(self, method: str, path: str, role: str, body: dict[str, Any] | None = None, key: str = "") -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.keys[role]}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if key:
            request.add_header("Idempotency-Key", key)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, text, retry = answer.status, answer.read().decode(), answer.headers.get("Retry-After")
        except urllib.error.HTTPError as err:
            status, text, retry = err.code, err.read().decode(), err.headers.get("Retry-After")
        now = time.monotonic()
        try:
            detail = str(json.loads(text).get("detail", "")) if status >= 400 else ""
        except (ValueError, AttributeError):
            detail = f"not JSON: {text[:200]}"
        return Answer(status, now - started, detail, retry, now)

    def sign_in(self) -> urllib.request.OpenerDirector:
        """A browser of the workbench, signed in as the agent (its session lives in the store)."""
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = browser.open(f"http://127.0.0.1:{self.port}/app/login", timeout=30).read().decode()
        found = re.search(r'name="csrf" value="([^"]+)"', form)
        assert found, form[:500]
        sent = urllib.parse.urlencode({"key": self.keys["agent"], "csrf": found.group(1), "next": "/app/"}).encode()
        with browser.open(f"http://127.0.0.1:{self.port}/app/login", sent, timeout=30) as answer:
            assert answer.status == 200 and "/login" not in answer.geturl(), answer.geturl()
        return browser

    def page(self, browser: urllib.request.OpenerDirector, path: str) -> tuple[int, str | None]:
        """A workbench page's status and Retry-After."""
        try:
            with browser.open(f"http://127.0.0.1:{self.port}{path}", timeout=30) as answer:
                return answer.status, answer.headers.get("Retry-After")
        except urllib.error.HTTPError as err:
            return err.code, err.headers.get("Retry-After")

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Straight from PostgreSQL, not through tierkit."""
        engine = sa.create_engine(self.cluster.url)
        try:
            with engine.connect() as con:
                return [tuple(r) for r in con.execute(sa.text(sql), params)]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    from tierkit.app.demo import demo
    from tierkit.runs.files import store_of
    from tierkit.store.users import add_user
    from tierkit.workspace import Workspace

    assert BIN is not None
    with throwaway_cluster(BIN) as cluster:
        ws = tmp_path_factory.mktemp("pg-restart") / "ws"
        ws.mkdir()
        Workspace.init(ws, "retail", demo=True)
        config = yaml.safe_load((ws / "tierkit.yaml").read_text("utf-8"))
        config["database"] = cluster.url
        (ws / "tierkit.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
        demo(ws, 40, 7, None, "zh")
        store = store_of(Workspace.open(ws))
        keys = {role: add_user(store, f"{role}-user", role) for role in ("analyst", "agent")}
        store.dispose()  # this process keeps no connection: only the server's are cut
        port, log = free_port(), ws.parent / "serve.log"
        env = {**os.environ, "TIERKIT_DATABASE_URL": cluster.url, "TIERKIT_LOOP_INTERVAL": "0.5"}
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [*TIERKIT, "serve", "-w", str(ws), "--port", str(port), "--rate-limit", "0"],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        served = Service(cluster, ws, port, keys, log, process)
        try:
            _wait_for(served)
            yield served
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)


def _wait_for(service: Service) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if service.call("GET", f"/customers/{CUSTOMERS[0]}", "agent").status == 200:
                return
        except OSError:
            if service.process.poll() is not None:
                raise AssertionError(f"tierkit serve exited: {service.log.read_text('utf-8')[-3000:]}") from None
        time.sleep(0.1)
    raise AssertionError(f"tierkit serve did not answer within 90 s: {service.log.read_text('utf-8')[-3000:]}")


@dataclass(eq=False)  # a thread must stay hashable
class Traffic(threading.Thread):
    """A client that keeps reading cards (`reads`), or writing contacts and overrides, each write
    under its own Idempotency-Key and sent again after every 503 until it is acknowledged."""

    service: Service
    tag: str
    reads: bool
    answers: list[tuple[str, Answer]] = field(default_factory=list)
    acked: dict[str, str] = field(default_factory=dict)  # key -> "contacts" or "overrides"
    unexpected: list[str] = field(default_factory=list)
    halt: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        super().__init__(daemon=True)

    def run(self) -> None:
        turn = 0
        while not self.halt.is_set():
            customer = CUSTOMERS[turn % len(CUSTOMERS)]
            if self.reads:
                self.answers.append(("card", self.service.call("GET", f"/customers/{customer}", "agent")))
                time.sleep(0.01)
            else:
                self._write(("contacts", "overrides")[turn % 2], customer, str(uuid.uuid4()))
            turn += 1

    def _write(self, kind: str, customer: str, key: str) -> None:
        text = f"{self.tag} {key}"
        if kind == "contacts":
            path, role, body = f"/customers/{customer}/contacts", "agent", {"channel": "phone", "note": text}
        else:
            body = {"tier": "vip", "reason": text, "expires": "2027-06-30T00:00:00Z"}
            path, role = f"/customers/{customer}/override", "analyst"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the same request, the same key, until it is done
            answer = self.service.call("POST", path, role, body, key)
            self.answers.append((kind, answer))
            if answer.status == 201:
                self.acked[key] = kind
                return
            if answer.status != 503:
                self.unexpected.append(f"{kind}: {answer.status} {answer.detail}")
                return
            time.sleep(0.05)
        self.unexpected.append(f"{kind} {key}: still 503 after 60 s")


def _refused(answer: Answer) -> bool:
    return (
        answer.status == 503
        and answer.detail.startswith("the store is unavailable")
        and answer.retry_after is not None
        and int(answer.retry_after) > 0
    )


@pytest.mark.parametrize("mode", ["immediate", "fast"])
def test_requests_fail_fast_while_postgresql_is_down_and_succeed_again(service: Service, mode: str) -> None:
    tag = f"restart-{mode}-{uuid.uuid4().hex[:8]}"
    traffic, reader = Traffic(service, tag, reads=False), Traffic(service, tag, reads=True)
    traffic.start()
    reader.start()
    browser = service.sign_in()
    time.sleep(1.0)  # some writes while it is up
    service.cluster.stop(mode)
    stopped = time.monotonic()
    # refused while down, never retried: must not be there at the end
    lost_notes = [f"{tag} down-{i}" for i in range(3)]
    time.sleep(0.6)  # the service's copies of overrides and contacts are older than pointer_ttl now
    down = [
        service.call("POST", f"/customers/{CUSTOMERS[0]}/contacts", "agent", {"channel": "phone", "note": note})
        for note in lost_notes
    ]
    page_down = service.page(browser, f"/app/customers/{CUSTOMERS[0]}")
    cli = subprocess.run(
        [*TIERKIT, "runs", "-w", str(service.ws)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TIERKIT_DATABASE_URL": service.cluster.url},
    )
    time.sleep(max(OUTAGE - (time.monotonic() - stopped), 0))
    starting = time.monotonic()
    service.cluster.start()
    restarted = time.monotonic()
    while time.monotonic() - restarted < RECOVERY_WITHIN:
        if service.call("GET", f"/customers/{CUSTOMERS[1]}", "agent").status == 200:
            break
        time.sleep(0.05)
    recovered = time.monotonic() - restarted
    time.sleep(1.0)  # some writes after it is back
    page_back = service.page(browser, f"/app/customers/{CUSTOMERS[0]}")
    for client in (traffic, reader):
        client.halt.set()
        client.join(90)
        assert not client.is_alive()
    answers = traffic.answers + reader.answers
    assert traffic.unexpected == []
    assert all(_refused(a) for a in down), [(a.status, a.detail) for a in down]
    assert page_down[0] == 503 and page_down[1] is not None, page_down  # the workbench: a page saying so
    assert page_back == (200, None), page_back  # the same session, kept in the store through the restart
    assert cli.returncode == 2, (cli.returncode, cli.stdout, cli.stderr)
    assert len(cli.stderr.strip().splitlines()) == 1 and "the store is unavailable" in cli.stderr, cli.stderr
    # every answer was a success or a 503 with the reason, and none took long
    wrong = [(k, a.status, a.detail) for k, a in answers if a.status not in (200, 201) and not _refused(a)]
    assert wrong == []
    slowest = max(a.took for _, a in answers)
    assert slowest < ANSWER_WITHIN, slowest
    # the outage was seen by cards and by writes, and the same requests succeeded after it
    during = [(kind, a) for kind, a in answers if stopped + 0.6 < a.at - a.took and a.at < starting]
    kinds = {kind for kind, _ in during}
    assert "card" in kinds and kinds & {"contacts", "overrides"}, kinds
    assert all(a.status == 503 for _, a in during), [(k, a.status, a.detail) for k, a in during if a.status != 503]
    after = [(kind, a) for kind, a in answers if a.at > restarted + recovered]
    assert after and all(a.status in (200, 201) for _, a in after)
    assert recovered < RECOVERY_WITHIN, recovered
    # in PostgreSQL: each acknowledged write once, nothing else of this round
    contacts = service.rows("SELECT request_key, note FROM contacts WHERE note LIKE :tag", tag=f"{tag} %")
    overrides = service.rows("SELECT request_key, reason FROM overrides WHERE reason LIKE :tag", tag=f"{tag} %")
    written = sorted(k for k, _ in contacts + overrides)
    assert len(written) == len(set(written)), "a write was recorded twice"
    assert set(written) == set(traffic.acked), "an acknowledged write is missing, or an unacknowledged one is there"
    assert all(f"{tag} {key}" == text for key, text in contacts + overrides)
    assert not any(text in lost_notes for _, text in contacts)
    _lived_through(service, f"{tag} audit")
    retried = sum(1 for kind, a in answers if kind != "card" and a.status == 503)
    refused = sorted(a.took for _, a in answers if a.status == 503)
    print(
        f"\n{mode}: {len(traffic.acked)} writes acknowledged ({retried} 503s retried), {len(refused)} 503s "
        f"(median {refused[len(refused) // 2] * 1000:.1f} ms, slowest {refused[-1] * 1000:.1f} ms), slowest answer "
        f"{slowest:.3f} s, a card 200 again {recovered:.2f} s after pg_ctl start"
    )


def _lived_through(service: Service, tag: str) -> None:
    """The service loop logged this outage and works again; the audit writer (a thread that
    died on the first failure) is alive and writes a contact's entry; the server still runs."""
    deadline = time.monotonic() + 10
    while True:  # the loop ticks every 0.5 s: its next task after the restart says it works again
        log = service.log.read_text("utf-8", "replace")
        failed = log.rfind("background task alerts failed: the store is unavailable")
        if failed >= 0 and log.find("background task alerts works again", failed) > failed:
            break
        assert time.monotonic() < deadline, log[-3000:]
        time.sleep(0.1)
    assert "Exception in thread" not in log and "Traceback" not in log, log[-3000:]
    sql = "SELECT count(*) FROM audit WHERE action = 'contact' AND detail = 'visit'"  # only this check visits
    before = service.rows(sql)[0][0]
    answer = service.call("POST", f"/customers/{CUSTOMERS[2]}/contacts", "agent", {"channel": "visit", "note": tag})
    assert answer.status == 201
    deadline = time.monotonic() + 10
    while service.rows(sql)[0][0] == before and time.monotonic() < deadline:  # queued: written within 0.2 s
        time.sleep(0.1)
    assert service.rows(sql)[0][0] == before + 1
    assert service.process.poll() is None
