"""The splink model of `tierkit link`, built from matching.yaml for the fields the input has."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from tierkit.errors import TierkitError
from tierkit.ingest.identity.blocking import Budget
from tierkit.yaml_reading import load_yaml

SPLIT_NAME = ("given_name", "family_name")


@dataclass(frozen=True)
class MatchingPlan:
    comparisons: dict[str, dict[str, Any]]
    blocking: list[list[str]]
    training: list[list[str]]
    match: float
    review: float
    budget: Budget


@lru_cache(maxsize=1)
def _settings() -> dict[str, Any]:
    text = resources.files("tierkit.ingest.identity").joinpath("matching.yaml").read_text("utf-8")
    return load_yaml(text)  # type: ignore[no-any-return]


def plan_for(fields: set[str], match: float | None = None, review: float | None = None) -> MatchingPlan:
    """The comparisons, blocking and training rules that use only `fields` (non-empty columns)."""
    data = _settings()
    usable = set(fields)
    if usable >= set(SPLIT_NAME):
        usable.discard("name_key")  # one name comparison, not two that count the same evidence
    comparisons = {name: spec for name, spec in data["comparisons"].items() if name in usable}
    if "name_key" in comparisons and "name_hanzi" in fields:  # Chinese names: compare characters first
        comparisons["name_key"] = {**comparisons["name_key"], "hanzi": True}
    if len(comparisons) < 2:
        raise TierkitError(
            "linking needs at least two identity fields among name, phone, email, id_number, birth_date, "
            f"address... (found: {', '.join(sorted(fields)) or 'none'})"
        )
    keys = usable | {"name_key", "name_sorted", "name_hanzi", "surname_key"} & fields
    blocking = [rule for rule in data["blocking"] if set(rule) <= keys]
    training = [rule for rule in data["training"] if set(rule) <= keys and set(comparisons) - set(rule)]
    thresholds = data["thresholds"]
    plan = MatchingPlan(
        comparisons,
        blocking,
        training,
        match if match is not None else float(thresholds["match"]),
        review if review is not None else float(thresholds["review"]),
        Budget(float(data["blocking_budget"]["pairs_per_record"]), int(data["blocking_budget"]["floor"])),
    )
    if not 0 < plan.review <= plan.match <= 1:
        raise TierkitError(f"thresholds: need 0 < review ({plan.review}) <= match ({plan.match}) <= 1")
    return plan


def _comparison(name: str, spec: dict[str, Any]) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    kind, thresholds = spec["kind"], spec.get("thresholds", [])
    if kind == "name":  # same characters (a common name counts for less), same sound, same syllables
        hanzi = [cll.ExactMatchLevel("name_hanzi", term_frequency_adjustments=True)] if spec.get("hanzi") else []
        levels: list[Any] = [
            cll.NullLevel(name),
            *hanzi,
            cll.ExactMatchLevel(name),
            cll.CustomLevel("name_sorted_l = name_sorted_r", label_for_charts="same syllables, other order"),
            *(cll.JaroWinklerLevel(name, t) for t in thresholds),
            cll.ElseLevel(),
        ]
        return cl.CustomComparison(levels, output_column_name=name)
    made: Any
    if kind == "exact":
        made = cl.ExactMatch(name)
    elif kind == "levenshtein":
        made = cl.LevenshteinAtThresholds(name, thresholds)
    elif kind == "damerau_levenshtein":
        made = cl.DamerauLevenshteinAtThresholds(name, thresholds)
    elif kind == "jaro_winkler":
        made = cl.JaroWinklerAtThresholds(name, thresholds)
    else:
        raise TierkitError(f"matching.yaml: {name}: unknown comparison kind '{kind}'")
    if spec.get("term_frequency"):
        made = made.configure(term_frequency_adjustments=True)
    return made


def splink_settings(plan: MatchingPlan, prior: float) -> Any:
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=[_comparison(name, spec) for name, spec in plan.comparisons.items()],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in plan.blocking],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )


def training_rules(plan: MatchingPlan) -> list[Any]:
    from splink import block_on

    return [block_on(*rule) for rule in plan.training]
