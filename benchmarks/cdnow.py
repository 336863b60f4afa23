"""CDNOW's 2,357-customer sample as an orders file (the `lifetimes` package ships it on PyPI).

Used by benchmarks/churn_backtest.py and the tests: a public data set of real purchases, so that
claims about the models hold beyond the demo shop, whose generator gives leavers the very
signals the models read.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path


def cdnow_source() -> Path | None:
    """Where lifetimes keeps CDNOW_sample.txt, or None when lifetimes is not installed."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_sample.txt"


def cdnow_orders(folder: Path) -> Path:
    """customer_id, ordered_at, amount as CSV in `folder` (one row per line of the sample)."""
    source = cdnow_source()
    if source is None:
        raise SystemExit("lifetimes (a dev dependency: pip install -e '.[dev]') carries the CDNOW sample")
    lines = ["customer_id,ordered_at,amount"]
    for row in source.read_text().splitlines():
        cid, _, day, _, amount = row.split()
        lines.append(f"{cid},{dt.date(int(day[:4]), int(day[4:6]), int(day[6:])).isoformat()},{amount}")
    path = folder / "cdnow.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path
