"""What a run graded since costs a serving process's tier history, per worker: the join of the
recent runs' tiers made anew, extended in SQL, and merged with Arrow.

    python benchmarks/tier_join.py [--customers 1000000] [--runs 12] [--newcomers 0.02] [--repeat 3] [--anywhere]

Twelve runs of `--customers` customers (ids as a shop's, tiers drawn at random, each run
missing a few of the customers of the one after: not yet customers), then a new run in which
`--newcomers` of the customers are new to the history, their ids after the others' (member
numbers given in sequence) or, with `--anywhere`, among them. Times, in CPU seconds of this process
(DuckDB's threads included), the best of `--repeat`:
- `anew`: the twelve runs joined from their lookups (a server's first join);
- `sql`: the join before extended by the new run in DuckDB (backends/tier_join.py);
- `merge`: the same with Arrow (app/tier_merge.py), the way a server takes a new run now.
Checks that `sql` and `merge` give the same table, then prints the ratios.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from tierkit.app.tier_merge import merge_runs
from tierkit.backends.tier_join import join_tiers
from tierkit.runs.lookup import SortedTable

TIERS = ["vip", "regular", "potential", "at_risk"]


def run_table(ids: list[str], rng: random.Random) -> pa.Table:
    return pa.table({"customer_id": pa.array(ids, pa.string()), "tier": [rng.choice(TIERS) for _ in ids]})


def best_cpu(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, found = float("inf"), None
    for _ in range(repeat):
        started = time.process_time()
        found = work()
        best = min(best, time.process_time() - started)
    return round(best, 3), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--newcomers", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--anywhere", action="store_true", help="newcomers' ids fall among the others' (else after them, in sequence)"
    )
    args = parser.parse_args()
    rng = random.Random(7)
    everyone = [f"{i:08d}" for i in range(args.customers)]
    # each run a little smaller than the next: the customers who had not bought yet
    runs = []
    for k in range(args.runs):
        missing = int(args.customers * args.newcomers * (args.runs - k))
        absent = set(rng.sample(range(args.customers), missing))
        runs.append(run_table([c for i, c in enumerate(everyone) if i not in absent], rng))
    count = int(args.customers * args.newcomers)  # new to the history
    extra = (
        [f"{i:08d}x" for i in rng.sample(range(args.customers), count)]
        if args.anywhere
        else [f"{args.customers + i:08d}" for i in range(count)]
    )
    new_run = run_table(sorted(everyone + extra), rng)
    anew_cpu, (joined, tiers) = best_cpu(lambda: join_tiers(runs, None, ()), args.repeat)
    before = SortedTable(Path("(joined)"), "customer_id", joined)
    sources: list[int | pa.Table] = [*range(1, args.runs), new_run]  # the oldest run drops out
    sql_cpu, by_sql = best_cpu(lambda: join_tiers(sources, joined, tiers), args.repeat)
    merge_cpu, merged = best_cpu(lambda: merge_runs(sources, before, tiers), args.repeat)
    assert merged is not None, "the new run brings too many newcomers for a merge (--newcomers)"
    assert merged[1] == by_sql[1] and merged[0].equals(by_sql[0]), "the merge and the SQL join differ"
    report = {
        "customers": args.customers,
        "runs": args.runs,
        "newcomers": len(extra),
        "newcomers_ids": "anywhere" if args.anywhere else "in sequence",
        "cpu_s": {"anew": anew_cpu, "sql": sql_cpu, "merge": merge_cpu},
        "merge_to_sql": round(merge_cpu / sql_cpu, 3),
        "merge_to_anew": round(merge_cpu / anew_cpu, 3),
        "identical": True,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
