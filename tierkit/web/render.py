"""Pages as HTML: the Jinja environment with the catalogue and formats, and the headers every page
carries (a content security policy that lets the page reach only this host, no caching of
personal data, no framing).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from tierkit.version import __version__
from tierkit.web.catalogue import LANGS, text
from tierkit.web.formats import FILTERS
from tierkit.web.visitors import LANG_COOKIE, Visitor

SECURITY_HEADERS = {
    # every script, style, font and request stays on this host (no CDN); ECharts sets inline styles
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def _json_data(value: Any) -> Markup:
    """Data for a chart inside <script type="application/json">: no '<' can end the element."""
    dumped = json.dumps(value, default=str, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(dumped.replace("&", "\\u0026"))


def _environment() -> Environment:
    folder = str(resources.files("tierkit.web").joinpath("templates"))
    env = Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["html"]), auto_reload=False)
    env.filters.update(FILTERS)
    env.filters["json_data"] = _json_data
    env.globals["version"] = __version__
    return env


ENVIRONMENT = _environment()


def _with_query(request: Request, **values: Any) -> str:
    """This page's path and query with some parameters changed (None drops one)."""
    query = dict(request.query_params)
    for key, value in values.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    return request.url.path + ("?" + urlencode(query) if query else "")


def page(
    request: Request,
    name: str,
    lang: str,
    seen: Visitor | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A rendered page in `lang`; an asked-for language (?lang=) is remembered for the next pages."""

    def t(key: str, **values: Any) -> str:
        return text(key, lang, **values)

    other = next(x for x in LANGS if x != lang)
    html = ENVIRONMENT.get_template(name).render(
        request=request,
        lang=lang,
        t=t,
        visitor=seen,
        other_lang=other,
        lang_url=_with_query(request, lang=other),
        url_with=lambda **values: _with_query(request, **values),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    asked = request.query_params.get("lang")
    if asked in LANGS:
        secure = request.url.scheme == "https"
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, httponly=True, samesite="strict", secure=secure)
    return response
