"""What a person typed into the customer search, read as an id, a phone number, a name or its pinyin.

The counter and the phone need one box: an agent types the id on a loyalty card or the caller's
full number; an analyst may also type a name (张伟) or its pinyin (zhangwei, "zhang wei"). Which
it is follows from the text; who may search by what is the list's rule (agents: id and full
phone only, rationed and audited there). Pinyin keys are computed once per distinct name of the
workspace's customers (pypinyin, as `tierkit link` does) and kept until the customers change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from tierkit.app.serving import ServedWorkspace
from tierkit.ingest.identity.keys import name_keys

PHONE = re.compile(r"^(\+?86)?1\d{10}$")
LATIN = re.compile(r"^[A-Za-z][A-Za-z\s'\-]*$")
HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Query:
    """One reading of the search text: exactly one of its fields is set."""

    customer_id: str | None = None
    phone: str | None = None
    name: str | None = None
    pinyin: str | None = None


def read_query(text: str) -> Query:
    """A full mobile number is a phone; Chinese characters a name; Latin letters its pinyin;
    anything else an id (ids are text: leading zeros and letters kept)."""
    typed = text.strip()
    digits = re.sub(r"[\s\-]", "", typed)
    if PHONE.match(digits):
        return Query(phone=digits[-11:])
    if HAN.search(typed):
        return Query(name=typed)
    if LATIN.match(typed) and not typed.isupper():  # 'C001' is an id, 'zhang wei' a name
        return Query(pinyin=re.sub(r"[^a-z]", "", typed.lower()))
    return Query(customer_id=typed)


def _pinyin_table(served: ServedWorkspace) -> pa.Table | None:
    directory = served.people()
    if directory is None or "name" not in directory.table.column_names:
        return None
    people = directory.table
    stamp = directory.path.stat().st_mtime_ns

    def build() -> pa.Table:
        names = pc.unique(pc.drop_null(people["name"])).to_pylist()
        return name_keys([str(n) for n in names])

    return served.kept(f"pinyin:{directory.path}:{stamp}", build)  # type: ignore[no-any-return]


def ids_by_pinyin(served: ServedWorkspace, pinyin: str) -> list[str]:
    """The customers whose name reads as `pinyin` (no tones, no spaces: zhangwei), in id order."""
    keys = _pinyin_table(served)
    directory = served.people()
    if keys is None or directory is None or not pinyin:
        return []
    names = keys.filter(pc.equal(keys["name_key"], pinyin))["__name"]
    if len(names) == 0:
        return []
    people = directory.table
    found = people.filter(pc.is_in(people["name"], value_set=names))["customer_id"].to_pylist()
    return sorted(str(i) for i in found)
