"""What a list of the published run can be filtered by, each with its label in a language.

The workbench's filters (tier, tag, RFM segment, nine-grid cell) offer exactly what the run's
policy has: no segment filter without an RFM score, no cell filter without a grid.
"""

from __future__ import annotations

from typing import Any

from tierkit.app.serving import ServedWorkspace
from tierkit.policy import model as m
from tierkit.policy.labels import score_labels, score_levels, tag_labels, tier_labels


def tier_choices(served: ServedWorkspace, lang: str) -> list[tuple[str, str]]:
    """(tier, label) of the published run, best first."""
    snapshot = served.snapshot()
    tiers = [str(t) for t in snapshot.run.manifest.get("tiers") or []]
    return list(tier_labels(snapshot.policy, tiers, lang).items())


def filter_choices(served: ServedWorkspace, lang: str) -> dict[str, Any]:
    """tiers, tags, segments and cells as (name, label) pairs."""
    snapshot = served.snapshot()
    policy = snapshot.policy
    labels = tag_labels(policy, lang)
    found: dict[str, Any] = {
        "tiers": tier_choices(served, lang),
        "tags": [(t, labels.get(t, t)) for t in snapshot.run.manifest.get("tags") or []],
        "segments": [],
        "cells": [],
    }
    for spec in policy.scores.values():
        if isinstance(spec, m.RfmScore):
            found["segments"] = list(score_labels(spec, lang).items())
        if isinstance(spec, m.GridScore):
            found["cells"] = [(c, score_labels(spec, lang).get(c, c)) for c in score_levels(spec)]
    return found
