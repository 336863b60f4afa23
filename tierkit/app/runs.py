"""The runs of a workspace as use cases: list, one customer's card, publish, migration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tierkit.app.customers import Caller
from tierkit.app.serving import ServedWorkspace
from tierkit.app.writing import writing
from tierkit.errors import InputError
from tierkit.policy.labels import tier_labels
from tierkit.runs.card import customer_card, run_policy
from tierkit.runs.files import current_run_id, list_runs, load_run, publish_run, reconcile
from tierkit.runs.overrides import manual_tiers
from tierkit.settings import DEFAULT_LANG
from tierkit.workspace import Workspace

NONE = "(none)"  # a run's row without a tier (as runs.diff writes it)
__all__ = ["NONE", "card", "diff", "publish", "publish_as", "runs"]  # and NEW, GONE (below)


def __getattr__(name: str) -> str:
    """NEW and GONE, the migration's markers, taken from runs.diff when first asked for: the
    card's path (`tierkit show`) imports this module, and runs.diff loads Ibis."""
    if name in ("NEW", "GONE"):
        from tierkit.runs import diff as migration

        return str(getattr(migration, name))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def runs(workspace: Path | None) -> list[dict[str, Any]]:
    """Every run, oldest first; `current` marks the published one."""
    ws = Workspace.open(workspace)
    reconcile(ws)  # a run a killed grading renamed into place: in the catalog too (GET /runs)
    current = current_run_id(ws)
    return [
        {
            "run_id": r.run_id,
            "current": r.run_id == current,
            "as_of": r.manifest["as_of"],
            "policy": r.manifest["policy"]["name"],
            "policy_hash": r.manifest["policy"]["hash"][:12],
            "engine": r.manifest["engine"],
            "customers": r.manifest["rows"],
        }
        for r in list_runs(ws)
    ]


def card(workspace: Path | None, customer_id: str, run: str | None = None, lang: str = DEFAULT_LANG) -> dict[str, Any]:
    """One customer's card in a run (default: the current one); in the published run, a person's
    override in force decides the tier and its service, as on the API's card."""
    ws = Workspace.open(workspace)
    chosen = load_run(ws, run)
    if chosen.run_id == current_run_id(ws):  # today's card: what people added, and the history
        import getpass

        from tierkit.app.card import full_card
        from tierkit.app.customers import Caller
        from tierkit.app.serving import ServedWorkspace

        served = ServedWorkspace.open(ws.root)
        try:
            return full_card(served, customer_id, Caller(getpass.getuser(), "admin"), lang)
        finally:
            served.close()
    manual = manual_tiers(ws, chosen, customer_id).get(customer_id)
    return customer_card(chosen, customer_id, lang, manual)


def publish_as(served: ServedWorkspace, run: str, caller: Caller) -> str:
    """Publish a run for someone of the service (the workbench, the API), audited."""
    done = publish(served.workspace.root, run)
    served.audit.record(caller.name, caller.role, "publish", done, None, now=True)
    return done


def publish(workspace: Path | None, run: str) -> str:
    """Make a run current, atomically; returns its full id."""
    from tierkit.app.alerts import emit

    ws = Workspace.open(workspace)
    with writing(ws, "publish"):  # the run replaced is the one the alerts compare with
        chosen = load_run(ws, run)
        replaced = current_run_id(ws)
        publish_run(ws, chosen.run_id)
        emit(ws, replaced, chosen.run_id)  # what it changed, for the owners' inboxes and the webhooks
    return chosen.run_id


def diff(
    workspace: Path | None,
    run_a: str,
    run_b: str = "current",
    limit: int = 20,
    *,
    cell: tuple[str, str] | None = None,
    offset: int = 0,
    lang: str | None = None,
) -> dict[str, Any]:
    """Migration between two runs: the tier x tier matrix and who moved; with `cell` (from, to),
    who is in that cell of the matrix (the diagonal too), a page from `offset` on. Labels in
    `lang` (default: the workspace's)."""
    if limit < 0:  # the engine's LIMIT refused it with a traceback
        raise InputError(f"--limit {limit}: give how many movers to list, 0 or more")
    if offset < 0:
        raise InputError(f"offset {offset}: give how many movers to skip, 0 or more")
    from tierkit.runs.diff import migrate  # Ibis on DuckDB: loaded by the migration, not by a card

    ws = Workspace.open(workspace)
    found = migrate(load_run(ws, run_a), load_run(ws, run_b), limit, cell=cell, offset=offset).as_dict()
    lang = lang or ws.setting("lang", DEFAULT_LANG)
    labels: dict[str, str] = {}
    for ref in (found["run_a"], found["run_b"]):  # each tier by its label, as a manager reads it
        run = load_run(ws, ref)
        labels.update(tier_labels(run_policy(run), run.manifest.get("tiers") or [], lang))
    return {**found, "labels": labels}
