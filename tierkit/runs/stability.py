"""Stable tiers on the runs' side: which run a new grading continues from, and the card's words.

The run before a grading is the latest run of the workspace with an earlier as-of date (the
creation time breaks a tie), whether it was published or not: the runs of a workspace are its
history by as-of date (runs.files `previous` reads them the same way). A run with the same as-of
date is never the one before: re-grading a month does not count that month twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tierkit.policy.labels import tier_labels
from tierkit.policy.model import Policy
from tierkit.runs.files import Run, list_runs
from tierkit.runs.reasons_text import stability_in_words
from tierkit.workspace import Workspace


def run_before(ws: Workspace, as_of: dt.date) -> Run | None:
    """The latest run with an as-of date before `as_of`, or None."""

    def when(run: Run) -> tuple[str, str]:
        return (str(run.manifest.get("as_of", "")), str(run.manifest.get("created_at", "")))

    earlier = [run for run in list_runs(ws) if str(run.manifest.get("as_of", "")) < as_of.isoformat()]
    return max(earlier, key=when) if earlier else None


def stability_card(
    policy: Policy, tiers: list[str], row: dict[str, Any], reasons: dict[str, Any], lang: str
) -> dict[str, Any] | None:
    """What the card says about stable tiers, or None when the run's policy has none: the tier the
    rules gave, whether the tier shown is kept (and until when, after how many runs), and the
    sentence (the same as in `why`)."""
    if policy.stability is None:
        return None
    labels = tier_labels(policy, tiers, lang)
    graded = str(row.get("graded_tier") or row["tier"])
    entry = reasons.get("stability")
    kept = isinstance(entry, dict) and entry.get("outcome") == "kept"
    return {
        "kept": kept,
        "graded_tier": graded,
        "graded_tier_label": labels.get(graded, graded),
        "below_runs": row.get("below_runs") or 0,
        "kept_since": str(row["kept_since"]) if row.get("kept_since") is not None else None,
        "kept_until": entry.get("until") if kept and isinstance(entry, dict) else None,
        "downgrade_after_runs": policy.stability.downgrade_after_runs,
        "grace_days": policy.stability.grace_days,
        "text": stability_in_words(policy, tiers, entry, lang) if isinstance(entry, dict) else None,
    }
