"""A route that reads its own request: the agent's card, the one route an agent waits on.

Why: FastAPI's dependency resolution (the key, the service, the path and query parameters, each
resolved and validated per request) cost the card route about a fifth of its time under load
(docs/benchmarks.md, "Round three"). The card route therefore takes only the `Request` and
reads it with the functions here, which are the dependencies' own code, not a copy of it: the
key is checked by `deps.current_user`, the role as `deps.allow` checks it, a query value by the
same pydantic validation FastAPI runs, a bad one answered with FastAPI's 422 (loc `["query",
name]`). `read_by_hand(...)` writes the same parameters and roles into the OpenAPI schema that
the declared route had, from the same types, so that the documentation and fuzzing see no
difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from tierkit.api.deps import admitted, current_user
from tierkit.app.customers import Caller


@dataclass(frozen=True)
class QueryValue:
    """One query parameter a route reads itself: its name, type (as a pydantic adapter) and
    the words of its documentation."""

    name: str
    adapter: TypeAdapter[Any]
    description: str

    def of(self, request: Request) -> Any:
        """The value in `request`, validated as FastAPI would (absent: the type's None)."""
        try:
            return self.adapter.validate_python(request.query_params.get(self.name))
        except ValidationError as err:
            problems = err.errors(include_url=False)
            raise RequestValidationError([{**p, "loc": ("query", self.name, *p["loc"])} for p in problems]) from None

    def schema(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "schema": self.adapter.json_schema() | {"description": self.description},
            "description": self.description,
        }


async def caller_of(request: Request, roles: tuple[str, ...]) -> Caller:
    """The caller, by the key and role checks the dependencies make (401, 403)."""
    return admitted(await current_user(request), roles)


def read_by_hand(roles: tuple[str, ...], path: tuple[str, ...], query: tuple[QueryValue, ...]) -> dict[str, Any]:
    """Route keyword arguments documenting what the route reads itself: the `path` parameters
    (text), the `query` values, the roles (`x-roles`, as `allow` writes them) and the 422 answer."""
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in path]
    return {
        "openapi_extra": {"parameters": parameters + [value.schema() for value in query], "x-roles": list(roles)},
        "responses": {
            422: {
                "description": "Validation Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
            }
        },
    }
