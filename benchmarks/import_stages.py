"""Where `tierkit import orders` spends its time, stage by stage (issue 16: profile first).

    python benchmarks/import_stages.py orders.csv [--cprofile out.prof] [--duckdb-profile out.json]

Imports one CSV into a fresh workspace in this process, with a timer around each stage (wall
and CPU seconds: on a shared machine the CPU figure is the steadier one) and, with
--duckdb-profile, DuckDB's operator profile of every query (one JSON per query, numbered).
Stages nest (the import contains the others); "calls" counts how often a stage ran. A CSV like
the benchmark's comes from `benchmarks/importing.py --keep`.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

STAGES = [  # (module, function): what each one is, in the order a run meets them
    ("tierkit.tables.encodings", "detect"),
    ("tierkit.tables.sources", "check_lines"),
    ("tierkit.tables.sources", "sniff_delimiter"),
    ("tierkit.ingest.imports", "file_fingerprint"),
    ("tierkit.app.importing", "check_files"),
    ("tierkit.ingest.imports", "open_mapped"),
    ("tierkit.ingest.imports", "_earlier"),
    ("tierkit.backends.duckdb", "DuckDBBackend.execute"),
    ("tierkit.backends.duckdb", "DuckDBBackend.to_pyarrow"),
    ("tierkit.backends.duckdb", "DuckDBBackend.write_parquet"),
    ("tierkit.ingest.imports", "_write"),
    ("tierkit.ingest.imports", "_write_rejects"),
    ("tierkit.ingest.imports", "_released"),
    ("tierkit.ingest.journal", "commit"),
    ("tierkit.app.importing", "import_files"),
]
spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), _cpu()
        try:
            return func(*args, **kwargs)
        finally:
            record = spent[name]
            record[0] += time.perf_counter() - wall
            record[1] += _cpu() - cpu
            record[2] += 1

    return wrapper


def _profile_queries(folder: Path) -> None:
    """Every DuckDB query's operator profile into `folder` (DuckDB keeps the last one only)."""
    from tierkit.backends import duckdb_connection as backend

    opened = backend.connect_raw
    count = iter(range(1_000_000))

    def connect_raw(*args: Any, **kwargs: Any) -> Any:
        raw = opened(*args, **kwargs)
        raw.execute("PRAGMA enable_profiling = 'json'")
        raw.execute(f"PRAGMA profiling_output = '{folder / 'query.json'}'")
        return _Saving(raw, folder, count)

    backend.connect_raw = connect_raw  # type: ignore[assignment]


class _Saving:
    """A DuckDB connection that keeps each query's profile under its own number."""

    def __init__(self, raw: Any, folder: Path, count: Any) -> None:
        self._raw, self._folder, self._count = raw, folder, count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def execute(self, *args: Any) -> Any:
        result = self._raw.execute(*args)
        latest = self._folder / "query.json"
        if latest.exists():
            shutil.copy(latest, self._folder / f"query-{next(self._count):03d}.json")
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", type=Path)
    parser.add_argument("--cprofile", type=Path)
    parser.add_argument("--duckdb-profile", type=Path, help="a folder for one JSON profile per query")
    args = parser.parse_args()
    started, cpu = time.perf_counter(), _cpu()
    for module, name in STAGES:
        owner: Any = importlib.import_module(module)
        *classes, attribute = name.split(".")
        for part in classes:
            owner = getattr(owner, part)
        if hasattr(owner, attribute):
            setattr(owner, attribute, _timed(name, getattr(owner, attribute)))
    if args.duckdb_profile:
        args.duckdb_profile.mkdir(parents=True, exist_ok=True)
        _profile_queries(args.duckdb_profile)
    from tierkit.app import importing

    workspace = Path(tempfile.mkdtemp(prefix="tierkit-stages-")) / "ws"
    subprocess.run([sys.executable, "-m", "tierkit.cli", "init", str(workspace)], check=True, capture_output=True)
    imported = time.perf_counter()
    profiler = cProfile.Profile() if args.cprofile else None
    if profiler:
        profiler.enable()
    summary = importing.import_files(workspace, "orders", [args.csv], today="2026-11-29")
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.cprofile)
    print(f"{'stage':28s} {'wall s':>8s} {'cpu s':>8s} {'calls':>6s}")
    print(f"{'(python imports)':28s} {imported - started:8.2f} {'':>8s}")
    for _module, name in STAGES:
        if name in spent:
            wall, used, calls = spent[name]
            print(f"{name:28s} {wall:8.2f} {used:8.2f} {int(calls):6d}")
    print(f"{'whole process':28s} {time.perf_counter() - started:8.2f} {_cpu() - cpu:8.2f}")
    print(f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; read {summary['read']:,}")
    shutil.rmtree(workspace.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
