"""How results look in a terminal: summary tables, the customer card, the migration matrix."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tierkit.cli.json_text import print_json as print_json

console = Console()
err_console = Console(stderr=True)

TEXT = {
    "zh": {
        "tier": "等级",
        "customers": "客户数",
        "share": "客户占比",
        "value_share": "价值占比",
        "class": "类别",
        "tags": "标签",
        "tag": "标签",
        "count_pyramid": "数量金字塔",
        "value_pyramid": "价值金字塔",
        "profit_share": "利润占比",
        "kept": "保级",
        "profit_pyramid": "利润金字塔 (按客户利润排名)",
        "profit_line": "毛利 {margin} − 服务成本 {cost} = 利润 {profit}",
        "unprofitable": "亏损客户 (毛利 − 服务成本 < 0): {n} 人, 占 {share}, 合计亏损 {loss}",
        "profit_unknown": "毛利未知: {n} 人",
        "reasons": "原因",
        "why": "依据",
        "manual": "人工调整, 系统评定为",
        "entitlements": "权益",
        "contacts": "联系频率",
        "response": "响应",
        "actions": "服务动作",
        "given_by": "人工标注",
        "complaint": "投诉",
        "contact": "联系",
        "history": "等级变化",
        "open": "未解决",
        "resolved": "已解决",
    },
    "en": {
        "tier": "Tier",
        "customers": "Customers",
        "share": "Share",
        "value_share": "Value share",
        "class": "Class",
        "tags": "Tags",
        "tag": "Tag",
        "count_pyramid": "Count pyramid",
        "value_pyramid": "Value pyramid",
        "profit_share": "Profit share",
        "kept": "Kept",
        "profit_pyramid": "Profit pyramid (customers ranked by profit)",
        "profit_line": "margin {margin} − cost to serve {cost} = profit {profit}",
        "unprofitable": "Unprofitable (margin − cost to serve < 0): {n} customers, {share}, losing {loss} together",
        "profit_unknown": "margin unknown: {n} customers",
        "reasons": "Reasons",
        "why": "Why",
        "manual": "set by hand; graded",
        "entitlements": "Entitlements",
        "contacts": "Contact cadence",
        "response": "Response",
        "actions": "Service",
        "given_by": "given by",
        "complaint": "Complaint",
        "contact": "Contact",
        "history": "Tier history",
        "open": "open",
        "resolved": "resolved",
    },
}


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def breakdown_table(title: str, rows: list[dict[str, Any]], lang: str) -> Table:
    t = TEXT[lang]
    table = Table(title=title, title_justify="left")
    table.add_column(t["class"])
    table.add_column(t["customers"], justify="right")
    table.add_column(t["share"], justify="right")
    value = any("value_share" in row for row in rows)
    if value:
        table.add_column(t["value_share"], justify="right")
    profit = any("profit_share" in row for row in rows)
    if profit:
        table.add_column(t["profit_share"], justify="right")
    kept = any("kept" in row for row in rows)  # stable tiers: kept by stability though graded lower
    if kept:
        table.add_column(t["kept"], justify="right")
    for row in rows:
        if row["class"] is None:
            name = "(无)" if lang == "zh" else "(none)"
        else:
            label = row.get("label") or row["class"]
            name = f"{label} ({row['class']})" if label != row["class"] else str(row["class"])
        cells = [name, f"{row['customers']:,}", pct(row["customer_share"])]
        cells += [pct(row.get("value_share"))] if value else []
        cells += [pct(row.get("profit_share"))] if profit else []
        table.add_row(*cells, *([f"{row.get('kept', 0):,}"] if kept else []))
    return table


def print_profit(profit: dict[str, Any], lang: str) -> None:
    """The profit pyramid (ranked by each customer's profit) and who loses money."""
    t = TEXT[lang]
    console.print(breakdown_table(t["profit_pyramid"], profit["pyramid"], lang))
    cost = _money(profit["cost_to_serve"]) if profit.get("cost_to_serve") is not None else "-"
    console.print(t["profit_line"].format(margin=_money(profit["margin"]), cost=cost, profit=_money(profit["profit"])))
    lost = profit["unprofitable"]
    said = t["unprofitable"].format(n=f"{lost['customers']:,}", share=pct(lost["share"]), loss=_money(lost["loss"]))
    console.print(said)
    if profit.get("unknown"):
        console.print(t["profit_unknown"].format(n=f"{profit['unknown']:,}"))


def print_summary(summary: dict[str, Any], lang: str) -> None:
    t = TEXT[lang]
    head = (
        f"{summary['policy']} @ {summary['as_of']} · {summary['customers']:,} "
        f"{t['customers']} · {summary['engine']} · policy {summary['policy_hash']}"
    )
    console.print(head)
    console.print(breakdown_table(t["tier"], summary["tiers"], lang))
    for name, score in summary["scores"].items():
        if score.get("primary"):
            continue  # the same table as the tiers above
        title = name
        if name == "pyramid" or score["column"] == "pyramid":
            title = f"{name}: {t['count_pyramid']} / {t['value_pyramid']}"
        console.print(breakdown_table(title, score["classes"], lang))
    if summary.get("profit"):
        print_profit(summary["profit"], lang)
    if summary["tags"]:
        tags = Table(title=t["tags"], title_justify="left")
        tags.add_column(t["tag"])
        tags.add_column(t["customers"], justify="right")
        labels = summary.get("tag_labels") or {}
        for name, count in summary["tags"].items():
            tags.add_row(f"{labels[name]} ({name})" if name in labels else name, f"{count:,}")
        console.print(tags)


def print_card(card: dict[str, Any], lang: str) -> None:
    """The card as the person at the counter reads it: tier in effect (and the graded one when a
    person moved it), tags with what to do, the service, then the reasons."""
    t = TEXT[lang]
    console.print(
        f"[bold]{card['customer_id']}[/bold]  {t['tier']}: [bold]{card['tier_label']}[/bold] ({card['tier']})"
        f"  · run {card['run_id']} · as of {card['as_of']}"
    )
    person = card.get("person") or {}
    if person.get("name") or person.get("phone"):
        console.print(f"  {person.get('name') or ''} {person.get('phone') or ''}".rstrip(), highlight=False)
    if card.get("manual"):
        console.print(f"  ({t['manual']} {card['automatic_tier_label']})")
    for alert in card.get("alerts") or []:
        console.print(f"  [bold red]! {alert}[/bold red]")
    labels = card.get("score_labels") or {}
    for key, value in card["scores"].items():
        named = labels.get(key.removesuffix("_segment").removesuffix("_cell"))
        console.print(f"  {key}: {named} ({value})" if named and named != str(value) else f"  {key}: {value}")
    for tag in card["tags"]:
        action = f": {tag['action']}" if tag.get("action") else ""
        group = f"[{tag['group_label']}] " if tag.get("group_label") else ""
        given = tag.get("manual")
        by = f" ({t['given_by']} {given['by']}: {given['reason']})" if given else ""
        console.print(f"  {t['tag']} {group}[bold]{tag['label']}[/bold]{action}{by}", highlight=False)
    service = card.get("service") or {}
    if service.get("entitlements"):
        console.print(f"  {t['entitlements']}: {', '.join(e['label'] for e in service['entitlements'])}")
    if service.get("contacts_text"):
        console.print(f"  {t['contacts']}: {service['contacts_text']}")
    if service.get("response_time_text"):
        console.print(f"  {t['response']}: {service['response_time_text']}")
    for action in service.get("actions") or []:
        console.print(f"  {t['actions']}: {action}")
    for key, value in (card.get("metrics") or {}).items():
        if isinstance(value, list) and value:  # churn signals: what drove the risk, most first
            console.print(f"  {key}: {', '.join(str(v) for v in value)}")
    for note in card.get("model_notes") or []:
        console.print(f"  [dim]{note}[/dim]")
    for c in card.get("complaints") or []:
        status = t.get(str(c["status"]), "?")
        line = f"{t['complaint']} {str(c['at'])[:10]} {c['topic'] or ''} ({status}) {c['resolution'] or ''}"
        console.print(f"  {escape(line.rstrip())}", highlight=False)
    for c in card.get("contacts") or []:
        line = f"{t['contact']} {str(c['at'])[:16]} {c['by']} {c['channel']} {c['outcome'] or ''}"
        console.print(f"  {escape(line.rstrip())}", highlight=False)
    moments = [f"{m['as_of']} {m['tier_label'] or '-'}" for m in card.get("tier_history") or []]
    if len(moments) > 1:
        console.print(f"  {t['history']}: {' → '.join(moments)}")
    console.print(f"  {t['why']}:")
    for sentence in card.get("why") or []:
        console.print(f"    {escape(sentence)}", highlight=False)


def print_migration(data: dict[str, Any]) -> None:
    rows = data["matrix"]
    froms = sorted({r["from"] for r in rows})
    tos = sorted({r["to"] for r in rows})
    if data.get("reordered"):
        err_console.print(f"note: read from the earlier run ({data['as_of_a']}) to the later ({data['as_of_b']})")
    table = Table(
        title=f"{data['run_a']} (as of {data.get('as_of_a', '?')}) -> {data['run_b']} "
        f"(as of {data.get('as_of_b', '?')}); customers, and value {data['value_metric']} in the later run",
        title_justify="left",
    )
    labels = data.get("labels") or {}

    def named(tier: str) -> str:
        return f"{labels[tier]} ({tier})" if tier in labels and labels[tier] != tier else tier

    table.add_column("from \\ to")
    for to in tos:
        table.add_column(named(to), justify="right")
    cells = {(r["from"], r["to"]): r for r in rows}
    for f in froms:
        table.add_row(
            named(f),
            *[
                (f"{cells[(f, to)]['customers']:,}\n{_money(cells[(f, to)]['value_b'])}" if (f, to) in cells else "")
                for to in tos
            ],
        )
    console.print(table)
    if "new" in data:
        console.print(f"(new): {data['new']}; (gone): {data['gone']}")
    console.print(f"{data['movers_total']:,} customers changed tier; the largest moves:")
    movers = Table()
    for col in ("customer_id", "from", "to", "value_a", "value_b"):
        movers.add_column(col)
    for m in data["movers"]:
        movers.add_row(m["customer_id"], named(m["from"]), named(m["to"]), _money(m["value_a"]), _money(m["value_b"]))
    console.print(movers)


def _money(text: Any) -> str:
    """'15166233.57' -> '15,166,233.57' for a business reader (the JSON keeps the exact text)."""
    try:
        return f"{Decimal(str(text)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(text)


def emit(value: Any, json_out: bool, text: Callable[[Any], None]) -> None:
    """A command's result: as JSON with --json (for scripts), else as `text` prints it."""
    if json_out:
        print_json(value)
    else:
        text(value)
