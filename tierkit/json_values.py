"""Values as JSON gives them back: what `json.loads(json.dumps(value, default=str))` returns,
without writing and reading the text.

Why: a card hands its reasons, metrics and scores to the response model as plain JSON values
(decimals, dates and other objects as their text, tuples as lists, keys as text), and doing it
through the JSON text cost an eighth of a card. Containers and scalars of the plain kinds are
walked here; anything else (a key that is not text, an object) takes the JSON round trip, so
the answer is the round trip's (tests/unit/test_json_values.py holds them equal).
"""

from __future__ import annotations

import json
from typing import Any

SCALARS = (str, int, float, bool, type(None))


def plain(value: Any) -> Any:
    """`value` as `json.loads(json.dumps(value, default=str))` would give it."""
    kind = type(value)
    if kind in SCALARS:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                return _round_trip(value)
            out[key] = item if type(item) in SCALARS else plain(item)
        return out
    if kind is list or kind is tuple:
        return [item if type(item) in SCALARS else plain(item) for item in value]
    return _round_trip(value)


def _round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
