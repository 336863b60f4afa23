"""Alerts for a run that moves 100,000 customers: emitted, then delivered to a local receiver.

    python benchmarks/alerts.py [--customers 1000000] [--moved 100000] [--batch 100]

Builds a workspace of N customers with one order in January and one in February (the month's
spend decides the tier, as tests/app/test_alerts.py), where `--moved` customers change tier from
January's run to February's; owners among 200 reps. Grades January (published), then February
(kept), adds a webhook to a receiver on 127.0.0.1 (tests/receiver.py: it checks every
signature), and times:

- publish February: the pointer switch plus the events (one query over both results, words,
  the store insert, the delivery queue);
- `deliver`: every event to the receiver, in POSTs of `--batch`, with the store's bookkeeping;
- the floor of that delivery, measured in the same run: the same number of POSTs of the same
  size to the same receiver from one keep-alive client, with no store at all.

The target (issue 14) is at least 500 events a second delivered.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.receiver import Receiver
from tierkit.app import webhooks
from tierkit.app.grading import grade_workspace
from tierkit.app.runs import publish
from tierkit.runs.files import store_of
from tierkit.store.alerts import inbox
from tierkit.workspace import Workspace

POLICY = """
name: alerting
metrics:
  spend_1m: {sum: amount, window: 1M}
tiers:
  - {name: vip, label: {zh: VIP客户, en: VIP}, when: "spend_1m >= 1000"}
  - {name: regular, label: {zh: 普通客户, en: Regular}, when: "spend_1m >= 100"}
  - {name: potential, label: {zh: 潜在客户, en: Potential}, else: true}
alerts: {tier_up: true, tier_down: true}
"""
# every customer is regular in January (500); in February the first `moved` go to vip or potential
ORDERS = """
COPY (
  SELECT 'J' || i AS order_id, lpad(i::VARCHAR, 8, '0') AS customer_id, DATE '2026-01-15' AS ordered_at,
         500.00::DECIMAL(18, 2) AS amount
  FROM range({customers}) r(i)
  UNION ALL
  SELECT 'F' || i, lpad(i::VARCHAR, 8, '0'), DATE '2026-02-15',
         (CASE WHEN i >= {moved} THEN 500 WHEN i % 2 = 0 THEN 2000 ELSE 50 END)::DECIMAL(18, 2)
  FROM range({customers}) r(i)
) TO '{path}' (FORMAT parquet)
"""
CUSTOMERS = """
COPY (SELECT lpad(i::VARCHAR, 8, '0') AS customer_id, 'rep' || (i % 200) AS owner FROM range({customers}) r(i))
TO '{path}' (FORMAT parquet)
"""


def floor(url: str, posts: int, body: bytes) -> float:
    """Seconds for `posts` POSTs of `body` from one keep-alive client: the HTTP floor."""
    started = time.perf_counter()
    with httpx.Client() as client:
        for _ in range(posts):
            client.post(url, content=body, headers={"Content-Type": "application/json"}).raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--moved", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace.init(Path(folder) / "ws", "retail")
        (ws.root / "policy.yaml").write_text(POLICY, "utf-8")
        duckdb.sql(ORDERS.format(customers=args.customers, moved=args.moved, path=ws.data_dir / "orders.parquet"))
        duckdb.sql(CUSTOMERS.format(customers=args.customers, path=ws.data_dir / "customers.parquet"))
        grade_workspace(ws.root, as_of="2026-01-31")
        february = grade_workspace(ws.root, as_of="2026-02-28", publish=False)["run_id"]
        receiver = Receiver(keep=False)
        try:
            hook = webhooks.add(ws.root, receiver.url, ["tier_up", "tier_down"], "bench", batch=args.batch)
            receiver.secret = hook["secret"]
            started = time.perf_counter()
            publish(ws.root, february)
            emitted = time.perf_counter() - started
            started = time.perf_counter()
            done = webhooks.deliver(ws.root)
            delivered = time.perf_counter() - started
            received = receiver.events
            one = inbox(store_of(ws), limit=1)["alerts"][0]  # a real event, as POSTed (its fields)
            fields = ("event_id", "event", "customer_id", "owner", "old", "new", "run_id", "reasons")
            event = {k: one[k] for k in fields}
            sample = json.dumps({"events": [event] * args.batch}, ensure_ascii=False)
            base = floor(receiver.url, done["posts"], sample.encode())
        finally:
            receiver.close()
    rate = done["delivered"] / delivered
    print(f"customers {args.customers:,}, moved {args.moved:,}, batch {args.batch}")
    print(f"publish with events: {emitted:.2f} s ({done['delivered'] / emitted:,.0f} events/s emitted)")
    print(f"delivered {done['delivered']:,} events in {done['posts']:,} POSTs: {delivered:.2f} s, {rate:,.0f} events/s")
    print(f"receiver counted {received:,} events; dead-lettered {done['dead_letter']}")
    print(f"floor (same POSTs, no store): {base:.2f} s; tierkit / floor = {delivered / base:.2f}")
    print(f"target >= 500 events/s: {'met' if rate >= 500 else 'NOT met'}")


if __name__ == "__main__":
    main()
