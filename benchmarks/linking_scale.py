"""`tierkit link` at scale (issue 16, part 3): a million generated Chinese customer records.

The population (benchmarks/population.py, seeded) has a known truth: which records are one
person. `tierkit link customers FILE --output persons.parquet` runs as a user runs it, a whole
process; we measure its wall time, its peak memory (psutil: the resident memory of the process
tree, sampled every 0.2 s) and pairwise precision, recall and F1 against the truth.

Time on a shared machine is noise, so the run also times a floor in the same run, interleaved:
DuckDB alone reading the same CSV and joining it to itself on the phone number (the cheapest
block: records that share a phone), in its own process. The target is absolute (under 10
minutes at 1M, peak < 8 GB, precision and recall >= 0.95); the ratio says how far above that
floor linking stays.

    python benchmarks/linking_scale.py 100000            # a quick loop
    python benchmarks/linking_scale.py 1000000 --repeat 1
    python benchmarks/linking_scale.py 1000000 --stages  # and where the time goes, stage by stage
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from population import generate

FLOOR = """
import duckdb, sys
con = duckdb.connect()
con.execute("SET memory_limit = '2.5GB'")
con.execute("CREATE TABLE r AS SELECT * FROM read_csv(?, all_varchar = true)", [sys.argv[1]])
same_phone = 'a."手机号" = b."手机号" AND a."客户编号" < b."客户编号"'
print(con.execute(f"SELECT count(*) FROM r a JOIN r b ON {same_phone}").fetchone())
"""


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(cmd: list[str]) -> tuple[float, float, float, str]:
    """Seconds, CPU seconds, peak resident MB of the process tree, and stdout of one process.
    CPU seconds (user + system, all threads) say what the work cost when other processes share
    the machine and stretch the wall time."""
    start, cpu = time.perf_counter(), _cpu()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):  # a process of the tree ended between listing and reading
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return seconds, _cpu() - cpu, peak / 2**20, out


def quality(persons: Path, truth: Path) -> dict[str, float | int]:
    """Pairwise precision, recall and F1 of the persons found against the true persons, counted
    by cluster sizes (no pair list: a million records have too many)."""
    con = duckdb.connect()
    con.execute(f"CREATE VIEW found AS SELECT customer_id, person_id FROM read_parquet('{persons}')")
    con.execute(f"CREATE VIEW truth AS SELECT customer_id, person FROM read_csv('{truth}', all_varchar = true)")
    pairs = "sum(n * (n - 1) / 2)::BIGINT"
    found = con.execute(f"SELECT {pairs} FROM (SELECT count(*) n FROM found GROUP BY person_id)").fetchone()[0]
    true = con.execute(f"SELECT {pairs} FROM (SELECT count(*) n FROM truth GROUP BY person)").fetchone()[0]
    hits = con.execute(
        f"SELECT {pairs} FROM (SELECT count(*) n FROM found JOIN truth USING (customer_id) GROUP BY person_id, person)"
    ).fetchone()[0]
    precision = hits / found if found else 1.0
    recall = hits / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {
        "true_pairs": true,
        "found_pairs": found,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def by_change(persons: Path, truth: Path) -> dict[str, float]:
    """Per kind of change: the share of duplicate records that ended up with their person's
    original record (recall by what went wrong)."""
    con = duckdb.connect()
    con.execute(f"CREATE VIEW found AS SELECT customer_id, person_id FROM read_parquet('{persons}')")
    con.execute(f"CREATE VIEW truth AS SELECT * FROM read_csv('{truth}', all_varchar = true)")
    rows = con.execute("""
        WITH t AS (SELECT truth.*, found.person_id FROM truth JOIN found USING (customer_id)),
        first AS (SELECT person, arg_min(person_id, customer_id) AS first_person FROM t GROUP BY person),
        dup AS (SELECT unnest(string_split(changes, ';')) AS change, t.person_id = first.first_person AS ok
                FROM t JOIN first USING (person) WHERE changes <> '')
        SELECT change, avg(ok::INT) FROM dup GROUP BY change ORDER BY change""").fetchall()
    return {change: round(share, 4) for change, share in rows}


def stage_times(records: Path, output: Path) -> list[dict[str, object]]:
    """Wall and CPU seconds of each stage of one link, in this process (the progress bar's
    stages: link.STAGES)."""
    from tierkit.app.linking import link_files

    marks: list[tuple[str, float, float]] = []

    def say(stage: str) -> None:
        used = resource.getrusage(resource.RUSAGE_SELF)
        marks.append((stage, time.perf_counter(), used.ru_utime + used.ru_stime))

    link_files([records], output=output, say=say)
    say("end")
    return [
        {"stage": a, "wall_s": round(t2 - t1, 1), "cpu_s": round(c2 - c1, 1)}
        for (a, t1, c1), (_, t2, c2) in itertools.pairwise(marks)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", type=int, nargs="?", default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="folder to keep the population and output in")
    parser.add_argument("--stages", action="store_true", help="also time each stage, in this process")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tk-link-scale-"))
    records, truth = folder / "customers.csv", folder / "truth.csv"
    if not records.exists():
        started = time.perf_counter()
        population = generate(args.records)
        population.write(folder)
        print(f"generated {len(population.rows):,} records in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    persons = folder / "persons.parquet"
    tierkit = [
        sys.executable,
        "-m",
        "tierkit.cli",
        "link",
        "customers",
        str(records),
        "--output",
        str(persons),
        "--json",
    ]
    floor = [sys.executable, "-c", FLOOR, str(records)]
    runs: dict[str, list[tuple[float, float, float]]] = {"floor": [], "tierkit": []}
    summary: dict[str, object] = {}
    load = psutil.getloadavg()[0]
    for _ in range(args.repeat):
        seconds, cpu, peak, _ = run(floor)
        runs["floor"].append((seconds, cpu, peak))
        seconds, cpu, peak, out = run(tierkit)
        runs["tierkit"].append((seconds, cpu, peak))
        summary = json.loads(out)
    tk_s, tk_cpu = min(r[0] for r in runs["tierkit"]), min(r[1] for r in runs["tierkit"])
    floor_s, floor_cpu = min(r[0] for r in runs["floor"]), min(r[1] for r in runs["floor"])
    result = {
        "records": summary.get("records"),
        "persons": summary.get("persons"),
        "pairs_scored": summary.get("pairs_scored"),
        "tierkit_s": round(tk_s, 1),
        "tierkit_cpu_s": round(tk_cpu, 1),
        "tierkit_peak_mb": round(max(r[2] for r in runs["tierkit"])),
        "floor_s": round(floor_s, 1),
        "floor_cpu_s": round(floor_cpu, 1),
        "floor_peak_mb": round(max(r[2] for r in runs["floor"])),
        "ratio": round(tk_s / floor_s, 1),
        "cpu_ratio": round(tk_cpu / floor_cpu, 1),
        "load_before": round(load, 1),
        "load_after": round(psutil.getloadavg()[0], 1),
        **quality(persons, truth),
        "recall_by_change": by_change(persons, truth),
        "summary": summary,
    }
    if args.stages:
        result["stages"] = stage_times(records, folder / "persons-stages.parquet")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
