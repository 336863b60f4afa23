"""Errors users can act on.

Every error a user can fix (a bad policy, a bad file, a bad date) is a `TierkitError`: the CLI
prints its one-line message and exits with code 2, and nothing is written. Anything else is a
bug in tierkit and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TierkitError(Exception):
    """An error in what the user gave us; the message names the file, row or field."""

    exit_code = 2


class PolicyError(TierkitError):
    """A policy file that does not validate, or a rule that does not parse."""


class InputError(TierkitError):
    """A data file that is missing, empty, or holds a value we cannot read."""


class WorkspaceError(TierkitError):
    """A workspace that does not exist or is missing a piece a command needs."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
