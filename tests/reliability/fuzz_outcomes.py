"""What a fuzzed import may end in, checked: a clean import, or one line of tierkit error; the
workspace sound after either (no `*.partial`, no part without a registry entry, no entry
without its part, every part holding the rows its entry says).

The import runs through `tierkit.app.importing.import_files`, the use case `tierkit import`
calls, in this process (a subprocess start costs a second; a few tests run the real command).
A workspace is copied from one made once, so an example costs its import only.
"""

from __future__ import annotations

import faulthandler
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from hypothesis import HealthCheck, Phase, settings

from tierkit.errors import TierkitError

# benchmarks/fuzz.py runs the same properties longer: TIERKIT_FUZZ_SCALE times the examples, and
# random ones (TIERKIT_FUZZ_RANDOM=1) where CI runs the same ones every time
SCALE = float(os.environ.get("TIERKIT_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("TIERKIT_FUZZ_RANDOM") == "1"
HANG_SECONDS = 120  # one import of a few rows: past this it hangs (the test process is ended, with a stack)


def bounded(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings for a fuzz test: `examples` of them (times SCALE), no deadline (an
    import's time varies with the machine's load), the same examples in every CI run."""
    return settings(
        max_examples=max(1, round(examples * SCALE)),
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if RANDOM else [])],  # CI: the example as found
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@dataclass
class Outcome:
    """How one import ended: `error` the one-line message of a refused file, else None."""

    summary: dict[str, Any] | None
    error: str | None

    @property
    def imported(self) -> bool:
        return self.error is None


class Workspaces:
    """Fresh workspaces, each a copy of one initialised once."""

    def __init__(self, root: Path) -> None:
        from tierkit.app import workspaces

        self.root = root
        self.template = root / "template"
        if not self.template.exists():
            workspaces.init(self.template, "retail")
        self.count = 0

    def fresh(self) -> Path:
        self.count += 1
        target = self.root / f"ws{self.count}"
        shutil.copytree(self.template, target)
        return target


@contextmanager
def no_hang(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Ends the process with every thread's stack when the block runs longer than `seconds`: a
    hang is a failure that must not hold CI until its own limit."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def run_import(ws: Path, path: Path, kind: str = "orders", sheet: str | None = None) -> Outcome:
    """`tierkit import KIND PATH` in this process; anything but a TierkitError propagates (a bug)."""
    from tierkit.app.importing import import_files

    try:
        with no_hang():
            summary = import_files(ws, kind, [path], sheet=sheet, today="2026-11-29")
    except TierkitError as err:
        return Outcome(None, one_line(str(err)))
    failed = [f for f in summary["files"] if f["status"] == "failed"]
    if failed:
        return Outcome(summary, one_line(str(failed[0]["error"])))
    return Outcome(summary, None)


def one_line(message: str) -> str:
    assert message.strip(), "an empty error message"
    assert "\n" not in message and "\r" not in message, f"an error of more than one line: {message!r}"
    assert "Traceback" not in message, message
    return message


def unsound(ws: Path) -> list[str]:
    """What the workspace must not hold after any import, finished or refused."""
    data = ws / "data"
    problems = []
    registry_path = data / "imports.json"
    try:
        registry: dict[str, dict[str, Any]] = (
            json.loads(registry_path.read_text("utf-8")) if registry_path.exists() else {}
        )
    except ValueError as err:
        return [f"imports.json unreadable ({err})"]
    named = set()
    for kind, entries in registry.items():
        for source, entry in entries.items():
            part = Path(entry["part"])
            named.add(part.resolve())
            if entry.get("rejects_file"):
                named.add(Path(entry["rejects_file"]).resolve())
                if not Path(entry["rejects_file"]).is_file():
                    problems.append(f"{kind} {source}: rejects file missing")
            if not part.is_file():
                problems.append(f"{kind} {source}: part {part.name} missing")
                continue
            rows = pq.read_metadata(part).num_rows
            if rows != entry["imported"]:
                problems.append(f"{kind} {source}: part holds {rows} rows, the registry says {entry['imported']}")
    for path in sorted(ws.rglob("*")):
        name = path.name
        if name.endswith((".partial", ".tmp")) or name.startswith((".staging", "imports.journal")):
            problems.append(f"leftover {path.relative_to(ws)}")
        elif name.endswith(".failed-rejects.csv"):  # the rows of a refused file, kept for the user: its error names it
            continue
        elif path.is_file() and path.is_relative_to(data) and name != "imports.json" and path.resolve() not in named:
            problems.append(f"{path.relative_to(ws)} is named by no registry entry")
    return problems


def part_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows the import wrote, in the order of the source file."""
    part = Path(summary["files"][0]["part"])
    return sorted(pq.read_table(part).to_pylist(), key=lambda row: row["_row"])
