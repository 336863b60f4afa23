"""The demo shop: a seeded workspace whose policy a user has extended, graded as a shop would.

`tierkit demo` (and `make demo`) builds it: the retail preset with the identification tags, the
profit pyramid, the churn model, limited entitlements and alert rules added the way a user edits
the YAML (its comments kept), then graded at the end of the quarter before and at the last day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tierkit.app.grading import grade_workspace
from tierkit.app.progress import Progress, silent
from tierkit.app.writing import writing
from tierkit.errors import WorkspaceError
from tierkit.settings import DEFAULT_LANG
from tierkit.workspace import Workspace


def _add_to_policy(ws: Workspace, present: str, before: str = "", metrics: str = "") -> None:
    """The workspace's policy with `before` put above `metrics:` and `metrics` lines put first
    under it, as a user edits the YAML (its comments kept); nothing when `present` is in it."""
    policy = ws.root / "policy.yaml"
    text = policy.read_text("utf-8")
    if present not in text:
        policy.write_text(text.replace("\nmetrics:\n", f"\n{before}metrics:\n{metrics}", 1), "utf-8")


def include_identification_tags(ws: Workspace) -> None:
    """The demo shows every identification tag class (its customers carry the attributes): its
    policy is the retail preset with `tag_sets: [identification]`, as a user would add it."""
    line = "tag_sets: [identification]  # 客户身份, 渠道偏好 ... 欠费/信用: docs/presets.md\n"
    _add_to_policy(ws, "\ntag_sets:", before=line)


def include_churn_risk(ws: Workspace) -> None:
    """The demo's policy with the churn model's risk and signals (docs/churn.md), as a user adds them."""
    lines = (
        "  churn_risk: {churn: risk, horizon: 90D, description: 90天内不再购买的概率}\n"
        "  churn_signals: {churn: signals, horizon: 90D, description: 流失风险的主要原因}\n"
    )
    _add_to_policy(ws, "churn_risk:", metrics=lines)


def include_profit(ws: Workspace) -> None:
    """The demo's policy with the profit pyramid and small customers (docs/operations.md): the
    margin of its orders less what its interactions cost to serve, as a user adds them."""
    lines = (
        "  margin_12m: {sum: profit, window: 12M, description: 近12个月毛利}\n"
        "  service_cost_12m: {sum: cost, from: interactions, window: 12M, description: 近12个月服务成本}\n"
        "  categories_12m: {distinct: category, window: 12M, description: 近12个月购买品类数}\n"
    )
    section = (
        "# 客户利润金字塔 and 小客户 (tierkit small): profit = margin - cost to serve; docs/operations.md\n"
        "profit: {margin: margin_12m, cost_to_serve: service_cost_12m}\n"
    )
    _add_to_policy(ws, "\nprofit:", before=section, metrics=lines)


def include_alerts_and_limits(ws: Workspace) -> None:
    """The demo's policy with limited entitlements (a birthday gift once a year, exclusive offers
    twice a month), key persons served as VIPs, and alert rules (docs/operations.md), as a user
    writes them: a second grading at a later date then emits real events."""
    policy = ws.root / "policy.yaml"
    text = policy.read_text("utf-8")
    if "\nalerts:" in text:
        return
    limits = {
        "birthday_gift: {label: {zh: 生日礼遇, en: Birthday gift}}": "birthday_gift: {label: {zh: 生日礼遇, en: "
        "Birthday gift}, limit: 1, per: year}",
        "exclusive_offers: {label: {zh: 专属优惠, en: Exclusive offers}}": "exclusive_offers: {label: {zh: 专属优惠, "
        "en: Exclusive offers}, limit: 2, per: month}",
    }
    for plain, limited in limits.items():
        text = text.replace(plain, limited, 1)
    rules = (
        "tag_entitlements:\n  key_person: {same_as: vip}  # 集团关键人: served as VIP whatever their tier\n"
        "# what a published run tells each owner and the webhooks (tierkit alerts, docs/operations.md)\n"
        "alerts:\n"
        "  tier_up: true\n"
        "  tier_down: true\n"
        "  tags: [serial_complainer, key_person]\n"
        "  key_customer_lost: {tiers: [vip], recency: recency_days, after_days: 60}\n"
    )
    if "churn_risk:" in text:
        rules += "  churn_risk: {metric: churn_risk, above: 0.7}\n"
    policy.write_text(text.rstrip("\n") + "\n" + rules, "utf-8")


def demo(
    workspace: Path | None,
    customers: int = 50_000,
    seed: int = 20261129,
    engine: str | None = None,
    lang: str = DEFAULT_LANG,
    progress: Progress = silent,
    history: bool = False,
    churn: bool = False,
) -> dict[str, Any]:
    """Generate a seeded shop into a demo workspace and grade it (four steps of progress).

    `history`: grade and publish the end of the quarter before first, so that the workbench's
    migration and moved-down list have two runs to compare and the owners' inboxes hold the
    quarter's alerts, as a shop that grades every quarter would. `churn`: add the churn-risk
    model's metrics to the policy (the card's risk and its signals, the churn watchlist); it
    costs about ten seconds a grading."""
    root = workspace or Path("demo-workspace")
    ws = Workspace.init(root, "retail", demo=True)
    if not ws.config.get("demo"):
        raise WorkspaceError(f"{ws.root} is a workspace with its own data, not a demo one; choose another --workspace")
    with writing(ws, "demo"):  # its data written and graded twice with no other writer between
        return _demo(ws, customers, seed, engine, lang, progress, history, churn)


def _demo(
    ws: Workspace,
    customers: int,
    seed: int,
    engine: str | None,
    lang: str,
    progress: Progress,
    history: bool,
    churn: bool,
) -> dict[str, Any]:
    from tierkit.demo.shop import generate

    include_identification_tags(ws)
    include_profit(ws)
    if churn:
        include_churn_risk(ws)
    include_alerts_and_limits(ws)
    progress(f"generating a shop of {customers:,} customers")
    files = generate(ws.root / "data", customers=customers, seed=seed)
    if history:  # the end of the quarter before the last order's
        last = files.as_of
        end = dt.date(last.year, (last.month - 1) // 3 * 3 + 1, 1) - dt.timedelta(days=1)
        grade_workspace(ws.root, engine=engine, lang=lang, as_of=end.isoformat(), publish=True)
    # the same as-of rule as any plain re-grade: the date of the last order (the shop's last day)
    summary = grade_workspace(ws.root, engine=engine, lang=lang, progress=progress)
    summary["workspace"] = str(ws.root)
    summary["example_customer"] = "00000001"
    return summary
