"""Load a policy from YAML (a preset name or a file) with errors that point at file and line.

The YAML is composed once to keep each key's line number; pydantic errors are then mapped
back to `file:line: path: message (did you mean ...)`. The content hash of the validated
policy (canonical JSON, not the file bytes) is its version: comments and key order do not
make a new version, a changed threshold does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from tierkit.errors import PolicyError, did_you_mean
from tierkit.policy import model as m
from tierkit.policy.entitlements import Grant, TagGrant, keyed
from tierkit.policy.model import SCORE_TYPES, Policy, RfmScore
from tierkit.policy.profit import model_at as profit_model_at
from tierkit.policy.segments import load_segments, segment_map_names
from tierkit.policy.stability import Stability
from tierkit.policy.tag_sets import with_tag_sets
from tierkit.yaml_reading import error_line, node_and_data

PRESET_DIR = "presets"
# top-level keys newer than the hash
LATER_FIELDS = ("tag_groups", "attributes", "entitlements", "tag_entitlements", "profit", "stability", "alerts")


def preset_names() -> list[str]:
    folder = resources.files("tierkit.policy").joinpath(PRESET_DIR)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def preset_text(name: str) -> str:
    return resources.files("tierkit.policy").joinpath(PRESET_DIR, f"{name}.yaml").read_text("utf-8")


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with where it came from and its version hash."""

    policy: Policy
    source: str  # a file path, or "preset:NAME"
    text: str
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict, repr=False)
    files: tuple[str, ...] = ()  # other files it read (segment maps), for a replay to check (runs/replay.py)

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON: 0.8 and 0.80, 10000 and 10000.0 are one version.

        Unset fields (None) are left out, so that a field a later tierkit adds, or a metric kind
        a plug-in adds, changes no existing policy's version; defaults are written out, so that
        writing a default explicitly does not change it either."""
        dumped = self.policy.model_dump(by_alias=True, exclude_defaults=False, exclude_none=True)
        for key in LATER_FIELDS:  # added after versions were first printed: absent when empty
            if not dumped.get(key):
                dumped.pop(key, None)
        canonical = json.dumps(
            _canonical(dumped),
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    def where(self, *path: Any) -> str:
        """'file:line: a.b[0].c' for error messages; the line of the deepest known key."""
        return f"{self.source}:{_line(self.lines, path)}: {_dotted(path)}"


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        number = Decimal(str(value)).normalize()
        return format(number, "f")
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def _line_map(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            out[sub] = key.start_mark.line + 1
            _line_map(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), out)


def _model_at(path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of `path`, to suggest its field names."""
    score_models = {
        cls.model_fields["type"].default: cls
        for cls in (m.RfmScore, m.AbcScore, m.PyramidScore, m.StarsScore, m.GridScore, m.BandsScore)
    }
    if len(path) == 1:
        return m.Policy
    head = path[0]
    if head == "metrics" and len(path) >= 3:
        return m.MetricSpec
    if head == "scores" and len(path) >= 4 and path[2] in score_models:
        return score_models[path[2]]
    if head == "tiers":
        return m.TierRule
    if head == "stability":
        return Stability
    if head == "profit":
        return profit_model_at(path)
    if head == "tags":
        return m.TagRule
    if head == "service":
        return Grant if len(path) >= 5 else m.Service  # service.T.entitlements.0.KEY: a grant
    if head in ("entitlements", "tag_entitlements") and len(path) >= 3:
        return (Grant if len(path) >= 5 else TagGrant) if head == "tag_entitlements" else m.Entitlement
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _clean_path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # Discriminated unions add the tag ("scores", "abc", "abc", "by"): drop the repeat.
    if (len(loc) >= 3 and loc[0] == "scores" and loc[1] == loc[2]) or (len(loc) >= 3 and loc[0] == "scores"):
        loc = loc[:2] + loc[3:]
    return tuple(p for p in loc if p not in ("function-after[_one_aggregate(), MetricSpec]",))


def _messages(err: ValidationError, loaded_lines: dict[tuple[Any, ...], int], source: str) -> str:
    parts = []
    for item in err.errors():
        loc = tuple(item["loc"])
        path = _clean_path(loc)
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            model = _model_at(loc)
            names = _field_names(model) if model else []
            msg = f"unknown field '{path[-1]}'{did_you_mean(str(path[-1]), names)}"
        elif item["type"] == "union_tag_invalid":
            tag = item.get("ctx", {}).get("tag", "")
            msg = f"unknown score type '{tag}'{did_you_mean(str(tag), SCORE_TYPES)}"
        if not path:  # a check across keys that names the key it is about (policy/entitlements.py)
            path, msg = keyed(msg)
        parts.append(f"{source}:{_line(loaded_lines, path)}: {_dotted(path) or 'policy'}: {msg}")
    return "; ".join(parts)


def _inline_segment_files(policy: Policy, source: str) -> tuple[Policy, tuple[str, ...]]:
    """A segment map given as a file becomes part of the policy: its hash and the run's copy.
    Also the files read."""
    scores = dict(policy.scores)
    read: list[str] = []
    for name, spec in policy.scores.items():
        if isinstance(spec, RfmScore) and isinstance(spec.segments, str) and spec.segments not in segment_map_names():
            path = Path(spec.segments)
            if not path.is_absolute() and not source.startswith("preset:"):
                path = Path(source).parent / path  # relative to the policy file, like any include
            segments = load_segments(str(path), spec.bins, f"{source}: scores.{name}.segments")
            read.append(str(path.resolve()))
            scores[name] = spec.model_copy(update={"segments": segments})
    inlined = policy.model_copy(update={"scores": scores}) if scores != dict(policy.scores) else policy
    return inlined, tuple(read)


def parse_policy(text: str, source: str) -> LoadedPolicy:
    try:
        node, data = node_and_data(text)
    except yaml.reader.ReaderError as exc:  # its message ran over two lines, and said line 1 (issue 15, fuzzed)
        line = error_line(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or b"\0")
        raise PolicyError(f"{source}:{line}: not valid YAML: character U+{code:04X} is not allowed") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise PolicyError(f"{source}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{source}:1: a policy is a YAML mapping with name, metrics, scores, tiers")
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_map(node, (), lines)
    data = with_tag_sets(data, source)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_messages(exc, lines, source)) from exc
    policy, read = _inline_segment_files(policy, source)
    return LoadedPolicy(policy=policy, source=source, text=text, lines=lines, files=read)


def load_policy(name_or_path: str | Path) -> LoadedPolicy:
    """A preset by name (`retail`, `abc`, ...) or a YAML file path."""
    text_name = str(name_or_path)
    path = Path(text_name)
    if text_name in preset_names() and not path.exists():
        return parse_policy(preset_text(text_name), f"preset:{text_name}")
    if not path.exists():
        if path.suffix in {".yaml", ".yml"} or "/" in text_name:
            raise PolicyError(f"{text_name}: no such policy file")
        raise PolicyError(
            f"'{text_name}' is neither a policy file nor a preset"
            f"{did_you_mean(text_name, preset_names())} (presets: {', '.join(preset_names())})"
        )
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as err:
        raise PolicyError(f"{path}: a policy file must be UTF-8 text") from err
    return parse_policy(text, str(path))
