"""What a card says of a customer's churn signals: the catalogue's words, and nothing of the model.

Why apart from models.churn_signals (which signals the model may use, and the engine expression
that picks each customer's reasons) and models.churn_model (the fit): showing a card reads a
value the grading already wrote, `late_payments_12m=2;recency_days=210`, and turns it into
sentences. That needs churn_features.yaml and string handling only; importing the model's
modules for it loaded Ibis, numpy and scipy into every `tierkit show` (about 0.3 s of its 1.2 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from tierkit.yaml_reading import load_yaml

SEPARATOR = ";"  # between reasons; '=' between a signal and its value


@dataclass(frozen=True)
class Signal:
    """One early-warning signal of churn_features.yaml."""

    name: str
    metric: dict[str, Any] | None  # None: computed beside the metrics (categories_declining)
    leaving: Literal["up", "down"]
    decimals: int  # the precision its value is carried with
    label: dict[str, str]  # lang -> a few words
    words: dict[str, str]  # lang -> the card's sentence, with {value}

    def say(self, value: float | int | None, lang: str) -> str:
        """The card's sentence for one customer's value (the label alone when there is none)."""
        template = self.words.get(lang) or self.words.get("en")
        if value is None or template is None:
            return self.label.get(lang) or self.label.get("en") or self.name
        return template.format(value=value)

    def parse(self, text: str) -> float | int:
        return int(text) if self.decimals == 0 else float(text)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Signal]:
    """Every signal churn_features.yaml declares, in its order."""
    text = resources.files("tierkit.models").joinpath("churn_features.yaml").read_text("utf-8")
    found = {}
    for name, entry in load_yaml(text)["signals"].items():
        if entry.get("leaving") not in ("up", "down"):
            raise ValueError(f"churn_features.yaml: {name}: leaving must be up or down")
        found[name] = Signal(
            name, entry.get("metric"), entry["leaving"], int(entry.get("decimals", 0)), entry["name"], entry["words"]
        )
    return found


def parse_reasons(text: object) -> list[tuple[str, str | None]]:
    """'a=1;b=2' -> [(a, '1'), (b, '2')]; a run written before values were carried
    ('a,b') -> [(a, None), (b, None)]."""
    raw = str(text or "")
    items = raw.split(SEPARATOR) if "=" in raw else raw.split(",")
    found: list[tuple[str, str | None]] = []
    for item in filter(None, (i.strip() for i in items)):
        name, has_value, value = item.partition("=")
        found.append((name, value if has_value else None))
    return found


def reason_words(text: object, lang: str) -> list[str]:
    """What the card says for a `churn: signals` value: one sentence per reason, in `lang`."""
    known = catalogue()
    said = []
    for name, value in parse_reasons(text):
        signal = known.get(name)
        if signal is None:  # a signal this version does not know (a newer catalogue): its name
            said.append(name if value is None else f"{name} = {value}")
        else:
            said.append(signal.say(None if value is None else signal.parse(value), lang))
    return said


def display(value: object, parameters: object, lang: str) -> list[str] | None:
    """The card's words for a churn metric (the `churn:` kind's `display`, models.kinds): a
    `signals` metric's reasons, each with the customer's own value ("付款延迟 2 次 / 12 个月");
    None for the risk (shown as the number it is)."""
    if getattr(parameters, "churn", None) != "signals":
        return None
    return reason_words(value, lang)
