"""`tierkit import`: source files into the workspace's canonical tables, with nothing lost.

Each source file becomes one Parquet part, data/<kind>/<file name>.parquet, with its canonical
columns, the unknown columns as JSON `attributes`, and the source file and row of every row
(`_source`, `_row`). Grading reads the folder. data/imports.json records what each part came
from (sha256, counts), which makes an import idempotent: the same bytes again change nothing,
and a changed file with the same name replaces its part.

Rows that fail a check go to data/rejects/<kind>/<file name>.csv (file, row, column, value,
reason). Above the reject threshold the import fails and no part is written or replaced.
The part, its rejects and its registry entry change together or not at all, through a journal
(see journal): a crash between them is finished or undone by the next import.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from tierkit.backends import Backend
from tierkit.canonical import TABLES
from tierkit.errors import DiskFullError, InputError, room_for
from tierkit.ingest import journal
from tierkit.ingest.quarantine import DUPLICATE, IMPORTED, REJECTED, ImportRules, fingerprint
from tierkit.ingest.registry import Registry, settings_of, signature, text_of
from tierkit.ingest.staging import Staged, staged_rows
from tierkit.runs.output import escape_formula
from tierkit.tables.parsing import date_hint
from tierkit.tables.readers import file_fingerprint, open_mapped
from tierkit.tables.sources import TextOptions, text_options


@dataclass
class ImportResult:
    kind: str
    file: str
    status: str  # imported, replaced, unchanged
    read: int
    imported: int
    rejected: int
    duplicates: int
    refunds: int
    rejects_file: str | None
    part: str
    sha256: str
    encoding: str
    seconds: float = 0.0
    released: int = 0  # ids the file's previous version held and this one does not (see recheck)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def part_name(path: Path) -> str:
    """A file name safe on every file system, and still recognizably the user's."""
    return re.sub(r"[^\w.\-]+", "_", path.name, flags=re.UNICODE)


def rejects_path(data_dir: Path, kind: str, name: str, failed: bool = False) -> Path:
    return data_dir / "rejects" / kind / f"{name}.{'failed-' if failed else ''}rejects.csv"


def _earlier(engine: Backend, folder: Path, kind: str, except_part: str) -> ir.Table | None:
    """The ids already imported from other files of this kind, with their fingerprints."""
    spec = TABLES[kind]
    parts = [p for p in sorted(folder.glob("*.parquet")) if p.name != except_part]
    if not parts or spec.key is None:
        return None
    table = engine.read_parts(parts)
    if spec.key not in table.columns:  # files without ids (CDNOW has no order numbers)
        return None
    table = table.filter(table[spec.key].notnull())
    return table.select(spec.key, "_source", __fp=fingerprint(table, spec))


def source_key(path: Path) -> str:
    """Which earlier import a file replaces: the same file, by its absolute path."""
    return str(path.resolve())


def part_for(data_dir: Path, kind: str, path: Path) -> Path:
    """data/<kind>/<file name>-<8 hex of its path>.parquet: jan/orders.csv and feb/orders.csv differ."""
    digest = hashlib.sha256(source_key(path).encode()).hexdigest()[:8]
    return data_dir / kind / f"{part_name(path)}-{digest}.parquet"


def import_file(
    engine: Backend,
    data_dir: Path,
    kind: str,
    path: Path,
    rules: ImportRules,
    maps: dict[str, str] | None = None,
    sheet: str | int | None = None,
    say: Callable[[str], None] | None = None,
    defaults: dict[str, str] | None = None,
    force: bool = False,
    text: TextOptions | None = None,
) -> ImportResult:
    """Import one file of `kind` into `data_dir`; see the module docstring for what is written.

    `force` imports again even when the bytes and settings are unchanged (see `recheck`).
    `text`: --delimiter and --date-format; by default none, or, imported again by force, those
    the file was imported with (so that `recheck` repeats an import as it was)."""
    start = time.perf_counter()
    say = say or (lambda text: None)
    if kind not in TABLES:
        raise InputError(f"unknown table '{kind}' (use one of: {', '.join(TABLES)})")
    data_dir = data_dir.resolve()
    journal.recover(data_dir)  # an import stopped by a crash: finished, or its leftovers removed
    spec, registry = TABLES[kind], Registry(data_dir)
    part = part_for(data_dir, kind, path)
    name = part.stem
    key = source_key(path)
    say(f"{path.name}: checking what changed")
    sha = file_fingerprint(path) if path.is_file() else ""
    known = registry.get(kind, key)
    if text is None:
        text = text_of(known.get("settings")) if force and known else TextOptions()
    sign = signature(sha, kind, rules, {**(defaults or {}), **(maps or {})}, sheet, text) if sha else ""
    twin = registry.same_signature(kind, sign) if sign else None
    if twin is not None and Path(twin["part"]).exists() and not force:
        counts = {k: twin[k] for k in ("read", "imported", "rejected", "duplicates", "refunds")}
        return ImportResult(
            kind,
            str(path.resolve()),
            "unchanged",
            **counts,
            rejects_file=twin.get("rejects_file"),
            part=twin["part"],
            sha256=sha,
            encoding=twin.get("encoding", ""),
        )
    engine.keep_row_order()  # row numbers are positions in the file
    say(f"{path.name}: reading and checking every row")
    with text_options(text.delimiter, text.date_format):  # the sniffer and the date parser hear them
        mapped = open_mapped(engine, kind, path, maps, sheet, defaults)
        earlier = _earlier(engine, part.parent, kind, part.name)
        with staged_rows(engine, mapped, spec, rules, earlier, path.name) as staged:  # the one read of the file
            say(f"{path.name}: writing")
            encoding = mapped.source.encoding
            with _room(path, part, data_dir):
                result, change = _write(engine, staged, data_dir, kind, path, name, part, rules, encoding, sha)
    result.status = "replaced" if known else "imported"
    result.seconds = round(time.perf_counter() - start, 3)
    entry = {k: v for k, v in result.as_dict().items() if k not in ("status", "seconds")} | {
        "signature": sign,
        "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "settings": settings_of(rules, maps, sheet, defaults, text),
    }
    change.key, change.entry = key, registry.numbered(kind, key, entry)
    with _room(path, part, data_dir):
        journal.commit(data_dir, change)  # the part, its rejects and its entry: all or none
    return result


@contextmanager
def _room(path: Path, part: Path, data_dir: Path) -> Iterator[None]:
    """A full disk while the import writes: one line naming it, and what it wrote removed at once
    (before its commit point the import never happened; after it, the journal finishes it)."""
    try:
        with room_for(f"the import of {path} into {part.parent}"):
            yield
    except DiskFullError:
        if not (data_dir / journal.JOURNAL).exists():
            journal.discard(data_dir)
        raise


def _write(
    engine: Backend,
    judged: Staged,
    data_dir: Path,
    kind: str,
    path: Path,
    name: str,
    part: Path,
    rules: ImportRules,
    encoding: str,
    sha: str,
) -> tuple[ImportResult, journal.Change]:
    """Every file of the import written under its temporary name, and the change that commits them."""
    spec, staged = TABLES[kind], judged.rows
    refund = staged.amount < 0 if "amount" in staged.columns else ibis.literal(False)
    counts = engine.to_pyarrow(
        staged.aggregate(
            read=staged.count(),
            imported=(staged.__verdict == IMPORTED).sum(),
            rejected=(staged.__verdict == REJECTED).sum(),
            duplicates=(staged.__verdict == DUPLICATE).sum(),
            refunds=((staged.__verdict == IMPORTED) & refund).sum(),
        )
    ).to_pylist()[0]
    counts = {k: int(v or 0) for k, v in counts.items()}
    if counts["read"] == 0:
        raise InputError(f"{path}: no data rows (an empty {kind} file)")
    rejects_file: Path | None = None
    failed = counts["rejected"] > rules.threshold * counts["read"]
    if counts["rejected"]:
        # a failed import must not overwrite the rejects of the version still imported
        rejects_file = rejects_path(data_dir, kind, name, failed=failed)
        _write_rejects(engine, staged, path, journal.partial(rejects_file))
    if failed:  # nothing else changes: the list of this attempt alone, renamed into place whole
        assert rejects_file is not None
        os.replace(journal.partial(rejects_file), rejects_file)
        said = ["__row", "__column", "__value", "__reason"]  # text: a date of year 10,000 is none in Python
        first = engine.to_pyarrow(
            staged.filter(staged.__verdict == REJECTED).order_by("__row").select(*said).limit(1)
        ).to_pylist()[0]
        hint = f" ({date_hint()})" if first["__reason"] == "not a valid date" else ""
        raise InputError(
            f"{path}: {counts['rejected']} of {counts['read']} rows rejected "
            f"({counts['rejected'] / counts['read']:.1%}, above the {rules.threshold:.1%} limit); nothing imported. "
            f"First: row {first['__row']}: {first['__column']}: '{first['__value']}' {first['__reason']}{hint}. "
            f"All in {rejects_file}"
        )
    keep = [c.name for c in spec.columns if c.name in staged.columns] + ["attributes", "_source", "__row"]
    good = staged.filter(staged.__verdict == IMPORTED).select(*keep).rename(_row="__row")
    if not judged.ordered:
        good = good.order_by("_row")
    part.parent.mkdir(parents=True, exist_ok=True)
    staging = journal.partial(part)
    engine.write_parquet(good, staging)  # the path as a SQL literal (Ibis quoted it with repr: bob's "shop")
    keyed = spec.key is not None and spec.key in good.columns  # a file without ids lets none go
    released = _released(engine, part, staging, spec.key) if part.exists() and spec.key and keyed else 0
    moves = [(str(staging), str(part))]
    if rejects_file is not None:
        moves.append((str(journal.partial(rejects_file)), str(rejects_file)))
    # lists of an earlier version, or of a failed attempt, no longer apply
    stale = [rejects_path(data_dir, kind, name), rejects_path(data_dir, kind, name, failed=True)]
    change = journal.Change(kind, "", {}, moves, [str(s) for s in stale if s != rejects_file])
    result = ImportResult(
        kind,
        str(path.resolve()),
        IMPORTED,
        **counts,
        rejects_file=str(rejects_file) if rejects_file else None,
        part=str(part),
        sha256=sha,
        encoding=encoding,
        released=released,
    )
    return result, change


def _released(engine: Backend, old: Path, new: Path, key: str) -> int:
    """How many ids the old part holds that the new one does not."""
    before, after = engine.read_parquet(old), engine.read_parquet(new)
    kept = after.filter(after[key].notnull())[key]
    gone = before.filter(before[key].notnull() & ~before[key].isin(kept))
    return int(engine.execute_scalar(gone[key].nunique()) or 0)


def _write_rejects(engine: Backend, staged: ir.Table, path: Path, target: Path) -> None:
    """file, row, column, value, reason: one line per rejected row, safe to open in Excel."""
    bad = staged.filter(staged.__verdict == REJECTED).order_by("__row")
    target.parent.mkdir(parents=True, exist_ok=True)
    import csv

    reader = engine.to_batches(bad.select("__row", "__column", "__value", "__reason"))
    with target.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "row", "column", "value", "reason"])
        for batch in reader:
            for row in batch.to_pylist():
                writer.writerow(
                    [
                        escape_formula(str(path)),
                        row["__row"],
                        escape_formula(row["__column"] or ""),
                        escape_formula(row["__value"] or ""),
                        row["__reason"],
                    ]
                )
