"""An import killed at any step leaves the workspace consistent: the next writing command finds
the part and its entry in data/imports.json in step (the old pair, or the new one), no partial
file is left, and importing the original again really imports it (issue 15: a crash between
moving the part into place and writing the registry left 45,663 rows recorded over a part of
40,000, and the original then came back `unchanged`).

The crash is real: the import runs in a child process whose `os.replace` ends the process
(`os._exit`, no clean-up) just before or just after a chosen file is renamed into place."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app

runner = CliRunner()
TODAY = ["--today", "2026-11-29"]
CRASH = """
import os, sys
from pathlib import Path

target, when = sys.argv[1], sys.argv[2]
real = os.replace


def replace(src, dst, *args, **kwargs):
    hit = Path(dst).name.endswith(target)
    if hit and when == "before":
        os._exit(9)
    real(src, dst, *args, **kwargs)
    if hit and when == "after":
        os._exit(9)


os.replace = replace
from tierkit.cli.app import main

sys.argv = ["tierkit", *sys.argv[3:]]
main()
"""


def orders(path: Path, customers: int) -> Path:
    lines = ["order_id,customer_id,ordered_at,amount"]
    lines += [f"O{i},{i:04d},2024-03-{1 + i % 28:02d},{100 + i}" for i in range(customers)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def crash_import(ws: Path, source: Path, target: str, when: str) -> subprocess.CompletedProcess[str]:
    args = ["import", "orders", str(source), "-w", str(ws), *TODAY]
    return subprocess.run(
        [sys.executable, "-c", CRASH, target, when, *args], capture_output=True, text=True, timeout=300
    )


def recorded(ws: Path) -> dict[str, int]:
    """Rows each part holds, and rows its registry entry says it holds, by part file name."""
    entries = json.loads((ws / "data" / "imports.json").read_text("utf-8"))["orders"]
    found = {}
    for entry in entries.values():
        part = Path(entry["part"])
        held = duckdb.sql(f"SELECT count(*) FROM read_parquet('{part}')").fetchone()
        found[part.name] = (entry["imported"], held[0] if held else 0)
    return {name: pair[0] if pair[0] == pair[1] else -1 for name, pair in found.items()}


def leftovers(ws: Path) -> list[str]:
    return sorted(str(p.relative_to(ws)) for p in ws.rglob("*") if ".partial" in p.name or "journal" in p.name)


@pytest.mark.parametrize(
    ("target", "when", "after"),
    [
        ("imports.journal.json", "before", 30),  # all written under temporary names, not committed: the old pair
        (".parquet", "before", 20),  # committed, the part not yet moved: finished on the next command
        (".parquet", "after", 20),  # the crash: the part moved, the registry not written
        ("imports.json", "after", 20),  # the registry written, the journal not yet removed
    ],
)
def test_an_import_killed_at_any_step_is_recovered_by_the_next_command(
    tmp_path: Path, target: str, when: str, after: int
) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    source = orders(tmp_path / "orders.csv", 30)
    assert runner.invoke(app, ["import", "orders", str(source), "-w", str(ws), *TODAY]).exit_code == 0
    original = source.read_bytes()
    orders(source, 20)  # a new version of the same file, with fewer customers
    killed = crash_import(ws, source, target, when)
    assert killed.returncode == 9, killed.stderr  # it did die at that step

    other = tmp_path / "other.csv"  # the next writing command: an import of another file
    other.write_text("order_id,customer_id,ordered_at,amount\nX1,9999,2024-03-01,5\n", "utf-8")
    assert runner.invoke(app, ["import", "orders", str(other), "-w", str(ws), *TODAY]).exit_code == 0
    assert leftovers(ws) == []
    counts = recorded(ws)
    assert sorted(counts.values()) == [1, after]  # each part holds what its entry says

    source.write_bytes(original)  # the original again: imported for real when the new one had won
    again = runner.invoke(app, ["import", "orders", str(source), "-w", str(ws), *TODAY, "--json"])
    assert again.exit_code == 0, again.output
    status = json.loads(again.stdout)["files"][0]["status"]
    assert status == ("unchanged" if after == 30 else "replaced")
    assert sorted(recorded(ws).values()) == [1, 30]
    customers = duckdb.sql(f"SELECT count(DISTINCT customer_id) FROM '{ws / 'data' / 'orders'}/*.parquet'").fetchone()
    assert customers == (31,)
