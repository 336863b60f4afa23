"""PUT /customers/{id}/owner over HTTP, held to what is on disk and in the store: the assignment
appended to data/owners.parquet (read with pyarrow), the audit row (read from the store's table),
and the next contact plan (read from its file). Also `tierkit owners reassign`, on a workspace
whose assignments file was written before reasons were kept."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import Served
from tests.conftest import write_rows
from tierkit.cli.app import app as cli
from tierkit.runs.files import store_of
from tierkit.store.schema import audit
from tierkit.workspace import Workspace


def _file_owner(served: Served, customer_id: str) -> str | None:
    """The owner the customers file gives (no assignment made yet), read with pyarrow."""
    people = pq.read_table(served.workspace.data_dir / "customers.parquet", columns=["customer_id", "owner"])
    found = [r["owner"] for r in people.to_pylist() if r["customer_id"] == customer_id]
    assert len(found) == 1
    return found[0] or None


def _assignments(root: Path, customer_id: str) -> list[dict[str, Any]]:
    path = root / "data" / "owners.parquet"
    if not path.exists():
        return []
    return [r for r in pq.read_table(path).to_pylist() if r["customer_id"] == customer_id]


def _audit_rows(root: Path, customer_id: str) -> list[dict[str, Any]]:
    engine = store_of(Workspace.open(root))
    with engine.connect() as con:
        rows = con.execute(
            sa.select(audit.c.actor, audit.c.role, audit.c.action, audit.c.detail)
            .where(audit.c.target == customer_id, audit.c.action == "reassign_owner")
            .order_by(audit.c.id)
        )
        return [dict(r._mapping) for r in rows]


def _vip(client: TestClient, served: Served, nth: int) -> str:
    """A customer the plan contacts (VIP: 2-4 a month in retail) whose file owner is known."""
    items = client.get("/customers?tier=vip&limit=50", headers=served.headers("admin")).json()["items"]
    owned = [i["customer_id"] for i in items if _file_owner(served, i["customer_id"])]
    return owned[nth]


def test_an_analyst_reassigns_and_the_file_and_the_audit_say_so(client: TestClient, served: Served) -> None:
    cid = _vip(client, served, 0)
    before = _file_owner(served, cid)
    assert not _assignments(served.workspace.root, cid)
    body = {"owner": "新经理甲", "reason": "原客户经理调岗"}
    done = client.put(f"/customers/{cid}/owner", headers=served.headers("analyst"), json=body)
    assert done.status_code == 200, done.text
    assert done.json() == {"customer_id": cid, "owner": "新经理甲", "previous_owner": before}
    made = _assignments(served.workspace.root, cid)
    assert len(made) == 1
    row = made[0]
    assert (row["owner"], row["method"], row["by"], row["reason"]) == (
        "新经理甲",
        "manual",
        "analyst-user",
        "原客户经理调岗",
    )
    assert abs(row["at"] - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert _audit_rows(served.workspace.root, cid) == [
        {
            "actor": "analyst-user",
            "role": "analyst",
            "action": "reassign_owner",
            "detail": f"{before} -> 新经理甲: 原客户经理调岗",
        }
    ]
    # again, by an admin: the previous owner is now the one just given, and the latest wins
    again = client.put(
        f"/customers/{cid}/owner", headers=served.headers("admin"), json={"owner": "新经理乙", "reason": "区域调整"}
    )
    assert again.status_code == 200 and again.json()["previous_owner"] == "新经理甲"
    assert [r["owner"] for r in _assignments(served.workspace.root, cid)] == ["新经理甲", "新经理乙"]
    assert _audit_rows(served.workspace.root, cid)[-1]["detail"] == "新经理甲 -> 新经理乙: 区域调整"


def test_the_next_plan_follows_the_new_owner(client: TestClient, served: Served) -> None:
    cid = _vip(client, served, 1)
    done = client.put(
        f"/customers/{cid}/owner", headers=served.headers("analyst"), json={"owner": "计划经理", "reason": "接手大客户"}
    )
    assert done.status_code == 200, done.text
    made = client.post("/plans/2027-05", headers=served.headers("analyst"))
    assert made.status_code == 201, made.text
    plan = pq.read_table(served.workspace.root / "plans" / "2027-05" / made.json()["plan"]).to_pylist()
    assert [r["owner"] for r in plan if r["customer_id"] == cid] == ["计划经理"]
    report = client.get("/plans/2027-05/report", headers=served.headers("analyst")).json()
    assert {"owner": "计划经理", "customers": 1} in [
        {"owner": o["owner"], "customers": o["customers"]} for o in report["by_owner"]
    ]


def test_agents_may_not_and_nothing_is_written(client: TestClient, served: Served) -> None:
    cid = _vip(client, served, 2)
    refused = client.put(
        f"/customers/{cid}/owner", headers=served.headers("agent"), json={"owner": "我自己", "reason": "想要这个客户"}
    )
    assert refused.status_code == 403 and refused.json() == {"detail": "the agent role may not do this"}
    assert not _assignments(served.workspace.root, cid) and not _audit_rows(served.workspace.root, cid)


@pytest.mark.parametrize(
    ("customer", "body", "status", "said"),
    [
        (
            "nobody",
            {"owner": "张三", "reason": "调岗"},
            404,
            "customer 'nobody' is not one of the workspace's customers",
        ),
        (None, {"owner": "   ", "reason": "调岗"}, 422, "owner"),  # blank once stripped (api: Line)
        (None, {"owner": "", "reason": "调岗"}, 422, None),
        (None, {"owner": "张三", "reason": "  "}, 422, "reason"),
        (None, {"owner": "张三"}, 422, None),
        (None, {"owner": "x" * 101, "reason": "调岗"}, 422, None),
    ],
)
def test_bad_requests_are_refused_in_words(
    client: TestClient, served: Served, customer: str | None, body: dict[str, str], status: int, said: str | None
) -> None:
    cid = customer or _vip(client, served, 3)
    answer = client.put(f"/customers/{cid}/owner", headers=served.headers("analyst"), json=body)
    assert answer.status_code == status, answer.text
    if said is not None:  # the use case's words, or the body field the schema names
        detail = answer.json()["detail"]
        assert said in (detail if isinstance(detail, str) else [e["loc"][-1] for e in detail]), detail
    assert not _assignments(served.workspace.root, cid) and not _audit_rows(served.workspace.root, cid)


def test_the_same_owner_again_is_a_conflict(client: TestClient, served: Served) -> None:
    cid = _vip(client, served, 4)
    same = {"owner": _file_owner(served, cid), "reason": "确认"}
    answer = client.put(f"/customers/{cid}/owner", headers=served.headers("analyst"), json=same)
    assert answer.status_code == 409 and "already served by" in answer.json()["detail"]
    assert not _assignments(served.workspace.root, cid)


def _main(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it (a refusal is one line on stderr and exit code 2)."""
    return subprocess.run(
        [sys.executable, "-c", "from tierkit.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_command_line_reassigns_over_a_file_written_before_reasons(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws", "retail")
    write_rows(ws.data_dir / "customers.csv", [{"会员号": "C1", "客户经理": "张三"}, {"会员号": "C2", "客户经理": ""}])
    old = pa.table(
        {
            "customer_id": ["C2"],
            "owner": ["李四"],
            "method": ["round-robin"],
            "by": ["ops"],
            "at": pa.array([dt.datetime(2026, 1, 5, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(old, ws.data_dir / "owners.parquet")  # as `owners assign` wrote it before
    runner = CliRunner()
    done = runner.invoke(
        cli, ["owners", "reassign", "C2", "王五", "--reason", "李四离职", "-w", str(ws.root), "--json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"customer_id": "C2", "owner": "王五", "previous_owner": "李四"}
    rows = pq.read_table(ws.data_dir / "owners.parquet").to_pylist()
    assert [(r["owner"], r["method"], r["reason"]) for r in rows] == [
        ("李四", "round-robin", None),
        ("王五", "manual", "李四离职"),
    ]
    unknown = _main("owners", "reassign", "C9", "王五", "--reason", "x", "-w", str(ws.root))
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "'C9'" in unknown.stderr, unknown.stderr
    no_reason = _main("owners", "reassign", "C1", "王五", "--reason", " ", "-w", str(ws.root))
    assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr, no_reason.stderr
    assert len(pq.read_table(ws.data_dir / "owners.parquet")) == 2
    entries = _audit_rows(ws.root, "C2")
    assert [e["detail"] for e in entries] == ["李四 -> 王五: 李四离职"]
