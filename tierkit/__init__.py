"""tierkit: customer tiering and differentiated service (客户分级管理).

The public Python surface: everything the README uses, importable from `tierkit` itself.
`import tierkit` stays light; the engine (and Ibis) load on first use of a name below.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tierkit.errors import InputError, PolicyError, TierkitError, WorkspaceError
from tierkit.version import __version__

if TYPE_CHECKING:
    from tierkit.app.grading import grade
    from tierkit.app.policies import check
    from tierkit.backends import Backend, connect
    from tierkit.policy.kinds import MetricKind, metric_kinds, register
    from tierkit.policy.loader import LoadedPolicy, load_policy
    from tierkit.runs.result import GradedResult

__all__ = [
    "Backend",
    "GradedResult",
    "InputError",
    "LoadedPolicy",
    "MetricKind",
    "PolicyError",
    "TierkitError",
    "WorkspaceError",
    "__version__",
    "check",
    "connect",
    "grade",
    "load_policy",
    "metric_kinds",
    "register",
]

_LAZY = {
    "grade": "tierkit.app.grading",
    "check": "tierkit.app.policies",
    "connect": "tierkit.backends",
    "Backend": "tierkit.backends",
    "load_policy": "tierkit.policy.loader",
    "LoadedPolicy": "tierkit.policy.loader",
    "GradedResult": "tierkit.runs.result",
    "MetricKind": "tierkit.policy.kinds",
    "register": "tierkit.policy.kinds",
    "metric_kinds": "tierkit.policy.kinds",
}


def __getattr__(name: str) -> Any:
    """Load the engine and its friends on first use: `import tierkit` costs no Ibis import."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tierkit' has no attribute '{name}'")
