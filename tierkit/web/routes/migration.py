"""/app/migration: how customers moved between the tiers of two runs.

The figures are tierkit.app.runs.diff's (the matrix of counts and value, and who is in one cell);
this module picks the two runs (by default the published one and the run before it by as-of
date), orders the tiers as the run's manifest does (index 0 best), names them in the page's
language, and shapes the matrix into a table, a Sankey diagram and the upgrade/downgrade KPIs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tierkit.app.runs import GONE, NEW, NONE, diff
from tierkit.errors import NotFoundError, TierkitError
from tierkit.web.catalogue import text
from tierkit.web.render import page
from tierkit.web.visitors import ServiceDep, StaffDep

router = APIRouter(prefix="/app", include_in_schema=False)
PAGE = 50  # customers of one cell per page
# the matrix's names for what is not a tier (tierkit.runs.diff): only in the later run, only in
# the earlier one, graded into no tier
TIER_COLOURS = ("#1f4e79", "#2e75b6", "#5b9bd5", "#9dc3e6", "#c9ddf0")  # best tier darkest (charts.js's palette)
COLOURS = {NEW: "#2d6a2d", GONE: "#a33a2f", NONE: "#8a96a3"}
Run = Any  # a run of ServedWorkspace.runs(): its run_id and manifest are read


def _pair(served: ServiceDep, ordered: list[Run], asked_a: str | None, asked_b: str | None) -> tuple[str, str]:
    """The two runs to compare. By default the published run (else the latest by as-of) and the
    run before it by as-of date; a run given alone is compared with its neighbour before it (else
    after it), or with the published run when `from` is given alone."""
    ids = [r.run_id for r in ordered]
    current = served.current_id()

    def found(ref: str) -> str | None:  # an id or a unique prefix, as runs.files.load_run reads it
        if ref == "current":
            return current if current in ids else None
        if ref in ids:
            return ref
        matches = [i for i in ids if i.startswith(ref)]
        return matches[0] if len(matches) == 1 else None

    def neighbour(run_id: str) -> str:
        at = ids.index(run_id)
        return ids[at - 1] if at > 0 else ids[at + 1]

    latest = current if current is not None and current in ids else ids[-1]
    if asked_a and asked_b:
        return asked_a, asked_b
    if asked_b:
        chosen = found(asked_b)
        return (neighbour(chosen) if chosen else asked_b), asked_b
    if asked_a:
        chosen = found(asked_a)
        if chosen is None:
            return asked_a, latest
        return asked_a, (latest if latest != chosen else neighbour(chosen))
    return neighbour(latest), latest


def _change(mover: dict[str, Any]) -> Decimal | None:
    """Value after minus value before, when the customer is in both runs."""
    if mover["value_a"] is None or mover["value_b"] is None:
        return None
    return Decimal(mover["value_b"]) - Decimal(mover["value_a"])


def _known(ref: str, ordered: list[Run]) -> bool:
    """Whether `ref` names one run as runs.files.load_run reads it (an id or a unique prefix)."""
    ids = [r.run_id for r in ordered]
    return ref in ids or ref in ("current", "previous") or sum(i.startswith(ref) for i in ids) == 1


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


def _labels(served: ServiceDep, found: dict[str, Any], order: list[str], lang: str) -> dict[str, str]:
    """Each tier's label (the compared runs' own, in the page's language), and words for the rows
    and columns that are not tiers."""
    labels = {t: t for t in order} | {str(k): str(v) for k, v in (found.get("labels") or {}).items()}
    labels[NONE] = text("migration.no_tier", lang)
    labels[NEW] = text("migration.new", lang)
    labels[GONE] = text("migration.gone", lang)
    return labels


def _suffixes(found: dict[str, Any], lang: str) -> tuple[str, str]:
    """What tells the two sides of the Sankey apart (its nodes need distinct names): the as-of
    dates (MM-DD when that differs), else the run ids, else words (a run against itself)."""
    a, b = str(found["as_of_a"]), str(found["as_of_b"])
    if a[5:] != b[5:]:
        return a[5:], b[5:]
    if a != b:
        return a, b
    if found["run_a"] != found["run_b"]:
        return found["run_a"], found["run_b"]
    return text("migration.side_from", lang), text("migration.side_to", lang)


def _shape(found: dict[str, Any], order: list[str], labels: dict[str, str], lang: str) -> dict[str, Any]:
    """The matrix as rows and columns, the KPIs and the Sankey data, with every link a URL."""
    run_a, run_b = found["run_a"], found["run_b"]
    cells = {(str(m["from"]), str(m["to"])): m for m in found["matrix"]}
    rows, cols = [*order, NEW], [*order, GONE]
    rank = {t: i for i, t in enumerate(order)}

    def cell(f: str, t: str) -> dict[str, Any]:
        m = cells.get((f, t))
        n = int(m["customers"]) if m else 0
        if f == t:
            move = "stay"
        elif f == NEW or t == GONE:
            move = "new" if f == NEW else "gone"
        else:
            move = "up" if rank[t] < rank[f] else "down"  # index 0 is the best tier
        return {
            "from": f,
            "to": t,
            "customers": n,
            "value_a": m["value_a"] if m and f != NEW else None,  # a new customer had no value before
            "value_b": m["value_b"] if m and t != GONE else None,  # one gone has none after
            "move": move,
            "href": _url(run_a, run_b, cell_from=f, cell_to=t) + "#cell",
        }

    table: list[dict[str, Any]] = [{"tier": f, "label": labels[f], "cells": [cell(f, t) for t in cols]} for f in rows]
    for row in table:
        row["total"] = sum(c["customers"] for c in row["cells"])
    col_totals = [sum(row["cells"][i]["customers"] for row in table) for i in range(len(cols))]
    moves = {"up": 0, "down": 0, "stay": 0, "new": 0, "gone": 0}
    for row in table:
        for c in row["cells"]:
            moves[c["move"]] += c["customers"]
    both = moves["up"] + moves["down"] + moves["stay"]
    left, right = _suffixes(found, lang)

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

    def colour(tier: str) -> str:  # a tier the same colour on both sides
        return COLOURS.get(tier) or TIER_COLOURS[min(rank[tier], len(TIER_COLOURS) - 1)]

    nodes = [(node(t, "a"), colour(t)) for t in rows] + [(node(t, "b"), colour(t)) for t in cols]
    used = {x["source"] for x in links} | {x["target"] for x in links}
    sankey = {"nodes": [{"name": n, "itemStyle": {"color": c}} for n, c in nodes if n in used], "links": links}
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
    asked_a, asked_b = _pair(served, ordered, run_from, run_to)
    cell = (cell_from, cell_to) if cell_from and cell_to else None
    try:
        found = diff(served.workspace.root, asked_a, asked_b, PAGE, cell=cell, offset=offset, lang=lang)
    except TierkitError as err:
        wrong = next((x for x in (asked_a, asked_b) if not _known(x, ordered)), f"{asked_a} / {asked_b}")
        raise NotFoundError(text("migration.no_such_run", lang, run=wrong)) from err
    by_id = {r.run_id: r for r in ordered}
    a, b = by_id[found["run_a"]], by_id[found["run_b"]]
    order = _tier_order(a, b, found)
    labels = _labels(served, found, order, lang)
    view = _shape(found, order, labels, lang)
    if cell is not None and (cell[0] not in (*order, NEW) or cell[1] not in (*order, GONE)):
        raise NotFoundError(text("migration.no_such_cell", lang, cell_from=cell[0], cell_to=cell[1]))
    listed = None
    if cell is not None:
        listed = {
            "from": cell[0],
            "to": cell[1],
            "movers": [{**m, "change": _change(m)} for m in found["movers"]],
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
        reordered=bool(found["reordered"] and run_from and run_to),  # both picked, later one first
    )
