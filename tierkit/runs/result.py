"""A grading's result as the user keeps it: written to a file (all or nothing) with its summary.

The engine returns a pure `Grading` (an expression and its Arrow table); writing and counting
belong here, beside the run files. `GradedResult` is what `tierkit.grade()` returns: the
grading, plus `summary()` and `write()`.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from tierkit.engine.grade import Grading
from tierkit.runs.output import atomic_path, convert_parquet, output_format, scratch_path
from tierkit.runs.summary import summarize, summarize_file


def write_result(grading: Grading, path: str | Path, fmt: str | None = None) -> dict[str, Any]:
    """Write the result to a file (all or nothing) and return its summary.

    The backend writes Parquet itself; the summary reads back the few columns it counts, and
    other formats are converted from that Parquet. The whole result is never held in Python
    memory, so 100M orders grade in bounded memory."""
    start = time.perf_counter()
    path = Path(path)
    fmt = output_format(path, fmt)
    if fmt == "parquet":
        with atomic_path(path) as tmp:
            grading.engine.write_parquet(grading.expr, tmp)
            summary = summarize_file(grading, tmp)
    else:
        with scratch_path(path.parent, ".parquet") as tmp:
            grading.engine.write_parquet(grading.expr, tmp)
            summary = summarize_file(grading, tmp)
            convert_parquet(tmp, path, fmt)
    grading.timings["compute_and_write_s"] = round(time.perf_counter() - start, 3)
    return summary


@dataclasses.dataclass
class GradedResult(Grading):
    """A grading with its summary and its file output (the Python API's result)."""

    @classmethod
    def of(cls, grading: Grading) -> GradedResult:
        return cls(**{f.name: getattr(grading, f.name) for f in dataclasses.fields(grading)})

    def summary(self) -> dict[str, Any]:
        """Customers and value per tier, per score class and per tag, as plain data."""
        return summarize(self, self.table)

    def write(self, path: str | Path, fmt: str | None = None) -> dict[str, Any]:
        """Write the result (.parquet, .csv, .xlsx, .json, .jsonl) and return its summary."""
        return write_result(self, path, fmt)
