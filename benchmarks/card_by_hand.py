"""The floor of `tierkit show`: one card of the current run, by hand, with the same libraries.

    python benchmarks/card_by_hand.py CUSTOMER_ID WORKSPACE

What any command printing a card must do at the least, and nothing of tierkit: start Python,
parse its arguments with typer (and print with rich, typer's own), open the workspace's store
with SQLAlchemy and read the current run's id and the customer's overrides and contacts, find the
customer's row in the run's sorted lookup file (memory-mapped Arrow, binary search) and print
it. tierkit's card does more with that row (the policy's labels, the reasons in words, tags,
entitlements, the tier history), so startup.py times it against this, whole processes.
The run's lookup file must exist: a first `tierkit show` of the run writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
import typer
from rich.console import Console


def card(customer_id: str, workspace: Path) -> None:
    store = sa.create_engine(f"sqlite:///{workspace / 'tierkit.db'}")
    with store.connect() as con:
        run_id = con.execute(sa.text("SELECT run_id FROM pointers WHERE name = 'current'")).scalar_one()
        given = {"c": customer_id}
        overrides = con.execute(
            sa.text("SELECT tier, reason, expires FROM overrides WHERE customer_id = :c ORDER BY created_at"), given
        )
        contacts = con.execute(
            sa.text("SELECT at, channel, outcome FROM contacts WHERE customer_id = :c ORDER BY at DESC LIMIT 5"), given
        )
        found = {"override": [dict(r) for r in overrides.mappings()]}
        found["contacts"] = [dict(r) for r in contacts.mappings()]
    table = pa.ipc.open_file(pa.memory_map(str(workspace / "runs" / run_id / "lookup.arrow"), "r")).read_all()
    keys = table["customer_id"]
    low, high = 0, table.num_rows
    while low < high:  # the file is sorted by id
        middle = (low + high) // 2
        if keys[middle].as_py() < customer_id:
            low = middle + 1
        else:
            high = middle
    if low == table.num_rows or keys[low].as_py() != customer_id:
        raise typer.Exit(2)
    row = {name: table[name][low].as_py() for name in table.column_names}
    Console().print_json(json.dumps({**row, **found, "run_id": run_id}, default=str, ensure_ascii=False))


if __name__ == "__main__":
    typer.run(card)
