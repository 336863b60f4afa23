"""The `tierkit` command's first step: a file-mode grading already done once is replayed.

Why before typer: a replay (app/replays.py) needs DuckDB alone, and typer with rich, Ibis and
the policy model cost more start-up than the replay's whole Python work. Only a plain
`tierkit grade --orders F --output X.parquet [...]` whose every option is one of REPLAYABLE is
read here, and only to name the request; the command itself is always typer's (app.py): on no
record, a changed answer or any other option, typer runs the grading whole, and keeps its
transcript for next time.
"""

from __future__ import annotations

import os
import sys

from tierkit.settings import DEFAULT_LANG

REPLAYABLE = {
    "--orders": "orders",
    "--customers": "customers",
    "--interactions": "interactions",
    "--contacts": "contacts",
    "--policy": "policy",
    "--as-of": "as_of",
    "--output": "output",
    "--lang": "lang",
    "--engine": "engine",
}
LANGS = ("zh", "en")  # options.Lang


def grade_request(argv: list[str]) -> tuple[dict[str, str | None], bool] | None:
    """(the request, --json) of `grade` in file mode on DuckDB, else None (typer decides)."""
    if not argv or argv[0] != "grade":
        return None
    given: dict[str, str] = {}
    json_out = False
    rest = iter(argv[1:])
    for word in rest:
        if word == "--json" and not json_out:
            json_out = True
            continue
        name, has_value, value = word.partition("=")
        field = REPLAYABLE.get(name)
        if field is None or field in given:
            return None
        if not has_value:
            value = next(rest, "")
        if not value or value.startswith("-"):
            return None
        given[field] = value
    if given.get("engine", "duckdb") != "duckdb" or given.get("lang", DEFAULT_LANG) not in LANGS:
        return None
    if "orders" not in given or not given.get("output", "").lower().endswith(".parquet"):
        return None
    # paths as typed, with the folder they are relative to: a note names a file as the user did
    request: dict[str, str | None] = {field: given.get(field) for field in REPLAYABLE.values() if field != "engine"}
    request["lang"] = request["lang"] or DEFAULT_LANG
    request["cwd"] = os.getcwd()
    return request, json_out


def main() -> None:
    asked = grade_request(sys.argv[1:])
    if asked is not None:
        from tierkit.app.replays import replayed

        request, json_out = asked
        summary = replayed(request)
        if summary is not None:
            from tierkit.cli.graded import report

            report(summary, str(request["lang"]), json_out)
            return
    from tierkit.cli.app import main as run_typer

    run_typer()
