"""`tierkit entitlements check|list|use`: a customer's entitlements and their limits, for scripts.

`check` exits 0 when the customer may use the entitlement now, 1 when not (the reason on stderr,
or in `--json`), and 2 for bad input (an unknown customer or an entitlement code the policy does
not define), like every other command.
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from tierkit.cli.options import JsonOpt, LangOpt, WorkspaceOpt
from tierkit.cli.render import console, emit, err_console, print_json

entitlements_app = typer.Typer(
    help="Entitlements of a customer's tier and tags (专区专柜, 免费补卡 2 a year ...), their limits and uses."
)

CustomerArg = Annotated[str, typer.Argument(help="The customer.")]
CodeArg = Annotated[str, typer.Argument(help="The entitlement: its code or its label (免费补卡).")]


def _lang(lang: Any) -> str | None:
    return lang.value if lang is not None else None


def _limit(item: dict[str, Any]) -> str:
    if item["limit"] is None:
        return "unlimited"
    return f"{item['remaining']} of {item['limit']} left this {item['period']} (renews {item['renews_on']})"


@entitlements_app.command("check")
def check_command(
    customer_id: CustomerArg,
    code: CodeArg,
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Whether the customer may use an entitlement now: exit 0 yes, 1 no (with the reason), 2 bad input."""
    from tierkit.app import entitlements

    found = entitlements.check_in(workspace, customer_id, code, _lang(lang))
    if json_out:
        print_json(found)
    elif found["allowed"]:
        item = found["entitlement"]
        console.print(
            f"{found['customer_id']}: {item['label']} ({found['code']}) may be used: {_limit(item)}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        err_console.print(f"{found['customer_id']}: no: {found['reason']}", highlight=False, soft_wrap=True)
    raise typer.Exit(0 if found["allowed"] else 1)


@entitlements_app.command("list")
def list_command(
    customer_id: CustomerArg,
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The customer's entitlements in effect, with what is left of each limit."""
    from tierkit.app import entitlements

    items = entitlements.list_in(workspace, customer_id, _lang(lang))
    emit(items, json_out, _print_items)


def _print_items(items: list[dict[str, Any]]) -> None:
    if not items:
        console.print("no entitlements")
    for item in items:
        by = ", ".join(f"{g['kind']} {g['label']}" for g in item["granted_by"])
        console.print(f"{item['code']}  {item['label']}  {_limit(item)}  ({by})", highlight=False, soft_wrap=True)


@entitlements_app.command("use")
def use_command(
    customer_id: CustomerArg,
    code: CodeArg,
    note: Annotated[str | None, typer.Option(help="What was done (kept and audited).")] = None,
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record a use (audited as you); refused with the reason (exit 1) when not granted or spent."""
    from tierkit.app import entitlements

    done = entitlements.use_in(workspace, customer_id, code, getpass.getuser(), note, _lang(lang))
    if json_out:
        print_json(done)
        return
    item = done["entitlement"]
    err_console.print(
        f"{done['customer_id']}: used {item['label']} ({item['code']}); {_limit(item)}", highlight=False, soft_wrap=True
    )
