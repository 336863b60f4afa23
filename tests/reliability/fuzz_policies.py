"""Generated policies for the policy fuzz test: the shipped presets, spoiled one change at a time.

A preset is read as data and changed where a person editing it (or a generator writing it)
goes wrong: a key dropped or misspelt, a value of another type (a list for a number, a huge
integer, NaN, a NUL in a text), an item doubled, a rule replaced by generated rule text; then
written back as YAML. Or its text is spoiled as bytes are (cut, flipped, a tab in the indent).
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

from tests.reliability.fuzz_rules import hostile
from tierkit.policy.loader import preset_names, preset_text

PRESETS = preset_names()
RULE_KEYS = {"when", "where", "expr"}
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["\x00", "客户\x00", "1e999", "-1", "0.8", "[", "{}", "12M", "0D", "99999Y", "2024-02-30"]),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.sampled_from(["zh", "en", "x", "by"]), st.text(max_size=5), max_size=2),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a YAML document, parents before children."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*path, i))
    return found


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


@st.composite
def spoiled_policy(draw: st.DrawFn) -> str:
    """The YAML text of a preset with one to three changes."""
    name = draw(st.sampled_from(PRESETS))
    data = yaml.safe_load(preset_text(name))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent, key = _at(data, path[:-1]), path[-1]
        change = draw(st.sampled_from(["drop", "rename", "value", "rule", "double"]))
        if change == "drop":
            del parent[key]
        elif change == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from([f"{key}s", str(key)[:-1] or "x", str(key).upper(), "客户"]))] = parent.pop(key)
        elif change == "rule" or (isinstance(key, str) and key in RULE_KEYS):
            parent[key] = draw(hostile())
        elif change == "double" and isinstance(parent, list):
            parent.insert(int(key), parent[int(key)])
        else:
            parent[key] = draw(ODD_VALUES)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@st.composite
def spoiled_text(draw: st.DrawFn) -> str:
    """A preset's text cut, with a character changed, or a tab where YAML wants spaces."""
    text = preset_text(draw(st.sampled_from(PRESETS)))
    at = draw(st.integers(0, len(text) - 1))
    kind = draw(st.sampled_from(["cut", "char", "tab", "junk"]))
    if kind == "cut":
        return text[:at]
    if kind == "char":
        return text[:at] + draw(st.characters()) + text[at + 1 :]
    if kind == "tab":
        return text.replace("\n  ", "\n\t", 1)
    return text[:at] + draw(st.text(max_size=10)) + text[at:]
