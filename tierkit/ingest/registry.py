"""data/imports.json: what each source file's import was, so that imports are idempotent and
can be repeated.

Per kind and source file (its absolute path): the part and rejects file, sha256, encoding,
counts, `released` (ids the import let go), a signature of the bytes and settings, the settings
themselves, `imported_at` and `seq`, the order imports happened in. Written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tierkit.ingest.quarantine import ImportRules
from tierkit.tables.sources import TextOptions

REGISTRY = "imports.json"


class Registry:
    """data/imports.json: kind -> source file (absolute path) -> what was imported, written atomically."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / REGISTRY
        self.entries: dict[str, dict[str, dict[str, Any]]] = (
            json.loads(self.path.read_text("utf-8")) if self.path.exists() else {}
        )

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.entries.get(kind, {}).get(name)

    def same_signature(self, kind: str, sign: str) -> dict[str, Any] | None:
        """An earlier import of the same bytes with the same settings (under any path) that still
        stands: one that set no row aside, or after which no import of this kind let ids go (a row
        set aside for an id another file held may be the only copy now; see recheck)."""
        for entry in self.entries.get(kind, {}).values():
            if entry.get("signature") != sign:
                continue
            if not (entry.get("duplicates") or entry.get("rejected")):
                return entry
            if "settings" in entry and self.last_release(kind) <= max(entry.get("seq", 0), entry.get("checked", 0)):
                return entry
        return None

    def last_release(self, kind: str) -> int:
        """The `seq` of the last import of `kind` that let ids go, 0 if none. Kept per source as
        `release_seq`, so that a later import of the same file letting nothing go does not make
        the release forgotten (a file that could not be looked at then still needs it)."""
        return max(
            (
                e.get("release_seq", e.get("seq", 0) if e.get("released") else 0)
                for e in self.entries.get(kind, {}).values()
            ),
            default=0,
        )

    def numbered(self, kind: str, name: str, entry: dict[str, Any]) -> dict[str, Any]:
        """The entry with its `seq`, the next one (the order imports happened in), and its
        `release_seq`: numbered before the commit, so that recording it again (a journal
        finished after a crash, see journal) gives the same record."""
        if "seq" in entry:
            return entry
        seq = 1 + max((e.get("seq", 0) for k in self.entries.values() for e in k.values()), default=0)
        before = self.entries.get(kind, {}).get(name, {}).get("release_seq", 0)
        return {**entry, "seq": seq, "release_seq": seq if entry.get("released") else before}

    def _text_with(self, kind: str, name: str, entry: dict[str, Any]) -> str:
        entries = {**self.entries, kind: {**self.entries.get(kind, {}), name: self.numbered(kind, name, entry)}}
        return json.dumps(entries, ensure_ascii=False, indent=2, sort_keys=True)

    def prepare(self, kind: str, name: str, entry: dict[str, Any]) -> Path:
        """imports.json with the entry, written beside it (`imports.json.partial`), not yet in
        place: the journal writes it before its commit point, so that a disk with no room for it
        fails the import before anything changed, not after the part was moved in (issue 15)."""
        staging = self.path.with_suffix(".json.partial")
        staging.write_text(self._text_with(kind, name, entry), "utf-8")
        return staging

    def put(self, kind: str, name: str, entry: dict[str, Any]) -> None:
        """Record an import; a new entry gets the next `seq` (see `numbered`). A prepared file
        with the same text is renamed as it is: no room is needed then."""
        text = self._text_with(kind, name, entry)
        self.entries.setdefault(kind, {})[name] = self.numbered(kind, name, entry)
        staging = self.path.with_suffix(".json.partial")
        if not (staging.is_file() and staging.read_text("utf-8") == text):
            staging.write_text(text, "utf-8")
        os.replace(staging, self.path)


def signature(
    sha: str,
    kind: str,
    rules: ImportRules,
    maps: dict[str, str] | None,
    sheet: str | int | None,
    text: TextOptions | None = None,
) -> str:
    """The file's bytes and every setting that shapes the result: any change means import again.
    --delimiter and --date-format count only when given, so that imports made before they
    existed keep their signatures."""
    settings: dict[str, object] = {
        "kind": kind,
        "maps": sorted((maps or {}).items()),
        "sheet": None if sheet is None else str(sheet),
        "refunds": rules.refunds,
        "minutes": rules.to_minutes,
        "today": rules.today.isoformat(),
        "threshold": rules.threshold,
        **(text.as_dict() if text else {}),
    }
    return sha + ":" + hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def settings_of(
    rules: ImportRules,
    maps: dict[str, str] | None,
    sheet: str | int | None,
    defaults: dict[str, str] | None,
    text: TextOptions | None = None,
) -> dict[str, Any]:
    """What an import was told, kept so that the same import can be repeated (see `recheck`)."""
    return {
        "maps": maps or {},
        "defaults": defaults or {},
        "sheet": sheet,
        "today": rules.today.isoformat(),
        "refunds": rules.refunds,
        "threshold": rules.threshold,
        "minutes": rules.to_minutes,
        "delimiter": text.delimiter if text else None,
        "date_format": text.date_format if text else None,
    }


def text_of(settings: dict[str, Any] | None) -> TextOptions:
    """The --delimiter and --date-format an import was given (none for older records)."""
    settings = settings or {}
    return TextOptions(settings.get("delimiter"), settings.get("date_format"))
