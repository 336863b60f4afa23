"""The export a manager opens: a summary sheet and a customer sheet a person reads in Excel.

A customer list handed to a sales manager is read in Excel, in Chinese: headers in the
workspace's language, the tier's label, amounts as numbers with separators, the reasons as
sentences (the JSON kept in a hidden column for programs), a frozen header and filters, and a
first sheet with the tiers at a glance (customers, share, revenue, share of revenue, average
order value). Rows stream from the engine: the list is never held whole in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from tierkit.policy.model import Policy
from tierkit.runs.reasons_full import full_reasons
from tierkit.runs.reasons_text import reasons_in_words

if TYPE_CHECKING:  # pyarrow (0.1 s with numpy) is imported where a table is built, not by `tierkit grade`
    import pyarrow as pa

WORDS = {
    "zh": {
        "summary": "汇总",
        "customers": "客户",
        "customer_id": "客户编号",
        "tier": "等级代码",
        "tier_label": "等级",
        "automatic_tier": "系统评定等级代码",
        "automatic_tier_label": "系统评定等级",
        "graded_tier": "本次规则评定等级代码",
        "below_runs": "连续低于等级次数",
        "kept_since": "保级起始日",
        "manual": "人工调整",
        "tags": "标签",
        "why": "依据",
        "reasons": "依据 (JSON)",
        "name": "姓名",
        "phone": "手机",
        "count": "客户数",
        "share": "客户占比",
        "value": "金额",
        "value_share": "金额占比",
        "aov": "客单价",
        "total": "合计",
    },
    "en": {
        "summary": "Summary",
        "customers": "Customers",
        "customer_id": "Customer",
        "tier": "Tier code",
        "tier_label": "Tier",
        "automatic_tier": "Graded tier code",
        "automatic_tier_label": "Graded tier",
        "graded_tier": "Tier by the rules this run (code)",
        "below_runs": "Runs below the tier in a row",
        "kept_since": "Kept since",
        "manual": "Set by hand",
        "tags": "Tags",
        "why": "Why",
        "reasons": "Reasons (JSON)",
        "name": "Name",
        "phone": "Phone",
        "count": "Customers",
        "share": "Share",
        "value": "Revenue",
        "value_share": "Share of revenue",
        "aov": "Average order value",
        "total": "Total",
    },
}
ORDERS = ("orders_12m", "orders_all")  # the order count beside the value, for the average order value


@dataclass(frozen=True)
class Readable:
    """How a person reads the export: the run's policy and tiers, the language, the value measure,
    and (staff only) the customers' names and phones."""

    policy: Policy
    tiers: list[str]
    lang: str
    value_metric: str | None
    people: pa.Table | None = None  # customer_id, name, phone


def with_people(table: ir.Table, readable: Readable) -> ir.Table:
    """Names and phones beside the id, for staff exports."""
    if readable.people is None:
        return table
    people = ibis.memtable(readable.people.select(["customer_id", "name", "phone"]))
    joined = table.left_join(people, "customer_id").drop("customer_id_right")
    first = ["customer_id", "name", "phone"]
    return joined.select(*first, *[c for c in table.columns if c not in first])


def _header(name: str, readable: Readable) -> str:
    words = WORDS.get(readable.lang, WORDS["en"])
    if name in words:
        return words[name]
    spec = readable.policy.metrics.get(name)
    if spec is not None and spec.description and readable.lang == "zh":
        return f"{spec.description} ({name})"
    return name


def _summary(backend: Any, table: ir.Table, readable: Readable) -> list[dict[str, Any]]:
    value = readable.value_metric if readable.value_metric in table.columns else None
    orders = next((c for c in ORDERS if c in table.columns), None)
    sums: dict[str, ir.Value] = {"count": table.count()}
    if value:
        sums["value"] = table[value].cast("decimal(38, 2)").sum()
    if orders:
        sums["orders"] = table[orders].sum()
    rows = backend.to_pyarrow(table.group_by(["tier", "tier_label"]).aggregate(**sums)).to_pylist()
    rank = {t: i for i, t in enumerate(readable.tiers)}
    return sorted(rows, key=lambda r: (rank.get(str(r["tier"]), len(rank)), str(r["tier"])))


def write_workbook(backend: Any, table: ir.Table, path: Path, readable: Readable) -> None:
    import xlsxwriter

    words = WORDS.get(readable.lang, WORDS["en"])
    book = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    share = book.add_format({"num_format": "0.0%"})
    count = book.add_format({"num_format": "#,##0"})
    _write_summary(
        book.add_worksheet(words["summary"]), _summary(backend, table, readable), words, bold, money, share, count
    )
    sheet = book.add_worksheet(words["customers"])
    names = (
        [*table.columns[: table.columns.index("reasons")], "why", "reasons"]
        if "reasons" in table.columns
        else list(table.columns)
    )
    for col, name in enumerate(names):
        sheet.write_string(0, col, _header(name, readable), bold)
    sheet.freeze_panes(1, 1)
    money_columns = {c for c in table.columns if table[c].type().is_decimal()}
    tag_words = {t.name: t.label.text(readable.lang, t.name) for t in readable.policy.tags if t.label}
    row_index = 1
    for batch in backend.to_batches(table):
        for row in batch.to_pylist():
            if row.get("tags"):  # tags by their labels, as the card shows them
                row = {**row, "tags": "、".join(tag_words.get(t, t) for t in str(row["tags"]).split(",") if t)}
            if "reasons" in row:
                # the graded row: with overrides in force, `tier` is the tier in effect (runs.effect)
                graded = {**row, "tier": row["automatic_tier"]} if "automatic_tier" in row else row
                reasons = full_reasons(row["reasons"], graded, readable.policy)
                row = {
                    **{k: v for k, v in row.items() if k != "reasons"},
                    "why": "\n".join(
                        reasons_in_words(
                            readable.policy,
                            readable.tiers,
                            reasons,
                            readable.lang,
                            str(graded.get("graded_tier") or graded.get("tier")),  # stable tiers: what the rules gave
                        )
                    ),
                    "reasons": json.dumps(reasons, ensure_ascii=False, separators=(",", ":")),
                }
            for col, name in enumerate(names):
                _cell(sheet, row_index, col, row.get(name), money if name in money_columns else None)
            row_index += 1
    sheet.autofilter(0, 0, max(row_index - 1, 1), len(names) - 1)
    if "reasons" in names:
        sheet.set_column(len(names) - 1, len(names) - 1, None, None, {"hidden": True})
        sheet.set_column(len(names) - 2, len(names) - 2, 60)
    from tierkit.runs.output import close_workbook  # output imports this module

    close_workbook(book)


def _cell(sheet: Any, row: int, col: int, value: Any, number_format: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, col, float(value), number_format)
    else:
        sheet.write_string(row, col, str(value))


def _write_summary(
    sheet: Any, rows: list[dict[str, Any]], words: dict[str, str], bold: Any, money: Any, share: Any, count: Any
) -> None:
    heads = ["tier_label", "count", "share", "value", "value_share", "aov"]
    for col, key in enumerate(heads):
        sheet.write_string(0, col, words[key], bold)
    customers = sum(int(r["count"]) for r in rows) or 1
    total = sum((Decimal(r.get("value") or 0) for r in rows), Decimal(0))
    for i, r in enumerate(rows, start=1):
        value = Decimal(r.get("value") or 0)
        sheet.write_string(i, 0, str(r["tier_label"] or r["tier"]))
        sheet.write_number(i, 1, int(r["count"]), count)
        sheet.write_number(i, 2, int(r["count"]) / customers, share)
        if "value" in r:
            sheet.write_number(i, 3, float(value), money)
            sheet.write_number(i, 4, float(value / total) if total else 0.0, share)
        if r.get("orders"):
            sheet.write_number(i, 5, float(value / Decimal(r["orders"])), money)
    last = len(rows) + 1
    sheet.write_string(last, 0, words["total"], bold)
    sheet.write_number(last, 1, customers if rows else 0, count)
    sheet.write_number(last, 3, float(total), money)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 5, 16)
    sheet.freeze_panes(1, 0)
