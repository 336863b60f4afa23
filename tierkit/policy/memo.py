"""What follows from a policy, worked out once per policy object and arguments.

Why: a card reads one run's policy thousands of times a second (its labels, a tier's service,
the names its rules read, what an agent may see), and a policy is frozen (policy.base), so what
follows from it is fixed for the object's life. Answers are keyed by the object's identity, not
its hash (hashing a whole policy costs more than the work), and the object is kept beside its
answer, so that an id Python gives again to another policy never answers for it.

An answer is shared by every caller: callers read it and never change it. A function whose
callers may change what it returns hands out a copy of the remembered answer (`labels.py`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

Answer = TypeVar("Answer")
KEPT = 4096  # answers per function: a process serves a few runs, each a few languages and roles


def per_policy(work: Callable[..., Answer]) -> Callable[..., Answer]:
    """`work(subject, *args)` remembered by `subject`'s identity and `args` (hashable, lists
    read as tuples): `subject` is a policy or a part of one (a score, a tag rule)."""
    table: dict[tuple[Hashable, ...], tuple[object, Answer]] = {}
    lock = threading.Lock()

    @functools.wraps(work)
    def remembered(subject: object, *args: Any) -> Answer:
        key = (id(subject), *args)
        try:
            found = table.get(key)
        except TypeError:  # a list among the arguments
            key = (id(subject), *(tuple(a) if isinstance(a, list) else a for a in args))
            found = table.get(key)
        if found is not None and found[0] is subject:
            return found[1]
        answer = work(subject, *args)
        with lock:
            if len(table) >= KEPT:
                table.clear()
            table[key] = (subject, answer)
        return answer

    return remembered
