"""`tierkit small`: the bottom of the pyramid as upgrade and weed-out candidates (小客户管理法)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tierkit.cli.options import JsonOpt, LangOpt, WorkspaceOpt
from tierkit.cli.render import console, emit, err_console

WORDS = {
    "zh": {
        "title": "小客户 (价值排名后 {bottom}): {small} 人, 其中受保护 (集团关键人等) {protected} 人",
        "upgrade": "升级候选: {count} 人",
        "weed_out": "淘汰候选 (劣质客户): {count} 人 (限制服务 {restrict_service}, 经济渠道 {cheaper_channels}, "
        "终止合作 {end_relationship})",
        "customer_id": "客户",
        "tier": "等级",
        "value": "价值",
        "profit": "利润",
        "why": "原因",
        "action": "建议动作",
        "plan": "升级计划",
        "more": "仅显示前 {shown} 人; 用 --output FILE 导出全部",
    },
    "en": {
        "title": "Small customers (the bottom {bottom} by value): {small}, of whom {protected} protected "
        "(key person ...)",
        "upgrade": "Upgrade candidates: {count}",
        "weed_out": "Weed-out candidates: {count} (restrict service {restrict_service}, cheaper channels "
        "{cheaper_channels}, end the relationship {end_relationship})",
        "customer_id": "Customer",
        "tier": "Tier",
        "value": "Value",
        "profit": "Profit",
        "why": "Why",
        "action": "Action",
        "plan": "Plan",
        "more": "first {shown} shown; --output FILE writes them all",
    },
}


def small_command(
    workspace: WorkspaceOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write both lists to a .csv (Excel-ready) or .xlsx file.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many of each list to print (and to give with --json).")] = 20,
    lang: LangOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Small customers (the bottom 50% by value): upgrade and weed-out candidates, with reasons."""
    from tierkit.app import small, workspaces

    lang_code = lang.value if lang is not None else workspaces.language(workspace)
    found = small.small_customers(workspace, lang_code, limit, output)
    emit(found, json_out, lambda value: _print(value, lang_code))
    if output is not None and not json_out:
        err_console.print(f"{found['written']:,} customers written to {output}")


def _money(text: Any) -> str:
    try:
        return f"{Decimal(str(text)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(text)


def _print(found: dict[str, Any], lang: str) -> None:
    """Each list's count, then each customer as a short block: who, why, what to do (and the plan)."""
    words = WORDS.get(lang, WORDS["en"])
    bottom = f"{found['bottom'] * 100:g}%"
    console.print(
        words["title"].format(bottom=bottom, small=f"{found['small_customers']:,}", protected=found["protected"])
    )
    for note in found["notes"]:
        console.print(f"[dim]note: {escape(note)}[/dim]", highlight=False)
    for listed in ("upgrade", "weed_out"):
        part = found[listed]
        console.print()
        title = words[listed].format(count=f"{part['count']:,}", **part.get("by_action", {}))
        console.print(f"[bold]{escape(title)}[/bold]")
        for item in part["items"]:
            tier = f"{item['tier_label']} ({item['tier']})" if item["tier_label"] != item["tier"] else item["tier"]
            head = f"  [bold]{item['customer_id']}[/bold]  {tier}  {words['value']} {_money(item['value'])}"
            if item.get("profit") is not None:
                head += f"  {words['profit']} {_money(item['profit'])}"
            console.print(head, highlight=False)
            console.print(f"    {words['why']}: {escape(item['why'])}", highlight=False)
            console.print(f"    {words['action']}: {escape(item['action_label'])}", highlight=False)
            if item.get("plan"):
                console.print(f"    {escape(item['plan'])}", highlight=False)
        if part["count"] > len(part["items"]):
            console.print(f"  [dim]{words['more'].format(shown=len(part['items']))}[/dim]")
