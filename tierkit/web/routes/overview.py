"""/app/: the published run at a glance for analysts and admins (agents go to their customers).

The figures come from tierkit.app.overview (aggregates counted by the engine); this module only
shapes them into what each chart draws, with every label already in the page's language.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tierkit.app.overview import overview
from tierkit.app.serving import ServedWorkspace
from tierkit.web.catalogue import text
from tierkit.web.formats import money, number, percent
from tierkit.web.render import page
from tierkit.web.visitors import ServiceDep, VisitorDep

router = APIRouter(prefix="/app", include_in_schema=False)
TAGS_DRAWN = 15  # the most common tags in the chart; the table behind it lists all


def _pyramid(view: dict[str, Any], lang: str) -> dict[str, Any] | None:
    if not view["pyramid"]:
        return None
    levels = view["pyramid"]["levels"]
    total_n = sum(level["customers"] for level in levels) or 1
    total_v = sum(float(level["value"]) for level in levels) or 1.0
    return {
        "count": {
            "title": text("overview.by_count", lang),
            "items": [
                {
                    "name": x["label"],
                    "value": x["customers"],
                    "text": f"{number(x['customers'])} · {percent(x['customers'] / total_n)}",
                }
                for x in levels
            ],
        },
        "value": {
            "title": text("overview.by_value", lang),
            "items": [
                {
                    "name": x["label"],
                    "value": float(x["value"]),
                    "text": f"{money(x['value'], 0)} · {percent(float(x['value']) / total_v)}",
                }
                for x in levels
            ],
        },
    }


def _pareto(view: dict[str, Any], lang: str) -> dict[str, Any] | None:
    found = view["pareto"]
    if not found:
        return None
    points = [[round(x * 100, 2), round(y * 100, 2)] for x, y in found["points"]]
    return {
        "points": points,
        "deciles": [p for p in points if p[0] > 0 and p[0] % 10 == 0],
        "cuts": [
            {"x": round(c["customer_share"] * 100, 2), "y": round(c["value_share"] * 100, 2), "name": c["label"]}
            | {"short": c["class"]}
            for c in found["cuts"]
        ],
        "x_name": text("overview.pareto_x", lang),
        "y_name": text("overview.pareto_y", lang),
    }


def _rfm(view: dict[str, Any], lang: str) -> dict[str, Any] | None:
    found = view["rfm"]
    if not found:
        return None
    bins = list(range(1, found["bins"] + 1))
    return {
        "x": [str(b) for b in bins],
        "y": [str(b) for b in bins],
        "x_name": text("overview.rfm_f", lang),
        "y_name": text("overview.rfm_r", lang),
        "cells": [[c["f"] - 1, c["r"] - 1, c["customers"], c["label"]] for c in found["cells"]],
        "count_word": text("overview.customers", lang),
    }


def _shares(view: dict[str, Any], lang: str) -> dict[str, Any] | None:
    """Share of customers beside share of value, per tier: the 二八 picture in one glance."""
    tiers = view["tiers"]
    if not tiers or tiers[0]["value_share"] is None:
        return None
    return {
        "names": [t["label"] for t in tiers],
        "unit": "%",
        "series": [
            {"name": text("col.share", lang), "values": [round(t["customer_share"] * 100, 1) for t in tiers]},
            {"name": text("col.revenue_share", lang), "values": [round(t["value_share"] * 100, 1) for t in tiers]},
        ],
    }


def _bars(items: list[dict[str, Any]], name_key: str, value_key: str) -> dict[str, Any]:
    return {"names": [str(i[name_key]) for i in items], "values": [i[value_key] for i in items]}


@router.get("/", response_class=HTMLResponse, response_model=None)
def overview_page(request: Request, seen: VisitorDep, served: ServiceDep) -> HTMLResponse | RedirectResponse:
    if not seen.staff:  # an agent's start page is the customer lookup
        return RedirectResponse("/app/customers", status_code=303)
    view = overview(served, seen.lang)
    charts = {
        "shares": _shares(view, seen.lang),
        "pyramid": _pyramid(view, seen.lang),
        "pareto": _pareto(view, seen.lang),
        "rfm": _rfm(view, seen.lang),
        "stars": _bars(view["stars"]["levels"], "label", "customers") if view["stars"] else None,
        "tags": _bars(view["tags"][:TAGS_DRAWN], "label", "customers") if view["tags"] else None,
    }
    total_value = sum(float(t["value"] or 0) for t in view["tiers"])
    return page(
        request,
        "overview.html",
        seen.lang,
        seen,
        view=view,
        charts=charts,
        total_value=total_value,
        kept=_kept(served, view),
        here="overview",
    )


def _kept(served: ServedWorkspace, view: dict[str, Any]) -> dict[str, int] | None:
    """tier -> customers who keep it by stability in the run shown (its summary's `kept`, there
    only with the policy's `stability:`), or None."""
    summary = served.snapshot(view["run"]["run_id"]).run.manifest.get("summary") or {}
    rows = [row for row in summary.get("tiers") or [] if "kept" in row]
    return {str(row["class"]): int(row["kept"]) for row in rows} if rows else None
