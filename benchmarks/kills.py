"""The long kill run (issue 15, part 1): `python benchmarks/kills.py --kills 50 --seed N`.

SIGKILLs real `tierkit grade`, `import`, `link`, `publish` and a `tierkit serve` grading in the
background at seeded random moments, checking the workspace after each kill and after the next
command of the same kind (tests/reliability/crash_harness.py). Prints the kill schedule and a
table of kills per kind, checks passed and failures; exit 1 when a check failed."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.crash_harness import KINDS, Harness, main_table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated, of " + ", ".join(KINDS))
    parser.add_argument("--keep", type=Path, help="build the workspace here and keep it")
    args = parser.parse_args()
    kinds = tuple(k for k in args.kinds.split(",") if k)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tierkit-kills-") as scratch:
        report = Harness(args.keep or Path(scratch), args.seed).run(args.kills, kinds=kinds)
    print(report.schedule())
    print()
    print(main_table(report))
    print(f"{time.monotonic() - started:.0f} s")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
