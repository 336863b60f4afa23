"""The README's walkthrough as a new user runs it (issue 12): a look back does not replace the
current run unasked, and a migration reads forwards in time."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("first-hour") / "demo-workspace"
    code, _, err = run("demo", "-w", str(ws), "--customers", "400", "--json")
    assert code == 0, err
    return ws


def _current(ws: Path) -> dict[str, object]:
    return next(r for r in json.loads(run("runs", "-w", str(ws), "--json")[1]) if r["current"])


def test_a_look_back_is_written_but_not_published(demo: Path, tmp_path: Path) -> None:
    before = _current(demo)
    code, _, err = run("grade", "-w", str(demo), "--as-of", "2026-06-30")
    assert code == 0, err
    assert "not published" in err and str(before["as_of"]) in err and "--publish" in err
    assert _current(demo)["run_id"] == before["run_id"]
    # diff previous current reads June -> September: nobody in June is gone by September
    migration = json.loads(run("diff", "previous", "current", "-w", str(demo), "--json")[1])
    assert (migration["as_of_a"], migration["as_of_b"]) == ("2026-06-30", before["as_of"])
    runs = {r["as_of"]: r for r in json.loads(run("runs", "-w", str(demo), "--json")[1])}
    assert not [m for m in migration["matrix"] if m["to"] == "(gone)"]
    joined = sum(m["customers"] for m in migration["matrix"] if m["from"] == "(new)")
    assert joined == runs[before["as_of"]]["customers"] - runs["2026-06-30"]["customers"] > 0
    # the export is still September's list
    out = tmp_path / "vip.csv"
    assert run("export", "-w", str(demo), "--tier", "vip", "-o", str(out))[0] == 0
    september = pq.read_table(demo / "runs" / str(before["run_id"]) / "result.parquet").to_pylist()
    with out.open(encoding="utf-8") as handle:
        exported = sum(1 for _ in handle) - 1
    assert exported == sum(1 for r in september if r["tier"] == "vip")


def test_publish_makes_a_look_back_current_when_asked(demo: Path) -> None:
    demo_as_of = _current(demo)["as_of"]
    code, out, err = run("grade", "-w", str(demo), "--as-of", "2026-06-30", "--publish", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["published"] and _current(demo)["run_id"] == summary["run_id"]
    code, out, err = run("grade", "-w", str(demo), "--json")  # the default as-of: the last order date
    assert json.loads(out)["published"] and _current(demo)["as_of"] == demo_as_of  # the demo's rule too
