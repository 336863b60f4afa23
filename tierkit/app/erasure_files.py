"""Files rewritten with one person's personal data left out (tierkit forget): who the person is,
what to blank, and Parquet files (text formats: erasure_text), each written beside itself,
flushed and renamed into place.

Two rules, both driven by `Person`:

- in a row that names the person (a cell holds one of their ids), the personal cells are blanked:
  the columns a caller names (`Blank`: name, phone ... and the customers file's attributes, a
  yes/no flag kept), or, where the columns are not known (an export, a list), every cell whose
  text is one of the person's personal values;
- the person's distinctive values (phone, ID number, e-mail, address and their masked forms,
  138****5678) are replaced by `[erased]` wherever they appear in a text cell or a text file.

Everything else is kept as it was: the rows, their order, the types and the other cells.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tierkit.app.masking import mask_email, mask_id_number, mask_phone
from tierkit.tables.attributes import NO, YES

ERASED = "[erased]"
ENCODINGS = (("utf-8-sig", b"\xef\xbb\xbf"), ("utf-16", b"\xff\xfe"), ("utf-16", b"\xfe\xff"))


def date_forms(day: dt.date) -> set[str]:
    """The ways a birth date is written in the files tierkit reads and writes."""
    y, m, d = day.year, day.month, day.day
    return {
        day.isoformat(),
        f"{y}/{m}/{d}",
        f"{y}/{m:02d}/{d:02d}",
        f"{y}.{m}.{d}",
        f"{y}{m:02d}{d:02d}",
        f"{y}年{m}月{d}日",
        f"{day.isoformat()} 00:00:00",
        f"{day.isoformat()}T00:00:00",
    }


def as_text(value: Any) -> set[str]:
    """A personal value as the text forms a file may hold it in."""
    if value is None or isinstance(value, bool):
        return set()
    if isinstance(value, dt.datetime):
        return date_forms(value.date()) | {str(value), value.isoformat()}
    if isinstance(value, dt.date):
        return date_forms(value)
    text = str(value).strip()
    return {text} if text else set()


@dataclass(frozen=True)
class Person:
    """Whom to erase: their record ids, and their personal values as text."""

    customer_id: str
    ids: frozenset[str]
    values: frozenset[str] = frozenset()  # every personal value: blanked in a row naming the person
    distinctive: tuple[str, ...] = ()  # replaced wherever found, longest first
    dates: frozenset[dt.date] = frozenset()  # a birth date as a date: a date cell of a row naming them

    @classmethod
    def of(cls, customer_id: str, ids: Iterable[str], found: dict[str, set[Any]]) -> Person:
        """`found`: field -> the values the workspace holds for the person (name, phone ...,
        and `attributes`: the text of their customers file's own columns)."""
        values: set[str] = set()
        dates: set[dt.date] = set()
        for field_values in found.values():
            for value in field_values:
                values |= as_text(value)
                if isinstance(value, dt.date):
                    dates.add(value.date() if isinstance(value, dt.datetime) else value)
        for text in _texts(found.get("birth_date")):
            try:
                day = dt.date.fromisoformat(text[:10])
            except ValueError:
                continue
            dates.add(day)
            values |= date_forms(day)
        distinctive: set[str] = set()
        for phone in _texts(found.get("phone")):
            if sum(c.isdigit() for c in phone) >= 7:
                distinctive |= {phone, mask_phone(phone)}
        for number in _texts(found.get("id_number")):
            if len(number) >= 6:
                distinctive |= {number, number.upper(), number.lower(), mask_id_number(number)}
        for mail in _texts(found.get("email")):
            if "@" in mail and len(mail) >= 6:
                distinctive |= {mail, mail.lower(), mask_email(mail)}
        for address in _texts(found.get("address")):
            if len(address) >= 6:
                distinctive.add(address)
        ordered = tuple(sorted(distinctive, key=lambda v: (-len(v), v)))
        kept = frozenset(v for v in values if telling(v))
        return cls(customer_id, frozenset(ids), kept, ordered, frozenset(dates))

    def scrub(self, text: str) -> str:
        for value in self.distinctive:
            if value in text:
                text = text.replace(value, ERASED)
        return text

    def in_bytes(self, data: bytes) -> bool:
        """Does `data` hold a distinctive value or an id, in UTF-8, GB18030 or UTF-16?"""
        for value in (*self.distinctive, *self.ids):
            for encoding in ("utf-8", "gb18030", "utf-16-le", "utf-16-be"):
                if value.encode(encoding, errors="ignore") in data:
                    return True
        return False


SHORT_NUMBER = re.compile(r"[-+]?\d{1,6}(?:\.\d+)?")


def telling(text: str) -> bool:
    """A value worth blanking wherever a row naming the person holds it: not one character, and
    not a short number (3 points would blank the 3 of orders_12m); phones and ID numbers are long."""
    text = text.strip()
    return len(text) >= 2 and not SHORT_NUMBER.fullmatch(text)


def _texts(values: set[Any] | None) -> list[str]:
    return sorted({str(v).strip() for v in values or () if v is not None and str(v).strip()})


def yes_or_no(value: Any) -> bool:
    """A flag (集团关键人: 是): kept, as the tags that read it are the grading's, not the person's."""
    return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in (*YES, *NO))


@dataclass(frozen=True)
class Blank:
    """What to blank in a row naming the person, by column: `columns` always; `attributes` unless
    the cell is a yes/no flag; `json` (import's `attributes` column): its values likewise. `by_value`:
    the columns are not known, so every text cell holding one of the person's values."""

    ids: tuple[str, ...] = ()  # the columns holding record ids; empty: any text column
    columns: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()
    json: str | None = None
    by_value: bool = False
    scrub: bool = True  # replace distinctive values in every text cell
    reasons: str | None = None  # a run's reasons JSON: its `values` of `reason_keys` set to null
    reason_keys: frozenset[str] = frozenset()


@dataclass
class Outcome:
    rows: int = 0  # rows naming the person that were changed
    cells: int = 0
    changed: bool = False
    notes: list[str] = field(default_factory=list)


def flushed_replace(temporary: Path, target: Path) -> None:
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)


def _json_attributes(text: Any) -> Any:
    """import's attributes JSON (`{"k":"v"}`) with every value but a yes/no flag set to null."""
    if not isinstance(text, str):
        return text
    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    kept = {k: (v if yes_or_no(v) else None) for k, v in found.items()}
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def _null_values(text: Any, blank: Blank) -> Any:
    """A reasons JSON with the values behind it (`"values": {...}`) of `blank.reason_keys` set to
    null, a yes/no attribute kept; the rest of the text as it was, to the byte."""
    if not isinstance(text, str) or '"values":' not in text:
        return text
    begin = text.find('"values":') + len('"values":')
    while begin < len(text) and text[begin].isspace():
        begin += 1
    try:
        found, end = json.JSONDecoder().raw_decode(text, begin)
    except ValueError:
        return text
    if not isinstance(found, dict):
        return text
    span = text[begin:end]
    for key, value in found.items():
        if key not in blank.reason_keys or value is None or (key in blank.attributes and yes_or_no(value)):
            continue
        for written in dict.fromkeys((json.dumps(key, ensure_ascii=False), json.dumps(key))):  # \u escapes too
            token = re.compile(re.escape(written) + r'\s*:\s*(?:"(?:[^"\\]|\\.)*"|[^,}]+)')
            span = token.sub(written.replace("\\", "\\\\") + ":null", span, count=1)
    return text[:begin] + span + text[end:]


def _row_mask(table: pa.Table, person: Person, blank: Blank) -> pa.ChunkedArray | None:
    ids = pa.array(sorted(person.ids), pa.string())
    names = blank.ids or tuple(f.name for f in table.schema if pa.types.is_string(f.type))
    mask = None
    for name in names:
        if name not in table.column_names or not pa.types.is_string(table.schema.field(name).type):
            continue
        hit = pc.fill_null(pc.is_in(table[name], value_set=ids), False)
        mask = hit if mask is None else pc.or_(mask, hit)
    return mask


def _blank_table(table: pa.Table, person: Person, blank: Blank, outcome: Outcome) -> pa.Table:
    mask = _row_mask(table, person, blank)
    hits = int(pc.sum(mask).as_py() or 0) if mask is not None else 0
    before = table
    if hits:
        assert mask is not None
        values = pa.array(sorted(person.values), pa.string())
        for index, fld in enumerate(table.schema):
            column = table.column(index)
            cut = None
            if fld.name in blank.columns:
                cut = mask
            elif fld.name in blank.attributes and not pa.types.is_boolean(fld.type):
                if pa.types.is_string(fld.type):
                    flag = pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(column)), value_set=pa.array([*YES, *NO]))
                    cut = pc.and_(mask, pc.invert(pc.fill_null(flag, False)))
                else:
                    cut = mask
            elif fld.name in (blank.json, blank.reasons) and pa.types.is_string(fld.type):
                chosen = pc.if_else(mask, column, pa.nulls(len(column), fld.type))
                if fld.name == blank.json:
                    redone = pa.array([_json_attributes(v) for v in chosen.to_pylist()], fld.type)
                else:
                    redone = pa.array([_null_values(v, blank) for v in chosen.to_pylist()], fld.type)
                table = table.set_column(index, fld, pc.if_else(mask, redone, column))
                continue
            elif blank.by_value and pa.types.is_string(fld.type) and fld.name not in blank.ids:
                cut = pc.and_(mask, pc.fill_null(pc.is_in(column, value_set=values), False))
            elif blank.by_value and pa.types.is_date(fld.type) and person.dates:
                days = pa.array(sorted(person.dates), pa.date32()).cast(fld.type)
                cut = pc.and_(mask, pc.fill_null(pc.is_in(column, value_set=days), False))
            if cut is not None:
                table = table.set_column(index, fld, pc.if_else(cut, pa.nulls(len(column), fld.type), column))
    if blank.scrub and person.distinctive:
        for index, fld in enumerate(table.schema):
            if not pa.types.is_string(fld.type):
                continue
            column = table.column(index)
            for value in person.distinctive:
                if pc.any(pc.fill_null(pc.match_substring(column, value), False)).as_py():
                    column = pc.replace_substring(column, value, ERASED)
            table = table.set_column(index, fld, column)
    if not table.equals(before):
        outcome.changed = True
        outcome.rows += hits
        outcome.cells += sum(_differ(a, b) for a, b in zip(before.columns, table.columns, strict=True))
    return table


def _differ(before: pa.ChunkedArray, after: pa.ChunkedArray) -> int:
    """How many cells of a column changed (null to null is no change)."""
    if before.equals(after):
        return 0
    same = pc.or_(pc.fill_null(pc.equal(before, after), False), pc.and_(pc.is_null(before), pc.is_null(after)))
    return len(before) - int(pc.sum(same).as_py() or 0)


def names_person(path: Path, person: Person, columns: tuple[str, ...]) -> bool:
    """Does the Parquet file hold a row of the person (read by the id columns only)?"""
    schema = pq.read_schema(path)
    present = [c for c in columns if c in schema.names and pa.types.is_string(schema.field(c).type)]
    if not present:
        return False
    ids = pa.array(sorted(person.ids), pa.string())
    for batch in pq.ParquetFile(path).iter_batches(columns=present, batch_size=1 << 16):
        for column in batch.columns:
            if pc.any(pc.fill_null(pc.is_in(column, value_set=ids), False)).as_py():
                return True
    return False


def rewrite_parquet(path: Path, temporary: Path, person: Person, blank: Blank) -> Outcome:
    """Write `path` to `temporary` with the person's cells blanked, one row group at a time (the
    caller renames it into place); nothing is left at `temporary` when nothing changed."""
    outcome = Outcome()
    source = pq.ParquetFile(path)
    schema = source.schema_arrow
    try:
        with pq.ParquetWriter(temporary, schema) as writer:
            for group in range(source.num_row_groups):
                table = source.read_row_group(group)
                table = _blank_table(table, person, blank, outcome)
                writer.write_table(table.cast(schema), row_group_size=max(table.num_rows, 1))
            if source.num_row_groups == 0:
                writer.write_table(schema.empty_table())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if not outcome.changed:
        temporary.unlink(missing_ok=True)
    return outcome
