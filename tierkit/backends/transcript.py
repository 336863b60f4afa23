"""What a grading ran on DuckDB, in order, so that the same grading can run again as SQL alone.

Why: a grading that Ibis plans and compiles costs Ibis, the policy model and typer at start-up
(0.5 s at 10M orders: docs/benchmarks.md); a replay of the same plan needs DuckDB alone. The
transcript is written while the DuckDB backend runs the grading, and is only as good as what it
saw: every query whose answer Python read is kept with that answer, and a replay runs it again
and goes on only when the answer is the same (an `expect` step). The inputs' checks are compared
by what they decide, not by their figures (a `check` step: runs/replay.py), so that next month's
file of the same shape replays. Anything the transcript cannot promise to reproduce (a table
from Python memory, a second connection, a read into Arrow, a CSV or a folder of parts listed
in Python) makes it `refused`, and nothing is kept.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tierkit.backends.sql_text import literal
from tierkit.tables.check_outcome import OUTCOMES

_recording: contextvars.ContextVar[Transcript | None] = contextvars.ContextVar("tierkit_transcript", default=None)


def comparable(value: Any) -> Any:
    """An answer as JSON data that compares equal exactly when the answers do: values JSON has
    as themselves, the others as [type, text] (a date is not the text of a date)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, tuple | list):
        return [comparable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): comparable(v) for k, v in value.items()}
    if isinstance(value, Decimal | dt.date | dt.datetime | dt.time | dt.timedelta):
        return [type(value).__name__, str(value)]
    return [type(value).__name__, repr(value)]


@dataclass
class Step:
    """`run`: a statement whose answer nobody reads; `expect`: a query whose answer must be the
    one kept; `check`: a query whose answer must decide the same (`outcome`: how); `write`: the
    grading's SELECT, copied to the output. `form`: the answer as all rows or as the first row
    by column name."""

    kind: str
    sql: str
    answer: Any = None
    outcome: str | None = None
    form: str = "row"

    def as_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "sql": self.sql, "answer": self.answer, "outcome": self.outcome, "form": self.form}


@dataclass
class Transcript:
    steps: list[Step] = field(default_factory=list)
    refused: str | None = None  # why this grading cannot be replayed
    closed: bool = False  # the write is kept: what the summary reads afterwards is not the grading's
    connections: int = 0
    key: str | None = None  # the replay it is kept for (runs/replay.py)

    def ran(self, sql: str) -> None:
        if not self.closed:
            self.steps.append(Step("run", sql))

    def read(self, sql: str, answer: Any, outcome: str | None = None, form: str = "row") -> None:
        """A query whose answer Python read; with `outcome`, what it decided is kept (check_outcome)."""
        if not self.closed:
            kept = comparable(OUTCOMES[outcome](answer) if outcome else answer)
            self.steps.append(Step("check" if outcome else "expect", sql, kept, outcome, form))

    def wrote(self, select: str) -> None:
        if not self.closed:
            self.steps.append(Step("write", select))
            self.closed = True

    def refuse(self, why: str) -> None:
        if not self.closed and self.refused is None:
            self.refused = why


def recording() -> Transcript | None:
    """The transcript of the grading running in this context, if one is being kept."""
    return _recording.get()


def start(key: str) -> Transcript:
    transcript = Transcript(key=key)
    _recording.set(transcript)
    return transcript


def stop() -> None:
    _recording.set(None)


class Different(Exception):
    """A step answered otherwise than when it was kept (or failed): the grading must run whole."""


def replay(steps: list[dict[str, Any]], target: Path) -> Any:
    """Run a kept transcript on a new connection, its write into `target`; the connection, for the
    summary's counts (the caller closes it). Raises Different at the first other answer."""
    import duckdb

    from tierkit.backends.duckdb_connection import open_connection

    raw = open_connection()
    try:
        for step in steps:
            _step(raw, step, target)
    except (Different, duckdb.Error) as exc:
        raw.close()
        raise Different(str(exc)) from exc
    return raw


def _step(raw: Any, step: dict[str, Any], target: Path) -> None:
    kind, sql = step["kind"], step["sql"]
    if kind == "write":
        raw.execute(f"COPY ({sql}) TO {literal(str(target))} (FORMAT parquet)")
        return
    cursor = raw.execute(sql)
    if kind == "run":
        return
    if step["form"] == "rows":
        answer: Any = cursor.fetchall()
    else:
        found = cursor.fetchone()
        answer = None if found is None else dict(zip((d[0] for d in cursor.description), found, strict=True))
    if kind == "check" and answer is not None:
        answer = OUTCOMES[step["outcome"]](answer)
    if comparable(answer) != step["answer"]:
        raise Different(f"{sql[:60]}: another answer")
