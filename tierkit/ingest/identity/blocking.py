"""Which blocking rules a link can afford: every rule's pair count, before any pair is made.

A blocking rule pairs the records that agree exactly on its fields, so a group of n records
sharing a key makes n(n-1)/2 pairs. On a few thousand records every rule of matching.yaml is
cheap; on a million, one birth date is shared by ~50 records and a common name (张伟) by
hundreds: [birth_date] alone pairs ~20 million, [name_key] tens of millions, most of them
strangers. A rule above the budget (`blocking_budget` in matching.yaml: pairs per record, with a
floor under which every rule is kept) is left out, and said so; the narrower rules beside it
([surname_key, birth_date], [name_key, city] ...) still bring the same person's records together.

Counted with one GROUP BY per rule on the engine (exact, no sampling): the pairs of an equality
rule are known from its group sizes, which is what splink's own pre-filter count does too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from tierkit.backends import Backend


@dataclass(frozen=True)
class Budget:
    """At most `pairs_per_record` x records pairs per rule, and never fewer than `floor`."""

    pairs_per_record: float
    floor: int

    def limit(self, records: int) -> int:
        return max(self.floor, int(self.pairs_per_record * records))


@dataclass
class Blocking:
    """The rules kept, and those left out with the pairs each would have made."""

    kept: list[list[str]]
    left_out: dict[str, int] = field(default_factory=dict)
    pairs: dict[str, int] = field(default_factory=dict)  # rule ('a+b') -> pairs, of every rule counted


def rule_name(rule: list[str]) -> str:
    return "+".join(rule)


def count_pairs(engine: Backend, table: ir.Table, rule: list[str]) -> int:
    """Pairs of records that agree on every field of `rule` (nulls agree with nothing)."""
    filled = table.filter([table[f].notnull() for f in rule])
    groups = filled.group_by(rule).aggregate(__n=filled.count())
    total = groups.aggregate(__pairs=(groups.__n * (groups.__n - 1) / 2).sum()).__pairs
    return int(engine.execute_scalar(ibis.coalesce(total, 0)) or 0)


def afford(engine: Backend, table: ir.Table, rules: list[list[str]], records: int, budget: Budget) -> Blocking:
    """The rules whose pairs stay within the budget at this many records. Below the floor no
    rule is counted: small inputs keep every rule without a query."""
    limit = budget.limit(records)
    if records * (records - 1) / 2 <= limit:
        return Blocking([list(rule) for rule in rules])
    blocking = Blocking([])
    for rule in rules:
        pairs = count_pairs(engine, table, rule)
        blocking.pairs[rule_name(rule)] = pairs
        if pairs > limit:
            blocking.left_out[rule_name(rule)] = pairs
        else:
            blocking.kept.append(list(rule))
    if not blocking.kept and blocking.left_out:  # never every pair: the narrowest rule, whatever it costs
        narrowest = min(rules, key=lambda rule: blocking.pairs[rule_name(rule)])
        blocking.kept.append(list(narrowest))
        del blocking.left_out[rule_name(narrowest)]
    return blocking
