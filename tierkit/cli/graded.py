"""What `tierkit grade` prints once a grading is written: the same for a grading and its replay."""

from __future__ import annotations

from typing import Any

from tierkit.cli.json_text import print_json


def report(summary: dict[str, Any], lang: str, json_out: bool) -> None:
    """The summary as JSON, or as tables with its notes on stderr."""
    if json_out:
        print_json(summary)
        return
    from tierkit.cli.render import err_console, print_summary

    print_summary(summary, lang)
    for warning in summary.get("warnings", []):
        err_console.print(f"[yellow]note:[/yellow] {warning}", soft_wrap=True)
    if summary.get("run_id"):
        err_console.print(f"run {summary['run_id']} written{' and published' if summary.get('published') else ''}")
    held = summary.get("held_back")
    if held:
        err_console.print(
            f"not published: the current run {held['current']} is as of {held['current_as_of']}, later than "
            f"{summary['as_of']}; `tierkit publish {summary['run_id']}` (or grade with --publish) makes it current",
            soft_wrap=True,
        )
    if summary.get("output"):
        err_console.print(f"wrote {summary['output']}")
