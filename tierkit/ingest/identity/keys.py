"""Identity fields reduced to the keys that matching compares: one spelling per real-world value.

- Names become pinyin without tones: 張偉 (traditional), 张伟 and "Zhang Wei" all give
  "zhangwei", and `name_sorted` ("weizhang") survives a swapped family and given name.
  Pinyin is computed in Python on distinct names only (pypinyin), never per row.
- Phones keep their digits; a +86 / 0086 country prefix is dropped.
- ID numbers are upper-cased (the trailing X) and checked (GB 11643 MOD 11-2); a valid one also
  gives the birth date when the file has none.
- Birth dates become YYYYMMDD text, parsed like any date (2024/1/5, 1990年1月5日...), else
  their digits, so that a typo still compares as near.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tierkit.tables.parsing import parse_date

IDENTITY_FIELDS = (
    "customer_id",
    "name",
    "given_name",
    "family_name",
    "phone",
    "email",
    "id_number",
    "birth_date",
    "address",
    "street_number",
    "city",
    "postcode",
    "state",
)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The 18th character of a resident ID number (GB 11643-1999, ISO 7064 MOD 11-2)."""
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def id_check_fails(id_number: ir.StringValue) -> ir.BooleanValue:
    """True for an 18-character resident ID number whose check digit is wrong (a typo)."""
    shaped = id_number.re_search(r"^[0-9]{17}[0-9X]$")
    total = sum(id_number.substr(i, 1).try_cast("int64") * w for i, w in enumerate(WEIGHTS))
    expected = ibis.literal(CHECK).substr(total % 11, 1)
    return shaped & (expected != id_number.substr(17, 1))  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def surnames() -> dict[str, tuple[str, ...]]:
    """Surname characters that read otherwise as surnames (surnames.yaml), longest first."""
    import yaml

    data = yaml.safe_load((Path(__file__).parent / "surnames.yaml").read_text("utf-8"))
    readings = {key: tuple(value) if isinstance(value, list) else (str(value),) for key, value in data.items()}
    return dict(sorted(readings.items(), key=lambda item: -len(item[0])))


@lru_cache(maxsize=100_000)
def pinyin_tokens(name: str) -> tuple[str, ...]:
    """Syllables of a Chinese name, or the words of a Latin one, lower-case, no tones. A Chinese
    name starts with its surname, read as a surname (单 shan, not dan)."""
    from pypinyin import lazy_pinyin

    name = name.strip()
    tokens: list[str] = []
    surname = next((s for s in surnames() if name.startswith(s) and len(name) > len(s)), None)
    if surname is not None:
        tokens += surnames()[surname]
        name = name[len(surname) :]
    for chunk in lazy_pinyin(name):
        latin = chunk.lower().replace("ü", "v")  # pinyin writes ü as v (吕 -> lv); so does Lü
        latin = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode()  # é -> e
        tokens += [t for t in re.split(r"[^0-9a-z]+", latin) if t]
    return tuple(tokens)


def name_keys(names: list[str]) -> pa.Table:
    """name -> (name_key, name_sorted), for a join back onto the records."""
    keys, sorted_keys = [], []
    for name in names:
        tokens = pinyin_tokens(name)
        keys.append("".join(tokens) or None)
        sorted_keys.append("".join(sorted(tokens)) or None)
    text = pa.string()  # typed even when there are no names: an empty column has no type to infer
    return pa.table(
        {"__name": pa.array(names, text), "name_key": pa.array(keys, text), "name_sorted": pa.array(sorted_keys, text)}
    )


def _text(table: ir.Table, name: str) -> ir.StringValue:
    if name not in table.columns:
        return ibis.null("string")
    value = table[name].cast("string").strip()
    return ibis.ifelse(value == "", ibis.null("string"), value)


def _digits(value: ir.StringValue) -> ir.StringValue:
    digits = value.re_replace(r"[^0-9]", "")
    return ibis.ifelse(digits == "", ibis.null("string"), digits)


def _lower_words(value: ir.StringValue) -> ir.StringValue:
    words = value.lower().re_replace(r"[\s,.#\-]+", " ").strip()
    return ibis.ifelse(words == "", ibis.null("string"), words)


def record_keys(table: ir.Table) -> ir.Table:
    """One row per record with the comparison keys; `__name` is the text to look up pinyin for."""
    full_name = ibis.coalesce(
        _text(table, "name"),
        ibis.ifelse(
            _text(table, "given_name").notnull() | _text(table, "family_name").notnull(),
            _text(table, "family_name").fill_null("") + " " + _text(table, "given_name").fill_null(""),
            ibis.null("string"),
        ),
    )
    phone = _digits(_text(table, "phone"))
    phone = ibis.cases(
        (phone.re_search(r"^0086[0-9]{11}$"), phone.substr(4)),
        (phone.re_search(r"^86[0-9]{11}$"), phone.substr(2)),
        else_=phone,
    )
    id_number = _text(table, "id_number").upper().re_replace(r"\s", "")
    born_text = _text(table, "birth_date")
    born = parse_date(born_text)
    from_id = ibis.ifelse(
        id_number.re_search(r"^[0-9]{17}[0-9X]$") & ~id_check_fails(id_number),
        (id_number.substr(6, 4) + "-" + id_number.substr(10, 2) + "-" + id_number.substr(12, 2)).try_cast("date"),
        ibis.null("date"),
    )
    birth = ibis.coalesce(born.strftime("%Y%m%d"), _digits(born_text), from_id.strftime("%Y%m%d"))
    return table.select(
        customer_id=table.customer_id.cast("string"),
        __name=full_name,
        given_name=_lower_words(_text(table, "given_name")),
        family_name=_lower_words(_text(table, "family_name")),
        phone=phone,
        email=_text(table, "email").lower(),
        # a resident ID number with a wrong check digit is a typo: it must not decide a match
        id_number=ibis.ifelse((id_number == "") | id_check_fails(id_number), ibis.null("string"), id_number),
        birth_date=birth,
        address=_lower_words(_text(table, "address")),
        street_number=_lower_words(_text(table, "street_number")),
        city=_lower_words(_text(table, "city")),
        postcode=_digits(_text(table, "postcode")),
        state=_lower_words(_text(table, "state")),
    )
