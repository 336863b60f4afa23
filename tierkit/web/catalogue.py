"""The workbench's words in zh and en: one catalogue, kept as YAML beside the templates.

Labels of tiers, scores and tags come from the policy (each run's own); everything else a page
says comes from here. The files under messages/ are one catalogue split by page; a key may be
defined once only, and in both languages, which the loader checks when the app starts (a
missing word fails the start, not a manager's screen).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from tierkit.errors import TierkitError
from tierkit.yaml_reading import load_yaml

LANGS = ("zh", "en")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """key -> {zh, en}, from every messages/*.yaml."""
    found: dict[str, dict[str, str]] = {}
    folder = resources.files("tierkit.web").joinpath("messages")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        words = load_yaml(entry.read_text("utf-8")) or {}
        for key, texts in words.items():
            if key in found:
                raise TierkitError(f"messages/{entry.name}: '{key}' is defined twice in the web catalogue")
            if not isinstance(texts, dict) or any(not isinstance(texts.get(lang), str) for lang in LANGS):
                raise TierkitError(f"messages/{entry.name}: '{key}' needs text for each of {', '.join(LANGS)}")
            found[key] = {lang: texts[lang] for lang in LANGS}
    return found


def text(key: str, lang: str, **values: Any) -> str:
    """The words for `key` in `lang`, with {placeholders} filled; an unknown key is an error (a
    test renders every page in both languages)."""
    words = catalogue().get(key)
    if words is None:
        raise KeyError(f"'{key}' is not in the web catalogue (tierkit/web/messages)")
    said = words.get(lang) or words["zh"]
    return said.format(**values) if values else said
