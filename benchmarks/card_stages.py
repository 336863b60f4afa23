"""Where an agent card's time goes, stage by stage, in one process (no HTTP).

    python benchmarks/card_stages.py [--customers 1000000] [--workspace PATH --key KEY] [--cards 3000]

Builds the shop of api_lookup.py (or uses `--workspace` with an agent `--key`), then times each
stage a card request passes through, per call, over `--cards` random customers: authentication
(a key verified less than KEY_TTL ago), the rate limiter's buckets, the audit entry, the lookup
(the id, a linked id resolved, the graded row, the tier in each run), the card from its row with
and without the agent's masking, and within it the reasons made whole and put in words, the rest
of `full_card` (tags, complaints, contacts, tier history, entitlements), and serialisation
through the response model (its check and its JSON apart). What the
HTTP stack costs is measured by api_lookup.py (the floor app). Figures are microseconds on this
machine: compare them with each other, not across machines.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_lookup import shop

from tierkit.api.limits import Buckets
from tierkit.api.schemas import AgentCard
from tierkit.app import entitlements, history
from tierkit.app.access import caller_for
from tierkit.app.card import full_card
from tierkit.app.customers import build_card, resolve_id
from tierkit.app.masking import agent_view
from tierkit.app.serving import ServedWorkspace
from tierkit.runs.card import card_from_row
from tierkit.runs.reasons_full import full_reasons
from tierkit.runs.reasons_text import reasons_in_words


def per_call(work: Callable[[str], Any], ids: list[str]) -> float:
    """Microseconds per call of `work` over `ids`, best of three passes."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for cid in ids:
            work(cid)
        best = min(best, (time.perf_counter() - started) / len(ids))
    return round(1e6 * best, 1)


def stages(served: ServedWorkspace, key: str, ids: list[str]) -> dict[str, float]:
    caller = caller_for(served, key)
    assert caller is not None and caller.role == "agent"
    snapshot = served.snapshot()
    lang = served.settings.lang
    served.histories.start()  # a serving process, as tierkit.api.app makes it
    for _ in range(2):  # warm: lookup files read, per-run figures, the recent runs' tiers joined
        full_card(served, ids[0], caller)  # (app/tier_history.py), as a server has them
        served.histories.wait()
    assert full_card(served, ids[0], caller)["tier_history_pending"] == 0
    buckets = Buckets(1e9, 10**9)
    rows = {cid: snapshot.table.find(cid) for cid in ids}
    cards = {cid: full_card(served, cid, caller) for cid in ids}
    view = agent_view(snapshot.policy)
    models = {cid: AgentCard(**card) for cid, card in cards.items()}
    policy, tiers = snapshot.policy, snapshot.run.manifest.get("tiers") or []
    reasons = {cid: full_reasons(row["reasons"], row, policy) for cid, row in rows.items()}

    found = {
        "full_card": per_call(lambda c: full_card(served, c, caller), ids),
        "auth_cached_key": per_call(lambda c: caller_for(served, key), ids),
        "rate_limit_two_buckets": per_call(lambda c: buckets.take("bench") and buckets.take("127.0.0.1"), ids),
        "audit_record": per_call(lambda c: served.audit.record("bench", "agent", "view_card", c, "r"), ids),
        "lookup_id_known": per_call(snapshot.table.has, ids),
        "resolve_id": per_call(lambda c: resolve_id(served, snapshot, c), ids),
        "lookup_graded_row": per_call(snapshot.table.find, ids),
        "tier_history": per_call(lambda c: history.timeline(served, c, lang, None, snapshot.table.position(c)), ids),
        "entitlements": per_call(lambda c: entitlements.entitlements(served, c, lang), ids),
        "card_from_row_staff": per_call(lambda c: card_from_row(snapshot.run, snapshot.policy, rows[c], lang), ids),
        "card_from_row_agent_masked": per_call(
            lambda c: card_from_row(snapshot.run, snapshot.policy, rows[c], lang, None, view), ids
        ),
        "full_reasons": per_call(lambda c: full_reasons(rows[c]["reasons"], rows[c], policy), ids),
        "reasons_in_words": per_call(
            lambda c: reasons_in_words(policy, tiers, reasons[c], lang, str(rows[c]["tier"])), ids
        ),
        "build_card_agent": per_call(lambda c: build_card(served, snapshot, c, "agent", lang), ids),
        "serialise_response_model": per_call(lambda c: AgentCard(**cards[c]).model_dump_json(), ids),
        "response_model_checked": per_call(lambda c: AgentCard(**cards[c]), ids),
        "response_model_to_json": per_call(lambda c: models[c].model_dump_json(), ids),
    }
    found["masking"] = round(found["card_from_row_agent_masked"] - found["card_from_row_staff"], 1)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--key")
    parser.add_argument("--cards", type=int, default=3000)
    args = parser.parse_args()
    if args.workspace:
        ws, key = args.workspace, args.key
    else:
        ws, key = shop(Path(tempfile.mkdtemp(prefix="tierkit-bench-stages-")), args.customers)
    ids = [f"{i:08d}" for i in random.Random(11).sample(range(args.customers), args.cards)]
    served = ServedWorkspace.open(ws)
    try:
        print(json.dumps({"customers": args.customers, "microseconds_per_call": stages(served, key, ids)}, indent=2))
    finally:
        served.close()


if __name__ == "__main__":
    main()
