"""Training the linkage model so that it cannot learn nonsense from data with few duplicates.

Expectation maximisation finds two classes in the pairs it is shown. When the data holds no or
almost no duplicates, the "match" class it finds is something else (people born on one day who
share a common name), and disagreement can come out as evidence of a match. So:

1. u probabilities come from random pairs (splink), with a floor for levels never seen among
   them (an exact phone match among random pairs: u = 0 would make one field decide alone).
2. The share of matches is estimated from deterministic rules (same ID number; same phone or
   e-mail and name). EM runs only when those rules find a real number of duplicates.
3. Whatever was trained, each comparison is made sane: agreement is never evidence against a
   match, and the else level never evidence for one; levels left untrained take prior m
   probabilities (most duplicates agree exactly on a field they both have).
"""

from __future__ import annotations

import logging
from typing import Any

from tierkit.ingest.identity.model import MatchingPlan, training_rules

SEED = 20240105
U_FLOOR = 1e-6
EM_RECORDS, EM_PAIRS = 200_000, 1e6
DETERMINISTIC = [  # pairs these agree on are almost surely one person
    ["id_number"],
    ["phone", "name_key"],
    ["email", "name_key"],
    ["phone", "email"],
    ["phone", "birth_date"],
    ["given_name", "family_name", "birth_date"],
]
log = logging.getLogger(__name__)


def train(model: Any, plan: MatchingPlan, records: int, fields: set[str]) -> dict[str, Any]:
    """Train `model` (a splink Linker) in place; returns what was done, for the summary."""
    from splink import block_on

    from tierkit.ingest.identity.splink_adapter import (
        EMTrainingException,
        SplinkException,
        match_prior,
        set_match_prior,
    )

    notes: dict[str, Any] = {"em_rules": 0}
    model.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED)
    rules = [block_on(*rule) for rule in DETERMINISTIC if set(rule) <= fields]
    pairs = records * (records - 1) / 2
    expected = 0.0
    if rules:
        try:
            model.training.estimate_probability_two_random_records_match(rules, recall=0.8)
            expected = match_prior(model) * pairs
        except (SplinkException, ValueError, ZeroDivisionError):
            expected = 0.0
    if expected < 1:  # nothing found deterministically: about one duplicate per 1,000 records
        set_match_prior(model, max(1e-9, min(0.5, records / 1000 / max(pairs, 1))))
    notes["expected_duplicates"] = round(expected, 1)
    if expected >= max(5.0, 0.002 * records):
        for rule in training_rules(plan):
            try:
                model.training.estimate_parameters_using_expectation_maximisation(rule, **_em_sample(records))
                notes["em_rules"] += 1
            except (EMTrainingException, ValueError):
                continue  # no pairs share this key, or a level never occurs among them
    notes["repaired_levels"] = sanitize(model)
    return notes


def _em_sample(records: int) -> dict[str, float]:
    """EM on all pairs of a training rule up to EM_RECORDS records; above, on about EM_PAIRS of
    them. splink 5 samples only when given `max_pairs` (`record_sample_proportion` alone does
    nothing): one birth date pairs ~50 of a million records, [birth_date] ~20 million pairs, and
    EM ran over all of them for minutes, for m probabilities a million pairs give as well."""
    if records <= EM_RECORDS:
        return {}
    return {"max_pairs": EM_PAIRS, "record_sample_proportion": min(1.0, EM_RECORDS / records)}


def _prior_m(position: int, count: int) -> float:
    """Prior m for the non-null levels of one comparison, most specific first, else last."""
    if count == 1:
        return 1.0
    if position == 0:
        return 0.8
    if position == count - 1:
        return 0.05
    return 0.15 / max(count - 2, 1)


def sanitize(model: Any) -> int:
    """Give every level a usable m and u, and the direction evidence must have; count repairs."""
    repaired = 0
    from tierkit.ingest.identity.splink_adapter import comparisons

    for comparison in comparisons(model):
        levels = [level for level in comparison.comparison_levels if not level.is_null_level]
        for position, level in enumerate(levels):
            is_else = position == len(levels) - 1
            u = level.u_probability
            if u is None or u < U_FLOOR:
                level.u_probability = U_FLOOR
                u = U_FLOOR
                repaired += 1
            m = level.m_probability
            prior = _prior_m(position, len(levels))
            if m is None or m <= 0:
                level.m_probability = prior
                repaired += 1
            elif not is_else and m < u:  # agreement cannot count against a match
                level.m_probability = max(u, prior if prior > u else u)
                repaired += 1
            elif is_else and m > u:  # disagreement cannot count for a match
                level.m_probability = min(u, prior)
                repaired += 1
    return repaired
