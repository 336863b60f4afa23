"""One background grading at a time per workspace: a second POST /runs is a 409 naming the job
that runs, whoever started it (another request, another worker, the schedule); once it is done
the next one starts. An adversarial pass had 8 gradings running at once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.app.schedule import LOCK as GRADING_LOCK
from tierkit.app.serving import Settings
from tierkit.runs.files import store_of
from tierkit.store import locks


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Served:
    return make_workspace(tmp_path_factory.mktemp("jobs") / "ws", request.param, customers=80)


@pytest.fixture
def client(shop: Served) -> Iterator[TestClient]:
    with TestClient(create_app(shop.workspace.root, Settings(rate_per_second=0, lang="zh"))) as test_client:
        yield test_client


def _finished(client: TestClient, shop: Served, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = client.get(f"/runs/{job_id}", headers=shop.headers("analyst")).json()
        if job["state"] in ("done", "failed"):
            return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"{job_id} did not finish")


def test_eight_requests_at_once_start_one_grading(client: TestClient, shop: Served) -> None:
    answers: list[Any] = []

    def start() -> None:
        answers.append(client.post("/runs", json={"publish": False}, headers=shop.headers("analyst")))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [a for a in answers if a.status_code == 202]
    refused = [a for a in answers if a.status_code == 409]
    assert len(started) == 1 and len(refused) == 7, [a.status_code for a in answers]
    job_id = started[0].json()["job_id"]
    for answer in refused:
        assert job_id in answer.json()["detail"], answer.text
    assert _finished(client, shop, job_id)["state"] == "done"
    again = client.post("/runs", json={"publish": False}, headers=shop.headers("analyst"))
    assert again.status_code == 202, again.text  # the lock went with the job
    assert _finished(client, shop, again.json()["job_id"])["state"] == "done"


def test_a_grading_the_schedule_holds_refuses_a_request(client: TestClient, shop: Served) -> None:
    store = store_of(shop.workspace)
    holder = locks.new_holder()
    assert locks.acquire(store, GRADING_LOCK, holder, dt.timedelta(minutes=1))
    try:
        answer = client.post("/runs", json={"publish": False}, headers=shop.headers("analyst"))
        assert answer.status_code == 409, answer.text
        assert holder in answer.json()["detail"] and "already running" in answer.json()["detail"]
    finally:
        locks.release(store, GRADING_LOCK, holder)
    answer = client.post("/runs", json={"publish": False}, headers=shop.headers("analyst"))
    assert answer.status_code == 202, answer.text
    assert _finished(client, shop, answer.json()["job_id"])["state"] == "done"
