"""A complaint taken at the counter counts in the next grading, also in a workspace that has no
interactions file: the run's manifest records those rows by a digest of their content."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from tests.app.test_alerts import _workspace
from tierkit.app.complaints import take
from tierkit.app.customers import Caller
from tierkit.app.grading import grade_workspace
from tierkit.app.serving import ServedWorkspace
from tierkit.runs.files import load_run
from tierkit.workspace import Workspace


def test_a_complaint_taken_without_an_interactions_file_is_graded_and_recorded(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    grade_workspace(root, as_of="2026-02-28")
    served = ServedWorkspace.open(root)
    take(served, "c1", "账单有误", "电话", None, Caller("ann", "agent"))
    served.close()
    run_id = grade_workspace(root, as_of="2026-02-28", publish=True)["run_id"]
    run = load_run(Workspace.open(root), run_id)
    taken = run.manifest["inputs"]["interactions"]
    assert taken["path"] == "complaints taken in tierkit" and taken["rows"] == 1
    assert len(taken["sha256"]) == 64
    again = grade_workspace(root, as_of="2026-02-28", publish=False)["run_id"]
    assert load_run(Workspace.open(root), again).manifest["inputs"]["interactions"]["sha256"] == taken["sha256"]
    assert json.loads(pq.read_table(run.result).to_pylist()[0]["reasons"])["tier"]  # a whole run was written
