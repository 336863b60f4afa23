"""The kill harness (issue 15, part 1): real tierkit processes SIGKILLed at random moments.

`Harness(root, seed).run(kills)` builds a tiny workspace (orders and customers imported, linked,
graded and published, an admin user), measures once how long each kind of command takes, then
kills, in turn, one process of each kind after a seeded random delay spread over that duration:

- `grade`: `tierkit grade -w WS`;
- `import`: `tierkit import orders FILE -w WS`, a new file each time (one row rejected);
- `link`: `tierkit link -w WS`;
- `publish`: `tierkit publish RUN -w WS`, the run that is not current;
- `serve`: a `tierkit serve` grading in the background after `POST /runs`.

After each kill it checks the workspace as the killed process left it (`check_after_kill`), runs
the next command of the same kind to its end (it must succeed), and checks again, stricter
(`check_clean`): no leftovers at all. `race` starts two gradings at once. Every check returns
failures as lines; the kill schedule (kind, delay, whether the process was still running) is
kept so a failing seed can be replayed with the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tierkit.app.erasure_data import LOOKUPS
from tierkit.runs.lookup import RUN_CACHES

KINDS = ("grade", "import", "link", "publish", "serve")
KEPT_HIDDEN = {".tierkit.lock", *RUN_CACHES, *LOOKUPS}
AS_OF = "2024-12-31"
TIERKIT = [sys.executable, "-m", "tierkit"]
TIMEOUT = 120.0  # no single command of the tiny workspace comes near it


@dataclass
class Kill:
    """One kill: what was killed, when, and what the checks found."""

    n: int
    kind: str
    delay: float
    killed: bool = False  # the process was still running when the signal came
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        state = "killed" if self.killed else "had finished"
        return f"#{self.n} {self.kind} at {self.delay:.3f}s ({state}): " + (
            "ok" if not self.failures else "; ".join(self.failures)
        )


@dataclass
class Report:
    seed: int
    durations: dict[str, float] = field(default_factory=dict)
    kills: list[Kill] = field(default_factory=list)
    race: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [k.line() for k in self.kills if k.failures] + [f"race: {r}" for r in self.race]

    def schedule(self) -> str:
        head = f"seed {self.seed}; durations " + ", ".join(f"{k} {v:.2f}s" for k, v in self.durations.items())
        return "\n".join([head, *(k.line() for k in self.kills), *(f"race: {r}" for r in self.race)])

    def table(self) -> list[tuple[str, int, int, int, int]]:
        """Per kind: attempts, processes really killed, attempts whose checks all passed, failing."""
        rows = []
        for kind in KINDS:
            mine = [k for k in self.kills if k.kind == kind]
            if mine:
                bad = sum(1 for k in mine if k.failures)
                rows.append((kind, len(mine), sum(1 for k in mine if k.killed), len(mine) - bad, bad))
        return rows


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env() -> dict[str, str]:
    return {**os.environ, "TIERKIT_LOCK_TIMEOUT": os.environ.get("TIERKIT_LOCK_TIMEOUT", "120"), "NO_COLOR": "1"}


class Harness:
    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.ws = root / "ws"
        self.seed = seed
        self.rng = random.Random(seed)
        self.report = Report(seed)
        self.key = ""
        self.imported = 0

    # -- commands ------------------------------------------------------------------------

    def tierkit(self, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*TIERKIT, *args], capture_output=True, text=True, timeout=timeout, env=env())

    def ok(self, *args: str) -> str:
        done = self.tierkit(*args)
        if done.returncode != 0:
            raise AssertionError(f"tierkit {' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def build(self) -> None:
        """The tiny workspace: 2,000 orders of 300 customers (250 persons), linked and graded."""
        self.root.mkdir(parents=True, exist_ok=True)
        rng = random.Random(self.seed)
        orders = self.root / "orders.csv"
        rows = [
            f"O{i},C{rng.randrange(300):04d},2024-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d},"
            f"{rng.randrange(10, 900)}"
            for i in range(2000)
        ]
        orders.write_text("order_id,customer_id,ordered_at,amount\n" + "\n".join(rows) + "\n", "utf-8")
        customers = self.root / "customers.csv"
        people = [f"C{i:04d},Zhang Wei{i % 250},138{i % 250:08d},u{i % 250}@example.cn" for i in range(300)]
        customers.write_text("customer_id,name,phone,email\n" + "\n".join(people) + "\n", "utf-8")
        self.ok("init", str(self.ws))
        self.ok("import", "orders", str(orders), "-w", str(self.ws))
        self.ok("import", "customers", str(customers), "-w", str(self.ws))
        self.ok("link", "-w", str(self.ws))
        self.ok("grade", "-w", str(self.ws), "--as-of", AS_OF, "--json")
        self.ok("grade", "-w", str(self.ws), "--as-of", AS_OF, "--json")  # two runs, for publish
        self.key = json.loads(self.ok("users", "add", "harness", "--role", "admin", "-w", str(self.ws), "--json"))[
            "key"
        ]

    def orders_file(self) -> Path:
        """A new orders file of 120 rows, one of them rejected (a date that is no date)."""
        self.imported += 1
        n = self.imported
        rng = random.Random(self.seed * 1000 + n)
        rows = [
            f"K{n}-{i},C{rng.randrange(300):04d},2024-{1 + rng.randrange(12):02d}-15,{rng.randrange(10, 500)}"
            for i in range(119)
        ]
        path = self.root / f"orders-{n:03d}.csv"
        path.write_text(
            "order_id,customer_id,ordered_at,amount\n" + "\n".join(rows) + f"\nK{n}-bad,C0001,no-date,5\n", "utf-8"
        )
        return path

    def args_of(self, kind: str, target: str) -> list[str]:
        ws = str(self.ws)
        if kind == "grade":
            return ["grade", "-w", ws, "--as-of", AS_OF, "--json"]
        if kind == "import":
            return ["import", "orders", target, "-w", ws]
        if kind == "link":
            return ["link", "-w", ws]
        if kind == "publish":
            return ["publish", target, "-w", ws]
        raise ValueError(kind)

    def target_of(self, kind: str) -> str:
        if kind == "import":
            return str(self.orders_file())
        if kind == "publish":  # the newest run that is not current
            current = self.current_in_store()
            others = [r for r in self.run_folders() if r != current]
            return others[-1] if others else "current"
        return ""

    # -- the service ----------------------------------------------------------------------

    def request(self, port: int, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.key}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def start_server(self) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        server = subprocess.Popen(
            [*TIERKIT, "serve", "-w", str(self.ws), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env(),
            start_new_session=True,  # its own process group: the kill reaches every worker
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    return server, port
            except OSError:
                if server.poll() is not None:
                    raise AssertionError(f"tierkit serve exited with {server.returncode}") from None
                time.sleep(0.1)
        self.stop(server, signal.SIGKILL)
        raise AssertionError("tierkit serve did not answer /health within 60 s")

    def stop(self, server: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        if server.poll() is None:
            os.killpg(server.pid, sig)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)

    def serve_grading(self, port: int) -> str:
        """POST /runs, then follow the job to its end; '' when it was done, else what went wrong."""
        status, job = self.request(port, "POST", "/runs", {"as_of": AS_OF})
        if status != 202:
            return f"POST /runs answered {status}: {job}"
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            status, job = self.request(port, "GET", f"/runs/{job['job_id']}")
            if status == 200 and job.get("state") in ("done", "failed"):
                return "" if job["state"] == "done" else f"the grading failed: {job.get('error')}"
            time.sleep(0.05)
        return "the grading did not end"

    # -- the workspace as it is -----------------------------------------------------------

    def registry(self) -> dict[str, Any]:
        path = self.ws / "data" / "imports.json"
        return json.loads(path.read_text("utf-8")) if path.exists() else {}

    def parts(self) -> dict[str, tuple[int, str]]:
        """Every part the registry names: path -> (rows recorded, sha256 of its bytes)."""
        found = {}
        for entries in self.registry().values():
            for entry in entries.values():
                part = Path(entry["part"])
                if part.exists():
                    found[str(part)] = (int(entry["imported"]), sha256(part))
        return found

    def store(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.ws / 'tierkit.db'}?mode=ro", uri=True, timeout=30)

    def current_in_store(self) -> str | None:
        from tierkit.runs.files import current_run_id
        from tierkit.workspace import Workspace

        return current_run_id(Workspace.open(self.ws))

    def catalog(self) -> set[str]:
        from tierkit.runs.files import store_of
        from tierkit.store import catalog
        from tierkit.workspace import Workspace

        return set(catalog.run_ids(store_of(Workspace.open(self.ws))))

    def run_folders(self) -> list[str]:
        runs = self.ws / "runs"
        return sorted(f.name for f in runs.iterdir() if f.is_dir() and not f.name.startswith("."))

    def check_run(self, run_id: str) -> list[str]:
        """A run complete and readable: its manifest's files present with their sha256, its result read whole."""
        folder = self.ws / "runs" / run_id
        try:
            manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError) as err:
            return [f"run {run_id}: manifest unreadable ({err})"]
        problems = []
        files = manifest.get("files") or {}
        if "result.parquet" not in files:
            problems.append(f"run {run_id}: the manifest lists no result.parquet")
        for name, recorded in files.items():
            path = folder / name
            if not path.is_file():
                problems.append(f"run {run_id}: {name} missing")
            elif sha256(path) != recorded:
                problems.append(f"run {run_id}: {name} differs from its sha256")
        try:
            rows = pq.read_table(folder / "result.parquet").num_rows
            if rows != manifest.get("rows"):
                problems.append(
                    f"run {run_id}: result.parquet holds {rows} rows, the manifest says {manifest.get('rows')}"
                )
        except Exception as err:
            problems.append(f"run {run_id}: result.parquet unreadable ({err})")
        return problems

    def check_after_kill(self, before: dict[str, tuple[int, str]]) -> list[str]:
        """What a kill may leave: the published run complete; every part, rejects file and entry
        the registry names whole; no unnamed part but those the next command cleans (`*.partial`,
        the targets of a committed journal); nothing imported before lost or changed."""
        problems = []
        data = self.ws / "data"
        current = self.current_in_store()
        if current is None:
            problems.append("no published run")
        else:
            problems += self.check_run(current)
        mirror = (self.ws / "runs" / "CURRENT").read_text("utf-8").strip()
        problems += [] if mirror == current else self.check_run(mirror)  # a lagging mirror still names a whole run
        try:
            registry = self.registry()
        except ValueError as err:
            return [*problems, f"imports.json unreadable ({err})"]
        journal_path = data / "imports.journal.json"
        journal: dict[str, Any] = json.loads(journal_path.read_text("utf-8")) if journal_path.exists() else {}
        pending = {str(Path(dst)) for _, dst in journal.get("moves", [])}
        named = set()
        for kind, entries in registry.items():
            for source, entry in entries.items():
                part = Path(entry["part"])
                named.add(str(part))
                if entry.get("rejects_file"):
                    named.add(str(entry["rejects_file"]))
                    if not Path(entry["rejects_file"]).is_file() and str(entry["rejects_file"]) not in pending:
                        problems.append(f"{kind} {source}: rejects file {entry['rejects_file']} missing")
                if not part.is_file():
                    if str(part) not in pending:
                        problems.append(f"{kind} {source}: part {part.name} missing")
                    continue
                try:
                    rows = pq.read_metadata(part).num_rows
                    pq.read_table(part)
                except Exception as err:
                    problems.append(f"{kind} {source}: part {part.name} unreadable ({err})")
                    continue
                if rows != entry["imported"]:
                    problems.append(
                        f"{kind} {source}: part {part.name} holds {rows} rows, the registry says {entry['imported']}"
                    )
        for path in sorted(data.rglob("*")):
            if not path.is_file() or path.name.endswith(".partial") or str(path) in pending:
                continue
            if path.parent.name == "identity" or path.name in ("imports.json", "imports.journal.json"):
                continue
            if str(path) not in named:
                problems.append(f"{path.relative_to(self.ws)} is named by no registry entry")
        for kept, (rows, digest) in before.items():
            if not Path(kept).is_file():
                problems.append(f"{Path(kept).name} ({rows} rows) imported before the kill is gone")
            elif sha256(Path(kept)) != digest:
                problems.append(f"{Path(kept).name} imported before the kill changed")
        links = data / "identity" / "links.parquet"
        if links.exists():
            try:
                pq.read_table(links)
            except Exception as err:
                problems.append(f"links.parquet unreadable ({err})")
        return problems

    def leftovers(self) -> list[str]:
        """Files a finished command must not leave: staging folders, `*.partial`, temporary names, a journal.
        A server's finished lookup copies (its warm-up builds them) and the lock are kept on purpose."""
        found = []
        for path in sorted(self.ws.rglob("*")):
            name = path.name
            if name in KEPT_HIDDEN or (name.startswith("tierkit.db") and name.endswith(("-wal", "-shm", "-journal"))):
                continue
            if name.startswith(".") or name.endswith((".partial", ".tmp")) or name == "imports.journal.json":
                found.append(str(path.relative_to(self.ws)))
        return found

    def check_clean(self) -> list[str]:
        """After the next command: all of check_after_kill, no leftovers, the catalog and the
        mirror in line with the run folders and the pointer, the store sound."""
        problems = self.check_after_kill({})
        problems += [f"leftover {name}" for name in self.leftovers()]
        current = self.current_in_store()
        mirror = (self.ws / "runs" / "CURRENT").read_text("utf-8").strip()
        if mirror != current:
            problems.append(f"runs/CURRENT names {mirror}, the store {current}")
        missing = set(self.run_folders()) - self.catalog()
        if missing:
            problems.append(f"run folders not in the catalog: {sorted(missing)}")
        with self.store() as con:
            quick = con.execute("PRAGMA quick_check").fetchone()[0]
        if quick != "ok":
            problems.append(f"the store's quick_check: {quick}")
        return problems

    # -- one kill -------------------------------------------------------------------------

    def measure(self, kinds: tuple[str, ...] = KINDS) -> None:
        """How long each kind takes here, once, run to its end (the kills spread over it)."""
        for kind in kinds:
            started = time.monotonic()
            if kind == "serve":
                server, port = self.start_server()
                started = time.monotonic()  # the grading only, not the server's start
                problem = self.serve_grading(port)
                self.report.durations[kind] = time.monotonic() - started
                self.stop(server)
                if problem:
                    raise AssertionError(f"serve: {problem}")
                continue
            self.ok(*self.args_of(kind, self.target_of(kind)))
            self.report.durations[kind] = time.monotonic() - started

    def delay_for(self, kind: str) -> float:
        """A delay over the command's duration, denser towards its end where it writes (most of
        a short command is Python starting and importing)."""
        return round(0.95 * self.report.durations[kind] * self.rng.random() ** 0.5, 3)

    def kill_one(self, n: int, kind: str) -> Kill:
        kill = Kill(n, kind, self.delay_for(kind))
        before = self.parts()
        target = self.target_of(kind)
        if kind == "serve":
            server, port = self.start_server()
            status, job = self.request(port, "POST", "/runs", {"as_of": AS_OF})
            if status != 202:
                kill.failures.append(f"POST /runs answered {status}: {job}")
            time.sleep(kill.delay)
            kill.killed = server.poll() is None
            self.stop(server, signal.SIGKILL)
        else:
            process = subprocess.Popen(
                [*TIERKIT, *self.args_of(kind, target)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env(),
                start_new_session=True,
            )
            time.sleep(kill.delay)
            kill.killed = process.poll() is None
            if kill.killed:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=TIMEOUT)
        kill.failures += self.check_after_kill(before)
        kill.failures += self.next_command(kind, target)
        kill.failures += self.check_clean()
        return kill

    def next_command(self, kind: str, target: str) -> list[str]:
        """The next command of the same kind, run to its end: it must succeed."""
        if kind == "serve":
            server, port = self.start_server()
            try:
                problem = self.serve_grading(port)
            finally:
                self.stop(server)
            return [f"the next serve: {problem}"] if problem else []
        done = self.tierkit(*self.args_of(kind, target))
        if done.returncode != 0:
            return [f"the next {kind}: exit {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}"]
        if kind == "import":
            entry = self.registry().get("orders", {}).get(str(Path(target).resolve()))
            if entry is None:
                return [f"the next import of {Path(target).name} is not in the registry"]
        return []

    def run(self, kills: int, kinds: tuple[str, ...] = KINDS, race: bool = True) -> Report:
        self.build()
        self.measure(kinds)
        order = [kinds[i % len(kinds)] for i in range(kills)]
        self.rng.shuffle(order)
        for n, kind in enumerate(order, 1):
            self.report.kills.append(self.kill_one(n, kind))
        if race:
            self.report.race = self.race()
        return self.report

    # -- two gradings at once -------------------------------------------------------------

    def race(self) -> list[str]:
        """Two gradings started at once, first waiting for the lock, then with a lock time-out
        too short to wait: each ends well or exits 2 with one line; neither corrupts the other."""
        problems = []
        for timeout in ("120", "0.2"):
            before = set(self.run_folders())
            both = [
                subprocess.Popen(
                    [*TIERKIT, *self.args_of("grade", "")],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**env(), "TIERKIT_LOCK_TIMEOUT": timeout},
                )
                for _ in range(2)
            ]
            outcomes = [(p.wait(timeout=TIMEOUT), *p.communicate()) for p in both]
            made = set(self.run_folders()) - before
            good = sum(1 for code, _, _ in outcomes if code == 0)
            for code, _out, err in outcomes:
                # the one line of the time-out; before it only the notice that it waits, and notes
                lines = [line for line in err.strip().splitlines() if line and not line.startswith("note:")]
                errors = [line for line in lines if not line.endswith("waiting…")]
                if code == 2 and (len(errors) != 1 or "TIERKIT_LOCK_TIMEOUT" not in errors[0]):
                    problems.append(f"timeout {timeout}: exit 2 with {len(errors)} lines: {errors[-3:]}")
                elif code not in (0, 2):
                    problems.append(f"timeout {timeout}: exit {code}: {err.strip()[-300:]}")
            if timeout == "120" and good != 2:
                problems.append(f"waiting for the lock: {good} of 2 gradings succeeded")
            if len(made) != good:
                problems.append(f"timeout {timeout}: {good} gradings succeeded, {len(made)} runs written")
            for run_id in sorted(made):
                problems += self.check_run(run_id)
            problems += self.check_clean()
        return problems


def main_table(report: Report) -> str:
    """The long run's table: kills per kind, checks passed, failures."""
    lines = [
        f"seed {report.seed}",
        "| kind | attempts | killed while running | all checks passed | failures |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, attempts, killed, passed, bad in report.table():
        lines.append(f"| {kind} | {attempts} | {killed} | {passed} | {bad} |")
    total = report.kills
    lines.append(
        f"| all | {len(total)} | {sum(k.killed for k in total)} | {sum(not k.failures for k in total)} | "
        f"{sum(bool(k.failures) for k in total)} |"
    )
    lines.append(f"two gradings at once: {'ok' if not report.race else '; '.join(report.race)}")
    return "\n".join(lines)
