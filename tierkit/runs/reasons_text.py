"""The reasons of a card as sentences a person reads, in Chinese or English.

The reasons JSON (which rule chose the tier, each score's rank or share, each tag's condition,
the values behind them) is the explanation a contested grade is owed (PIPL art. 24); at the
counter it is read, not parsed. Labels come from the run's policy; numbers get separators.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from tierkit.policy.labels import score_labels, tag_rules, tier_labels
from tierkit.policy.model import Policy

WORDS = {
    "zh": {
        "tier_rule": "定为{label}: 满足条件 {when}",
        "tier_else": "定为{label}: 不满足以上各等级的条件",
        "tier_score": "定为{label}: 由评分 {score} 决定",
        "abc": "ABC 分类 {label}: 价值比其高的客户合计占总价值的 {share}",
        "pyramid": "客户金字塔 {label}: 按 {by} 排名第 {rank:,} / {of:,}",
        "rfm": "RFM {r}-{f}-{m}: {label}",
        "stars": "星级: {label}",
        "grid": "九宫格 {label}",
        "bands": "{score}: {label}",
        "tag": "标签 {label}: {when}",
        "values": "依据的数值: {values}",
        "yes": "是",
        "no": "否",
        "kept_grace": "保级期至 {until}: 本次评为{graded}，仍保持{tier}",
        "kept_runs": "保持{tier}: 本次评为{graded}，已连续 {runs} 次低于该等级，连续 {after} 次即降级",
        "kept_both": "保级期至 {until}: 本次评为{graded}，仍保持{tier}"
        "（已连续 {runs} 次低于该等级，连续 {after} 次即降级）",
        "down_runs": "降为{graded}: 已连续 {runs} 次低于{previous}",
        "down_grace": "降为{graded}: {previous}的保级期已于 {until} 结束",
        "up": "升为{graded}: 升级立即生效（上次为{previous}）",
        "back": "保持{tier}: 本次重新达到该等级，降级计数清零",
    },
    "en": {
        "tier_rule": "{label}: {when} holds",
        "tier_else": "{label}: none of the tiers above applied",
        "tier_score": "{label}: given by the score {score}",
        "abc": "ABC class {label}: customers worth more hold {share} of the value",
        "pyramid": "Pyramid {label}: rank {rank:,} of {of:,} by {by}",
        "rfm": "RFM {r}-{f}-{m}: {label}",
        "stars": "Stars: {label}",
        "grid": "Nine-grid {label}",
        "bands": "{score}: {label}",
        "tag": "Tag {label}: {when}",
        "values": "Values used: {values}",
        "yes": "yes",
        "no": "no",
        "kept_grace": "{tier} kept until {until} (grace): graded {graded} in this run",
        "kept_runs": "{tier} kept: graded {graded}, below it {runs_text} in a row; moves down after {after} in a row",
        "kept_both": "{tier} kept until {until} (grace): graded {graded}, below it {runs_text} in a row; "
        "moves down after {after} in a row or when the grace ends",
        "down_runs": "Moved down to {graded}: below {previous} {runs_text} in a row",
        "down_grace": "Moved down to {graded}: the grace period of {previous} ended on {until}",
        "up": "Moved up to {graded} at once (was {previous})",
        "back": "{tier} again: the count of runs below it starts over",
    },
}


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if type(value) is int:  # what the decimal path gives a whole number, at a fifth of its cost
        return f"{value:,}"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{number:,.2f}".rstrip("0").rstrip(".") if number != number.to_integral() else f"{number:,.0f}"


def stability_in_words(policy: Policy, tiers: list[str], entry: Any, lang: str) -> str | None:
    """The reasons' `stability` entry as one sentence ("保级期至 2026-09-30: ..."), or None when
    stability changed nothing for the customer (`null`, or no entry)."""
    if not isinstance(entry, dict) or entry.get("outcome") not in ("kept", "down", "up", "back"):
        return None
    words = WORDS.get(lang, WORDS["en"])
    labels = tier_labels(policy, tiers, lang)

    def label(key: str) -> str:
        name = str(entry.get(key))
        return labels.get(name, name)

    runs = int(entry.get("below_runs") or 0)
    fields = {
        "tier": label("tier"),
        "graded": label("graded"),
        "previous": label("previous"),
        "until": entry.get("until"),
        "runs": runs,
        "runs_text": f"{runs} run" if runs == 1 else f"{runs} runs",
        "after": entry.get("after_runs"),
    }
    outcome = str(entry["outcome"])
    if outcome == "kept":
        has_until, has_after = entry.get("until") is not None, entry.get("after_runs") is not None
        key = "kept_both" if has_until and has_after else "kept_grace" if has_until else "kept_runs"
    elif outcome == "down":
        key = "down_grace" if entry.get("by") == "grace" else "down_runs"
    else:
        key = outcome
    return words[key].format(**fields)


def tier_in_words(
    policy: Policy, tiers: list[str], tier: Any, stability: Any, lang: str, tier_name: str | None = None
) -> list[str]:
    """Why the customer has their tier: the rule (or score) that chose it, and what stable tiers
    did to it; the first sentences of a card, and the reasons of an alert that a tier moved."""
    words = WORDS.get(lang, WORDS["en"])
    said: list[str] = []
    tier = tier if isinstance(tier, dict) else {}
    labels = tier_labels(policy, tiers, lang)
    if "rule" in tier:
        label = labels.get(str(tier["rule"]), str(tier["rule"]))
        when = tier.get("when")
        said.append(words["tier_else" if when == "else" else "tier_rule"].format(label=label, when=when))
    elif policy.primary and tier_name is not None:
        said.append(words["tier_score"].format(label=labels.get(tier_name, tier_name), score=policy.primary))
    stable = stability_in_words(policy, tiers, stability, lang)
    if stable:
        said.append(stable)
    return said


def reasons_in_words(
    policy: Policy, tiers: list[str], reasons: dict[str, Any], lang: str, tier_name: str | None = None
) -> list[str]:
    """One sentence per decision on the card: the tier (`tier_name`, the graded one, when a score
    gives it), each score, each tag, then the values."""
    words = WORDS.get(lang, WORDS["en"])
    said = tier_in_words(policy, tiers, reasons.get("tier"), reasons.get("stability"), lang, tier_name)
    for name, spec in policy.scores.items():
        found = reasons.get(name)
        if not isinstance(found, dict):
            continue
        names = score_labels(spec, lang)
        kind = str(found.get("score", spec.type))
        value = found.get({"abc": "class", "pyramid": "level", "rfm": "segment", "stars": "stars"}.get(kind, ""))
        value = value if value is not None else found.get("cell", found.get("band"))
        label = names.get(str(value), str(value))
        if kind == "abc" and "rank" in found:  # ABC by customer count: a rank, as the pyramid
            rank, of = found.get("rank", 0), found.get("of", 0)
            said.append(words["pyramid"].format(label=label, by=found.get("by"), rank=rank, of=of))
        elif kind == "abc":
            share = found.get("share_above")
            said.append(words["abc"].format(label=label, share=f"{float(share):.1%}" if share is not None else "?"))
        elif kind == "pyramid":
            said.append(
                words["pyramid"].format(
                    label=label, by=found.get("by"), rank=found.get("rank", 0), of=found.get("of", 0)
                )
            )
        elif kind == "rfm":
            said.append(words["rfm"].format(label=label, r=found.get("r"), f=found.get("f"), m=found.get("m")))
        else:
            said.append(words.get(kind, words["bands"]).format(label=label, score=name))
    rules = tag_rules(policy)
    for name, tag in (reasons.get("tags") or {}).items():
        rule = rules.get(name)
        label = rule.label.text(lang, name) if rule is not None and rule.label else name
        said.append(words["tag"].format(label=label, when=tag.get("when") if isinstance(tag, dict) else tag))
    values = reasons.get("values") or {}
    if values:
        # a flag as the reader says it (候鸟客户 = 否), not as Python prints it (False)
        said_as = {True: words["yes"], False: words["no"]}
        shown = "; ".join(
            f"{k} = {said_as[v] if isinstance(v, bool) else _number(v)}" for k, v in values.items() if v is not None
        )
        said.append(words["values"].format(values=shown))
    return said
