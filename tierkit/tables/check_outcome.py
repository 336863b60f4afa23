"""What an input's checks decide, apart from their figures: the part a replay must see again.

`read_table` counts rows, empty and unreadable values, repeated keys and the first date in one
query, then stops on a bad value or goes on. A replayed grading (runs/replay.py) runs that query
on next month's file and goes on only when it decides the same: rows present, no bad or empty
value, no repeated key, and the same value for every other figure the plan is built from (the
first order date sets how far back a streak metric looks; a customers file's attribute checks
set how its columns are typed).
"""

from __future__ import annotations

from typing import Any

INPUT_CHECKS = "input_checks"


def decided(counts: dict[str, Any]) -> dict[str, Any]:
    """The checks' decisions: booleans where only zero or not matters, the figure elsewhere."""
    out: dict[str, Any] = {}
    for name, value in counts.items():
        if name.startswith("__show_") or name in ("__keys", "__keyed"):
            continue  # a bad value's example (read only when there is one); keys: below
        out[name] = bool(value) if name == "__rows" or name.startswith(("__bad_", "__empty_")) else value
    if "__keyed" in counts:
        out["__repeated_keys"] = bool((counts["__keyed"] or 0) - (counts["__keys"] or 0))
    return out


OUTCOMES = {INPUT_CHECKS: decided}
