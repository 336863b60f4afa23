"""The churn model against recency and P(alive), on a public data set and on the demo shop.

    python benchmarks/churn_backtest.py [--horizons 90D 180D]

Runs `tierkit churn backtest` (train as of as-of − 2·horizon, test as of as-of − horizon; the two
baselines measured in the same run on the same customers) on CDNOW (orders only, 2,357 customers,
as of 1998-06-30) and on the demo shop (2,000 customers, with interactions, as of 2026-09-30),
and prints one markdown row per data set and horizon: AUC and precision in the top decile of the
model, of recency alone and of P(alive) alone. docs/churn.md quotes its output.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cdnow import cdnow_orders

RANKINGS = ("model", "recency", "p_alive")
HEADER = "| data | horizon | tested | churned | AUC (model / recency / P(alive)) | top-decile precision (same order) |"


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
        cdnow = cdnow_orders(folder)
        subprocess.run(
            [sys.executable, "-m", "tierkit.cli", "demo", "-w", str(folder / "shop"), "--customers", "2000", "--json"],
            check=True,
            capture_output=True,
        )
        shop = folder / "shop" / "data"
        sets = [
            ("CDNOW (orders only, 2,357 customers), as of 1998-06-30", cdnow, "1998-06-30", None),
            (
                "demo shop (2,000 customers, with interactions), as of 2026-09-30",
                shop / "orders.parquet",
                "2026-09-30",
                shop / "interactions.parquet",
            ),
        ]
        print(HEADER)
        print("|---|---|---:|---:|---|---|")
        for name, orders, as_of, interactions in sets:
            for horizon in args.horizons:
                report = backtest(orders, as_of, horizon, interactions)
                test = report["test"]
                assert isinstance(test, dict)
                aucs = " / ".join(f"{report[r]['auc']:.3f}" for r in RANKINGS)  # type: ignore[index]
                tops = " / ".join(f"{report[r]['precision_top_decile']:.3f}" for r in RANKINGS)  # type: ignore[index]
                print(f"| {name} | {horizon} | {test['customers']:,} | {test['churn_rate']:.1%} | {aucs} | {tops} |")

    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
