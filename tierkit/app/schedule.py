"""Scheduled re-grading: the workspace's `schedule:` (cron), what is due, and grading it once.

    schedule: "0 2 1 * *"                                   # 02:00 UTC on the 1st of each month
    schedule: {cron: "0 2 1 * *", timezone: Asia/Shanghai}  # 02:00 Beijing time

A *slot* is one due instant of the cron. At any moment the slot that matters is the latest one
at or before now; it is due when nobody has taken it (no `schedule_runs` row) and no run
published since was created at or after it (someone graded already). So a server that was down
over one or several slots grades once when it starts, for the latest slot only, and a schedule
set up right after a grading does not grade again.

Grading a slot (`run_due`) takes the store lock "grading" (one scheduled grading at a time across
processes and hosts; renewed while it works, lapsing after `LOCK_TTL` if its holder dies), then
the slot's row (the primary key lets one process win), grades and publishes the workspace as
`tierkit grade` does (alerts included), records done with the run or failed with the error, and
audits it (actor "schedule"). A row left `running` by a process that died mid-grading is graded
again once; interrupted twice, it is marked failed. A failed slot is not retried on its own
(`retry=True`, or `tierkit schedule run-due --retry`, does it).
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from croniter import CroniterBadDateError, croniter

from tierkit.app.grading import grade_workspace
from tierkit.errors import TierkitError, WorkspaceError, did_you_mean
from tierkit.runs.files import store_of
from tierkit.settings import DEFAULT_LANG
from tierkit.store import locks
from tierkit.store import schedule_runs as slots
from tierkit.store.audit import AuditLog
from tierkit.workspace import CONFIG, Workspace

log = logging.getLogger(__name__)

LOCK = "grading"  # the store lock every scheduled grading holds
LOCK_TTL = dt.timedelta(minutes=10)  # renewed every third of it while grading; a dead holder's lapses
DEFAULT_TIMEZONE = "UTC"
KEYS = ("cron", "timezone")
EXAMPLE = '"0 2 1 * *" (02:00 on the 1st of each month)'
FIELDS = (  # the five fields of a cron expression, and what each takes
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("day of week", "0-7 or sun-sat, 0 and 7 are Sunday"),
)
ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
INTERRUPTED = "interrupted"  # how the error of a slot taken again after its holder died begins


class ScheduleError(WorkspaceError):
    """A `schedule:` in tierkit.yaml that cannot be used (names the file and the field)."""


@dataclass(frozen=True)
class Schedule:
    cron: str
    timezone: str = DEFAULT_TIMEZONE

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def previous(self, now: dt.datetime) -> dt.datetime:
        """The latest due instant at or before `now` (UTC); `now` itself when it is one."""
        local = now.astimezone(self.tz)
        found: dt.datetime = croniter(self.cron, local).get_prev(dt.datetime)
        following: dt.datetime = croniter(self.cron, found).get_next(dt.datetime)
        if following <= local:  # croniter's previous is strictly before its start
            found = following
        return found.astimezone(dt.UTC)

    def following(self, now: dt.datetime) -> dt.datetime:
        """The first due instant after `now` (UTC)."""
        nxt: dt.datetime = croniter(self.cron, now.astimezone(self.tz)).get_next(dt.datetime)
        return nxt.astimezone(dt.UTC)

    def local(self, at: dt.datetime) -> str:
        """An instant in the schedule's time zone, as ISO text."""
        return at.astimezone(self.tz).isoformat()


def _cron_problem(cron: str) -> str | None:
    """Why `cron` is not a usable five-field expression, in words; None when it is."""
    if cron.startswith("@"):
        return None if cron in ALIASES else f"unknown shorthand '{cron}' (known: {', '.join(ALIASES)})"
    parts = cron.split()
    if len(parts) != 5:
        return f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}; e.g. {EXAMPLE}"
    for i, (part, (name, allowed)) in enumerate(zip(parts, FIELDS, strict=True)):
        probe = ["*"] * 5
        probe[i] = part
        if not croniter.is_valid(" ".join(probe)):
            return f"{name} '{part}' is not valid ({allowed}); e.g. {EXAMPLE}"
    if not croniter.is_valid(cron):
        return f"not a valid cron expression; e.g. {EXAMPLE}"
    try:
        croniter(cron, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).get_next(dt.datetime)
    except CroniterBadDateError:
        return "never comes (no such date, e.g. 30 February)"
    return None


def _zone_problem(name: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(name)
        return None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    known = zoneinfo.available_timezones() | {"UTC"}
    same = [z for z in known if z.lower() == name.lower()]
    hint = f" (did you mean '{same[0]}'?)" if same else did_you_mean(name, sorted(known))
    return f"unknown time zone '{name}'{hint}; give an IANA name such as Asia/Shanghai or UTC"


def parse_schedule(value: object, where: str = CONFIG) -> Schedule | None:
    """A `schedule:` setting as a Schedule (None when it is absent or empty); a bad one raises
    ScheduleError with one line naming `where` (the tierkit.yaml) and the field."""
    if value is None or value == "" or value is False:
        return None
    field = "schedule"
    if isinstance(value, str):
        cron, zone = value, DEFAULT_TIMEZONE
    elif isinstance(value, dict):
        unknown = [str(k) for k in value if k not in KEYS]
        if unknown:
            raise ScheduleError(
                f"{where}: schedule: unknown key '{unknown[0]}'{did_you_mean(unknown[0], KEYS)} (keys: cron, timezone)"
            )
        raw_cron, raw_zone = value.get("cron"), value.get("timezone")
        if not isinstance(raw_cron, str) or not raw_cron.strip():
            raise ScheduleError(f"{where}: schedule.cron: give a cron expression in quotes, e.g. {EXAMPLE}")
        if raw_zone is not None and not isinstance(raw_zone, str):
            raise ScheduleError(
                f"{where}: schedule.timezone: expected a time zone name such as Asia/Shanghai, got {raw_zone!r}"
            )
        cron, zone, field = raw_cron, raw_zone or DEFAULT_TIMEZONE, "schedule.cron"
    else:
        raise ScheduleError(
            f"{where}: schedule: expected a cron expression in quotes, e.g. schedule: {EXAMPLE}, "
            f"or {{cron: ..., timezone: ...}}; got {value!r}"
        )
    cron = " ".join(cron.split())
    problem = _cron_problem(cron)
    if problem is not None:
        raise ScheduleError(f"{where}: {field}: '{cron}': {problem}")
    zone = zone.strip()
    problem = _zone_problem(zone)
    if problem is not None:
        raise ScheduleError(f"{where}: schedule.timezone: {problem}")
    return Schedule(cron, zone)


def schedule_of(ws: Workspace) -> Schedule | None:
    """The workspace's schedule, checked; None when tierkit.yaml has no `schedule:`."""
    return parse_schedule(ws.config.get("schedule"), str(ws.root / CONFIG))


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return locks.utc_now()
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)


def _orphaned(engine: Any, row: dict[str, Any]) -> bool:
    """A `running` row whose holder no longer holds a live grading lock: it died mid-grading."""
    lock = locks.held(engine, LOCK)
    return lock is None or lock["holder"] != row["holder"] or bool(lock["lapsed"])


def due_slot(engine: Any, schedule: Schedule, now: dt.datetime | None = None, retry: bool = False) -> str | None:
    """The slot (UTC ISO key) to grade at `now`, or None: the latest due instant at or before
    `now`, when no row holds it and no run published since was created at or after it; also a
    slot left running by a holder that died, and (`retry`) one that failed."""
    slot = schedule.previous(_now(now))
    key = slots.slot_key(slot)
    row = slots.get(engine, key)
    if row is None:
        return None if slots.published_since(engine, slot) else key
    if row["state"] == slots.RUNNING and _orphaned(engine, row):
        return key
    if row["state"] == slots.FAILED and retry:
        return key
    return None


def run_due(root: Path | str | None, now: dt.datetime | None = None, retry: bool = False) -> dict[str, Any] | None:
    """Grade and publish the workspace if a slot of its schedule is due (see the module's text):
    the slot's record (state done or failed, run_id, error ...), or None when nothing was graded
    here (no schedule, nothing due, or another process holds the grading lock)."""
    ws = Workspace.open(root)
    schedule = schedule_of(ws)
    if schedule is None:
        return None
    engine = store_of(ws)
    moment = _now(now)
    if due_slot(engine, schedule, moment, retry) is None:  # the common case: one read, no lock
        return None
    with locks.Lease(engine, LOCK, LOCK_TTL) as lease:
        if not lease.taken:
            log.info("schedule: another process is grading; the slot is left to it")
            return None
        key = due_slot(engine, schedule, moment, retry)  # again, under the lock
        if key is None:
            return None
        row = slots.get(engine, key)
        if row is None:
            if not slots.take(engine, key, schedule.cron, lease.holder):
                return None
        elif row["state"] == slots.RUNNING and str(row["error"] or "").startswith(INTERRUPTED):
            note = f"{INTERRUPTED} twice (last by {row['holder']}): not retried; grade by hand or run-due --retry"
            slots.finish(engine, key, row["holder"], None, note)
            _audit(engine, key, f"failed: {note}")
            log.error("schedule: slot %s %s", key, note)
            return _record(engine, schedule, key)
        else:  # left running by a holder that died (graded once more), or failed and retried
            again = None
            if row["state"] == slots.RUNNING:
                again = f"{INTERRUPTED}: {row['holder']} stopped while grading; graded again"
            if not slots.retake(engine, key, row["holder"], lease.holder, again):
                return None
            _audit(engine, key, again or "failed before; retried")
        return _grade(ws, engine, schedule, key, lease.holder)


def _grade(ws: Workspace, engine: Any, schedule: Schedule, key: str, holder: str) -> dict[str, Any]:
    log.info("schedule: grading %s for slot %s (%s)", ws.root, key, schedule.cron)
    run_id: str | None = None
    error: str | None = None
    summary: dict[str, Any] = {}
    try:
        summary = grade_workspace(
            ws.root,
            publish=True,
            lang=ws.setting("lang", DEFAULT_LANG),
            progress=lambda step: log.debug("schedule %s: %s", key, step),
        )
        run_id = str(summary["run_id"])
    except TierkitError as err:
        error = str(err)
    except Exception as err:  # a bug: recorded on the slot and in the log, never raised into the server
        error = f"{type(err).__name__}: {err}"
        log.exception("schedule: grading for slot %s failed", key)
    slots.finish(engine, key, holder, run_id, error)
    if error is None:
        _audit(engine, key, f"run {run_id} published")
        log.info("schedule: slot %s graded: run %s published", key, run_id)
    else:
        _audit(engine, key, f"failed: {error}")
        log.error("schedule: slot %s failed: %s", key, error)
    record = _record(engine, schedule, key)
    if summary:
        record.update(customers=summary.get("customers"), as_of=summary.get("as_of"), alerts=summary.get("alerts"))
    return record


def _audit(engine: Any, key: str, detail: str) -> None:
    audit = AuditLog(engine)
    try:
        audit.record("schedule", "system", "scheduled_grading", key, detail, now=True)
    finally:
        audit.close()


def _shown(row: dict[str, Any], schedule: Schedule | None, state: str | None = None) -> dict[str, Any]:
    """A slot's row for people and scripts: times as ISO text, the slot also in local time."""
    at = dt.datetime.fromisoformat(row["slot"])
    return {
        "slot": row["slot"],
        "slot_local": schedule.local(at) if schedule is not None else row["slot"],
        "cron": row["cron"],
        "state": state or row["state"],
        "run_id": row["run_id"],
        "started_at": row["started_at"].isoformat() if row["started_at"] else None,
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        "error": row["error"],
        "holder": row["holder"],
    }


def _record(engine: Any, schedule: Schedule, key: str) -> dict[str, Any]:
    row = slots.get(engine, key)
    assert row is not None
    return _shown(row, schedule)


def status(
    root: Path | str | None, now: dt.datetime | None = None, limit: int = 10, upcoming: int = 3
) -> dict[str, Any]:
    """The schedule (cron, time zone), the last slot and what came of it, the next due time (local
    and UTC) and the `upcoming` ones after, whether one is due now, the grading lock if held, and
    the latest `limit` slots."""
    ws = Workspace.open(root)
    schedule = schedule_of(ws)
    engine = store_of(ws)
    moment = _now(now)
    lock = locks.held(engine, LOCK, moment)
    rows = slots.recent(engine, limit)

    def state(row: dict[str, Any]) -> str:
        live = lock is not None and lock["holder"] == row["holder"] and not lock["lapsed"]
        return INTERRUPTED if row["state"] == slots.RUNNING and not live else str(row["state"])

    recent = [_shown(row, schedule, state(row)) for row in rows]
    found: dict[str, Any] = {
        "workspace": str(ws.root),
        "cron": schedule.cron if schedule else None,
        "timezone": schedule.timezone if schedule else None,
        "now": moment.isoformat(),
        "last": recent[0] if recent else None,
        "next": None,
        "next_utc": None,
        "upcoming": [],
        "due": False,
        "due_slot": None,
        "due_slot_local": None,
        "grading": None,
        "recent": recent,
    }
    if lock is not None:
        found["grading"] = {
            "holder": lock["holder"],
            "acquired_at": lock["acquired_at"].isoformat(),
            "expires_at": lock["expires_at"].isoformat(),
            "lapsed": lock["lapsed"],
        }
    if schedule is not None:
        nxt = schedule.following(moment)
        found.update(next=schedule.local(nxt), next_utc=nxt.isoformat())
        for _ in range(upcoming):
            found["upcoming"].append({"at": schedule.local(nxt), "utc": nxt.isoformat()})
            nxt = schedule.following(nxt)
        key = due_slot(engine, schedule, moment)
        found.update(due=key is not None, due_slot=key)
        found["due_slot_local"] = schedule.local(dt.datetime.fromisoformat(key)) if key else None
    return found


def run_due_now(root: Path | str | None, retry: bool = False) -> dict[str, Any]:
    """What `tierkit schedule run-due` does: grade a due slot here and now, if there is one.
    {"ran": the slot's record or None, "status": the schedule's status after}; a workspace
    without a schedule is an error (one line, naming its tierkit.yaml)."""
    ws = Workspace.open(root)
    if schedule_of(ws) is None:
        raise ScheduleError(
            f"{ws.root / CONFIG}: schedule: not set; add e.g. schedule: {EXAMPLE}, "
            "or {cron: ..., timezone: Asia/Shanghai}"
        )
    ran = run_due(ws.root, retry=retry)
    return {"ran": ran, "status": status(ws.root)}
