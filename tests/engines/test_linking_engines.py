"""Identity linking runs on both engines and finds the same persons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tierkit.backends import Backend
from tierkit.demo.people import make_customers

pytest.importorskip("splink")


def records(engine: Backend) -> list[tuple[str, object]]:
    """80 people, 20 of them twice: a new id and phone, the same name, ID number and birth date."""
    rng = np.random.default_rng(11)
    base = make_customers(80, rng, dt.date(2026, 9, 30), np.full(80, dt.date(2025, 1, 1).toordinal()))
    rows = base.select(["customer_id", "name", "phone", "email", "id_number", "birth_date"]).to_pylist()
    rows += [dict(r, customer_id=f"9{i:07d}", phone=f"139{i:08d}", email=None) for i, r in enumerate(rows[:20])]
    table = pa.Table.from_pylist(rows)
    import ibis

    return [("crm", ibis.memtable(table))]  # type: ignore[list-item]


def test_both_engines_find_the_same_persons(engine: Backend, tmp_path: Path) -> None:
    from tierkit.ingest.identity.link import link

    linked = link(engine, records(engine))  # type: ignore[arg-type]
    person = dict(zip(linked.records["customer_id"].to_pylist(), linked.records["person_id"].to_pylist(), strict=True))
    assert len(person) == 100
    assert all(person[f"9{i:07d}"] == f"{i + 1:08d}" for i in range(20))  # every twin joins its original
    assert len(set(person.values())) == 80  # and nobody else is merged
