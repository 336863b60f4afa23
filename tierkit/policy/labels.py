"""What a policy calls its classes, in a language, and which output columns its scores write.

Pure functions of the policy: the summary, the card, the API and the CLI read them without
the engine (a run's labels come from the run's policy, in the language asked for).
"""

from __future__ import annotations

from tierkit.policy import model as m
from tierkit.policy.memo import per_policy
from tierkit.policy.segments import load_segments


def score_levels(spec: m.Score) -> list[str]:
    """The classes a score can give, best first, for summaries."""
    return list(_levels(spec))


@per_policy
def _levels(spec: m.Score) -> list[str]:
    if isinstance(spec, m.AbcScore):
        return list(spec.classes)
    if isinstance(spec, m.PyramidScore):
        return list(spec.levels)
    if isinstance(spec, m.StarsScore):
        return [str(s) for s in range(max(level.stars for level in spec.levels), 0, -1)]
    if isinstance(spec, m.GridScore):
        return [f"{a}{d}" for a in "ABC" for d in "123"]
    if isinstance(spec, m.BandsScore):
        return spec.bands
    return [seg.name for seg in load_segments(spec.segments, spec.bins, "")]


def score_labels(spec: m.Score, lang: str) -> dict[str, str]:
    """Each class's label in a language, falling back to the class name."""
    return dict(_score_labels(spec, lang))


@per_policy
def _score_labels(spec: m.Score, lang: str) -> dict[str, str]:
    if isinstance(spec, m.RfmScore):
        labels = {s.name: s.label for s in load_segments(spec.segments, spec.bins, "") if s.label}
    else:
        labels = dict(getattr(spec, "labels", {}) or {})
    return {name: (labels[name].text(lang, name) if name in labels else name) for name in _levels(spec)}


def tier_labels(policy: m.Policy, names: list[str], lang: str) -> dict[str, str]:
    """Each tier's label in a language: from the tier rules, or the primary score's classes.
    (`names`, the run's tiers, name no label the policy does not give.)"""
    return dict(_tier_labels(policy, lang))


@per_policy
def _tier_labels(policy: m.Policy, lang: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for rule in policy.tiers:
        labels[rule.name] = rule.label.text(lang, rule.name) if rule.label else rule.name
    if policy.primary:
        labels.update(_score_labels(policy.scores[policy.primary], lang))
    return labels


def tag_labels(policy: m.Policy, lang: str) -> dict[str, str]:
    """Tags that have a label, by name."""
    return dict(_tag_labels(policy, lang))


@per_policy
def _tag_labels(policy: m.Policy, lang: str) -> dict[str, str]:
    return {t.name: t.label.text(lang, t.name) for t in policy.tags if t.label}


@per_policy
def tag_rules(policy: m.Policy) -> dict[str, m.TagRule]:
    """The policy's tag rules by name (shared: read it, never change it)."""
    return {rule.name: rule for rule in policy.tags}


def class_column(name: str, spec: m.Score) -> str:
    """The output column that holds a score's class (rfm: NAME_segment, grid: NAME_cell, else NAME)."""
    return {"rfm": f"{name}_segment", "grid": f"{name}_cell"}.get(spec.type, name)


def score_columns(policy: m.Policy) -> list[str]:
    """The output columns each score writes (rfm: NAME_r/_f/_m/_segment, grid: NAME_cell, else NAME)."""
    return list(_score_columns(policy))


@per_policy
def _score_columns(policy: m.Policy) -> list[str]:
    columns: list[str] = []
    for name, spec in policy.scores.items():
        if spec.type == "rfm":
            columns += [f"{name}_{part}" for part in ("r", "f", "m", "segment")]
        elif spec.type == "grid":
            columns.append(f"{name}_cell")
        else:
            columns.append(name)
    return columns


RESPONSE_WORDS = {
    "zh": {"immediate": "立即响应", "h": "{n} 小时内响应", "d": "{n} 天内响应", "m": "{n} 分钟内响应"},
    "en": {"immediate": "at once", "h": "within {n} h", "d": "within {n} days", "m": "within {n} min"},
}


def response_text(value: str | None, lang: str) -> str | None:
    """A response time as the front line says it ('24h' -> '24 小时内响应'); other text as given."""
    if value is None:
        return None
    words = RESPONSE_WORDS.get(lang, RESPONSE_WORDS["en"])
    text = value.strip().lower()
    if text in words:
        return words[text]
    unit = text[-1:]
    if unit in ("h", "d", "m") and text[:-1].isdigit():
        return words[unit].format(n=int(text[:-1]))
    return value


CADENCE_WORDS = {
    "zh": {
        "none": "不定期联系（无固定频率）",
        "exact": "每月 {n} 次",
        "most": "每月至多 {n} 次",
        "range": "每月 {low}–{high} 次",
    },
    "en": {
        "none": "No scheduled contact",
        "exact": "{n} a month",
        "most": "up to {n} a month",
        "range": "{low}–{high} a month",
    },
}


def cadence_text(cadence: tuple[int, int] | None, lang: str) -> str | None:
    """A contact cadence as an agent reads it ([0, 0] -> '不定期联系', [0, 1] -> '每月至多 1 次'): the
    card, the workbench and the terminal say it alike, where '0-0' read as a broken figure."""
    if cadence is None:
        return None
    words = CADENCE_WORDS.get(lang, CADENCE_WORDS["en"])
    low, high = cadence
    if high == 0:
        return words["none"]
    if low == high:
        return words["exact"].format(n=low)
    if low == 0:
        return words["most"].format(n=high)
    return words["range"].format(low=low, high=high)


@per_policy
def service_card(policy: m.Policy, tier: str, lang: str) -> dict[str, object] | None:
    """What a tier's service says on the card, in a language: each entitlement by name and label,
    the contact cadence, the response time (as given and in words) and the actions. Shared by
    every card of the policy's tier: read it, never change it."""
    service = policy.service.get(tier)
    if service is None:
        return None
    catalogue = policy.entitlements
    return {
        "entitlements": [
            {
                "name": name,
                "label": catalogue[name].label.text(lang, name)  # type: ignore[union-attr]
                if name in catalogue and catalogue[name].label
                else name,
            }
            for name in (grant.code for grant in service.entitlements)
        ],
        "contacts_per_month": list(service.contacts_per_month) if service.contacts_per_month else None,
        "contacts_text": cadence_text(service.contacts_per_month, lang),
        "response_time": service.response_time,
        "response_time_text": response_text(service.response_time, lang),
        "actions": [action.text(lang, "") for action in service.actions],
    }
