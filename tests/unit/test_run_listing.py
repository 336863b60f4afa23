"""Runs listed again reuse the manifests read before (runs.files.list_runs with `known`): the
server lists them every `pointer_ttl` for cards' tier histories. The oracle is the manifests
written by hand here, and the listing without `known`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tierkit.runs.files import MANIFEST, Known, list_runs
from tierkit.workspace import Workspace


def _run(ws: Workspace, run_id: str, created: str, **extra: object) -> Path:
    folder = ws.runs_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(json.dumps({"run_id": run_id, "created_at": created, **extra}), "utf-8")
    return folder


def test_unchanged_runs_are_reused_changed_ones_read_again_gone_ones_dropped(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws", "retail")
    for i in range(3):
        _run(ws, f"2026120{i}-000000-aaaa", f"2026-12-0{i}T00:00:00")
    (ws.runs_dir / ".staging-x").mkdir()  # never a run
    _run(ws, "2026120x-000000-aaaa", "2026-12-09T00:00:00")
    (ws.runs_dir / "2026120x-000000-aaaa" / MANIFEST).unlink()  # a folder without a manifest: not a run
    known: Known = {}
    first = list_runs(ws, known)
    assert [r.run_id for r in first] == [f"2026120{i}-000000-aaaa" for i in range(3)]
    assert [r.manifest for r in first] == [r.manifest for r in list_runs(ws)]

    again = list_runs(ws, known)
    assert all(a is b for a, b in zip(first, again, strict=True))  # not parsed again

    # a manifest rewritten in place by rename (as erasure does), same size and mtime: read again
    changed = ws.runs_dir / "20261201-000000-aaaa" / MANIFEST
    stat = changed.stat()
    text = changed.read_text("utf-8").replace('"run_id"', '"run_iD"')
    (changed.parent / "new").write_text(text, "utf-8")
    os.utime(changed.parent / "new", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(changed.parent / "new", changed)
    (ws.runs_dir / "20261202-000000-aaaa" / MANIFEST).unlink()
    (ws.runs_dir / "20261202-000000-aaaa").rmdir()
    _run(ws, "20261203-000000-aaaa", "2026-12-03T00:00:00", note="new")

    third = list_runs(ws, known)
    assert [r.run_id for r in third] == ["20261200-000000-aaaa", "20261201-000000-aaaa", "20261203-000000-aaaa"]
    assert third[0] is first[0]
    assert "run_iD" in third[1].manifest
    assert third[2].manifest["note"] == "new"
    assert set(known) == {r.run_id for r in third}
    assert [r.manifest for r in third] == [r.manifest for r in list_runs(ws)]
