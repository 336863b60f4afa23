"""Decisions on uncertain pairs: kept in data/identity/decisions.csv, applied on every link run.

A person looks at a pair the model was unsure of (between the review and match thresholds)
and says `same` or `different`. The file is plain CSV so that the review list can be filled in
a spreadsheet and read back; the latest decision on a pair wins.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.types as ir

from tierkit.backends import Backend
from tierkit.errors import InputError

COLUMNS = ["source_l", "customer_id_l", "source_r", "customer_id_r", "decision", "decided_at"]
CHOICES = {"same": True, "different": False, "是": True, "否": False, "yes": True, "no": False}
EDGES = "tk_link_chosen"


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


@dataclass
class Decisions:
    """(unique_id_l, unique_id_r) -> same?; unique ids are 'source|customer_id'."""

    pairs: dict[tuple[str, str], bool] = field(default_factory=dict)
    decided_at: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Decisions:
        return cls()

    @classmethod
    def load(cls, path: Path, must_exist: bool = False) -> Decisions:
        """Read decisions; rows with an empty decision (a review list not filled in yet) are skipped."""
        decisions = cls()
        if not path.exists():
            if must_exist:
                raise InputError(f"{path}: no such file")
            return decisions
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS[:4] if c not in (reader.fieldnames or [])]
            if missing or "decision" not in (reader.fieldnames or []):
                raise InputError(
                    f"{path}: needs columns {', '.join(COLUMNS[:5])} (missing: {', '.join(missing) or 'decision'})"
                )
            for number, row in enumerate(reader, start=1):
                said = (row.get("decision") or "").strip().lower()
                if not said:
                    continue
                if said not in CHOICES:
                    raise InputError(
                        f"{path}: row {number}: decision: '{row['decision']}' is not one of same, different"
                    )
                left = f"{row['source_l']}|{row['customer_id_l']}"
                right = f"{row['source_r']}|{row['customer_id_r']}"
                pair = _pair(left, right)
                decisions.pairs[pair] = CHOICES[said]
                decisions.decided_at[pair] = (row.get("decided_at") or "").strip() or dt.date.today().isoformat()
        return decisions

    def merge(self, other: Decisions) -> Decisions:
        return Decisions({**self.pairs, **other.pairs}, {**self.decided_at, **other.decided_at})

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".partial")
        today = dt.date.today().isoformat()
        when = self.decided_at
        with staging.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for (left, right), same in sorted(self.pairs.items()):
                source_l, _, id_l = left.partition("|")
                source_r, _, id_r = right.partition("|")
                decided = when.get((left, right), today)
                writer.writerow([source_l, id_l, source_r, id_r, "same" if same else "different", decided])
        staging.replace(path)

    def apply(self, engine: Backend, edges: ir.Table, records: ir.Table) -> ir.Table:
        """The scored pairs with decisions applied: `same` at probability 1, `different` removed.
        Decisions on records that are not in this link (another source, a deleted id) are ignored."""
        if not self.pairs:
            return engine.con.create_table(
                EDGES, edges.select("unique_id_l", "unique_id_r", "match_probability"), overwrite=True
            )
        said = ibis.memtable(
            {
                "said_l": [left for left, _ in self.pairs],
                "said_r": [right for _, right in self.pairs],
                "said_same": list(self.pairs.values()),
            }
        )
        known = records.select(known_id=records.unique_id)
        said = said.filter(said.said_l.isin(known.known_id) & said.said_r.isin(known.known_id))
        scored = edges.select("unique_id_l", "unique_id_r", "match_probability")
        joined = scored.outer_join(said, (scored.unique_id_l == said.said_l) & (scored.unique_id_r == said.said_r))
        chosen = joined.select(
            unique_id_l=ibis.coalesce(joined.unique_id_l, joined.said_l),
            unique_id_r=ibis.coalesce(joined.unique_id_r, joined.said_r),
            match_probability=ibis.cases(
                (joined.said_same == True, 1.0),  # noqa: E712 - an Ibis comparison, not Python's
                (joined.said_same == False, 0.0),  # noqa: E712
                else_=joined.match_probability,
            ),
        )
        return engine.con.create_table(EDGES, chosen, overwrite=True)
