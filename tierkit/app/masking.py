"""Personal data as an agent may see it: enough to recognise the customer on the phone, no more.

Phone 13812345678 -> 138****5678, ID number 110105194912310021 -> 110***********0021, name
张三 -> 张*, e-mail zhangsan@qq.com -> z*******@qq.com. Masking happens when the response is
built, from the role, so that no code path hands an agent the clear value.
"""

from __future__ import annotations

from typing import Any

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
