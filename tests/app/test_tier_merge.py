"""A run graded since, merged into the tier history's join with Arrow (app/tier_merge.py). The
oracle: the same runs joined anew in SQL by DuckDB (backends/tier_join.py), compared tier by
tier (the codes may differ, the tiers they stand for may not)."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tierkit.app import tier_merge
from tierkit.app.tier_merge import merge_runs
from tierkit.backends.tier_join import join_tiers
from tierkit.runs.lookup import SortedTable

IDS = [f"{i:03d}" for i in range(25)] + ["客户01", "客户02", "Z9", "a"]
TIERS = ["vip", "regular", "潜在客户", None]


def _run(tiers: dict[str, str | None]) -> pa.Table:
    ids = sorted(tiers)  # a run's lookup: sorted by id, one row each
    return pa.table({"customer_id": pa.array(ids, pa.string()), "tier": pa.array([tiers[c] for c in ids], pa.string())})


def _decoded(table: pa.Table, tiers: tuple[str, ...]) -> list[tuple[str, list[str | None]]]:
    rows = table.to_pylist()
    names = [c for c in table.column_names if c != "customer_id"]
    return [(r["customer_id"], [tiers[r[n] - 1] if r[n] else None for n in names]) for r in rows]


runs = st.dictionaries(st.sampled_from(IDS), st.sampled_from(TIERS), max_size=len(IDS))


@settings(max_examples=150, deadline=None)
@given(
    earlier=st.lists(runs, min_size=1, max_size=4),
    new=st.dictionaries(st.sampled_from(IDS), st.sampled_from([*TIERS, "新等级"]), max_size=len(IDS)),
    keep=st.lists(st.booleans(), min_size=4, max_size=4),
    at=st.integers(0, 4),
    grown=st.booleans(),
    another=st.one_of(st.none(), runs),
)
def test_a_merged_run_gives_the_tiers_a_join_anew_gives(
    earlier: list[dict[str, str | None]],
    new: dict[str, str | None],
    keep: list[bool],
    at: int,
    grown: bool,
    another: dict[str, str | None] | None,
) -> None:
    if grown:  # every customer of the history again, and the newcomers after them (ids in sequence)
        everyone = set().union(*earlier)
        new = {
            **{c: new.get(c, "vip") for c in everyone},
            **{c: t for c, t in new.items() if c > max(everyone, default="")},
        }
        new |= {"鿿01": "新等级"}  # after every id above
    before_table, before_tiers = join_tiers([_run(r) for r in earlier], None, ())
    before = SortedTable(Path("(joined)"), "customer_id", before_table)
    kept = [i for i in range(len(earlier)) if keep[i]] or [0]  # runs dropped from the history, one kept
    sources: list[int | pa.Table] = list(kept)
    sources.insert(min(at, len(sources)), _run(new))
    if another is not None:  # two runs graded since the join: merged one after the other
        sources.insert(at % (len(sources) + 1), _run(another))
    with mock.patch.object(tier_merge, "NEWCOMERS_SHARE", 1):  # any number of newcomers, here
        merged = merge_runs(sources, before, before_tiers)
    assert merged is not None
    anew = join_tiers([s if isinstance(s, pa.Table) else _run(earlier[s]) for s in sources], None, ())
    assert _decoded(*merged) == _decoded(*anew)
    assert merged[0].num_rows == 0 or merged[0].column("customer_id").num_chunks == 1  # one buffer per column


def test_a_run_of_many_newcomers_or_repeated_ids_is_left_to_the_join() -> None:
    base = _run({c: "vip" for c in IDS[:16]})
    before_table, tiers = join_tiers([base], None, ())
    before = SortedTable(Path("(joined)"), "customer_id", before_table)
    mostly_known = _run({**{c: "regular" for c in IDS[:16]}, IDS[20]: "vip"})  # one newcomer in 17
    assert merge_runs([0, mostly_known], before, tiers) is not None
    mostly_new = _run({**{c: "regular" for c in IDS[:4]}, **{c: "vip" for c in IDS[16:]}})
    assert merge_runs([0, mostly_new], before, tiers) is None
    repeated = pa.table({"customer_id": ["000", "000"], "tier": ["vip", "regular"]})
    assert merge_runs([0, repeated], before, tiers) is None
    assert merge_runs([base, mostly_known], before, tiers) is None  # nothing of the join kept: the SQL join
