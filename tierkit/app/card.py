"""The card an agent keeps open: the graded card, plus what people added and what happened.

`customers.build_card` is the grading's view (tier in effect, service, scores, reasons); this
adds the tags people gave, the entitlements in effect with what is left of their limits, the
last complaints with an alert before anything else ("提示投诉专业户"), the last contacts with their
outcome, and the tier in each recent run.
"""

from __future__ import annotations

from typing import Any

from tierkit.app import complaints as complaint_uses
from tierkit.app import entitlements as entitlement_uses
from tierkit.app import history
from tierkit.app.customers import Caller, build_card, resolve_id
from tierkit.app.serving import ServedWorkspace
from tierkit.app.tags import card_tags


def full_card(served: ServedWorkspace, customer_id: str, caller: Caller, lang: str | None = None) -> dict[str, Any]:
    """One customer's card in the current run, with history; the view is audited."""
    snapshot = served.snapshot()
    language = lang or served.settings.lang
    asked = customer_id
    customer_id, note = resolve_id(served, snapshot, customer_id)
    found = build_card(served, snapshot, customer_id, caller.role, language)
    found["looked_up"] = {"id": asked, "note": note} if note else None
    # the graded tags come with their class (runs.card); the tags people gave, with who and why
    graded = {t["name"] for t in found["tags"]}
    for tag in found["tags"]:
        tag["manual"] = None
    found["tags"] += [t for t in card_tags(snapshot.policy, language, served, customer_id) if t["name"] not in graded]
    found["complaints"] = history.complaints(served, customer_id)
    found["alerts"] = complaint_uses.alerts([t["name"] for t in found["tags"]], found["complaints"], language)
    found["contacts"] = history.contacts(served, customer_id)
    found["tier_history"], found["tier_history_pending"] = history.recent_tiers(
        served, customer_id, language, snapshot.run.run_id, snapshot.table.position(customer_id)
    )
    # the tier's and the tags' entitlements with what is left of each limit (a store query only
    # when one is limited)
    found["entitlements"] = entitlement_uses.entitlements(served, customer_id, language, snapshot=snapshot)
    served.audit.record(caller.name, caller.role, "view_card", customer_id, snapshot.run.run_id)
    return found
