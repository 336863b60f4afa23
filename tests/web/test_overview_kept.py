"""The kept figure of stable tiers where people read it: the workbench overview's tier table
(a 保级 column) and `tierkit grade`'s summary, on the hand-worked shop of
tests/engines/test_stability.py graded for January and February: in February c1, c2 and c4 are
graded regular and keep vip by stability (vip 4 customers, 3 of them kept; regular 1, none kept).
A policy without `stability:` shows no such column."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import monthly_orders
from tests.engines.test_stability import AMOUNTS, BOTH, MONTH_ENDS, PLAIN
from tests.web.conftest import app_for, sign_in
from tierkit.app.grading import grade_workspace
from tierkit.cli.app import app as cli
from tierkit.runs.files import store_of
from tierkit.store.users import add_user
from tierkit.workspace import Workspace


def _shop(root: Path, policy: str) -> tuple[Path, Path]:
    root.mkdir(parents=True)
    orders = monthly_orders(root / "orders.csv", AMOUNTS)
    ws = Workspace.init(root / "ws", "retail")
    (ws.root / "policy.yaml").write_text(policy, "utf-8")
    return ws.root, orders


@pytest.fixture(scope="module")
def stable(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root, orders = _shop(tmp_path_factory.mktemp("kept") / "stable", BOTH)
    for day in MONTH_ENDS[:2]:
        grade_workspace(root, orders=orders, as_of=day)
    return root, orders


def _overview(root: Path, lang: str = "zh") -> str:
    key = add_user(store_of(Workspace.open(root)), f"viewer-{lang}", "analyst")
    client = TestClient(app_for(root))
    sign_in(client, key)
    got = client.get(f"/app/?lang={lang}")
    assert got.status_code == 200, got.text[:500]
    return got.text


def test_the_overview_has_a_kept_column_with_the_hand_worked_counts(stable: tuple[Path, Path]) -> None:
    shown = _overview(stable[0])
    table = shown[shown.index('id="tier-table"') : shown.index("</table>", shown.index('id="tier-table"'))]
    assert ">保级</th>" in table
    kept = dict(re.findall(r'href="/app/customers\?tier=(\w+)".*?data-col="kept">([^<]+)<', table, re.S))
    assert kept == {"vip": "3", "regular": "0"}
    assert "Kept</th>" in _overview(stable[0], "en")


def test_grade_prints_the_kept_column(stable: tuple[Path, Path]) -> None:
    root, orders = stable
    done = CliRunner().invoke(
        cli, ["grade", "-w", str(root), "--orders", str(orders), "--as-of", MONTH_ENDS[1], "--no-publish"]
    )
    assert done.exit_code == 0, done.output
    assert "保级" in done.output
    vip = next(line for line in done.output.splitlines() if "(vip)" in line)
    assert vip.rstrip(" │|").split()[-1] == "3"


def test_no_stability_no_kept_column(tmp_path: Path) -> None:
    root, orders = _shop(tmp_path / "plain", PLAIN)
    grade_workspace(root, orders=orders, as_of=MONTH_ENDS[1])
    assert "保级" not in _overview(root)
