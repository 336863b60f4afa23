"""A grading replayed: the SQL a grading ran, run again without Ibis, the policy model or typer.

Why: at 10M orders the grading's own SQL is within 1.2x of the same work written by hand, and
what was left was Python start-up: Ibis, pydantic with the policy model, typer, planning (about
0.5 s a run, docs/benchmarks.md). The second `tierkit grade --output X.parquet` of the same
request runs the first one's transcript (backends/transcript.py) on a bare DuckDB connection.

Kept only for file mode on DuckDB with a Parquet output, a policy without the profit pyramid,
`stability:`, models fitted on the data or metric kinds from other packages, and inputs DuckDB
reads itself. The key holds the request (every input's path as typed and the folder it was
typed in, the policy, as-of and the language; not the output's path), tierkit's own files
(name, size, time), the installed distributions' versions, Python's and every TIERKIT_
setting; the record holds the policy files' digests. A replay runs each step and compares
what Python read then with what it reads now (the input schemas, the inputs' checks by what
they decide, the last order date when as-of was not given); at the first difference it stops,
writes nothing and the grading runs whole. So a replay writes what the grading would, byte for
byte (tests/cli/test_replay.py), or nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierkit.backends import plan_cache, transcript
from tierkit.backends.sql_text import parquet_file
from tierkit.runs.atomic import atomic_path
from tierkit.runs.summary_counts import MissingIds, SummaryShape, count, summary_of

if TYPE_CHECKING:
    from tierkit.engine.grade import Grading

FORMAT = 1
REQUEST = (
    "orders",
    "customers",
    "interactions",
    "contacts",
    "policy",
    "as_of",
    "lang",
    "cwd",
)  # the output is only where


def source_fingerprint(root: Path | None = None) -> str:
    """tierkit's own files (or `root`'s) by name, size and modification time: an edited module
    is a new key."""
    root = root or Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(names):
            path = os.path.join(folder, name)
            stat = os.stat(path)
            digest.update(f"{os.path.relpath(path, root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def installed() -> list[str]:
    """Every installed distribution with its version (the names of site-packages' .dist-info
    folders): Ibis, sqlglot or pydantic upgraded is a new key, read without importlib.metadata."""
    found: set[str] = set()
    for folder in sys.path:
        if folder.endswith(("site-packages", "dist-packages")) and os.path.isdir(folder):
            found.update(name for name in os.listdir(folder) if name.endswith(".dist-info"))
    return sorted(found)


def _digest(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def key(request: dict[str, str | None]) -> str:
    """The record's name: everything the SQL of the grading was planned from, but the data."""
    from tierkit.backends.duckdb_connection import engine_version

    policy = request.get("policy") or "retail"
    named = {
        "format": FORMAT,
        "request": {name: request.get(name) for name in REQUEST},
        "policy_file": _digest(policy) if Path(policy).is_file() else None,
        "tierkit": source_fingerprint(),
        "duckdb": engine_version(),
        "python": sys.version,
        "installed": installed(),
        "settings": {k: v for k, v in sorted(os.environ.items()) if k.startswith("TIERKIT_")},
    }
    return hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()


def _path(name: str) -> Path | None:
    """The record's file; None when replays are off (the `replay` setting, or no plan cache)."""
    from tierkit.settings import setting

    if (setting("replay") or "on").strip().lower() in plan_cache.OFF:
        return None
    where = plan_cache.folder()
    return where / f"{name}.replay.json" if where is not None else None


def refusal(grading: Grading, output: Path) -> str | None:
    """Why this grading's transcript cannot serve a replay (None: it can)."""
    from tierkit.policy.kinds import metric_kinds
    from tierkit.runs.profit import profit_measure

    policy = grading.loaded.policy
    kinds = metric_kinds()
    if output.suffix.lower() != ".parquet":
        return "an output other than Parquet"
    if profit_measure(policy, list(grading.expr.columns)) is not None:
        return "the profit pyramid"
    if policy.stability is not None:
        return "stability: (it reads the run before)"
    used = [kinds[k] for k in {getattr(spec, "kind", None) for spec in policy.metrics.values()} if k in kinds]
    if any(not all(code.startswith("tierkit.") for code in (kind.build, kind.display) if code) for kind in used):
        return "a plug-in metric kind from outside tierkit (its code is not in the key)"
    if grading.models:
        return "a model fitted on the data"
    return None


def keep(grading: Grading, output: Path) -> None:
    """After a grading wrote `output`: its transcript, kept for the next identical request."""
    from tierkit.runs.summary import shape_of

    kept = transcript.recording()
    if kept is None or kept.key is None or kept.refused or not kept.closed:
        return
    if grading.engine.name != "duckdb" or refusal(grading, output) is not None:
        return
    loaded = grading.loaded
    files = [*([] if loaded.source.startswith("preset:") else [str(Path(loaded.source).resolve())]), *loaded.files]
    record = {
        "format": FORMAT,
        "steps": [step.as_data() for step in kept.steps],
        "shape": shape_of(grading).as_data(),
        "warnings": list(grading.warnings),
        "files": {path: _digest(path) for path in files},
    }
    path = _path(kept.key)
    if path is not None:
        plan_cache.keep_text(path, json.dumps(record, ensure_ascii=False))


def replay(request: dict[str, str | None], name: str) -> dict[str, Any] | None:
    """The summary of the grading replayed into the request's output; None when there is no
    record, or a step answered otherwise (nothing written)."""
    start = time.perf_counter()
    path = _path(name)
    try:
        record = json.loads(path.read_text("utf-8")) if path is not None else None
        if not record or record.get("format") != FORMAT:
            return None
        if any(_digest(file) != digest for file, digest in record["files"].items()):
            return None
        shape, steps, warnings = SummaryShape.from_data(record["shape"]), record["steps"], list(record["warnings"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # none, or not one we wrote: grade whole
        return None
    output = Path(str(request["output"]))
    if not output.parent.is_dir():  # the grading says so (runs/output.output_format)
        return None
    try:
        with atomic_path(output) as tmp:
            raw = transcript.replay(steps, tmp)
            try:
                counted = count(raw, parquet_file(str(tmp)), shape)
            finally:
                raw.close()
            if counted.customers == 0:
                raise transcript.Different("nobody graded")
    except (transcript.Different, MissingIds, OSError, KeyError, TypeError):  # the grading says what went wrong
        return None
    summary = summary_of(shape, counted)
    summary.update(output=str(output), warnings=warnings, seconds=round(time.perf_counter() - start, 3), replayed=True)
    return summary
