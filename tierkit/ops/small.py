"""Small customers (小客户管理法): the bottom of the pyramid, as upgrade and weed-out candidates.

The seeds' practice for the last 50% of customers by value: neither drop them all nor keep
them all at any cost, but judge each (科学评判小客户): help those that can grow (升级: offer them
higher-margin products, with a plan), serve the others at a lower cost (限制服务内容和范围,
运用更经济的方式), and end the relationship with the bad ones (坚决淘汰劣质客户: late or unpaid
payments, many complaints, a loss once the cost of serving them is paid).

One Ibis expression over a run's result (the published run, tiers in effect): the rank by value,
the signals of each list, the reasons and the action in words, the plan of an upgrade; the
engine computes every row and only the counts and a page come back to Python. A customer with a
protecting tag (集团关键人: key_person) is on neither list. When a customer shows signals of both
kinds, the weed-out signals decide (a plan to grow a customer who does not pay would be wrong),
and the reasons say the growth signals too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import ibis
import ibis.expr.types as ir

from tierkit.engine.ranking import exact_measure
from tierkit.engine.windows import Window, months_back
from tierkit.policy import model as m
from tierkit.policy.base import Label
from tierkit.policy.profit import SmallRules, Test
from tierkit.runs.profit import ProfitMeasure

UPGRADE, WEED_OUT = "upgrade", "weed_out"
KEY_PERSON_WORDS = {"key_person": ("集团关键人", "key person")}  # a tag's names when the policy has no such tag

LIST_LABELS = {
    UPGRADE: Label(zh="升级候选 (有升级可能的小客户)", en="Upgrade candidate"),
    WEED_OUT: Label(zh="淘汰候选 (劣质客户)", en="Weed-out candidate"),
}
ACTIONS = {
    "offer_higher_margin": Label(
        zh="向其推销高利润的产品, 使其变成有利可图的客户; 按升级计划帮助其成长",
        en="Offer higher-margin products to make them profitable; help them grow along the upgrade plan",
    ),
    "restrict_service": Label(
        zh="适当限制服务内容和范围, 压缩服务时间 (如先款后货、不再赊销)",
        en="Restrict the scope of service and the time spent on them (e.g. payment before delivery, no credit)",
    ),
    "cheaper_channels": Label(
        zh="运用更经济、更省钱的方式提供服务 (电子渠道、自助服务)",
        en="Serve them through cheaper channels (online, self-service)",
    ),
    "end_relationship": Label(
        zh="坚决淘汰: 停止交易和主动联系", en="End the relationship: stop selling to and contacting them"
    ),
}
SAID = {  # a signal in words: {label} the metric, {v} its value, {t} the threshold
    "growth": Label(zh="增长: {label} {v} (≥ {t})", en="growing: {label} {v} (at least {t})"),
    "breadth": Label(zh="品类广: {label} {v} (≥ {t})", en="buys across categories: {label} {v} (at least {t})"),
    "clv": Label(
        zh="潜力大: 预测价值 {label} {v}, 是当前价值 {value} 的 {x} 倍 (≥ {t} 倍)",
        en="CLV well above today's value: {label} {v} is {x} times {value} (at least {t})",
    ),
    "late": Label(zh="延期付款: {label} {v} (≥ {t})", en="pays late: {label} {v} (at least {t})"),
    "unpaid": Label(zh="拖欠不付款: {label} {v} (≥ {t})", en="does not pay: {label} {v} (at least {t})"),
    "complaints": Label(zh="投诉多: {label} {v} (≥ {t})", en="complains a lot: {label} {v} (at least {t})"),
    "loss": Label(
        zh="扣除服务成本后亏损: 毛利 {m} − 服务成本 {c} = {v}",
        en="loses money after the cost to serve: margin {m} − cost to serve {c} = {v}",
    ),
}
PLAN = Label(zh="升级计划: {date} 前升至 {label} ({tier})", en="Upgrade plan: {label} ({tier}) by {date}")


@dataclass(frozen=True)
class Used:
    """A signal as the run can test it, or why it cannot (`note`)."""

    listed: str  # upgrade or weed_out
    test: Test
    note: str | None = None


@dataclass(frozen=True)
class SmallLists:
    """The candidates of both lists, one row each, and what the lists were made from."""

    rows: ir.Table  # every customer of the bottom share, with `list` NULL for those on neither
    used: list[Used]
    value: str


def plan_date(as_of: dt.date, within: str) -> dt.date:
    """The as-of date plus `within` (calendar months clamped to the month's end, as windows are)."""
    window = Window.parse(within)
    if window.unit == "D":
        return as_of + dt.timedelta(days=window.count)
    return months_back(as_of, -window.count * (12 if window.unit == "Y" else 1))


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _shown(value: ir.Value) -> ir.StringValue:
    """A value as the reasons print it: money and counts as they are, ratios at two decimals."""
    if value.type().is_floating():
        value = value.round(2)
    return value.cast("string").fill_null("-")  # type: ignore[no-any-return]


def _words(template: Label, lang: str, parts: Mapping[str, ir.Value | str]) -> ir.StringValue:
    """A sentence in the engine: the template's text with each {part} replaced."""
    text = template.text(lang, "")
    out: ir.StringValue = ibis.literal("")
    rest = text
    while "{" in rest:
        before, _, after = rest.partition("{")
        key, _, rest = after.partition("}")
        part = parts[key]
        out = out + ibis.literal(before) + (ibis.literal(part) if isinstance(part, str) else part)
    return out + ibis.literal(rest)


def _metric_label(policy: m.Policy, name: str, lang: str) -> str:
    spec = policy.metrics.get(name)
    if lang == "zh" and spec is not None and spec.description:
        return spec.description
    return name


def protected_names(policy: m.Policy, protect: Sequence[str]) -> list[str]:
    """Every name a protecting tag goes by: its name, its labels, and for key_person 集团关键人."""
    names: list[str] = []
    for tag in protect:
        names.append(tag)
        rule = next((t for t in policy.tags if t.name == tag), None)
        if rule is not None and rule.label is not None:
            names += [w for w in (rule.label.zh, rule.label.en) if w]
        names += KEY_PERSON_WORDS.get(tag, ())
    return list(dict.fromkeys(names))


def _protected(rows: ir.Table, policy: m.Policy, protect: Sequence[str], given: Sequence[str]) -> ir.BooleanValue:
    """A protecting tag from the grading (its tag column, or a yes/no attribute of the same name,
    such as 集团关键人) or given by hand (`given`: the customers with one in force)."""
    test: ir.BooleanValue = ibis.literal(False)
    for name in protected_names(policy, protect):
        for column in (f"tag_{name}", name):
            if column in rows.columns and rows[column].type().is_boolean():
                test = test | rows[column].fill_null(False)
    if "tags" in rows.columns:
        graded = rows.tags.fill_null("").split(",")
        for tag in protect:
            test = test | graded.contains(tag)
    if given:
        test = test | rows.customer_id.isin(list(given))
    return test


def small_lists(
    rows: ir.Table,
    policy: m.Policy,
    rules: SmallRules,
    value_metric: str,
    tiers: Sequence[str],
    tier_labels: Mapping[str, str],
    as_of: dt.date,
    lang: str,
    protected_ids: Sequence[str] = (),
    profit: ProfitMeasure | None = None,
) -> SmallLists:
    """The bottom `rules.bottom` share of `rows` (a run's result with `tier` and `tier_label` in
    effect) by `value_metric`, each with its list (or NULL), signals, reasons and action."""
    value = exact_measure(rows[value_metric])
    order = [value.desc(), rows.customer_id.asc()]
    bottom = Fraction(str(rules.bottom))
    p, q = bottom.numerator, bottom.denominator
    base = rows.mutate(
        __value=value,
        __rank=ibis.row_number().over(order_by=order) + 1,
        __n=rows.customer_id.count().over(ibis.window()),
    )
    base = base.filter(base["__rank"] * q > base["__n"] * (q - p))  # rank > (1 - bottom) * n, exact
    shown_value = _shown(base["__value"])
    used: list[Used] = []
    flags: dict[str, list[tuple[str, ir.BooleanValue, ir.StringValue]]] = {UPGRADE: [], WEED_OUT: []}

    def signal(listed: str, test: Test, value_of: ir.Value | None, check: ir.BooleanValue | None, words: Any) -> None:
        if value_of is None or check is None:
            note = f"the run has no metric '{test.metric}'; {listed}.{test.key} not tested"
            used.append(Used(listed, test, note))
            return
        used.append(Used(listed, test))
        flags[listed].append((test.key, check.fill_null(False), words))

    def simple(listed: str, test: Test) -> None:
        column = base[test.metric] if test.metric in base.columns else None
        if column is None or not column.type().is_numeric():
            signal(listed, test, None, None, None)
            return
        threshold = ibis.literal(test.threshold).cast("decimal(38, 6)")
        if column.type().is_floating():
            check = column >= float(test.threshold)
        else:
            check = column.cast("decimal(38, 6)") >= threshold
        parts = {"label": _metric_label(policy, test.metric, lang), "v": _shown(column), "t": _number(test.threshold)}
        signal(listed, test, column, check, _words(SAID[test.key], lang, parts))

    for test in rules.upgrade:
        simple(UPGRADE, test)
    if rules.clv is not None:
        test = rules.clv
        clv = base[test.metric].cast("float64") if test.metric in base.columns else None
        if clv is None:
            signal(UPGRADE, test, None, None, None)
        else:
            today = base["__value"].cast("float64")
            check = (clv > 0) & (clv >= today * float(test.threshold))
            ratio = ibis.ifelse(today > 0, (clv / today).round(1).cast("string"), ibis.literal("∞"))
            parts = {
                "label": _metric_label(policy, test.metric, lang),
                "v": _shown(clv),
                "value": shown_value,
                "x": ratio,
                "t": _number(test.threshold),
            }
            signal(UPGRADE, test, clv, check, _words(SAID["clv"], lang, parts))
    for test in rules.weed_out:
        simple(WEED_OUT, test)
    net: ir.Value | None = profit.of(base) if profit is not None else None
    if rules.loss:
        loss_test = Test("loss", profit.margin if profit is not None else "", Decimal(0), False)
        if net is None or profit is None:
            signal(WEED_OUT, loss_test, None, None, None)
        else:
            cost = _shown(base[profit.cost]) if profit.cost is not None else ibis.literal("0")
            parts = {"m": _shown(base[profit.margin]), "c": cost, "v": _shown(net)}
            signal(WEED_OUT, loss_test, net, net < 0, _words(SAID["loss"], lang, parts))

    def count(listed: str) -> ir.IntegerValue:
        total: ir.IntegerValue = ibis.literal(0)
        for _, check, _ in flags[listed]:
            total = total + ibis.ifelse(check, 1, 0)
        return total

    def said(listed: str) -> ir.StringValue:
        items = [ibis.ifelse(check, words, ibis.null("string")) for _, check, words in flags[listed]]
        if not items:
            return ibis.literal("")
        return ibis.array(items).filter(lambda w: w.notnull()).join("; ")  # type: ignore[no-any-return]

    def codes(listed: str) -> ir.StringValue:
        items = [ibis.ifelse(check, key, ibis.null("string")) for key, check, _ in flags[listed]]
        if not items:
            return ibis.literal("")
        return ibis.array(items).filter(lambda w: w.notnull()).join(",")  # type: ignore[no-any-return]

    shield = _protected(base, policy, rules.protect, protected_ids)
    ups, outs = count(UPGRADE), count(WEED_OUT)
    weed = ~shield & (outs >= rules.weed_out_needs)
    grow = ~shield & ~weed & (ups >= rules.upgrade_needs)
    listed = ibis.cases((weed, WEED_OUT), (grow, UPGRADE), else_=ibis.null("string"))
    loses = next((check for key, check, _ in flags[WEED_OUT] if key == "loss"), ibis.literal(False))
    action = ibis.cases(
        (weed & (outs >= rules.end_at), "end_relationship"),
        (weed & loses, "cheaper_channels"),
        (weed, "restrict_service"),
        (grow, "offer_higher_margin"),
        else_=ibis.null("string"),
    )
    action_words = {k: v.text(lang, k) for k, v in ACTIONS.items()}
    if rules.upgrade_action is not None:
        action_words["offer_higher_margin"] = rules.upgrade_action.text(lang, action_words["offer_higher_margin"])
    up_words, out_words = said(UPGRADE), said(WEED_OUT)
    why = ibis.cases(
        (weed & (ups > 0), out_words + ibis.literal("; ") + up_words),
        (weed, out_words),
        (grow, up_words),
        else_=ibis.literal(""),
    )
    signals = ibis.cases(
        (weed & (ups > 0), codes(WEED_OUT) + ibis.literal(",") + codes(UPGRADE)),
        (weed, codes(WEED_OUT)),
        (grow, codes(UPGRADE)),
        else_=ibis.literal(""),
    )
    target, date = _targets(base.tier, tiers, rules.target), plan_date(as_of, rules.within)
    target_label = target.substitute(dict(tier_labels)) if tier_labels else target
    plan = _words(PLAN, lang, {"date": date.isoformat(), "label": target_label, "tier": target})
    columns: dict[str, ir.Value] = {
        "customer_id": base.customer_id,
        "list": listed,
        "list_label": listed.substitute({k: v.text(lang, k) for k, v in LIST_LABELS.items()}),
        "tier": base.tier,
        "tier_label": base.tier_label,
        "value": base[value_metric],
        "value_rank": base["__rank"].cast("int64"),
        "customers": base["__n"].cast("int64"),
    }
    if profit is not None and net is not None:
        columns["margin"] = base[profit.margin]
        if profit.cost is not None:
            columns["cost_to_serve"] = base[profit.cost]
        columns["profit"] = net
    columns |= {
        "signals": signals,
        "signal_count": ibis.cases((weed, outs), (grow, ups), else_=0).cast("int64"),
        "why": why,
        "action": action,
        "action_label": action.substitute(action_words),
        "plan": ibis.ifelse(grow, plan, ibis.null("string")),
        "target_tier": ibis.ifelse(grow, target, ibis.null("string")),
        "target_date": ibis.ifelse(grow, ibis.literal(date), ibis.null("date")),
        "protected": shield,
    }
    return SmallLists(base.select(**columns), used, value_metric)


def _targets(tier: ir.StringValue, tiers: Sequence[str], target: str | None) -> ir.StringValue:
    """The plan's tier: the policy's `upgrade.target`, else the tier above the customer's (the
    top tier's customers stay in it)."""
    if target is not None:
        return ibis.literal(target)
    above = {t: tiers[max(i - 1, 0)] for i, t in enumerate(tiers)}
    return tier.substitute(above, else_=ibis.null("string")) if above else ibis.null("string")  # type: ignore[no-any-return]


def ordered(rows: ir.Table, listed: str) -> ir.Table:
    """One list in the order to work through it: most signals first; then the largest value
    (upgrade) or the largest loss (weed-out), then customer_id."""
    chosen = rows.filter(rows.list == listed)
    if listed == UPGRADE:
        return chosen.order_by([ibis.desc("signal_count"), ibis.asc("value_rank"), "customer_id"])
    by_loss = [ibis.asc("profit")] if "profit" in rows.columns else []
    return chosen.order_by([ibis.desc("signal_count"), *by_loss, ibis.asc("value_rank"), "customer_id"])
