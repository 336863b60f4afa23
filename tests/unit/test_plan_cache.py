"""The compiled-plan cache (tierkit.backends.plan_cache): a second `tierkit grade` of the same
plan finds every plan it compiles and writes the same bytes; each thing the plan depends on (the
policy, the input schema, the as-of date, a fitted model, the language of the labels, the engine
and the versions that compile it) gives a new key, and what is then written is what a grading
with the cache off writes. Whole processes, as the cache is used: each `tierkit grade` is one."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierkit.backends import plan_cache

POLICY = """
name: cached
metrics:
  spend_12m: {sum: amount, window: 12M}
  orders_12m: {count: orders, window: 12M}
scores:
  abc: {by: spend_12m, cuts: [0.8, 0.95]}
tiers:
  - {name: gold, label: {zh: 金卡, en: Gold}, when: "spend_12m >= THRESHOLD"}
  - {name: other, label: {zh: 其他, en: Other}, else: true}
"""
CLV_POLICY = """
name: cached-clv
metrics:
  p_alive: {clv: p_alive, time_unit: week}
tiers:
  - {name: alive, when: "p_alive >= 0.5"}
  - {name: other, else: true}
"""


def orders(path: Path, seed: int = 0, extra: bool = False) -> Path:
    """A small orders file: customer i buys (i * 7 + seed) % 13 + 1 times over two years."""
    ids, days, amounts = [], [], []
    for customer in range(40):
        for k in range((customer * 7 + seed) % 13 + 1):
            ids.append(f"C{customer:03d}")
            days.append(dt.date(2026, 9, 30) - dt.timedelta(days=(customer * 31 + k * 53 + seed) % 700))
            amounts.append(round(50 + (customer * 97 + k * 13 + seed) % 900 + 0.25, 2))
    columns = {"customer_id": ids, "ordered_at": days, "amount": pa.array(amounts).cast(pa.decimal128(18, 2))}
    if extra:
        columns["channel"] = ["web"] * len(ids)
    pq.write_table(pa.table(columns), path)
    return path


def grade(
    source: Path,
    out: Path,
    cache: Path | str,
    policy: str = POLICY,
    threshold: str = "20000",
    as_of: str = "2026-09-30",
    lang: str = "zh",
    versions: str | None = None,
) -> bytes:
    """`tierkit grade` in a process of its own; `versions` stands in for other library versions."""
    policy_file = out.with_suffix(".yaml")
    policy_file.write_text(policy.replace("THRESHOLD", threshold), "utf-8")
    args = ["grade", "--orders", str(source), "--policy", str(policy_file), "--as-of", as_of, "--lang", lang]
    code = "from tierkit.cli.app import main; main()"
    if versions is not None:
        code = f"from tierkit.backends import plan_cache; plan_cache._versions = lambda: {versions!r}; {code}"
    env = {**os.environ, "TIERKIT_PLAN_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args, "--output", str(out), "--json"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


def entries(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.sql")} if folder.exists() else set()


def test_a_second_grading_finds_its_plans_and_writes_the_same_bytes(tmp_path: Path) -> None:
    cache, source = tmp_path / "plans", orders(tmp_path / "orders.parquet")
    first = grade(source, tmp_path / "a.parquet", cache)
    kept = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.sql")}
    assert kept  # the grading and its input checks were compiled and kept
    second = grade(source, tmp_path / "b.parquet", cache)
    # a plan not found is compiled and written as a new entry: none was
    assert second == first and {p.name: p.stat().st_mtime_ns for p in cache.glob("*.sql")} == kept
    assert grade(source, tmp_path / "c.parquet", "off") == first  # the cache changes no byte


@pytest.mark.parametrize("change", ["policy", "schema", "as_of", "lang", "versions"])
def test_each_thing_the_plan_depends_on_gives_a_new_key(change: str, tmp_path: Path) -> None:
    cache, source = tmp_path / "plans", orders(tmp_path / "orders.parquet")
    grade(source, tmp_path / "first.parquet", cache)
    before = entries(cache)
    options: dict[str, str] = {}
    if change == "policy":
        options["threshold"] = "30000"
    elif change == "schema":
        source = orders(tmp_path / "wider.parquet", extra=True)
    elif change == "as_of":
        options["as_of"] = "2026-06-30"
    elif change == "lang":
        options["lang"] = "en"
    else:  # a new tierkit, Ibis, sqlglot or DuckDB may compile the same plan differently
        options["versions"] = "9.9|99.0|99.0|9.9"
    out = grade(source, tmp_path / "second.parquet", cache, **options)
    assert entries(cache) - before, f"a changed {change} found the plan made before it"
    oracle = {k: v for k, v in options.items() if k != "versions"}
    assert out == grade(source, tmp_path / "oracle.parquet", "off", **oracle)


def test_a_refitted_model_gives_a_new_key(tmp_path: Path) -> None:
    """The same schema and policy over other orders: the CLV model fits other parameters, which
    are literals of the plan, so the plan fitted before is not used."""
    cache = tmp_path / "plans"
    grade(orders(tmp_path / "first.parquet", seed=0), tmp_path / "a.parquet", cache, policy=CLV_POLICY)
    before = entries(cache)
    later = orders(tmp_path / "later.parquet", seed=5)
    out = grade(later, tmp_path / "b.parquet", cache, policy=CLV_POLICY)
    assert entries(cache) - before
    assert out == grade(later, tmp_path / "oracle.parquet", "off", policy=CLV_POLICY)


def test_the_engine_is_part_of_the_key() -> None:
    import ibis

    plan = ibis.table({"customer_id": "string"}, name="t").op()
    assert plan_cache.fingerprint(plan, "duckdb") != plan_cache.fingerprint(plan, "spark")


def test_off_keeps_nothing_and_clear_empties_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache, source = tmp_path / "plans", orders(tmp_path / "orders.parquet")
    grade(source, tmp_path / "a.parquet", cache)
    kept = len(entries(cache))
    monkeypatch.setenv("TIERKIT_PLAN_CACHE", str(cache))
    assert kept > 0 and plan_cache.clear() == kept and entries(cache) == set()
    grade(source, tmp_path / "b.parquet", "off")
    assert entries(cache) == set()
    monkeypatch.setenv("TIERKIT_PLAN_CACHE", "off")
    assert plan_cache.folder() is None
