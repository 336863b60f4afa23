"""The churn model against recency and P(alive), on a public data set and on the demo shop.

    python benchmarks/churn_backtest.py [--horizons 90D 180D]

Runs `tierkit churn backtest` (train as of as-of − 2·horizon, test as of as-of − horizon; the two
baselines measured in the same run on the same customers; the model's validation one horizon
before its training cut-off) on CDNOW (orders only: the 2,357-customer sample and the full
23,570 customers, as of 1998-06-30) and on the demo shop (2,000 customers, with interactions, as
of 2026-09-30), and prints two markdown tables, one row per data set and horizon: AUC and
precision in the top decile of the model, of recency alone and of P(alive) alone; then the
validation's AUCs and whether a grading would use the model. docs/churn.md quotes its output.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cdnow import cdnow_orders, cdnow_source

RANKINGS = ("model", "recency", "p_alive")
HEADER = "| data | horizon | tested | churned | AUC (model / recency / P(alive)) | top-decile precision (same order) |"
VALIDATION = "| data | horizon | validated as of | AUC (model / recency) | a grading would use |"


def cdnow_full(folder: Path) -> Path:
    """All 23,570 customers of CDNOW (CDNOW_master.txt, beside the sample in lifetimes) as an
    orders file: customer_id, ordered_at, amount."""
    source = cdnow_source()
    if source is None:
        raise SystemExit("lifetimes (a dev dependency: pip install -e '.[dev]') carries CDNOW")
    lines = ["customer_id,ordered_at,amount"]
    for row in (source.parent / "CDNOW_master.txt").read_text().splitlines()[1:]:
        cid, day, _, amount = row.split()
        lines.append(f"{cid},{day[:4]}-{day[4:6]}-{day[6:]},{amount}")
    path = folder / "cdnow_full.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def validation_row(name: str, horizon: str, report: dict[str, Any]) -> str:
    found = report["validation"]
    if found["status"] in ("passed", "failed"):
        aucs = f"{found['model_auc']:.3f} / {found['recency_auc']:.3f}"
    else:
        aucs = "not enough history"
    used = "the model" if report["used"] == "model" else "recency"
    return f"| {name} | {horizon} | {found['validated_as_of']} | {aucs} | {used} |"


def backtest(orders: Path, as_of: str, horizon: str, interactions: Path | None = None) -> dict[str, object]:
    command = [sys.executable, "-m", "tierkit.cli", "churn", "backtest", "--orders", str(orders)]
    command += ["--as-of", as_of, "--horizon", horizon, "--json"]
    if interactions is not None:
        command += ["--interactions", str(interactions)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--horizons", nargs="+", default=["90D", "180D"])
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tierkit-churn-"))
    try:
        cdnow, full = cdnow_orders(folder), cdnow_full(folder)
        subprocess.run(
            [sys.executable, "-m", "tierkit.cli", "demo", "-w", str(folder / "shop"), "--customers", "2000", "--json"],
            check=True,
            capture_output=True,
        )
        shop = folder / "shop" / "data"
        sets = [
            ("CDNOW (orders only, 2,357 customers), as of 1998-06-30", cdnow, "1998-06-30", None),
            ("CDNOW full (orders only, 23,570 customers), as of 1998-06-30", full, "1998-06-30", None),
            (
                "demo shop (2,000 customers, with interactions), as of 2026-09-30",
                shop / "orders.parquet",
                "2026-09-30",
                shop / "interactions.parquet",
            ),
        ]
        print(HEADER)
        print("|---|---|---:|---:|---|---|")
        validations = []
        for name, orders, as_of, interactions in sets:
            for horizon in args.horizons:
                report: dict[str, Any] = backtest(orders, as_of, horizon, interactions)
                test = report["test"]
                aucs = " / ".join(f"{report[r]['auc']:.3f}" for r in RANKINGS)
                tops = " / ".join(f"{report[r]['precision_top_decile']:.3f}" for r in RANKINGS)
                print(f"| {name} | {horizon} | {test['customers']:,} | {test['churn_rate']:.1%} | {aucs} | {tops} |")
                validations.append(validation_row(name, horizon, report))
        print()
        print(VALIDATION)
        print("|---|---|---|---|---|")
        print("\n".join(validations))

    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
