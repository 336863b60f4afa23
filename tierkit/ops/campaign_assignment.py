"""Who is held out: a stratified, reproducible draw of the control group.

A plain coin flip per customer leaves the tier mix of the two groups to chance, and when VIPs
spend ten times what others do, a few extra VIPs in the treatment group look like a revenue lift
(issue 11: 29% VIPs in treatment against 16% in control, and a "lift" for a campaign that did
nothing). So the draw is stratified: within each stratum (tier by default, or any columns of the
run's result) exactly its share of customers goes to control, and the two groups have the same
mix up to one customer per stratum. The order within a stratum is sha256(seed, customer id), so
the draw is random with respect to the customers and the same on every machine.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence

from tierkit.errors import InputError

MISSING = "(missing)"


def draw(seed: int, customer_id: str) -> float:
    """A stable uniform draw in [0, 1): sha256(seed, id) read as a number."""
    digest = hashlib.sha256(f"{seed}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def stratum_label(values: Sequence[object]) -> str:
    """One text label for a customer's stratum, e.g. 'vip|north'; a missing value is named."""
    return "|".join(MISSING if v is None else str(v) for v in values)


def parse_strata(text: str, columns: Sequence[str]) -> list[str]:
    """'tier,region' -> ['tier', 'region'], each a column of the run's result."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise InputError("--strata is empty: give column names of the run, e.g. tier or tier,region")
    for name in names:
        if name not in columns or name == "reasons":
            usable = ", ".join(c for c in columns if c != "reasons")
            raise InputError(f"--strata: the run has no column '{name}' (columns: {usable})")
    if len(set(names)) != len(names):
        raise InputError(f"--strata {text}: a column is named twice")
    return names


def control_counts(sizes: dict[str, int], holdout: float) -> dict[str, int]:
    """How many of each stratum go to control: holdout x size, rounded so that the total is
    holdout x all rounded half up (largest remainders; ties to the larger stratum, then by name), so the
    overall share stays right and each stratum is off by less than one customer."""
    total = sum(sizes.values())
    exact = {s: holdout * n for s, n in sizes.items()}
    counts = {s: math.floor(v) for s, v in exact.items()}
    left = math.floor(holdout * total + 0.5) - sum(counts.values())
    by_remainder = sorted(sizes, key=lambda s: (-(exact[s] - counts[s]), -sizes[s], s))
    for s in by_remainder[: max(left, 0)]:
        counts[s] += 1
    return counts


def assign(ids: Sequence[str], strata: Sequence[str], holdout: float, seed: int) -> list[str]:
    """'control' or 'treatment' for each customer: within a stratum, the customers with the
    lowest draws are the control group, as many as control_counts says."""
    sizes = Counter(strata)
    wanted = control_counts(dict(sizes), holdout)
    order = sorted(range(len(ids)), key=lambda i: (strata[i], draw(seed, ids[i]), ids[i]))
    groups = ["treatment"] * len(ids)
    taken: Counter[str] = Counter()
    for i in order:
        if taken[strata[i]] < wanted[strata[i]]:
            groups[i] = "control"
            taken[strata[i]] += 1
    return groups


def check_strata_sizes(strata: Sequence[str], holdout: float, names: Sequence[str]) -> None:
    """Refuse strata so fine that most customers sit in one with fewer than two expected in a
    group: such strata cannot be compared, and a stratum per customer is no design at all."""
    sizes = Counter(strata)
    thin = sum(n for n in sizes.values() if min(holdout, 1 - holdout) * n < 2)
    if thin * 2 > len(strata):
        raise InputError(
            f"--strata {','.join(names)}: {len(sizes):,} strata for {len(strata):,} customers leave "
            f"{thin:,} of them in strata too small to have two in each group; use coarser columns"
        )
