"""Tag sets: groups of tags (with the metrics and attributes they read) that a policy includes.

The identification tags of the telecom deck (客户身份, 渠道偏好 ... 投诉, 欠费/信用) are the same
pattern in retail, telecom and pharma: a policy says `tag_sets: [identification]` instead of
copying forty lines. The set is merged into the policy before it is checked, so the resolved
policy (and its hash, and a run's policy.json) holds every tag as if written out. What the
policy itself says wins: its own tag, metric or group of the same name is kept.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from tierkit.errors import PolicyError, did_you_mean
from tierkit.yaml_reading import load_yaml

FOLDER = "tagsets"
MERGED = ("metrics", "attributes", "tag_groups")


def tag_set_names() -> list[str]:
    folder = resources.files("tierkit.policy").joinpath(FOLDER)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


@lru_cache(maxsize=8)
def _tag_set(name: str) -> dict[str, Any]:
    text = resources.files("tierkit.policy").joinpath(FOLDER, f"{name}.yaml").read_text("utf-8")
    found: dict[str, Any] = load_yaml(text)
    return found


def with_tag_sets(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The policy's data with its `tag_sets:` merged in (and the key removed)."""
    names = data.get("tag_sets")
    if names is None:
        return data
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PolicyError(f"{source}: tag_sets: a list of names, e.g. [identification]")
    known = tag_set_names()
    merged = {k: v for k, v in data.items() if k != "tag_sets"}
    for name in names:
        if name not in known:
            raise PolicyError(
                f"{source}: tag_sets: unknown set '{name}'{did_you_mean(name, known)} (sets: {', '.join(known)})"
            )
        extra = _tag_set(name)
        for key in MERGED:
            mine = dict(merged.get(key) or {})
            merged[key] = {**(extra.get(key) or {}), **mine}
        own = {t.get("name") for t in merged.get("tags") or [] if isinstance(t, dict)}
        merged["tags"] = [*(merged.get("tags") or []), *(t for t in extra.get("tags") or [] if t["name"] not in own)]
    return merged
