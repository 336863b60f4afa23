"""Entitlements as data: what a tier (or a tag) grants, with optional limits per calendar period.

A tier's `service:` lists entitlement codes; an item may carry its own limit
(`{code: free_sim_replacement, limit: 2, per: year}`), and the catalogue entry may carry one for
every tier that grants it. `tag_entitlements:` grants a tag's holders a tier's set
(`key_person: {same_as: "5"}`, the seed's 集团关键人) and/or codes of their own. Pure functions of
the policy: which codes a tier and a set of tags grant, with which limit, and the calendar
period a limit counts in (the policy's time zone, `inputs.timezone`).

A grant without a limit is written back as its bare code, so that a policy written before limits
existed keeps its version (hash).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from tierkit.errors import did_you_mean
from tierkit.policy.base import Strict

if TYPE_CHECKING:
    from tierkit.policy.model import Policy

Period = Literal["year", "month"]
PERIODS: tuple[str, ...] = ("year", "month")


class Limited(Strict):
    """An optional limit: at most `limit` uses per calendar `per` (year or month)."""

    limit: int | None = Field(None, ge=1)
    per: Period | None = None

    @model_validator(mode="after")
    def _both(self) -> Limited:
        if self.limit is not None and self.per is None:
            raise ValueError(f"limit: {self.limit} needs per: year or month (the period the uses count in)")
        if self.per is not None and self.limit is None:
            raise ValueError(f"per: {self.per} needs a limit (e.g. limit: 2)")
        return self


class Grant(Limited):
    """One entitlement a tier's list names: a bare code, or `{code, limit, per}` with this tier's
    own limit (which wins over the catalogue's)."""

    code: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_code(cls, value: object) -> object:
        return {"code": value} if isinstance(value, str) else value

    @model_serializer(mode="wrap")
    def _bare(self, handler: SerializerFunctionWrapHandler) -> object:
        if self.limit is None and self.per is None:
            return self.code  # as written before limits existed: the policy keeps its version
        return handler(self)


class TagGrant(Strict):
    """What a tag grants its holders (graded or given by hand): a tier's set (`same_as`, with that
    tier's limits) and/or entitlements of its own."""

    same_as: str | None = None
    entitlements: list[Grant] = []

    @model_validator(mode="after")
    def _something(self) -> TagGrant:
        if self.same_as is None and not self.entitlements:
            raise ValueError("a tag grant needs same_as: TIER or entitlements: [...]")
        return self


@dataclass(frozen=True)
class Granted:
    """An entitlement in effect for one customer: its limit (None: unlimited) and who granted it,
    as ("tier", name) and ("tag", name) pairs."""

    code: str
    limit: int | None
    per: str | None
    by: tuple[tuple[str, str], ...]


KEYED = re.compile(r"^(?P<path>(?:service|tag_entitlements)(?:\.[^\s:]+)*): (?P<rest>.*)$", re.S)


def check_entitlements(policy: Policy) -> None:
    """Every code a tier or tag names is in the catalogue (when there is one); every tag grant
    names a tag of the policy and a tier with service. Raises ValueError starting with the key
    it is about (`tag_entitlements.key_person.same_as: ...`), which the loader points at."""
    catalogue = list(policy.entitlements)
    listed = ", ".join(catalogue)

    def unknown(code: str) -> str:
        return f"'{code}' is not in entitlements:{did_you_mean(code, catalogue)} (the catalogue: {listed})"

    for key, service in policy.service.items():
        for index, grant in enumerate(service.entitlements):
            if catalogue and grant.code not in policy.entitlements:
                raise ValueError(f"service.{key}.entitlements.{index}: {unknown(grant.code)}")
    tags = [t.name for t in policy.tags]
    tiers = list(policy.service)
    for name, given in policy.tag_entitlements.items():
        where = f"tag_entitlements.{name}"
        if name not in tags:
            raise ValueError(f"{where}: '{name}' is not a tag of the policy{did_you_mean(name, tags)}")
        if given.same_as is not None and given.same_as not in policy.service:
            raise ValueError(
                f"{where}.same_as: '{given.same_as}' is not a tier with service{did_you_mean(given.same_as, tiers)}"
                f" (service: {', '.join(tiers) or 'none'})"
            )
        for index, grant in enumerate(given.entitlements):
            if catalogue and grant.code not in policy.entitlements:
                raise ValueError(f"{where}.entitlements.{index}: {unknown(grant.code)}")


def keyed(message: str) -> tuple[tuple[Any, ...], str]:
    """A message of `check_entitlements` as (the key path it names, the rest), for the loader to
    say the key's line; other messages as ((), message)."""
    found = KEYED.match(message)
    if found is None:
        return (), message
    parts = found["path"].split(".")
    after = zip(["", *parts], parts, strict=False)  # an index follows `entitlements`; a tier "5" stays text
    path = tuple(int(p) if p.isdigit() and before == "entitlements" else p for before, p in after)
    return path, found["rest"]


def known_codes(policy: Policy) -> list[str]:
    """Every entitlement code the policy defines: the catalogue, then any code a tier or tag
    names that the catalogue lacks (a policy may have no catalogue)."""
    codes = list(policy.entitlements)
    named = [g.code for s in policy.service.values() for g in s.entitlements]
    named += [g.code for t in policy.tag_entitlements.values() for g in t.entitlements]
    for code in named:
        if code not in codes:
            codes.append(code)
    return codes


def label(policy: Policy, code: str, lang: str) -> str:
    entry = policy.entitlements.get(code)
    return entry.label.text(lang, code) if entry is not None and entry.label is not None else code


def _limit(policy: Policy, grant: Grant) -> tuple[int | None, str | None]:
    """The grant's own limit, else the catalogue entry's, else none."""
    if grant.limit is not None:
        return grant.limit, grant.per
    entry = policy.entitlements.get(grant.code)
    if entry is not None and entry.limit is not None:
        return entry.limit, entry.per
    return None, None


def _per_year(limit: int | None, per: str | None) -> float:
    if limit is None:
        return float("inf")
    return float(limit * 12 if per == "month" else limit)


def grants(policy: Policy, tier: str, tags: list[str]) -> dict[str, Granted]:
    """code -> what the tier and the tags grant, in the order the tier, then each tag, lists them.
    A code granted twice keeps the more generous limit (none beats any; else the most uses a year)
    and names every grantor."""
    sources: list[tuple[tuple[str, str], list[Grant]]] = []
    if tier in policy.service:
        sources.append((("tier", tier), list(policy.service[tier].entitlements)))
    for tag in tags:
        given = policy.tag_entitlements.get(tag)
        if given is None:
            continue
        listed = list(policy.service[given.same_as].entitlements) if given.same_as in policy.service else []
        sources.append((("tag", tag), listed + list(given.entitlements)))
    found: dict[str, Granted] = {}
    for by, listed in sources:
        for grant in listed:
            limit, per = _limit(policy, grant)
            before = found.get(grant.code)
            if before is None:
                found[grant.code] = Granted(grant.code, limit, per, (by,))
                continue
            names = before.by if by in before.by else (*before.by, by)
            if _per_year(limit, per) > _per_year(before.limit, before.per):
                found[grant.code] = Granted(grant.code, limit, per, names)
            else:
                found[grant.code] = Granted(grant.code, before.limit, before.per, names)
    return found


@dataclass(frozen=True)
class Window:
    """A calendar period in the policy's time zone: [start, end) as UTC instants, its key
    ("2026", "2026-03") and its first and last local days."""

    start: dt.datetime
    end: dt.datetime
    key: str
    first_day: dt.date
    last_day: dt.date


def period_of(per: str, now: dt.datetime, offset_minutes: int) -> Window:
    """The calendar year or month that holds `now` (an aware instant) where the policy lives."""
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    local = now.astimezone(zone)
    if per == "year":
        first = dt.date(local.year, 1, 1)
        after = dt.date(local.year + 1, 1, 1)
        key = f"{local.year:04d}"
    else:
        first = dt.date(local.year, local.month, 1)
        after = dt.date(local.year + (local.month == 12), local.month % 12 + 1, 1)
        key = f"{local.year:04d}-{local.month:02d}"
    start = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(after, dt.time(), zone).astimezone(dt.UTC)
    return Window(start, end, key, first, after - dt.timedelta(days=1))
