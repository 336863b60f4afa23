"""Identity fields reduced to the keys that matching compares: one spelling per real-world value.

- Names (names.py): simplified characters (張偉 -> 张伟) and pinyin without tones (张伟, 張偉 and
  "Zhang Wei" all give "zhangwei"); `name_sorted` ("weizhang") survives a swapped family and
  given name. Computed in Python on distinct names only, never per row.
- Phones keep their digits; a +86 / 0086 country prefix is dropped.
- ID numbers are upper-cased (the trailing X) and checked (GB 11643 MOD 11-2); a valid one also
  gives the birth date when the file has none.
- Birth dates become YYYYMMDD text, parsed like any date (2024/1/5, 1990年1月5日...), else
  their digits, so that a typo still compares as near.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tierkit.ingest.identity.names import name_keys, pinyin_tokens, simplified
from tierkit.tables.parsing import parse_date

__all__ = ["IDENTITY_FIELDS", "id_check_digit", "name_keys", "pinyin_tokens", "record_keys", "simplified"]

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
