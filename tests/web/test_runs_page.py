"""/app/runs over HTTP: the runs listed with the published one marked, grading in the background
followed to its end through the page's JSON endpoint, publishing a run through the page's form
(then read back from the REST API), and what is refused: no CSRF token, an agent."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Shop, app_for, csrf_of, make_shop, sign_in

ROW = r'<tr id="run-{run}" data-run="{run}"( data-current="true")?'


def runs_on_disk(root: Path) -> list[dict[str, Any]]:
    """Each run's manifest, read from the run folders (oldest as-of first)."""
    found = [json.loads(p.read_text("utf-8")) for p in (root / "runs").glob("*/manifest.json")]
    return sorted(found, key=lambda m: (m["as_of"], m["created_at"]))


def published(root: Path) -> str:
    return (root / "runs" / "CURRENT").read_text("utf-8").strip()


def marked(page: str) -> dict[str, bool]:
    """run id -> marked as the published one, for every row of the runs table."""
    return {
        m.group(1): bool(m.group(2))
        for m in re.finditer(r'<tr id="run-([^"]+)" data-run="[^"]+"( data-current="true")?', page)
    }


@pytest.fixture
def own(tmp_path: Path) -> Iterator[tuple[Shop, TestClient]]:
    """A shop of this test's own (grading and publishing change it) and an admin's client."""
    shop = make_shop(tmp_path / "shop", customers=300)
    with TestClient(app_for(shop.root)) as client:
        assert sign_in(client, shop.keys["admin"]).status_code == 303
        yield shop, client


def test_the_runs_are_listed_with_the_published_one_marked(visit: Any, shop: Shop) -> None:
    page = visit("analyst").get("/app/runs")
    assert page.status_code == 200 and 'aria-current="page">分级批次' in page.text
    on_disk = runs_on_disk(shop.root)
    assert len(on_disk) == 2
    assert marked(page.text) == {m["run_id"]: m["run_id"] == published(shop.root) for m in on_disk}
    for m in on_disk:
        row = page.text[page.text.index(f'<tr id="run-{m["run_id"]}"') :]
        row = row[: row.index("</tr>")]
        assert m["as_of"] in row and m["policy"]["name"] in row and m["policy"]["hash"][:12] in row
        assert f'<td class="num">{m["rows"]:,}</td>' in row and f"<td>{m['engine']}</td>" in row
        assert m["created_at"][:16].replace("T", " ") in row
        if m["run_id"] == published(shop.root):
            assert "已发布 (当前)" in row and "发布此批次" not in row
        else:  # the quarter before (the demo published it first): published once, may be again
            assert "曾发布 (最近一次 " in row and "发布此批次" in row and "早于当前已发布批次" in row
    assert 'action="/app/runs/grade"' in page.text and 'type="date"' in page.text and 'name="publish"' in page.text
    assert '<script src="/app/static/runs.js"></script>' in page.text
    english = visit("admin").get("/app/runs?lang=en")
    assert "Published (current)" in english.text and "Grade now" in english.text and "Publish this run" in english.text


def test_agents_may_not_see_grade_or_publish(visit: Any, shop: Shop) -> None:
    client = visit("agent")
    refused = client.get("/app/runs")
    assert refused.status_code == 403 and "不能查看此页面" in refused.text
    token = csrf_of(client.get("/app/customers").text)  # an agent's own session token
    older = runs_on_disk(shop.root)[0]["run_id"]
    assert client.post("/app/runs/grade", data={"csrf": token}, follow_redirects=False).status_code == 403
    assert (
        client.post("/app/runs/publish", data={"csrf": token, "run": older}, follow_redirects=False).status_code == 403
    )
    assert client.get("/app/runs/jobs/job-20260101000000-abcdef").status_code == 403
    assert len(runs_on_disk(shop.root)) == 2 and published(shop.root) != older  # nothing changed


def test_forms_without_the_csrf_token_are_refused(visit: Any, shop: Shop) -> None:
    client = visit("admin")
    older = runs_on_disk(shop.root)[0]["run_id"]
    before = published(shop.root)
    assert client.post("/app/runs/grade", data={}, follow_redirects=False).status_code == 403
    assert client.post("/app/runs/grade", data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    refused = client.post("/app/runs/publish", data={"run": older}, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert len(runs_on_disk(shop.root)) == 2 and published(shop.root) == before


def test_grading_now_runs_in_the_background_to_a_new_run(own: tuple[Shop, TestClient]) -> None:
    shop, client = own
    before = {m["run_id"] for m in runs_on_disk(shop.root)}
    token = csrf_of(client.get("/app/runs").text)
    started = client.post("/app/runs/grade", data={"csrf": token, "as_of": "", "publish": "1"}, follow_redirects=False)
    assert started.status_code == 303
    job_id = re.fullmatch(r"/app/runs\?job=(job-\d{14}-[0-9a-f]{6})", started.headers["location"])
    assert job_id, started.headers["location"]
    following = client.get(started.headers["location"])
    assert 'id="job"' in following.text and 'role="progressbar"' in following.text
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = client.get(f"/app/runs/jobs/{job_id.group(1)}")
        assert state.status_code == 200 and state.headers["content-type"] == "application/json"
        seen.append(state.json())
        if seen[-1]["finished"]:
            break
        time.sleep(0.2)
    done = seen[-1]
    assert done["state"] == "done" and done["percent"] == 100 and done["error"] is None, done
    assert [s["percent"] for s in seen] == sorted(s["percent"] for s in seen)  # the bar never goes back
    after = {m["run_id"]: m for m in runs_on_disk(shop.root)}
    assert set(after) - before == {done["run_id"]}  # a third run, the job's
    assert published(shop.root) == done["run_id"]  # as of the last order, like the published one: published
    page = client.get(done["url"])
    assert f"分级完成，生成批次 {done['run_id']}。" in page.text and "此批次已发布。" in page.text
    assert marked(page.text) == {r: r == done["run_id"] for r in after}
    assert f'href="/app/migration?to={done["run_id"]}"' in page.text
    rest = {"Authorization": f"Bearer {shop.keys['admin']}"}
    assert {r["run_id"] for r in client.get("/runs", headers=rest).json()} == set(after)  # the API's catalog too
    # the audit trail names who started it (the application layer records it)
    audited = client.get("/audit", params={"target": job_id.group(1)}, headers=rest).json()
    assert [(e["actor"], e["role"], e["action"]) for e in audited] == [("admin-user", "admin", "grade")], audited
    assert json.loads(audited[0]["detail"]) == {"as_of": None, "publish": None, "via": "workbench"}


def test_grading_for_a_past_date_unpublished(own: tuple[Shop, TestClient]) -> None:
    shop, client = own
    current = published(shop.root)
    token = csrf_of(client.get("/app/runs").text)
    bad = client.post("/app/runs/grade", data={"csrf": token, "as_of": "2026-02-30"}, follow_redirects=False)
    assert bad.status_code == 400 and "不是有效日期" in bad.text
    started = client.post("/app/runs/grade", data={"csrf": token, "as_of": "2026-03-31"}, follow_redirects=False)
    job = started.headers["location"].split("=")[1]
    deadline = time.monotonic() + 120
    while not (state := client.get(f"/app/runs/jobs/{job}").json())["finished"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state["state"] == "done"
    made = next(m for m in runs_on_disk(shop.root) if m["run_id"] == state["run_id"])
    assert made["as_of"] == "2026-03-31" and published(shop.root) == current  # the box unticked: kept back
    assert "此批次未发布" in client.get(state["url"]).text


def test_publishing_a_run_from_the_page(own: tuple[Shop, TestClient]) -> None:
    shop, client = own
    older, latest = (m["run_id"] for m in runs_on_disk(shop.root))
    rest = {"Authorization": f"Bearer {shop.keys['admin']}"}
    assert client.get("/runs/current", headers=rest).json()["run_id"] == latest
    page = client.get("/app/runs")
    form = re.search(
        r'<form method="post" action="/app/runs/publish"[^>]*data-confirm="([^"]+)">(.*?)</form>', page.text, re.S
    )
    assert form and f'name="run" value="{older}"' in form.group(2)
    assert "确定发布批次" in form.group(1)  # runs.js asks in these words before the form goes
    done = client.post("/app/runs/publish", data={"csrf": csrf_of(page.text), "run": older}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/app/runs?published={older}"
    assert client.get("/runs/current", headers=rest).json()["run_id"] == older
    shown = client.get(done.headers["location"])
    assert f"已发布批次 {older} (截至 2026-06-30)。" in shown.text
    assert marked(shown.text) == {older: True, latest: False}
    missing = client.post(
        "/app/runs/publish", data={"csrf": csrf_of(page.text), "run": "no-such-run"}, follow_redirects=False
    )
    assert missing.status_code == 404 and "找不到批次 no-such-run" in missing.text
    assert client.get("/runs/current", headers=rest).json()["run_id"] == older


def test_a_job_nobody_started_is_not_found(visit: Any) -> None:
    client = visit("analyst")
    missing = client.get("/app/runs/jobs/job-20260101000000-abcdef")
    assert missing.status_code == 404 and missing.json()["detail"]
    assert client.get("/app/runs/jobs/not-a-job").status_code == 422
    page = client.get("/app/runs?job=job-20260101000000-abcdef")
    assert page.status_code == 404 and "找不到分级任务" in page.text
