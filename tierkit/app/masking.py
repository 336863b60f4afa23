"""Personal data as an agent may see it: enough to recognise the customer on the phone, no more.

Phone 13812345678 -> 138****5678, ID number 110105194912310021 -> 110***********0021, name
张三 -> 张*, e-mail zhangsan@qq.com -> z*******@qq.com. Masking happens when the response is
built, from the role, so that no code path hands an agent the clear value: the person on the
card, and every value the policy derives from a personal field (`AgentView`, below).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tierkit.errors import PolicyError
from tierkit.policy.expr import parse_rule
from tierkit.policy.memo import per_policy
from tierkit.policy.model import Policy

PERSONAL = ("name", "phone", "id_number", "email")


def keep_ends(text: str, head: int, tail: int) -> str:
    if len(text) <= head + tail:
        return text[:1] + "*" * (len(text) - 1) if text else text
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]


def mask_phone(value: str) -> str:
    return keep_ends(value, 3, 4)


def mask_id_number(value: str) -> str:
    return keep_ends(value, 3, 4)


def mask_name(value: str) -> str:
    return value[:1] + "*" * (len(value) - 1) if len(value) > 1 else "*"


def mask_email(value: str) -> str:
    local, at, domain = value.partition("@")
    return (local[:1] + "*" * (len(local) - 1) + at + domain) if at else mask_name(value)


MASKS = {"name": mask_name, "phone": mask_phone, "id_number": mask_id_number, "email": mask_email}


def masked(person: dict[str, Any] | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {k: (MASKS[k](str(v)) if k in MASKS and v is not None else v) for k, v in person.items()}


# --- values the policy derives from personal fields ---------------------------------------------
#
# A policy may read personal fields (a tier rule on `name`, a metric `display_name: {expr: "name"}`,
# a tag on `age`): the grading needs the clear value, an agent's card must not carry it. What is
# personal is decided from the policy's expressions, not from the values: the fields below, and
# every `expr` metric that reads one of them or another personal metric. A pure copy of a field
# (`expr: "name"`, or a copy of that copy) is shown with the field's mask (张*); anything derived
# (`year(birth_date)`, `age`, a birth date) is WITHHELD. A rule (`when`) that reads a personal name
# has its text's string literals withheld too, since a policy may name a person.

PERSONAL_FIELDS = (
    *PERSONAL,
    "birth_date",
    "age",  # whole years from birth_date, as rules read it
    "address",
    "given_name",
    "family_name",
    "street_number",
    "postcode",
)
NAME_PARTS = {"given_name": "name", "family_name": "name"}  # masked as a name is
WITHHELD = "***"
RULES_KEPT = 4096
LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def personal_names(policy: Policy) -> dict[str, str | None]:
    """Every field and metric of `policy` that is personal -> the field whose mask shows it (a
    pure copy of that field), or None (derived: withheld)."""
    found: dict[str, str | None] = {f: NAME_PARTS.get(f, f if f in MASKS else None) for f in PERSONAL_FIELDS}
    changed = True
    while changed:  # metrics read earlier metrics: until nothing new is personal
        changed = False
        for name, spec in policy.metrics.items():
            if spec.expr is None or name in found:
                continue
            node = parse_rule(spec.expr)
            if not node.names() & found.keys():
                continue
            found[name] = found[str(node.args[0])] if node.op == "name" else None
            changed = True
    return found


@dataclass(frozen=True)
class AgentView:
    """How a card shows values and rules to an agent (see `personal_names`)."""

    personal: dict[str, str | None]
    rules: dict[str, bool] = field(default_factory=dict)  # rule text -> reads a personal name

    def value(self, name: str, value: Any) -> Any:
        if name not in self.personal or value is None:
            return value
        shown_as = self.personal[name]
        return MASKS[shown_as](str(value)) if shown_as in MASKS else WITHHELD

    def rule(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        personal = self.rules.get(text)
        if personal is None:
            try:
                personal = bool(parse_rule(text).names() & self.personal.keys())
            except PolicyError:  # not a rule ("else"): say nothing it might quote
                personal = True
            if len(self.rules) < RULES_KEPT:  # the texts are the policy's: a card's "else" is parsed once
                self.rules[text] = personal
        return LITERAL.sub("'***'", text) if personal else text


@per_policy
def agent_view(policy: Policy) -> AgentView:
    """The agent's view of a policy's values, worked out once per policy and process."""
    personal = personal_names(policy)
    texts = [t.when for t in policy.tiers if t.when] + [t.when for t in policy.tags]
    return AgentView(personal, {text: bool(parse_rule(text).names() & personal.keys()) for text in texts})
