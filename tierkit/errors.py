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


class WorkspaceBusyError(WorkspaceError):
    """Another command kept writing the workspace longer than this one would wait (try again
    when it is done; an API may answer 503)."""


class NotFoundError(TierkitError):
    """A customer, run or job that is not there (the API answers 404)."""


class NotAllowedError(TierkitError):
    """What a role may not do, such as an agent searching by personal data (the API answers 403)."""


class RequestError(TierkitError):
    """A request that names something the run cannot answer, such as a filter on a score the
    policy does not have (the API answers 400)."""


class ValueRefusedError(TierkitError):
    """A value that is well-formed but refused, such as an override to a tier that does not exist
    or an expiry in the past (the API answers 422)."""


class ConflictError(TierkitError):
    """A request the current state refuses, such as using an entitlement the customer's tier does
    not grant or whose limit is spent (the API answers 409, with the reason in words; the CLI
    exits 1: the input was good, the answer is no)."""

    exit_code = 1


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class TooManyError(TierkitError):
    """Too many of one kind of request in a short time (an API maps it to 429)."""


class DiskFullError(TierkitError):
    """No room left to write a file or the store: its disk (or quota) is full. The message names
    what could not be written; what was published before stays as it was (the API answers 507).
    Raised by tierkit.full_disk, which recognises each library's way of saying it."""

    def __init__(self, message: str, reason: str = "no space left on device") -> None:
        super().__init__(message)
        self.reason = reason


class StoreFullError(DiskFullError):
    """The database server (PostgreSQL) has no room left (SQLSTATE 53100): the transaction was
    rolled back; the service cannot take writes until its server has room (the API answers 503)."""
