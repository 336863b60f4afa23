"""What a grading killed half-way leaves is cleared or put right by the next command (issue 15:
`.staging-*` folders of killed gradings were never removed; a run folder renamed into place
whose process died before it entered the store's catalog was listed by `tierkit runs` and
missing from `GET /runs`; `runs/CURRENT` could stay behind the store's pointer).

The kills are real: `tierkit grade` runs in a child process whose `os.rename` / `os.replace`
ends the process (`os._exit`) just before or after the step in question."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tierkit.cli.app import app

runner = CliRunner()
CRASH = """
import os, sys
from pathlib import Path

call, prefix, when = sys.argv[1], sys.argv[2], sys.argv[3]
real = getattr(os, call)


def crashing(src, dst, *args, **kwargs):
    hit = Path(src if call == "rename" else dst).name.startswith(prefix)
    if hit and when == "before":
        os._exit(9)
    real(src, dst, *args, **kwargs)
    if hit and when == "after":
        os._exit(9)


setattr(os, call, crashing)
from tierkit.cli.app import main

sys.argv = ["tierkit", *sys.argv[4:]]
main()
"""


def shop(tmp_path: Path) -> tuple[Path, str]:
    """A workspace with orders imported and one run graded and published."""
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    orders = tmp_path / "orders.csv"
    rows = [f"O{i},{i % 40:04d},2024-0{1 + i % 6}-15,{100 + i}" for i in range(200)]
    orders.write_text("order_id,customer_id,ordered_at,amount\n" + "\n".join(rows) + "\n", "utf-8")
    assert runner.invoke(app, ["import", "orders", str(orders), "-w", str(ws), "--today", "2026-11-29"]).exit_code == 0
    graded = runner.invoke(app, ["grade", "-w", str(ws), "--as-of", "2024-06-30", "--json"])
    assert graded.exit_code == 0, graded.output
    return ws, json.loads(graded.stdout)["run_id"]


def killed_grade(ws: Path, call: str, prefix: str, when: str) -> None:
    args = ["grade", "-w", str(ws), "--as-of", "2024-06-30"]
    done = subprocess.run(
        [sys.executable, "-c", CRASH, call, prefix, when, *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 9, done.stderr  # it did die at that step


def runs_listed(ws: Path) -> dict[str, bool]:
    listed = runner.invoke(app, ["runs", "-w", str(ws), "--json"])
    return {run["run_id"]: run["current"] for run in json.loads(listed.stdout)}


def served_runs(ws: Path) -> dict[str, bool]:
    """What GET /runs answers: the store's catalog, as the service reads it."""
    from tierkit.app import jobs
    from tierkit.app.serving import ServedWorkspace

    served = ServedWorkspace.open(ws)
    try:
        return {run["run_id"]: run["current"] for run in jobs.runs(served)}
    finally:
        served.close()


def test_the_staging_folder_of_a_killed_grading_is_removed_by_the_next_one(tmp_path: Path) -> None:
    ws, first = shop(tmp_path)
    killed_grade(ws, "rename", ".staging-", "before")
    assert [p.name for p in (ws / "runs").glob(".staging-*")] != []  # what the kill left
    again = runner.invoke(app, ["grade", "-w", str(ws), "--as-of", "2024-06-30", "--json"])
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)["run_id"]
    assert list((ws / "runs").glob(".staging-*")) == []
    assert runs_listed(ws) == {first: False, second: True} == served_runs(ws)


def test_a_run_renamed_into_place_before_the_kill_is_in_the_catalog_on_open(tmp_path: Path) -> None:
    ws, first = shop(tmp_path)
    killed_grade(ws, "rename", ".staging-", "after")
    orphan = next(p.name for p in (ws / "runs").iterdir() if p.is_dir() and p.name != first)
    assert runs_listed(ws) == {first: True, orphan: False}  # complete, kept, not published
    assert served_runs(ws) == {first: True, orphan: False}  # GET /runs lists it too
    published = runner.invoke(app, ["publish", orphan, "-w", str(ws)])
    assert published.exit_code == 0, published.output
    assert served_runs(ws) == {first: False, orphan: True}


def test_runs_current_catches_up_with_the_store_on_the_next_writing_command(tmp_path: Path) -> None:
    ws, first = shop(tmp_path)
    killed_grade(ws, "replace", "CURRENT", "before")  # the store switched, the file not yet
    second = next(run for run, current in served_runs(ws).items() if current)
    assert second != first and (ws / "runs" / "CURRENT").read_text().strip() == first
    other = tmp_path / "more.csv"
    other.write_text("order_id,customer_id,ordered_at,amount\nX1,9999,2024-03-01,5\n", "utf-8")
    assert runner.invoke(app, ["import", "orders", str(other), "-w", str(ws), "--today", "2026-11-29"]).exit_code == 0
    assert (ws / "runs" / "CURRENT").read_text().strip() == second
