"""Scheduled re-grading on a real (small) workspace: the cron and its errors, the slot that is due,
racing graders (threads and processes), a missed slot run once on start, a lapsed lock taken over,
an interrupted or failed grading, `tierkit schedule`, and a served app that grades on its own.

The shop: three customers (V1 VIP, R1 regular, P1 potential) graded once and published. Its runs
are dated back 62 days in the store's catalog (`age`) where a test needs the workspace to have
been graded before the latest slot; without that, it was graded just now.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import threading
import time
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
import yaml
from croniter import croniter
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.conftest import WriteCsv
from tierkit.app import schedule
from tierkit.app.background import TASKS, ServiceLoop, register_task
from tierkit.app.grading import grade_workspace
from tierkit.app.importing import import_files
from tierkit.app.schedule import Schedule, ScheduleError, due_slot, parse_schedule, run_due, status
from tierkit.app.serving import ServedWorkspace, Settings
from tierkit.cli.app import app
from tierkit.runs.files import current_run_id, store_of
from tierkit.server import create_app
from tierkit.store import catalog, locks
from tierkit.store import schedule_runs as slots
from tierkit.store.audit import entries
from tierkit.store.schema import runs
from tierkit.workspace import Workspace

MONTHLY = "0 2 1 * *"


def _orders(customer: str, count: int, amount: str) -> list[dict[str, object]]:
    start = dt.date(2025, 7, 1)
    return [
        {"order_id": f"{customer}-{n}", "customer_id": customer, "ordered_at": str(start + dt.timedelta(days=5 * n))}
        | {"amount": amount}
        for n in range(count)
    ]


@pytest.fixture
def shop(tmp_path: Path, write_csv: WriteCsv) -> Path:
    root = tmp_path / "shop"
    Workspace.init(root, "retail")
    orders = [*_orders("V1", 70, "2000.00"), *_orders("R1", 10, "6000.00"), *_orders("P1", 1, "100.00")]
    import_files(root, "orders", [write_csv("orders.csv", orders)], today="2026-12-31")
    grade_workspace(root)
    return root


def set_schedule(root: Path, value: object) -> None:
    config = yaml.safe_load((root / "tierkit.yaml").read_text("utf-8"))
    config["schedule"] = value
    (root / "tierkit.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


def engine_of(root: Path) -> Any:
    return store_of(Workspace.open(root))


def age(root: Path, days: int = 62) -> None:
    """The workspace's runs as if graded `days` ago (the store's catalog, which the schedule reads)."""
    engine = engine_of(root)
    with engine.begin() as con:
        for row in con.execute(select(runs.c.run_id, runs.c.created_at)).all():
            created = locks.as_utc(row.created_at)
            assert created is not None
            con.execute(
                update(runs).where(runs.c.run_id == row.run_id).values(created_at=created - dt.timedelta(days=days))
            )


def run_ids(root: Path) -> list[str]:
    return [str(r["run_id"]) for r in catalog.catalog(engine_of(root))]


def schedule_rows(root: Path) -> list[dict[str, Any]]:
    return slots.recent(engine_of(root), 100)


# -- the setting ---------------------------------------------------------------------------------


def test_a_cron_alone_is_utc_and_a_mapping_gives_the_time_zone() -> None:
    assert parse_schedule(MONTHLY) == Schedule(MONTHLY, "UTC")
    assert parse_schedule({"cron": MONTHLY, "timezone": "Asia/Shanghai"}) == Schedule(MONTHLY, "Asia/Shanghai")
    assert parse_schedule({"cron": "  0  2 1 * * "}) == Schedule(MONTHLY, "UTC")
    assert parse_schedule("@daily") == Schedule("@daily", "UTC")
    assert parse_schedule(None) is None and parse_schedule("") is None
    shanghai = Schedule(MONTHLY, "Asia/Shanghai")
    now = dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    assert shanghai.previous(now) == dt.datetime(2026, 2, 28, 18, tzinfo=dt.UTC)  # 03-01 02:00 in Beijing
    assert shanghai.following(now) == dt.datetime(2026, 3, 31, 18, tzinfo=dt.UTC)
    exact = dt.datetime(2026, 2, 28, 18, tzinfo=dt.UTC)
    assert shanghai.previous(exact) == exact  # a slot is due at its own instant


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ("61 2 1 * *", "schedule:", "minute '61' is not valid (0-59)"),
        ("0 25 * * *", "schedule:", "hour '25' is not valid (0-23)"),
        ("0 2 1 foo *", "schedule:", "month 'foo' is not valid"),
        ("0 2 1 * * *", "schedule:", "expected 5 fields"),
        ("0 2", "schedule:", "expected 5 fields"),
        ("0 2 30 2 *", "schedule:", "never comes"),
        ("@reboot", "schedule:", "unknown shorthand '@reboot'"),
        (5, "schedule:", "expected a cron expression in quotes"),
        ({"cron": "0 2 1 * *", "timezone": "Asia/Shangai"}, "schedule.timezone:", "did you mean 'Asia/Shanghai'"),
        ({"cron": "0 2 1 * *", "timezone": "utc"}, "schedule.timezone:", "did you mean 'UTC'"),
        ({"cron": "0 2 1 * *", "timezone": "Mars/Olympus"}, "schedule.timezone:", "unknown time zone 'Mars/Olympus'"),
        ({"cron": "0 2 1 * *", "timezone": 8}, "schedule.timezone:", "expected a time zone name"),
        ({"cron": "0 2 32 * *"}, "schedule.cron:", "day of month '32' is not valid (1-31)"),
        ({"timezone": "UTC"}, "schedule.cron:", "give a cron expression"),
        ({"cron": "0 2 1 * *", "tz": "UTC"}, "schedule:", "unknown key 'tz'"),
    ],
)
def test_a_bad_schedule_is_one_line_naming_the_file_and_the_field(value: object, field: str, words: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(value, "/srv/shop/tierkit.yaml")
    message = str(caught.value)
    assert message.startswith(f"/srv/shop/tierkit.yaml: {field}"), message
    assert words in message and "\n" not in message


CRONS = ["0 2 1 * *", "*/7 * * * *", "30 2 * * *", "0 0 * * 1-5", "15 1 29 2 *", "@hourly", "0 9,18 * * sun"]
ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe"]


@settings(max_examples=300, deadline=None)
@given(
    cron=st.sampled_from(CRONS),
    zone=st.sampled_from(ZONES),
    now=st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(dt.UTC)),
)
def test_the_due_slot_is_the_latest_cron_time_at_or_before_now(cron: str, zone: str, now: dt.datetime) -> None:
    """Across time zones and DST changes: slot <= now < the next slot, the slot is a time of the
    cron (in its zone), and the slot after it is after now (none is skipped)."""
    plan = Schedule(cron, zone)
    slot, nxt = plan.previous(now), plan.following(now)
    assert slot <= now < nxt
    assert plan.following(slot) > now  # no cron time between the slot and now
    assert plan.previous(slot) == slot and plan.previous(nxt) == nxt
    assert croniter.match(cron, slot.astimezone(zoneinfo.ZoneInfo(zone)))
    assert slots.slot_key(slot) == slot.isoformat() and dt.datetime.fromisoformat(slots.slot_key(slot)) == slot


# -- what is due, and grading it once ------------------------------------------------------------


def test_a_schedule_set_up_just_after_a_grading_does_not_grade_again(shop: Path) -> None:
    set_schedule(shop, MONTHLY)
    before = run_ids(shop)
    assert due_slot(engine_of(shop), Schedule(MONTHLY)) is None
    assert run_due(shop) is None and run_ids(shop) == before and schedule_rows(shop) == []
    assert status(shop)["due"] is False


def test_a_missed_slot_runs_once_on_start_and_only_the_latest(shop: Path) -> None:
    set_schedule(shop, {"cron": MONTHLY, "timezone": "Asia/Shanghai"})
    age(shop)  # graded 62 days ago: two or three slots were missed while "the server was down"
    before = run_ids(shop)
    shown = status(shop)
    assert shown["due"] is True and shown["last"] is None
    done = run_due(shop)
    assert done is not None and done["state"] == "done" and done["error"] is None
    latest = Schedule(MONTHLY, "Asia/Shanghai").previous(locks.utc_now())
    assert done["slot"] == latest.isoformat() and done["slot_local"].endswith("T02:00:00+08:00")
    assert done["customers"] == 3
    assert current_run_id(Workspace.open(shop)) == done["run_id"]  # published
    assert run_ids(shop) == [*before, done["run_id"]]
    assert [r["slot"] for r in schedule_rows(shop)] == [done["slot"]]  # one slot ran, not each missed one
    assert run_due(shop) is None and run_due(shop, now=locks.utc_now() + dt.timedelta(minutes=5)) is None
    assert len(run_ids(shop)) == len(before) + 1
    after = status(shop)
    assert after["due"] is False and after["last"]["state"] == "done" and after["last"]["run_id"] == done["run_id"]
    audit = [e for e in entries(engine_of(shop)) if e["actor"] == "schedule"]
    assert [(e["action"], e["target"]) for e in audit] == [("scheduled_grading", done["slot"])]
    assert audit[0]["detail"] == f"run {done['run_id']} published"


def test_the_next_slot_runs_when_it_comes(shop: Path) -> None:
    set_schedule(shop, MONTHLY)
    age(shop)
    first = run_due(shop)
    assert first is not None
    next_month = Schedule(MONTHLY).following(locks.utc_now()) + dt.timedelta(hours=1)
    second = run_due(shop, now=next_month)
    assert second is not None and second["state"] == "done" and second["slot"] > first["slot"]
    assert len(schedule_rows(shop)) == 2


def test_a_look_back_kept_unpublished_does_not_count_as_graded(shop: Path) -> None:
    set_schedule(shop, MONTHLY)
    age(shop)
    grade_workspace(shop, as_of="2026-06-30", publish=False)  # created now, after the slot, not published
    assert status(shop)["due"] is True
    grade_workspace(shop)  # published now: the slot's grading is done by hand
    assert status(shop)["due"] is False and run_due(shop) is None


def test_racing_threads_grade_a_slot_exactly_once(shop: Path) -> None:
    set_schedule(shop, MONTHLY)
    age(shop)
    before = len(run_ids(shop))
    barrier = threading.Barrier(6)
    results: list[Any] = []

    def racer() -> None:
        barrier.wait()
        results.append(run_due(shop))

    threads = [threading.Thread(target=racer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    done = [r for r in results if r is not None]
    assert len(results) == 6 and len(done) == 1 and done[0]["state"] == "done"
    assert len(run_ids(shop)) == before + 1 and len(schedule_rows(shop)) == 1
    assert locks.held(engine_of(shop), schedule.LOCK) is None  # released


RACER = """
import json, sys, time
from tierkit.app.schedule import run_due
start = float(sys.argv[2])
time.sleep(max(start - time.time(), 0))
done = run_due(sys.argv[1])
print(json.dumps(done and done["run_id"]))
"""


def test_racing_processes_grade_a_slot_exactly_once(shop: Path) -> None:
    set_schedule(shop, MONTHLY)
    age(shop)
    before = len(run_ids(shop))
    start = time.time() + 4  # each process imports tierkit first; then they go at once
    procs = [
        subprocess.Popen([sys.executable, "-c", RACER, str(shop), str(start)], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    answers = [json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    graded = [a for a in answers if a is not None]
    assert len(graded) == 1
    assert len(run_ids(shop)) == before + 1 and [r["run_id"] for r in schedule_rows(shop)] == graded


def test_a_live_lock_elsewhere_waits_and_a_lapsed_one_is_taken_over(shop: Path) -> None:
    set_schedule(shop, MONTHLY)
    age(shop)
    engine = engine_of(shop)
    assert locks.acquire(engine, schedule.LOCK, "otherhost:42:abcd", dt.timedelta(hours=1))
    assert run_due(shop) is None  # another process grades: nothing taken here
    shown = status(shop)
    assert shown["due"] is True and shown["grading"]["holder"] == "otherhost:42:abcd"
    assert shown["grading"]["lapsed"] is False and schedule_rows(shop) == []
    locks.release(engine, schedule.LOCK, "otherhost:42:abcd")
    long_ago = locks.utc_now() - dt.timedelta(hours=7)
    assert locks.acquire(engine, schedule.LOCK, "crashed:1:dead", dt.timedelta(hours=6), now=long_ago)
    assert status(shop)["grading"]["lapsed"] is True
    done = run_due(shop)
    assert done is not None and done["state"] == "done"
    assert locks.held(engine, schedule.LOCK) is None


def test_a_grading_interrupted_by_a_dead_holder_runs_again_once(shop: Path) -> None:
    set_schedule(shop, MONTHLY)
    age(shop)
    engine = engine_of(shop)
    key = slots.slot_key(Schedule(MONTHLY).previous(locks.utc_now()))
    assert slots.take(engine, key, MONTHLY, "crashed:1:dead")  # died mid-grading; its lock lapsed
    shown = status(shop)
    assert shown["last"]["state"] == "interrupted" and shown["due"] is True
    done = run_due(shop)
    assert done is not None and done["state"] == "done" and done["holder"] != "crashed:1:dead"
    assert len(schedule_rows(shop)) == 1 and run_due(shop) is None
    details = [e["detail"] for e in entries(engine_of(shop)) if e["actor"] == "schedule"]
    assert any("crashed:1:dead stopped while grading" in d for d in details)


def test_interrupted_twice_is_marked_failed_not_graded_again(shop: Path) -> None:
    set_schedule(shop, MONTHLY)
    age(shop)
    engine = engine_of(shop)
    key = slots.slot_key(Schedule(MONTHLY).previous(locks.utc_now()))
    assert slots.take(engine, key, MONTHLY, "first:1:dead")
    assert slots.retake(engine, key, "first:1:dead", "second:2:dead", "interrupted: first:1:dead stopped")
    before = run_ids(shop)
    done = run_due(shop)
    assert done is not None and done["state"] == "failed" and "interrupted twice" in done["error"]
    assert run_ids(shop) == before and run_due(shop) is None


def test_a_failed_grading_is_recorded_with_its_error_and_retried_only_when_asked(shop: Path) -> None:
    set_schedule(shop, MONTHLY)
    age(shop)
    moved = shop.parent / "orders-aside"
    (shop / "data" / "orders").rename(moved)  # the data went missing before the night's grading
    done = run_due(shop)
    assert done is not None and done["state"] == "failed" and done["run_id"] is None
    assert "no orders file" in done["error"] and done["finished_at"] is not None
    assert run_due(shop) is None  # a failed slot does not run again on every tick
    shown = status(shop)
    assert shown["last"]["state"] == "failed" and shown["due"] is False
    audit = [e for e in entries(engine_of(shop)) if e["actor"] == "schedule"]
    assert audit[0]["detail"].startswith("failed: ") and "no orders file" in audit[0]["detail"]
    moved.rename(shop / "data" / "orders")
    again = run_due(shop, retry=True)
    assert again is not None and again["state"] == "done" and again["slot"] == done["slot"] and again["error"] is None


def test_without_a_schedule_nothing_runs(shop: Path) -> None:
    age(shop)
    assert run_due(shop) is None
    shown = status(shop)
    assert (shown["cron"], shown["next"], shown["due"], shown["last"]) == (None, None, False, None)
    with pytest.raises(ScheduleError, match=r"tierkit\.yaml: schedule: not set"):
        schedule.run_due_now(shop)


# -- the command ---------------------------------------------------------------------------------


def test_schedule_status_json_keys_and_run_due(shop: Path) -> None:
    set_schedule(shop, {"cron": MONTHLY, "timezone": "Asia/Shanghai"})
    age(shop)
    runner = CliRunner()
    got = runner.invoke(app, ["schedule", "status", "-w", str(shop), "--json"])
    assert got.exit_code == 0, got.output
    shown = json.loads(got.stdout)
    assert {"cron", "timezone", "last", "next", "next_utc", "upcoming", "due", "due_slot", "grading", "recent"} <= set(
        shown
    )
    assert (shown["cron"], shown["timezone"], shown["due"], shown["last"]) == (MONTHLY, "Asia/Shanghai", True, None)
    assert shown["next"].endswith("T02:00:00+08:00") and shown["next_utc"].endswith("T18:00:00+00:00")
    ran = runner.invoke(app, ["schedule", "run-due", "-w", str(shop)])
    assert ran.exit_code == 0, ran.output
    assert "published" in ran.output
    text = runner.invoke(app, ["schedule", "status", "-w", str(shop)])
    assert text.exit_code == 0 and "done: run" in text.output and "due now    no" in text.output
    last = json.loads(runner.invoke(app, ["schedule", "status", "-w", str(shop), "--json"]).stdout)["last"]
    assert {"slot", "slot_local", "state", "run_id", "started_at", "finished_at", "error"} <= set(last)
    assert last["state"] == "done" and last["slot_local"].endswith("T02:00:00+08:00")
    again = runner.invoke(app, ["schedule", "run-due", "-w", str(shop), "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["ran"] is None


def test_run_due_exits_1_when_the_grading_failed(shop: Path) -> None:
    set_schedule(shop, MONTHLY)
    age(shop)
    (shop / "data" / "orders").rename(shop.parent / "orders-aside")
    got = CliRunner().invoke(app, ["schedule", "run-due", "-w", str(shop)])
    assert got.exit_code == 1 and "no orders file" in got.output


def test_a_bad_cron_on_the_command_line_is_one_line_and_exit_2(shop: Path) -> None:
    set_schedule(shop, {"cron": "0 2 1 * *", "timezone": "Asia/Shangai"})
    got = subprocess.run(
        [sys.executable, "-c", "from tierkit.cli.app import main; main()", "schedule", "status", "-w", str(shop)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert got.returncode == 2
    line = got.stderr.strip()
    assert "\n" not in line and "tierkit.yaml: schedule.timezone: unknown time zone 'Asia/Shangai'" in line


# -- the background loop and the server ----------------------------------------------------------


def test_a_failing_task_is_logged_once_and_does_not_stop_the_others(
    shop: Path, caplog: pytest.LogCaptureFixture
) -> None:
    served = ServedWorkspace.open(shop)
    count = {"ok": 0, "bad": 0}

    def bad(_: ServedWorkspace) -> None:
        count["bad"] += 1
        raise ScheduleError("tierkit.yaml: schedule: broken")

    def good(_: ServedWorkspace) -> None:
        count["ok"] += 1

    loop = ServiceLoop(served, tasks=[("bad", bad)], interval=0.02)
    loop.add("good", good)
    with caplog.at_level(logging.ERROR, logger="tierkit.app.background"):
        loop.start()
        deadline = time.monotonic() + 10
        while count["ok"] < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        loop.stop()
    served.close()
    assert count["ok"] >= 5 and count["bad"] >= 5 and not loop.running
    logged = [r for r in caplog.records if "background task bad failed" in r.getMessage()]
    assert len(logged) == 1 and "tierkit.yaml: schedule: broken" in logged[0].getMessage()


def test_register_task_adds_to_every_new_loop(shop: Path) -> None:
    saved = list(TASKS)
    try:
        register_task("alerts", lambda served: None)
        register_task("alerts", lambda served: None)  # again: replaced, not doubled
        assert [name for name, _ in TASKS] == ["schedule", "audit", "alerts"]  # moved last, not doubled
        served = ServedWorkspace.open(shop)
        assert [name for name, _ in ServiceLoop(served, interval=1).tasks] == ["schedule", "audit", "alerts"]
        served.close()
    finally:
        TASKS[:] = saved


def wait_for(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    return check()


def test_a_served_workspace_grades_and_publishes_on_its_schedule(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_schedule(shop, "* * * * *")
    age(shop)
    before = run_ids(shop)
    monkeypatch.setenv("TIERKIT_LOOP_INTERVAL", "0.2")
    served = create_app(shop, Settings(rate_per_second=0), warm=True)
    assert served.state.loop.interval == 0.2 and not served.state.loop.running
    with TestClient(served) as client:
        assert served.state.loop.running

        def done() -> list[dict[str, Any]]:
            return [r for r in schedule_rows(shop) if r["state"] == "done"]

        graded = wait_for(done)
        assert graded, schedule_rows(shop)
        run_id = graded[-1]["run_id"]
        assert run_id not in before and current_run_id(Workspace.open(shop)) == run_id
        health = wait_for(lambda: (h := client.get("/health").json()) and run_id in json.dumps(h) and h)
        assert run_id in json.dumps(health)  # the server serves the run it graded
    assert not served.state.loop.running  # stopped with the app


def test_a_served_workspace_with_a_bad_schedule_logs_it_and_keeps_serving(
    shop: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    set_schedule(shop, "0 25 * * *")
    monkeypatch.setenv("TIERKIT_LOOP_INTERVAL", "0.05")
    served = create_app(shop, Settings(rate_per_second=0), warm=True)
    with caplog.at_level(logging.ERROR, logger="tierkit.app.background"), TestClient(served) as client:
        assert wait_for(lambda: served.state.loop.ticks >= 5, 10)
        assert client.get("/health").status_code == 200
    logged = [r.getMessage() for r in caplog.records if "background task schedule failed" in r.getMessage()]
    assert len(logged) == 1 and "tierkit.yaml: schedule: '0 25 * * *': hour '25' is not valid" in logged[0]
