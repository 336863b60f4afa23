"""tierkit: customer tiering and differentiated service (客户分级管理)."""

__version__ = "0.1.0"

from typing import Any

__all__ = ["grade", "load_policy"]


def __getattr__(name: str) -> Any:
    """Keep `import tierkit` light; the engine (and Ibis) load on first use."""
    if name == "grade":
        from tierkit.engine.grade import grade

        return grade
    if name == "load_policy":
        from tierkit.policy.loader import load_policy

        return load_policy
    raise AttributeError(name)
