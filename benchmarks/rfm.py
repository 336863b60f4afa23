"""Whole-process `tierkit grade --policy rfm` against its floor and a peer library, same file.

    python benchmarks/rfm.py [--orders 10000000] [--repeat 3] [--peer-python PATH]

Generates N orders as Parquet (benchmarks/grade.py's generator), then times, interleaved (wall
and CPU seconds: on a busy machine the CPU ratio is the steadier one):
(a) the baseline, DuckDB's bare `GROUP BY customer_id` (max date, count, sum) to Parquet;
(b) `tierkit grade --policy rfm` writing Parquet (replayed after a warm-up run; `tierkit_whole`: the same
with TIERKIT_REPLAY=off, graded whole each time); (c) the floor, the same RFM job written by
hand as one DuckDB query (rfm_by_hand.sql), whose scores and segments are checked to equal
tierkit's for every customer; and (d) the peer, openretailscience's RFMSegmentation (Ibis on
DuckDB, 5 bins) writing Parquet in customer_id order, when a Python with it installed is given.

The peer lives in a virtualenv of its own (its Ibis, DuckDB and pandas pins are not tierkit's):

    python -m venv benchmarks/.peer-venv && benchmarks/.peer-venv/bin/pip install openretailscience==0.48.1

`--peer-python` (or TIERKIT_PEER_PYTHON, or benchmarks/.peer-venv/bin/python if it exists)
names that interpreter; without one the peer is skipped with a message. The peer counts
distinct transaction ids, so it reads a copy of the file with a `transaction_id` column (and
its column names); its R, F and M values are checked against tierkit's. Its scores are NTILE
ranks (ties split by customer_id), tierkit's preset scores at the value quintiles (equal values
score equal, docs/scores.md), so their scores are compared only to report how many differ.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from grade import AS_OF, baseline_command, orders_file
from timing import compare

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".peer-venv" / "bin" / "python"
CHECKED = "customer_id, rfm_r, rfm_f, rfm_m, rfm_segment, recency_days, orders_all, spend_all"

PEER_SCRIPT = """
import sys
import ibis
from openretailscience.segmentation.rfm import RFMSegmentation
source, output, as_of = sys.argv[1:4]
con = ibis.duckdb.connect()
rfm = RFMSegmentation(con.read_parquet(source), current_date=as_of, r_segments=5, f_segments=5, m_segments=5)
con.to_parquet(rfm.table.order_by("customer_id"), output)
"""


def by_hand(orders: Path, output: Path) -> str:
    """rfm_by_hand.sql for this file and output."""
    text = (HERE / "rfm_by_hand.sql").read_text("utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return body.format(as_of=AS_OF, orders=f"'{orders}'", output=f"'{output}'")


def floor_command(orders: Path, output: Path) -> list[str]:
    sql = by_hand(orders, output)
    return [
        sys.executable,
        "-c",
        f"import duckdb; c = duckdb.connect(); c.execute('SET preserve_insertion_order = false'); c.execute({sql!r})",
    ]


def tierkit_command(orders: Path, output: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tierkit.cli",
        "grade",
        "--orders",
        str(orders),
        "--policy",
        "rfm",
        "--as-of",
        AS_OF,
        "--output",
        str(output),
        "--json",
    ]


def peer_python(given: str | None) -> str | None:
    """The interpreter that has openretailscience, or None (the peer is then skipped)."""
    found = given or os.environ.get("TIERKIT_PEER_PYTHON") or (str(PEER_VENV) if PEER_VENV.exists() else None)
    if found is None:
        print("peer skipped: no Python with openretailscience (see --peer-python)", file=sys.stderr)
        return None
    import subprocess

    probe = subprocess.run([found, "-c", "import openretailscience"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"peer skipped: {found} cannot import openretailscience", file=sys.stderr)
        return None
    return found


def peer_input(orders: Path, path: Path) -> None:
    """The orders with the peer's column names and a transaction id per row (it counts distinct ones)."""
    import duckdb

    duckdb.connect().execute(
        f"COPY (SELECT customer_id, ordered_at AS transaction_date, amount AS unit_spend, "
        f"row_number() OVER () AS transaction_id FROM read_parquet('{orders}')) TO '{path}' (FORMAT parquet)"
    )


def same_rfm(tierkit_file: Path, by_hand_file: Path) -> bool:
    """Both give every customer the same R, F, M values, scores and segment, and as many rows."""
    import duckdb

    differing = duckdb.sql(
        f"SELECT count(*) FROM ((SELECT {CHECKED} FROM '{tierkit_file}') "
        f"EXCEPT ALL (SELECT {CHECKED} FROM '{by_hand_file}'))"
    ).fetchone()
    rows = duckdb.sql(f"SELECT (SELECT count(*) FROM '{tierkit_file}') = (SELECT count(*) FROM '{by_hand_file}')")
    return bool(differing and differing[0] == 0 and rows.fetchone() == (True,))


def peer_agreement(tierkit_file: Path, peer_file: Path) -> dict[str, object]:
    """Customers, those whose R, F, M values differ from tierkit's (should be none), and those
    whose scores differ (the methods differ: NTILE ranks against value quintiles)."""
    import duckdb

    row = duckdb.sql(
        f"SELECT count(*), count(p.customer_id), "
        f"count(*) FILTER (WHERE p.recency_days IS DISTINCT FROM t.recency_days OR p.frequency <> t.orders_all "
        f"OR p.monetary <> t.spend_all), "
        f"count(*) FILTER (WHERE p.r_score + 1 <> t.rfm_r OR p.f_score + 1 <> t.rfm_f OR p.m_score + 1 <> t.rfm_m) "
        f"FROM '{tierkit_file}' t LEFT JOIN '{peer_file}' p USING (customer_id)"
    ).fetchone()
    assert row is not None
    customers, matched, values_differ, scores_differ = (int(v) for v in row)
    return {
        "customers": customers,
        "values_agree": matched == customers and values_differ == 0,
        "scores_differ": scores_differ,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="folder to keep the generated files in")
    parser.add_argument("--peer-python", help="a Python with openretailscience installed (its own virtualenv)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tierkit-bench-rfm-"))
    folder.mkdir(parents=True, exist_ok=True)
    orders = orders_file(folder, args.orders)
    replayed = tierkit_command(orders, folder / "replayed.parquet")
    subprocess.run(replayed, check=True, capture_output=True)  # the warm-up: keeps the transcript (docs/cli.md)
    commands = {
        "baseline": baseline_command(orders, folder / "baseline.parquet"),
        "tierkit": replayed,
        "tierkit_whole": ["env", "TIERKIT_REPLAY=off", *tierkit_command(orders, folder / "graded.parquet")],
        "by_hand": floor_command(orders, folder / "by_hand.parquet"),
    }
    peer = peer_python(args.peer_python)
    if peer is not None:
        peer_orders = folder / f"orders-{args.orders}-peer.parquet"
        if not peer_orders.exists():
            peer_input(orders, peer_orders)
        commands["peer"] = [peer, "-c", PEER_SCRIPT, str(peer_orders), str(folder / "peer.parquet"), AS_OF]
    summary = compare(commands, args.repeat)
    summary["orders"] = args.orders
    by_hand_s = summary["by_hand"]["median_s"]
    summary["tierkit_over_by_hand"] = round(summary["tierkit"]["median_s"] / by_hand_s, 2)
    summary["by_hand_over_baseline"] = round(by_hand_s / summary["baseline"]["median_s"], 2)
    summary["tierkit_over_by_hand_cpu"] = round(
        summary["tierkit"]["median_cpu_s"] / summary["by_hand"]["median_cpu_s"], 2
    )
    summary["whole_over_by_hand"] = round(summary["tierkit_whole"]["median_s"] / by_hand_s, 2)
    summary["whole_over_by_hand_cpu"] = round(
        summary["tierkit_whole"]["median_cpu_s"] / summary["by_hand"]["median_cpu_s"], 2
    )
    summary["replayed_same_bytes"] = (folder / "replayed.parquet").read_bytes() == (
        folder / "graded.parquet"
    ).read_bytes()
    summary["by_hand_agrees"] = same_rfm(folder / "graded.parquet", folder / "by_hand.parquet")
    if peer is not None:
        summary["peer_over_tierkit"] = round(summary["peer"]["median_s"] / summary["tierkit"]["median_s"], 2)
        summary["peer_over_by_hand"] = round(summary["peer"]["median_s"] / by_hand_s, 2)
        summary["peer_over_tierkit_cpu"] = round(
            summary["peer"]["median_cpu_s"] / summary["tierkit"]["median_cpu_s"], 2
        )
        summary["peer_agreement"] = peer_agreement(folder / "graded.parquet", folder / "peer.parquet")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
