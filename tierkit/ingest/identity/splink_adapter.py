"""The few splink internals linking needs, in one place.

splink's public API has no setter for the prior match probability and no list of a model's
comparisons; tierkit needs both (a sane prior on data with few duplicates, evidence directions
repaired after training). Reaching into `_settings_obj` happens here only, and
tests/unit/test_library_adapters.py fails loudly when a splink release moves it.
"""

from __future__ import annotations

from typing import Any

from splink.internals.exceptions import EMTrainingException, SplinkException

__all__ = ["EMTrainingException", "SplinkException", "comparisons", "match_prior", "set_match_prior"]


def match_prior(linker: Any) -> float:
    """The probability that two random records are the same person, as the linker holds it."""
    return float(linker._settings_obj._probability_two_random_records_match)


def set_match_prior(linker: Any, value: float) -> None:
    linker._settings_obj._probability_two_random_records_match = value


def comparisons(linker: Any) -> list[Any]:
    """The linker's comparisons, each with `comparison_levels` (m and u probabilities)."""
    return list(linker._settings_obj.comparisons)
