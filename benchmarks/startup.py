"""`tierkit show` and `tierkit --help` against the floor of a card, whole processes (issue 16).

    python benchmarks/startup.py [--customers 2000] [--repeat 9] [--workspace WS --customer ID]
                                 [--tree NAME=DIR ...]

Times, in turns (A B C D, A B C D ...) so that a busy machine's noise falls on all alike:
`python -c pass` (the interpreter alone), card_by_hand.py (the floor: typer and rich,
SQLAlchemy on the store, the customer's row found in the run's memory-mapped lookup file, printed),
`tierkit --help` and `tierkit show ID -w WS` (a card of the current run, printed as text). With
`--tree before=DIR`, also `show_before`: `tierkit show` from another tree (`git archive COMMIT
tierkit | tar -x -C DIR`, run with PYTHONPATH=DIR), so before and after are timed in one run. Prints median wall and CPU
seconds (user + system) and each command's ratios to the floor and to the bare interpreter;
the ratios, not the seconds, are what compare across machines. Without `--workspace`, a demo
shop of `--customers` customers is made in a temporary folder (the churn model's words included).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import measure

HERE = Path(__file__).resolve().parent


def commands(workspace: Path, customer: str, trees: dict[str, Path]) -> dict[str, list[str]]:
    python = sys.executable
    found = {
        "python": [python, "-c", "pass"],
        "floor": [python, str(HERE / "card_by_hand.py"), customer, str(workspace)],
        "help": [python, "-m", "tierkit.cli", "--help"],
        "show": [python, "-m", "tierkit.cli", "show", customer, "-w", str(workspace)],
    }
    for name, tree in trees.items():
        found[f"show_{name}"] = ["env", f"PYTHONPATH={tree}", *found["show"]]
    return found


def timed(runs: dict[str, list[str]], repeat: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds of each command, run in turns after one warm-up round."""
    for name in sorted(runs, key=lambda n: n != "show"):  # the warm-up; `show` builds the lookup files
        subprocess.run(runs[name], capture_output=True, check=True)
    seen: dict[str, list[tuple[float, float, float]]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, cmd in runs.items():
            seen[name].append(measure(cmd))
    return {
        name: {
            "wall_s": round(statistics.median(r[0] for r in found), 3),
            "cpu_s": round(statistics.median(r[2] for r in found), 3),
            "peak_mb": round(max(r[1] for r in found), 1),
        }
        for name, found in seen.items()
    }


def ratios(times: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each command's wall and CPU time over the floor's and over the bare interpreter's."""
    return {
        name: {
            f"{figure}_over_{base}": round(t[f"{figure}_s"] / times[base][f"{figure}_s"], 2)
            for base in ("floor", "python")
            for figure in ("wall", "cpu")
        }
        for name, t in times.items()
        if name not in ("python", "floor")
    }


def demo_shop(folder: Path, customers: int) -> tuple[Path, str]:
    workspace = folder / "shop"
    made = subprocess.run(
        [sys.executable, "-m", "tierkit.cli", "demo", "-w", str(workspace), "--customers", str(customers), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return workspace, str(json.loads(made.stdout)["example_customer"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000, help="demo shop size (without --workspace)")
    parser.add_argument("--repeat", type=int, default=9, help="timed rounds")
    parser.add_argument("--workspace", type=Path, help="a graded workspace (its store: tierkit.db)")
    parser.add_argument("--customer", help="the customer whose card is shown (with --workspace)")
    parser.add_argument("--tree", action="append", default=[], help="NAME=DIR: time `show` from DIR/tierkit too")
    args = parser.parse_args()
    if (args.workspace is None) != (args.customer is None):
        parser.error("--workspace and --customer go together")
    if any("=" not in t for t in args.tree):
        parser.error("--tree takes NAME=DIR, e.g. --tree before=/tmp/tierkit-before")
    trees = {name: Path(folder).resolve() for name, _, folder in (t.partition("=") for t in args.tree)}
    with tempfile.TemporaryDirectory(prefix="tierkit-startup-") as scratch:
        os.chdir(scratch)  # `python -m tierkit.cli` must not find a checkout's tierkit/ in the working folder
        if args.workspace is None:
            workspace, customer = demo_shop(Path(scratch), args.customers)
        else:
            workspace, customer = args.workspace.resolve(), args.customer
        times = timed(commands(workspace, customer, trees), args.repeat)
    load = os.getloadavg()[0]
    print(json.dumps({"times": times, "ratios": ratios(times), "load_1min": round(load, 1)}, indent=2))


if __name__ == "__main__":
    main()
