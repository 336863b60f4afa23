"""Files rewritten with one person's personal data left out (tierkit forget): Parquet, CSV, JSON,
Excel and plain text, each written beside itself, flushed and renamed into place.

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

import csv
import datetime as dt
import io
import json
import os
import re
from collections.abc import Callable, Iterable
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
        return cls(customer_id, frozenset(ids), frozenset(values), ordered, frozenset(dates))

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


# --- text files ---------------------------------------------------------------------------------


def read_text(path: Path) -> tuple[str, str] | None:
    """(text, encoding) of a text file (UTF-8 with or without BOM, UTF-16 with BOM, GB18030), or
    None for a binary file."""
    data = path.read_bytes()
    for name, bom in ENCODINGS:
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError:
                return None
    if b"\0" in data:
        return None
    for name in ("utf-8", "gb18030"):
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    return None


def write_text(path: Path, text: str, encoding: str) -> None:
    temporary = path.with_name(f".{path.name}.erasing")
    with temporary.open("w", encoding=encoding, newline="") as out:
        out.write(text)
    flushed_replace(temporary, path)


def _blank_rows(rows: list[list[str]], person: Person, header: list[str] | None, blank: Blank) -> tuple[int, int]:
    """Blank, in place, the cells of the rows naming the person; (rows, cells) changed."""
    index = {name: i for i, name in enumerate(header or [])}
    id_cells = [index[c] for c in blank.ids if c in index]
    named = [index[c] for c in blank.columns if c in index]
    flags = [index[c] for c in blank.attributes if c in index]
    changed_rows = changed_cells = 0
    for row in rows:
        cells = [row[i] for i in id_cells if i < len(row)] if id_cells else row
        if not any(cell.strip() in person.ids for cell in cells):
            continue
        before = changed_cells
        for i, cell in enumerate(row):
            if i in id_cells:
                continue
            blank_it = i in named or (i in flags and not yes_or_no(cell))
            if not blank_it and (blank.by_value or not (named or flags)):
                blank_it = cell.strip() in person.values
            if blank_it and cell != "":
                row[i] = ""
                changed_cells += 1
        changed_rows += changed_cells > before
    return changed_rows, changed_cells


def scrub_csv(path: Path, person: Person, blank: Blank, found: tuple[str, str]) -> Outcome:
    """A CSV (or TSV) file: the header's columns as `blank` names them, else by value."""
    text, encoding = found
    outcome = Outcome()
    first = text.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() == ".tsv" or first.count("\t") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    ending = "\r\n" if "\r\n" in text[: len(first) + 2] else "\n"
    header = rows[0] if rows else None
    outcome.rows, outcome.cells = _blank_rows(rows[1:], person, header, blank)
    if outcome.cells:
        buffer = io.StringIO(newline="")
        csv.writer(buffer, delimiter=delimiter, lineterminator=ending).writerows(rows)
        text = buffer.getvalue()
        outcome.changed = True
    scrubbed = person.scrub(text) if blank.scrub else text
    if scrubbed != text:
        outcome.changed = True
    if outcome.changed:
        write_text(path, scrubbed, encoding)
    return outcome


def _walk_json(value: Any, person: Person, outcome: Outcome) -> Any:
    if isinstance(value, dict):
        naming = any(isinstance(v, str) and v.strip() in person.ids for v in value.values())
        out: dict[str, Any] = {}
        for key, item in value.items():
            if naming and isinstance(item, str) and item.strip() not in person.ids and item.strip() in person.values:
                out[key] = None
                outcome.cells += 1
            else:
                out[key] = _walk_json(item, person, outcome)
        outcome.rows += naming
        return out
    if isinstance(value, list):
        return [_walk_json(item, person, outcome) for item in value]
    if isinstance(value, str):
        return person.scrub(value)
    return value


def scrub_json(path: Path, person: Person, found: tuple[str, str]) -> Outcome:
    """JSON or JSON lines: in an object naming the person, values that are theirs set to null."""
    text, encoding = found
    outcome = Outcome()
    if path.suffix.lower() == ".jsonl":
        lines = []
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            try:
                parsed = json.loads(body) if body.strip() else None
            except ValueError:
                lines.append(person.scrub(line))
                continue
            if parsed is None:
                lines.append(line)
                continue
            walked = _walk_json(parsed, person, outcome)
            lines.append(line if walked == parsed else json.dumps(walked, ensure_ascii=False) + line[len(body) :])
        new = "".join(lines)
    else:
        try:
            parsed = json.loads(text)
        except ValueError:
            new = person.scrub(text)
        else:
            walked = _walk_json(parsed, person, outcome)
            indent = 2 if "\n" in text.strip() else None
            new = (
                text
                if walked == parsed
                else json.dumps(walked, ensure_ascii=False, indent=indent) + ("\n" if text.endswith("\n") else "")
            )
    if new != text:
        outcome.changed = True
        write_text(path, new, encoding)
    return outcome


def scrub_plain(path: Path, person: Person, found: tuple[str, str]) -> Outcome:
    text, encoding = found
    new = person.scrub(text)
    outcome = Outcome(changed=new != text)
    if outcome.changed:
        write_text(path, new, encoding)
    return outcome


def scrub_xlsx(path: Path, person: Person, blank: Blank) -> Outcome:
    """An Excel workbook: each sheet's first row is its header; rows naming the person blanked."""
    import openpyxl

    outcome = Outcome()
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows())
        if not rows:
            continue
        header = [str(c.value) if c.value is not None else "" for c in rows[0]]
        for row in rows[1:]:
            texts = [_cell_text(c.value) for c in row]
            copy = list(texts)
            _, cells = _blank_rows([copy], person, header, blank)
            for cell, old, new in zip(row, texts, copy, strict=True):
                if old != new:
                    cell.value = None
            outcome.cells += cells
            outcome.rows += cells > 0
            for cell in row:
                if isinstance(cell.value, str) and blank.scrub:
                    scrubbed = person.scrub(cell.value)
                    if scrubbed != cell.value:
                        cell.value = scrubbed
                        outcome.cells += 1
    if outcome.cells:
        outcome.changed = True
        temporary = path.with_name(f".{path.name}.erasing")
        book.save(temporary)
        flushed_replace(temporary, path)
    return outcome


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    return str(value)


Scrubber = Callable[[Path, Person, Blank], Outcome]


def scrub_file(path: Path, person: Person, blank: Blank | None = None) -> Outcome | None:
    """Any file by its kind; None when tierkit cannot rewrite it (a binary it does not know)."""
    blank = blank or Blank(by_value=True)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        temporary = path.with_name(f".{path.name}.erasing")
        outcome = rewrite_parquet(path, temporary, person, blank)
        if outcome.changed:
            flushed_replace(temporary, path)
        return outcome
    if suffix in (".xlsx", ".xlsm"):
        return scrub_xlsx(path, person, blank)
    found = read_text(path)
    if found is None:
        return None
    if suffix in (".csv", ".tsv", ".txt"):
        return scrub_csv(path, person, blank, found)
    if suffix in (".json", ".jsonl"):
        return scrub_json(path, person, found)
    return scrub_plain(path, person, found)
