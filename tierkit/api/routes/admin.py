"""/audit: who viewed, changed or exported what (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tierkit.api.deps import ServiceDep, allow
from tierkit.api.schemas import _utc
from tierkit.app.access import audit_entries

router = APIRouter(tags=["admin"])


@router.get("/audit", **allow("admin"))
def audit_log(
    service: ServiceDep,
    target: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The newest audit entries, optionally for one customer (target)."""
    return [{**e, "at": _utc(e["at"]).isoformat()} for e in audit_entries(service, target, limit)]
