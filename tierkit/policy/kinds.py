"""Metric kinds that plug-ins add to the policy language (`clv:`, `churn:` ...).

Why a registry: a model (CLV, churn, a propensity score of your own) is a new kind of metric.
It brings its parameters (checked here, with the policy's file and line) and its builder (an
Ibis table the engine joins in), and neither the engine, the policy schema nor the card names
it: like ibis backends or datasette plugins, a kind is found through the entry point group
`tierkit.metric_kinds`, or given to `register()` (a notebook, a test).

The declaration is light (pydantic only): the builder and the card's wording are named as
"module:attribute" and imported only when a policy uses the kind.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from pydantic import model_validator

from tierkit.errors import PolicyError
from tierkit.policy.base import Strict

ENTRY_POINTS = "tierkit.metric_kinds"


@dataclass(frozen=True)
class MetricKind:
    """A kind of metric a plug-in adds: the YAML key, its parameters, where its code lives."""

    name: str  # the key that makes a metric this kind: `churn: risk`
    parameters: type[Strict]  # the metric's whole mapping (the key itself included), checked by pydantic
    build: str  # "module:attribute": the engine's builder (see tierkit.engine.kinds.TableKind)
    display: str | None = None  # "module:function(value, parameters, lang) -> list[str] | None": the card's words
    description: str = ""

    def load(self, which: str = "build") -> Any:
        """The object a "module:attribute" names, imported now."""
        target = getattr(self, which)
        if not target:
            return None
        module, _, attribute = target.partition(":")
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise PolicyError(f"metric kind '{self.name}': cannot load {target} ({exc})") from exc


_registered: dict[str, MetricKind] = {}


def register(kind: MetricKind) -> None:
    """Add a kind for this process (entry points are the way for an installed package)."""
    _registered[kind.name] = kind


def unregister(name: str) -> None:
    """Remove a kind `register` added (tests, notebooks trying a kind out); installed kinds stay."""
    _registered.pop(name, None)


@lru_cache(maxsize=1)
def _from_entry_points() -> dict[str, MetricKind]:
    found: dict[str, MetricKind] = {}
    for point in entry_points(group=ENTRY_POINTS):
        kind = point.load()
        if not isinstance(kind, MetricKind):
            raise PolicyError(f"entry point {point.name} = {point.value}: not a tierkit MetricKind")
        found[kind.name] = kind
    return found


def metric_kinds() -> dict[str, MetricKind]:
    """Every plug-in kind: installed ones, then those registered in this process."""
    return {**_from_entry_points(), **_registered}


def kind_named(name: str) -> MetricKind:
    return metric_kinds()[name]


def shown(kind: str, parameters: Strict, value: Any, lang: str) -> Any:
    """A plug-in metric's value as the card shows it: the kind's words (a list), else the value."""
    display = kind_named(kind).load("display") if kind in metric_kinds() else None
    words = display(value, parameters, lang) if display is not None else None
    return value if words is None else words


class KindParameters(Strict):
    """The base of a plug-in kind's parameter model: the keys of built-in metrics that mean
    nothing for the kind are named as such (not as unknown fields)."""

    description: str | None = None

    @classmethod
    def kind_key(cls) -> str:
        """The key that names the kind: the kind's first own field."""
        return next(name for name in cls.model_fields if name not in KindParameters.model_fields)

    @model_validator(mode="before")
    @classmethod
    def _meaningless(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("window", "per", "where", "from", "threshold", "max_years"):
                if key in data and key not in cls.model_fields:
                    raise ValueError(f"{key} has no meaning for a {cls.kind_key()} metric")
        return data
