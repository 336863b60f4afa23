"""The input tables of one grading, and the backend they live on."""

from __future__ import annotations

from dataclasses import dataclass

from tierkit.backends import Backend
from tierkit.tables.readers import SourceTable


@dataclass
class Inputs:
    orders: SourceTable
    customers: SourceTable | None = None
    interactions: SourceTable | None = None
    contacts: SourceTable | None = None
    backend: Backend | None = None  # where the tables live (a StandIn for `tierkit check`: nothing runs)

    @property
    def runs(self) -> bool:
        """Whether expressions over these tables run (False for `tierkit check`'s stand-ins)."""
        return self.backend is not None and self.backend.runs

    def table(self, name: str) -> SourceTable | None:
        return getattr(self, name)  # type: ignore[no-any-return]
