"""YAML read by libyaml when PyYAML was built with it, else by PyYAML's pure-Python reader.

Why: the pure-Python reader spent 0.08 s of every `tierkit grade` on the preset and the header
synonyms (docs/benchmarks.md); libyaml reads the same documents in a tenth of that. Both
readers give the same data and the same line numbers (tests/unit/test_yaml_reading.py).
"""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """One YAML document as plain data (mappings, lists, strings, numbers, dates)."""
    return yaml.load(text, Loader=SafeLoader)


def node_and_data(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (with the line of every key, for messages) and its data, from
    one reading of the text."""
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def error_line(text: str, position: int) -> int:
    """The 1-based line of a reader error's position: libyaml counts UTF-8 bytes, the Python
    reader characters."""
    if SafeLoader is yaml.SafeLoader:
        return text.count("\n", 0, position) + 1
    return text.encode("utf-8")[:position].count(b"\n") + 1
