"""A telecom-stars workspace whose stars are worked out by hand, for the entitlement tests.

Every customer has one order on 2026-05-10 and the run is as of 2026-06-30, so the 6-month
average monthly spend (arpu_6m) is the amount / 6 and the year's points are the amount (far
below every points threshold): the stars come from the spend thresholds 500 / 300 / 200 / 100 / 50.

    customer  amount  arpu_6m  stars  集团关键人 (customers file)
    s6        3,600   600.00   6      否
    s5        2,000   333.33   5      否
    s5b       2,000   333.33   5      否      (a fresh 5-star customer for the concurrent uses)
    s3          700   116.67   3      否
    k2          400    66.67   2      是      -> tag key_person from the data
    m2          400    66.67   2      否      (集团关键人 given by hand in the tests)
    p2          400    66.67   2      否      (moved to 5 stars by an override in the tests)
    s1          100    16.67   1      否
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.api.conftest import postgres_database
from tierkit.app.grading import grade_workspace
from tierkit.runs.files import store_of
from tierkit.store.users import add_user
from tierkit.workspace import Workspace

AMOUNTS = {"s6": 3600, "s5": 2000, "s5b": 2000, "s3": 700, "k2": 400, "m2": 400, "p2": 400, "s1": 100}
STARS = {"s6": "6", "s5": "5", "s5b": "5", "s3": "3", "k2": "2", "m2": "2", "p2": "2", "s1": "1"}
KEY_PEOPLE = {"k2"}
AS_OF = "2026-06-30"


@dataclass
class Shop:
    root: Path
    run_id: str
    keys: dict[str, str]  # role -> API key

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def make_shop(folder: Path, backend: str) -> Shop:
    files = folder / "files"
    files.mkdir(parents=True)
    with (files / "orders.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "customer_id", "ordered_at", "amount"])
        for n, (cid, amount) in enumerate(AMOUNTS.items()):
            writer.writerow([f"o{n}", cid, "2026-05-10", f"{amount:.2f}"])
    with (files / "customers.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "集团关键人"])
        for cid in AMOUNTS:
            writer.writerow([cid, "是" if cid in KEY_PEOPLE else "否"])
    root = folder / "ws"
    Workspace.init(root, "telecom-stars")
    if backend == "postgresql":
        config = yaml.safe_load((root / "tierkit.yaml").read_text("utf-8"))
        config["database"] = postgres_database()
        (root / "tierkit.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    graded = grade_workspace(
        root, orders=files / "orders.csv", customers=files / "customers.csv", as_of=AS_OF, publish=True
    )
    store = store_of(Workspace.open(root))
    keys = {role: add_user(store, f"{role}-user", role) for role in ("admin", "analyst", "agent")}
    return Shop(root, str(graded["run_id"]), keys)
