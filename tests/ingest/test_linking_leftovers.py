"""A `tierkit link` killed while writing leaves data/identity/links.partial (and the review list's
scratch file); the next writing command of any kind removes them, not only the next link."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app
from tierkit.demo.people import make_customers

pytest.importorskip("splink")
runner = CliRunner()

# `tierkit link -w WS`, the process dying (exit 137, as after SIGKILL) at the moment it would
# rename links.partial into place: the partial file and the review list's scratch are on disk.
DIE_AT_RENAME = """
import os, sys
real = os.replace
def replace(src, dst, *args, **kwargs):
    if str(src).endswith("links.partial"):
        os._exit(137)
    return real(src, dst, *args, **kwargs)
os.replace = replace
from tierkit.cli.app import app
sys.argv = ["tierkit", "link", "-w", sys.argv[1]]
app()
"""


def _workspace(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    people = make_customers(80, rng, dt.date(2026, 9, 30), np.full(80, dt.date(2025, 1, 1).toordinal()))
    rows = people.select(["customer_id", "name", "phone", "email", "id_number", "birth_date"]).to_pylist()
    rows.append(dict(rows[0], customer_id="90000000", phone="13900000000"))  # one person twice
    customers = tmp_path / "customers.csv"
    pacsv.write_csv(pa.Table.from_pylist(rows), customers)
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,ordered_at,amount\nA1,00000001,2026-05-01,120.00\n", encoding="utf-8")
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    done = runner.invoke(app, ["import", "customers", str(customers), "-w", str(ws), "--today", "2026-11-29"])
    assert done.exit_code == 0, done.output
    return ws


def test_a_killed_link_leaves_partial_files_the_next_writer_removes(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    assert runner.invoke(app, ["link", "-w", str(ws)]).exit_code == 0
    identity = ws / "data" / "identity"
    links_before = pq.read_table(identity / "links.parquet")
    killed = subprocess.run([sys.executable, "-c", DIE_AT_RENAME, str(ws)], capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr
    left = sorted(p.name for p in identity.iterdir())
    assert "links.partial" in left  # what the issue saw: it stayed until the next link
    assert pq.read_table(identity / "links.parquet").equals(links_before)  # the old links untouched

    orders = tmp_path / "orders.csv"
    imported = runner.invoke(app, ["import", "orders", str(orders), "-w", str(ws), "--today", "2026-11-29"])
    assert imported.exit_code == 0, imported.output  # a writer of another kind
    assert sorted(p.name for p in identity.iterdir()) == ["links.parquet", "review.csv"]
    assert pq.read_table(identity / "links.parquet").equals(links_before)
    merged = links_before.filter(pa.compute.not_equal(links_before["customer_id"], links_before["person_id"]))
    assert merged["customer_id"].to_pylist() == ["90000000"]  # and what it held is what the first link found


def test_a_reader_leaves_them_alone(tmp_path: Path) -> None:
    """Only a writer holding the lock may clean: a reading command must not touch data/identity."""
    ws = _workspace(tmp_path)
    assert runner.invoke(app, ["link", "-w", str(ws)]).exit_code == 0
    identity = ws / "data" / "identity"
    (identity / "links.partial").write_bytes(b"half")
    assert runner.invoke(app, ["link", "review", "-w", str(ws)]).exit_code == 0  # lists the pairs: reads only
    assert (identity / "links.partial").read_bytes() == b"half"
