"""Score specifications: what an RFM, ABC, pyramid, stars, grid or bands score may say.

Split from `model` so that each file holds one idea: these are the scores' settings, checked
by pydantic; `tierkit.engine.scores` turns them into engine expressions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from tierkit.policy.base import Label, Strict


class RfmSegment(Strict):
    name: str
    label: Label | None = None
    r: tuple[int, int] | None = None
    f: tuple[int, int] | None = None
    m: tuple[int, int] | None = None
    action: str | None = None


class RfmScore(Strict):
    type: Literal["rfm"] = "rfm"
    bins: int = Field(5, ge=2, le=10)
    method: Literal["rank", "value", "breaks"] = "rank"
    recency: str = "recency_days"
    frequency: str = "orders_all"
    monetary: str = "spend_all"
    breaks: dict[Literal["recency", "frequency", "monetary"], list[Decimal]] | None = None
    segments: str | list[RfmSegment] = "rf10"

    @model_validator(mode="after")
    def _breaks(self) -> RfmScore:
        if self.method == "breaks":
            for axis in ("recency", "frequency", "monetary"):
                cuts = (self.breaks or {}).get(axis)  # type: ignore[call-overload]
                if cuts is None or len(cuts) != self.bins - 1 or list(cuts) != sorted(cuts):
                    raise ValueError(f"method breaks needs breaks.{axis}: {self.bins - 1} ascending numbers")
        return self


def _check_fractions(cuts: list[Decimal]) -> list[Decimal]:
    if list(cuts) != sorted(cuts) or any(not 0 < c < 1 for c in cuts) or len(set(cuts)) != len(cuts):
        raise ValueError("cuts must be increasing fractions between 0 and 1, such as [0.8, 0.95]")
    return cuts


class AbcScore(Strict):
    """ABC two ways, as the seeds write it: `split: value` (default) cuts the cumulative share of
    value (A holds 80%, B the next 15%, C the last 5%); `split: customers` cuts the customers
    ranked by value (二八定律: the top 20% are A, the next 70% B, the last 10% C), whose cuts
    default to [0.2, 0.9]. Unset means value, and stays unset, so that no existing policy's
    version changes (the version hash leaves out fields that are None)."""

    type: Literal["abc"] = "abc"
    by: str = "spend_12m"
    split: Literal["value", "customers"] | None = None
    cuts: list[Decimal] = [Decimal("0.80"), Decimal("0.95")]
    classes: list[str] = ["A", "B", "C"]
    labels: dict[str, Label] = {}

    _cuts = field_validator("cuts")(classmethod(lambda cls, v: _check_fractions(v)))

    @model_validator(mode="before")
    @classmethod
    def _count_cuts(cls, data: object) -> object:
        """By customers, the cuts a reader of the seed expects unless others are given."""
        if isinstance(data, dict) and data.get("split") == "customers" and "cuts" not in data:
            return {**data, "cuts": [Decimal("0.2"), Decimal("0.9")]}
        return data

    @model_validator(mode="after")
    def _sizes(self) -> AbcScore:
        if len(self.classes) != len(self.cuts) + 1:
            raise ValueError(f"{len(self.cuts)} cuts make {len(self.cuts) + 1} classes, not {len(self.classes)}")
        return self


class PyramidScore(Strict):
    type: Literal["pyramid"] = "pyramid"
    by: str = "spend_12m"
    cuts: list[Decimal] = [Decimal("0.01"), Decimal("0.20"), Decimal("0.50")]
    levels: list[str] = ["key", "major", "ordinary", "small"]
    labels: dict[str, Label] = {}

    _cuts = field_validator("cuts")(classmethod(lambda cls, v: _check_fractions(v)))

    @model_validator(mode="after")
    def _sizes(self) -> PyramidScore:
        if len(self.levels) != len(self.cuts) + 1:
            raise ValueError(f"{len(self.cuts)} cuts make {len(self.cuts) + 1} levels, not {len(self.levels)}")
        return self


class StarLevel(Strict):
    stars: int = Field(ge=2, le=9)
    spend: Decimal | None = None
    points: Decimal | None = None


class StarsScore(Strict):
    type: Literal["stars"] = "stars"
    spend: str = "arpu_6m"
    points: str = "points_12m"
    match: Literal["any", "all"] = "any"
    levels: list[StarLevel]
    labels: dict[str, Label] = {}

    @model_validator(mode="after")
    def _ordered(self) -> StarsScore:
        stars = [level.stars for level in self.levels]
        if stars != sorted(stars, reverse=True) or len(set(stars)) != len(stars):
            raise ValueError("levels must go from the most stars down, each once")
        return self


class GridAxis(Strict):
    by: str
    breaks: list[Decimal] | None = None  # two values, high then middle: >= breaks[0] is level 1
    top: list[Decimal] | None = None  # two rank shares: top 20% level 1, next to 50% level 2
    values: list[list[str]] | None = None  # a text attribute: [level-1 values], [level-2 values]; the rest 3
    label: Label | None = None

    @model_validator(mode="after")
    def _one(self) -> GridAxis:
        if sum(x is not None for x in (self.breaks, self.top, self.values)) != 1:
            raise ValueError(
                "an axis needs one of breaks (two values), top (two shares) or values (two lists of text values)"
            )
        if self.values is not None:
            given = [v for level in self.values for v in level]
            if len(self.values) != 2 or not all(self.values):
                raise ValueError("values: two lists, the level-1 values then the level-2 ones, e.g. [[三级], [二级]]")
            if len(set(given)) != len(given):
                raise ValueError("values: a value may be in one level only")
        if self.breaks is not None and (len(self.breaks) != 2 or self.breaks[0] < self.breaks[1]):
            raise ValueError("breaks: two values, the high one first, e.g. [100000, 20000]")
        if self.top is not None:
            if len(self.top) != 2:
                raise ValueError("top: two shares, e.g. [0.2, 0.5]")
            _check_fractions(self.top)
        return self


class GridScore(Strict):
    type: Literal["grid"] = "grid"
    letter: GridAxis
    digit: GridAxis
    labels: dict[str, Label] = {}


class BandsScore(Strict):
    """Demographic bands: a number cut at breaks (age 25/35/45/60), or text values grouped
    (regions into 华南/华北, occupations into groups), the rest in `other`."""

    type: Literal["bands"] = "bands"
    of: str
    breaks: list[Decimal] | None = None
    names: list[str] | None = None
    groups: dict[str, list[str]] | None = None
    other: str = "other"
    labels: dict[str, Label] = {}

    @model_validator(mode="after")
    def _sizes(self) -> BandsScore:
        if (self.groups is None) == (self.breaks is None):
            raise ValueError("bands: give either breaks and names (a number) or groups (text values)")
        if self.breaks is not None:
            if (
                self.names is None
                or list(self.breaks) != sorted(self.breaks)
                or len(self.names) != len(self.breaks) + 1
            ):
                raise ValueError("bands: ascending breaks and one more name than breaks")
        elif self.names is not None:
            raise ValueError("bands: names go with breaks; groups are named by their keys")
        else:
            values = [v for members in (self.groups or {}).values() for v in members]
            if len(set(values)) != len(values):
                raise ValueError("bands: a value may belong to one group only")
            if self.other in (self.groups or {}):
                raise ValueError(f"bands: '{self.other}' is the band for values in no group, not a group")
        return self

    @property
    def bands(self) -> list[str]:
        return list(self.names or []) if self.breaks is not None else [*(self.groups or {}), self.other]


Score = Annotated[
    RfmScore | AbcScore | PyramidScore | StarsScore | GridScore | BandsScore,
    Field(discriminator="type"),
]
SCORE_TYPES = ("rfm", "abc", "pyramid", "stars", "grid", "bands")
