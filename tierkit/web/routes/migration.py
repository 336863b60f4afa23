"""/app/migration: how customers moved between the tiers of two runs.

The figures are tierkit.app.runs.diff's (the matrix of counts and value, and who is in one cell);
this module picks the two runs (by default the published one and the run before it by as-of
date), orders the tiers as the run's manifest does (index 0 best), names them in the page's
language, and shapes the matrix into a table, a Sankey diagram and the upgrade/downgrade KPIs.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tierkit.api.deps import ServiceDep
from tierkit.app.runs import diff
from tierkit.errors import NotFoundError, TierkitError
from tierkit.policy.labels import tier_labels
from tierkit.runs.card import run_policy
from tierkit.runs.diff import GONE, NEW
from tierkit.runs.files import Run
from tierkit.web.catalogue import text
from tierkit.web.render import page
from tierkit.web.visitors import StaffDep

router = APIRouter(prefix="/app", include_in_schema=False)
PAGE = 50  # customers of one cell per page
NONE = "(none)"  # a customer the run graded into no tier (runs.diff's name for it)


def _defaults(served: ServiceDep, ordered: list[Run]) -> tuple[str, str]:
    """The published run (else the latest by as-of) and the run before it by as-of date (else
    the one after it)."""
    ids = [r.run_id for r in ordered]
    current = served.current_id()
    to = current if current in ids else ids[-1]
    at = ids.index(to)
    return (ids[at - 1] if at > 0 else ids[at + 1]), to


def _url(run_a: str, run_b: str, **more: Any) -> str:
    return "/app/migration?" + urlencode({"from": run_a, "to": run_b, **more})


def _tier_order(a: Run, b: Run, found: dict[str, Any]) -> list[str]:
    """The tiers best first: the later run's manifest order, then the earlier run's tiers it
    lacks, then any other tier the matrix names (no tier last)."""
    order: list[str] = []
    for run in (b, a):
        order += [str(t) for t in run.manifest.get("tiers") or [] if str(t) not in order]
    seen = {str(m[k]) for m in found["matrix"] for k in ("from", "to")} - {NEW, GONE, *order}
    return order + sorted(seen - {NONE}) + ([NONE] if NONE in seen else [])


def _labels(a: Run, b: Run, order: list[str], lang: str) -> dict[str, str]:
    """Each tier's label in the page's language (the later run's words win), and the words for
    the rows and columns that are not tiers."""
    labels = {t: t for t in order}
    for run in (a, b):
        labels.update(tier_labels(run_policy(run), [str(t) for t in run.manifest.get("tiers") or []], lang))
    labels[NONE] = text("migration.no_tier", lang)
    labels[NEW] = text("migration.new", lang)
    labels[GONE] = text("migration.gone", lang)
    return labels


def _suffixes(found: dict[str, Any]) -> tuple[str, str]:
    """What tells the two sides of the Sankey apart: the as-of dates (MM-DD when that differs)."""
    a, b = str(found["as_of_a"]), str(found["as_of_b"])
    if a[5:] != b[5:]:
        return a[5:], b[5:]
    if a != b:
        return a, b
    return found["run_a"], found["run_b"]


def _shape(found: dict[str, Any], order: list[str], labels: dict[str, str], lang: str) -> dict[str, Any]:
    """The matrix as rows and columns, the KPIs and the Sankey data, with every link a URL."""
    run_a, run_b = found["run_a"], found["run_b"]
    cells = {(str(m["from"]), str(m["to"])): m for m in found["matrix"]}
    rows, cols = [*order, NEW], [*order, GONE]
    rank = {t: i for i, t in enumerate(order)}

    def cell(f: str, t: str) -> dict[str, Any]:
        m = cells.get((f, t))
        n = int(m["customers"]) if m else 0
        move = "stay" if f == t else "new" if f == NEW else "gone" if t == GONE else "up" if rank[t] < rank[f] else "down"
        return {
            "from": f,
            "to": t,
            "customers": n,
            "value_a": m["value_a"] if m else None,
            "value_b": m["value_b"] if m else None,
            "move": move,
            "href": _url(run_a, run_b, cell_from=f, cell_to=t) + "#cell",
        }

    table = [{"tier": f, "label": labels[f], "cells": [cell(f, t) for t in cols]} for f in rows]
    for row in table:
        row["total"] = sum(c["customers"] for c in row["cells"])
    col_totals = [sum(row["cells"][i]["customers"] for row in table) for i in range(len(cols))]
    moves = {"up": 0, "down": 0, "stay": 0, "new": 0, "gone": 0}
    for row in table:
        for c in row["cells"]:
            moves[c["move"]] += c["customers"]
    both = moves["up"] + moves["down"] + moves["stay"]
    left, right = _suffixes(found)

    def node(tier: str, side: str) -> str:
        if tier in (NEW, GONE):
            return labels[tier]
        return f"{labels[tier]} ({left if side == 'a' else right})"

    links = [
        {"source": node(c["from"], "a"), "target": node(c["to"], "b"), "value": c["customers"], "href": c["href"]}
        for row in table
        for c in row["cells"]
        if c["customers"]
    ]
    names = [node(t, "a") for t in rows] + [node(t, "b") for t in cols]
    used = {x["source"] for x in links} | {x["target"] for x in links}
    sankey = {"nodes": [{"name": n} for n in names if n in used], "links": links}
    return {
        "rows": table,
        "cols": [{"tier": t, "label": labels[t]} for t in cols],
        "col_totals": col_totals,
        "total": sum(col_totals),
        "moves": moves,
        "both": both,
        "sankey": sankey,
    }


@router.get("/migration", response_class=HTMLResponse)
def migration_page(
    request: Request,
    seen: StaffDep,
    served: ServiceDep,
    run_from: Annotated[str | None, Query(alias="from", max_length=100)] = None,
    run_to: Annotated[str | None, Query(alias="to", max_length=100)] = None,
    cell_from: Annotated[str | None, Query(max_length=200)] = None,
    cell_to: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    lang = seen.lang
    ordered = served.runs()
    if len(ordered) < 2:
        return page(request, "migration.html", lang, seen, here="migration", runs=ordered, found=None)
    default_a, default_b = _defaults(served, ordered)
    asked_a, asked_b = run_from or default_a, run_to or default_b
    cell = (cell_from, cell_to) if cell_from and cell_to else None
    try:
        found = diff(served.workspace.root, asked_a, asked_b, PAGE, cell=cell, offset=offset)
    except TierkitError as err:
        wrong = asked_a if not any(r.run_id.startswith(asked_a) for r in ordered) else asked_b
        raise NotFoundError(text("migration.no_such_run", lang, run=wrong, detail=str(err))) from err
    by_id = {r.run_id: r for r in ordered}
    a, b = by_id[found["run_a"]], by_id[found["run_b"]]
    order = _tier_order(a, b, found)
    labels = _labels(a, b, order, lang)
    view = _shape(found, order, labels, lang)
    if cell is not None and (cell[0] not in {r["tier"] for r in view["rows"]} or cell[1] not in labels):
        raise NotFoundError(text("migration.no_such_cell", lang, cell_from=cell[0], cell_to=cell[1]))
    listed = None
    if cell is not None:
        listed = {
            "from": cell[0],
            "to": cell[1],
            "movers": found["movers"],
            "total": found["movers_total"],
            "limit": PAGE,
            "offset": offset,
        }
    return page(
        request,
        "migration.html",
        lang,
        seen,
        here="migration",
        runs=ordered,
        current=served.current_id(),
        found=found,
        run_a=a,
        run_b=b,
        labels=labels,
        view=view,
        listed=listed,
        same=a.run_id == b.run_id,
    )
