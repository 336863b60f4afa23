"""Text files, spreadsheets and the dispatcher by format, with one person's data erased (tierkit
forget): CSV and TSV by their header or by value, JSON and JSON lines by object, Excel by sheet,
any other text by its distinctive values; UTF-8 (with or without BOM), UTF-16 and GB18030 read and
written back in the encoding they came in. See erasure_files for the rules.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from tierkit.app.erasure_files import (
    ENCODINGS,
    Blank,
    Outcome,
    Person,
    flushed_replace,
    rewrite_parquet,
    yes_or_no,
)


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
