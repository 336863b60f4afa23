"""The policy's `profit:` section checked against what the grading computes (policy/profit.py).

As `value:` is: every metric it names must be a numeric metric of the policy, and an upgrade
plan's target a tier, with the file and line of a mistake; `tierkit check` finds them without data.
"""

from __future__ import annotations

import ibis.expr.types as ir

from tierkit.errors import PolicyError, did_you_mean
from tierkit.policy.loader import LoadedPolicy
from tierkit.policy.profit import written_metrics


def check_profit(loaded: LoadedPolicy, metrics: ir.Table, tiers: list[str]) -> None:
    profit = loaded.policy.profit
    if profit is None:
        return
    names = list(loaded.policy.metrics)
    for path, name in written_metrics(profit):
        where = loaded.where("profit", *(("small", *path) if len(path) > 1 else path))
        if name not in loaded.policy.metrics or name not in metrics.columns:
            raise PolicyError(f"{where}: '{name}' is not a metric of the policy{did_you_mean(name, names)}")
        if not metrics[name].type().is_numeric():
            raise PolicyError(f"{where}: '{name}' is {metrics[name].type()}, not a number")
    upgrade = profit.small.upgrade if profit.small is not None else None
    target = upgrade.target if upgrade is not None else None
    if target is not None and target not in tiers:
        where = loaded.where("profit", "small", "upgrade", "target")
        raise PolicyError(f"{where}: '{target}' is not a tier{did_you_mean(target, tiers)} (tiers: {', '.join(tiers)})")
