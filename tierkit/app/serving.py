"""A workspace as a service serves it: the store, and the published run ready for lookups.

What one process of the REST API (and of the web workbench) holds.

The current run is read from the store's pointer at most every `pointer_ttl` seconds; a request
takes one `Snapshot` (a run and its lookup table) at its start and uses it to the end, so a
publish in another process switches the next requests over without a restart (once the new run's
lookup is ready: `run_switch`), and no request ever mixes two runs. Sorted lookup files are built
beside the run on first use.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tierkit.app.catch_up import Copies
from tierkit.app.run_switch import RunSwitch
from tierkit.app.tier_history import TierHistories
from tierkit.app.waits import blocking
from tierkit.backends import connect
from tierkit.errors import TooManyError, WorkspaceError
from tierkit.json_values import plain
from tierkit.policy.model import Policy
from tierkit.runs.card import run_policy
from tierkit.runs.files import Known, Run, current_run_id, load_run, store_of
from tierkit.runs.lookup import RUN_LOOKUP as LOOKUP
from tierkit.runs.lookup import RUN_TIERS as TIERS
from tierkit.runs.lookup import SortedTable, build_sorted
from tierkit.settings import DEFAULT_LANG
from tierkit.store import contacts
from tierkit.store import overrides as override_store
from tierkit.store.audit import AuditLog
from tierkit.workspace import Workspace

DIRECTORY = ".directory.arrow"
COMPLAINTS = ".complaints.arrow"
KEPT_RUNS = 16  # runs a process keeps open: a card's tier history reads up to twelve, a switch two more


@dataclass
class Snapshot:
    run: Run
    policy: Policy
    table: SortedTable
    seen: float = 0.0  # when its lookup file was last seen on disk (monotonic)


@dataclass
class Settings:
    """How a served workspace behaves; the limits are enforced by the API's middleware."""

    pointer_ttl: float = 0.5  # seconds a process trusts its idea of the current run
    rate_per_second: float = 100.0  # per API key; 0 turns the limit off
    burst: int = 200
    max_body: int = 64 * 1024  # bytes
    lang: str = DEFAULT_LANG
    session_idle: float = 30 * 60.0  # seconds a workbench session lasts without a request
    session_max: float = 12 * 3600.0  # seconds a workbench session lasts at most
    docs: str = "open"  # the API's own documentation: open, key (any role's) or off (TIERKIT_SERVE_DOCS)
    telemetry: bool = False  # FastAPI's own OpenTelemetry (TIERKIT_SERVE_TELEMETRY)
    switch_wait: float = 0.5  # seconds requests wait for a new run's lookup before the previous run is served


@dataclass
class ServedWorkspace:
    workspace: Workspace
    engine: Engine  # the store: read it as `store`, which a card built on the event loop refuses
    audit: AuditLog
    settings: Settings = field(default_factory=Settings)
    _snapshots: dict[str, Snapshot] = field(default_factory=dict)
    _lookups: dict[str, tuple[float, SortedTable | None]] = field(default_factory=dict)
    _copies: Copies = field(init=False)  # of what changes in the store (app/catch_up.py)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # one build at a time in the requests
    _kept_lock: threading.Lock = field(default_factory=threading.Lock)
    _switch: RunSwitch = field(default_factory=RunSwitch)
    _rations: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    _kept: dict[str, Any] = field(default_factory=dict)
    _manifests: Known = field(default_factory=dict)  # the runs listed before (runs.files.list_runs)
    histories: TierHistories = field(init=False)  # the recent runs' tiers joined (app/tier_history.py)

    def __post_init__(self) -> None:
        self._copies = Copies(lambda: self.settings.pointer_ttl)
        self.histories = TierHistories(lambda: self.settings.pointer_ttl)

    @classmethod
    def open(cls, workspace: Path | None, settings: Settings | None = None) -> ServedWorkspace:
        ws = Workspace.open(workspace)
        store = store_of(ws)
        chosen = settings or Settings(lang=ws.setting("lang", DEFAULT_LANG))
        return cls(ws, store, AuditLog(store), chosen)

    @property
    def store(self) -> Engine:
        """The operational store; a query may wait (`waits`)."""
        blocking("the store")
        return self.engine

    def current_id(self) -> str | None:
        """The published run, as the store's pointer said at most `pointer_ttl` seconds ago."""
        return self._copies.get("the published run's pointer", lambda _: current_run_id(self.workspace))  # type: ignore[no-any-return]

    def snapshot(self, ref: str | None = None) -> Snapshot:
        """A published (or named) run with its lookup table; built once per run and process.

        Another run than the current one (a card's tier history reads up to twelve) gets a lookup
        file of its ids and tiers only: at a million customers the whole rows take ~10 s to sort
        and write (the reasons are most of 700 MB), ids and tiers about a second, and every card
        waits for the history of a run graded since (even one not published). A newly published
        run is served once its whole lookup is ready (`RunSwitch`); the current run named while
        that build runs (the tier history) is read from its ids and tiers."""
        current = self.current_id()
        run_id = ref or current
        if run_id is None:
            raise WorkspaceError("no run is published yet; grade one first")
        if ref is None:
            served = self._switch.serve(
                run_id, lambda: self._build(run_id, False), lambda: self._ready(run_id), self.settings.switch_wait
            )
            if served is not None:
                return served
        slim = run_id != current or (ref is not None and self._switch.building(run_id) and self._ready(run_id) is None)
        # a whole table serves a history too: the run served until a publish needs no file of its tiers
        found = self._ready(run_id) or self._ready(f"{run_id}:tiers" if slim else run_id)
        if found is None:
            with self._lock:
                found = self._ready(f"{run_id}:tiers" if slim else run_id)
                if found is None:
                    found = self._build(run_id, slim)
        if ref is None:
            self._switch.served = found
        return found

    def history_ready(self, run_id: str) -> Snapshot | None:
        """A run's snapshot for a card's tier history if its lookup is there (whole or of tiers)."""
        return self._ready(run_id) or self._ready(f"{run_id}:tiers")

    def history_run(self, run_id: str) -> Snapshot | None:
        """A run's snapshot for a card's tier history; in a serving process, None while a
        background thread builds its lookup (app/tier_history.py, `TierHistories.run`)."""
        return self.histories.run(run_id, lambda: self.history_ready(run_id), lambda: self.snapshot(run_id))

    def _ready(self, name: str) -> Snapshot | None:
        """A snapshot built before whose lookup file is still there (gone: rewritten by forget),
        looked for on disk at most every `pointer_ttl` seconds, as the pointer is: a card asks
        for a dozen runs (its tier history), and a look on disk per run per card cost more than
        finding the customer in them."""
        found = self._snapshots.get(name)
        if found is None:
            return None
        now = time.monotonic()
        if now - found.seen > self.settings.pointer_ttl:
            if not found.table.path.exists():
                return None
            found.seen = now
        return found

    def _build(self, run_id: str, slim: bool) -> Snapshot:
        blocking(f"the lookup of run {run_id}")
        run = load_run(self.workspace, run_id)
        if slim:
            table = SortedTable.from_parquet(run.result, "customer_id", run.path / TIERS, ["customer_id", "tier"])
        else:
            table = SortedTable.from_parquet(run.result, "customer_id", run.path / LOOKUP)
        found = Snapshot(run, run_policy(run), table)
        with self._kept_lock:
            kept = list(self._snapshots.items())[-KEPT_RUNS:]  # the current run and a card's timeline
            self._snapshots = {**dict(kept), (f"{run_id}:tiers" if slim else run_id): found}
        return found

    def overrides(self) -> dict[str, Any]:
        """customer_id -> active override, read from the store at most every `pointer_ttl` seconds
        (a card view must not cost a query; an override made here is seen at once, see `forget`)."""
        return self._copies.get("overrides", lambda _: override_store.active(self.store))  # type: ignore[no-any-return]

    def last_contacted(self, customer_id: str) -> Any:
        """When the customer was last contacted, from a per-process copy of the contact log that
        catches up with new entries at most every `pointer_ttl` seconds (no query per card)."""
        _watermark, known = self._copies.get("contacts", self._contacts_since)
        return known.get(customer_id)

    def _contacts_since(self, before: tuple[Any, dict[str, Any]] | None) -> tuple[Any, dict[str, Any]]:
        """(the newest contact's instant, customer_id -> last contacted): the copy so far, with
        the entries logged since its newest."""
        watermark, known = before or (None, {})
        # a little before the newest seen: another worker's entry may commit a moment late
        fresh = contacts.latest_since(self.store, watermark - dt.timedelta(seconds=10) if watermark else None)
        if fresh:
            known = {**known, **{k: v for k, v in fresh.items() if k not in known or v > known[k]}}
            watermark = max([*fresh.values(), *([watermark] if watermark else [])])
        return watermark, known

    def forget_contacts(self) -> None:
        self._copies.forget("contacts", keep=True)

    def _cached(self, name: str, load: Any) -> Any:
        """What `load` returns, read again at most every `pointer_ttl` seconds: a card view must
        not cost a store query or a folder listing (changes made here are seen at once: `forget`)."""
        return self._copies.get(name, lambda _: load())

    def forget(self, name: str) -> None:
        self._copies.forget(name)

    def kept(self, name: str, load: Any) -> Any:
        """What `load` returns, kept for the life of the process: for figures of one run, which
        never change (name them by run id); the 64 newest names are kept."""
        found = self._kept.get(name)
        if found is None:
            found = load()
            with self._lock:
                self._kept = {**dict(list(self._kept.items())[-63:]), name: found}
        return found

    def manual_tags(self) -> dict[str, Any]:
        """customer_id -> the tags people gave that are in force."""
        from tierkit.store import manual_tags

        return self._cached("manual_tags", lambda: manual_tags.active(self.store))  # type: ignore[no-any-return]

    def complained(self) -> set[str]:
        """The customers with a complaint taken in tierkit (their card reads them from the store)."""
        from tierkit.store import complaints

        return self._cached("complained", lambda: complaints.customers(self.store))  # type: ignore[no-any-return]

    def runs(self) -> list[Run]:
        """The workspace's runs, by as-of date."""
        from tierkit.runs.files import list_runs

        def load() -> list[Run]:
            found = list_runs(self.workspace, self._manifests)
            return sorted(found, key=lambda r: (r.manifest["as_of"], r.manifest.get("created_at", "")))

        return self._cached("runs", load)  # type: ignore[no-any-return]

    def forget_overrides(self) -> None:
        self._copies.forget("overrides")

    def person(self, customer_id: str) -> dict[str, Any] | None:
        """Name, phone, e-mail and ID number from the workspace's customers, if it has them."""
        directory = self.people()
        if directory is None:
            return None
        row = directory.find(customer_id)
        if row is None:
            return None
        return {k: row.get(k) for k in ("name", "phone", "email", "id_number")}

    def people(self) -> SortedTable | None:
        """The workspace's customers (id, name, phone, e-mail, ID number) as a sorted lookup
        file, rebuilt when the customers change; None when the workspace has none."""

        def build(engine: Any, source: Path) -> Any:
            from tierkit.tables.readers import read_table  # Ibis: only when the lookup file is built

            customers = read_table(engine, "customers", source)
            wanted = [c for c in ("customer_id", "name", "phone", "email", "id_number") if c in customers.present]
            return customers.table.select(*wanted)

        return self._lookup("customers", DIRECTORY, build)

    def complaint_file(self) -> SortedTable | None:
        """The imported interactions of kind complaint (id, date, topic, channel, resolved) as a
        sorted lookup file, so that a card shows them without scanning the interactions."""

        def build(engine: Any, source: Path) -> Any:
            from tierkit.tables.readers import read_table

            rows = read_table(engine, "interactions", source)
            table = rows.table.filter(rows.table.kind == "complaint")
            return table.select(
                "customer_id",
                at=table["at"].cast("string"),
                topic=rows.value(table, "topic"),
                channel=rows.value(table, "channel"),
                resolved=rows.value(table, "resolved"),
            )

        return self._lookup("interactions", COMPLAINTS, build)

    def _lookup(self, kind: str, name: str, build: Any) -> SortedTable | None:
        """A sorted lookup file of one of the workspace's tables, rebuilt when the table changes,
        looked at again at most every 5 s; None when the workspace has no such table."""
        checked, table = self._lookups.get(name, (0.0, None))
        if time.monotonic() - checked < 5.0:
            return table
        blocking(f"the lookup file {name}")
        with self._lock:
            source = self.workspace.data_file(kind)
            if source is None:
                table = None
            else:
                cache = self.workspace.data_dir / name
                stamp = max((p.stat().st_mtime_ns for p in _files(source)), default=0)
                if not cache.exists() or cache.stat().st_mtime_ns < stamp:
                    engine = connect("duckdb")
                    build_sorted(engine, build(engine, source), "customer_id", cache)
                table = SortedTable(cache, "customer_id")
            self._lookups[name] = (time.monotonic(), table)
        return table

    def person_of(self, customer_id: str) -> str | None:
        """The person id `tierkit link` folded a source id into, or None."""
        from tierkit.ingest.identity.persons import LINKS  # linking's module loads Ibis

        links = self.workspace.data_dir / LINKS
        if not links.exists():
            return None
        blocking("the links file")
        backend = connect("duckdb")
        table = backend.read_parquet(links)
        found = backend.to_pyarrow(table.filter(table.customer_id == customer_id).select("person_id").limit(1))
        rows = found["person_id"].to_pylist()
        return str(rows[0]) if rows and rows[0] != customer_id else None

    def ration(self, who: str, what: str, per_minute: int) -> None:
        """At most `per_minute` requests of one kind per caller in any minute (this process), so
        that a lookup by personal data serves a call and not a sweep."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._rations.get((who, what), []) if now - t < 60.0]
            if len(recent) >= per_minute:
                raise TooManyError(f"at most {per_minute} lookups by {what} a minute; wait a moment")
            recent.append(now)
            self._rations[(who, what)] = recent

    def manifest_summary(self, snapshot: Snapshot) -> dict[str, Any]:
        return plain(snapshot.run.manifest.get("summary", {}))  # type: ignore[no-any-return]

    def close(self) -> None:
        self.histories.stop()
        self.audit.close()


def _files(source: Path) -> list[Path]:
    return sorted(source.glob("*.parquet")) if source.is_dir() else [source]
