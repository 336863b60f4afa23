"""/app/cohorts: retention by month of first order, new / repeating / lapsed customers per month,
and the days between purchases, for analysts and admins.

The figures are tierkit.app.cohorts' (aggregates the engine counts over the orders file, as of
the published run); this module checks the two choices of the form, shades the retention
triangle and shapes the series each chart draws, with every label in the page's language.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tierkit.app.cohorts import cohorts
from tierkit.web.catalogue import text
from tierkit.web.formats import number
from tierkit.web.render import page
from tierkit.web.visitors import ServiceDep, StaffDep

router = APIRouter(prefix="/app", include_in_schema=False)
MONTHS = (3, 36, 12)  # least, most, default
LAPSE_DAYS = (30, 730, 180)
# a retention cell's shade: from almost white (0%) to a mid blue (100%), light enough that the
# page's dark ink stays readable on every cell (contrast above 6:1 on the darkest)
LIGHT, DARK = (247, 250, 253), (121, 169, 214)


def _shade(share: Decimal | None) -> str | None:
    """`background: rgb(...)` for a share of a cohort (None: no shade)."""
    if share is None:
        return None
    x = min(max(float(share), 0.0), 1.0)
    r, g, b = (round(lo + (hi - lo) * x) for lo, hi in zip(LIGHT, DARK, strict=True))
    return f"background: rgb({r}, {g}, {b})"


def _chosen(asked: str | None, bounds: tuple[int, int, int]) -> tuple[int, bool]:
    """The asked number within its bounds (the default when absent or not a number), and whether
    the asked value had to be changed."""
    low, high, default = bounds
    if asked is None or asked.strip() == "":
        return default, False
    try:
        found = int(asked)
    except ValueError:
        return default, True
    kept = min(max(found, low), high)
    return kept, kept != found


def _triangle(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Each cohort with its cells (month k after the first order: share, customers, shade). The
    share is the exact quotient of the counts, rounded once for display (`retained` is already
    rounded to 4 places: rounding that again to 0.1% can be off by 0.1%, 3/17 shown as 17.7%)."""
    rows = []
    for cohort in view["retention"]:
        size = cohort["customers"]
        cells = []
        for k, n in enumerate(cohort["active"]):
            share = Decimal(n) / Decimal(size) if size else None
            cells.append({"k": k, "active": n, "share": share, "style": _shade(share)})
        rows.append({"cohort": cohort["cohort"], "customers": cohort["customers"], "cells": cells})
    return rows


def _median_text(value: float | None) -> str | None:
    """A median of whole days without a decimal; a mean of two middle gaps with its half."""
    if value is None:
        return None
    return number(value, 0 if float(value).is_integer() else 1)


def _charts(view: dict[str, Any], lang: str) -> dict[str, Any] | None:
    if not view["activity"]:
        return None
    months = [a["month"] for a in view["activity"]]
    return {
        "active": {
            "x": months,
            "stack": True,
            "series": [
                {"name": text("cohorts.new", lang), "values": [a["new"] for a in view["activity"]]},
                {"name": text("cohorts.repeating", lang), "values": [a["repeating"] for a in view["activity"]]},
            ],
        },
        "lapsed": {
            "x": months,
            "stack": False,
            "series": [{"name": text("cohorts.lapsed", lang), "values": [a["lapsed"] for a in view["activity"]]}],
        },
        "gaps": {
            "names": [text("cohorts.gap_bucket", lang, label=b["label"]) for b in view["gaps"]["buckets"]],
            "values": [b["count"] for b in view["gaps"]["buckets"]],
        },
    }


@router.get("/cohorts", response_class=HTMLResponse)
def cohorts_page(
    request: Request,
    seen: StaffDep,
    served: ServiceDep,
    months: Annotated[str | None, Query(max_length=12)] = None,
    lapse_days: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    chosen_months, moved_months = _chosen(months, MONTHS)
    chosen_lapse, moved_lapse = _chosen(lapse_days, LAPSE_DAYS)
    view = cohorts(served, chosen_months, chosen_lapse)
    width = max((len(c["active"]) for c in view["retention"]), default=0)
    return page(
        request,
        "cohorts.html",
        seen.lang,
        seen,
        here="cohorts",
        view=view,
        triangle=_triangle(view),
        width=width,
        charts=_charts(view, seen.lang),
        median=_median_text(view["gaps"]["median"]),
        new_total=sum(a["new"] for a in view["activity"]),
        chosen={"months": chosen_months, "lapse_days": chosen_lapse},
        bounds={"months": MONTHS, "lapse_days": LAPSE_DAYS},
        moved=moved_months or moved_lapse,
    )
