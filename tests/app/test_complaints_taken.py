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
    assert len(taken["sha256"]) == 64 and "added" not in taken  # no file: the rows are the input
    again = grade_workspace(root, as_of="2026-02-28", publish=False)["run_id"]
    assert load_run(Workspace.open(root), again).manifest["inputs"]["interactions"]["sha256"] == taken["sha256"]
    first = pq.read_table(run.result).to_pylist()[0]
    assert isinstance(json.loads(first["reasons"]), dict) and first["tier"]  # a whole run was written


def test_complaints_taken_beside_an_interactions_file_are_recorded_apart(tmp_path: Path) -> None:
    """The file's sha256 stays the file's (tierkit verify compares it with the parts); the rows
    taken in tierkit are `added`, with their own digest."""
    from tests.conftest import write_rows
    from tierkit.tables.readers import file_fingerprint

    root = _workspace(tmp_path)
    write_rows(root / "data" / "interactions.csv", [{"customer_id": "c2", "at": "2026-02-01", "kind": "inquiry"}])
    served = ServedWorkspace.open(root)
    grade_workspace(root, as_of="2026-02-28")
    take(served, "c1", "账单有误", "电话", None, Caller("ann", "agent"))
    served.close()
    run = load_run(Workspace.open(root), grade_workspace(root, as_of="2026-02-28")["run_id"])
    found = run.manifest["inputs"]["interactions"]
    assert found["sha256"] == file_fingerprint(root / "data" / "interactions.csv")
    assert found["rows"] == 2 and found["added"]["rows"] == 1 and len(found["added"]["sha256"]) == 64
