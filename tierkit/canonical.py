"""The canonical tables of DESIGN.md: columns, their types, and which are required.

IDs are text everywhere (leading zeros and a trailing X survive). Money is DECIMAL(18,2) so
that sums are exact and identical on every engine, whatever the order rows arrive in.
"""

from __future__ import annotations

from dataclasses import dataclass

MONEY = "decimal(18, 2)"
RATIO = "decimal(18, 4)"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # an Ibis type string
    required: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    time_column: str | None = None
    key: str | None = None  # the optional row id that judges duplicates
    # a column another table's synonyms name that means one of this table's columns here
    # (客户经理 is a contact's rep_id, and a customer's owner)
    aliases: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


ORDERS = TableSpec(
    "orders",
    (
        Column("order_id", "string"),
        Column("customer_id", "string", required=True),
        Column("ordered_at", "date", required=True),
        Column("amount", MONEY, required=True),
        Column("profit", MONEY),  # gross margin (毛利); read as amount - cost where a file gives cost instead
        Column("cost", MONEY),  # cost of the goods (成本)
        Column("category", "string"),
        Column("channel", "string"),
        Column("discount", RATIO),
        Column("due_at", "date"),
        Column("paid_at", "date"),
        Column("business_line", "string"),
    ),
    time_column="ordered_at",
    key="order_id",
)

CUSTOMERS = TableSpec(
    "customers",
    (
        Column("customer_id", "string", required=True),
        Column("name", "string"),
        Column("gender", "string"),
        Column("birth_date", "date"),
        Column("occupation", "string"),
        Column("education", "string"),
        Column("region", "string"),
        Column("phone", "string"),
        Column("email", "string"),
        Column("id_number", "string"),
        Column("signup_date", "date"),
        Column("business_line", "string"),
        Column("owner", "string"),  # the account manager / sales rep who serves the customer (客户经理)
        # identity fields for `tierkit link`, as CRM and benchmark files split a person up
        Column("given_name", "string"),
        Column("family_name", "string"),
        Column("address", "string"),
        Column("street_number", "string"),
        Column("city", "string"),
        Column("postcode", "string"),
        Column("state", "string"),
    ),
    key="customer_id",
    aliases=(("rep_id", "owner"),),
)

INTERACTIONS = TableSpec(
    "interactions",
    (
        Column("interaction_id", "string"),
        Column("customer_id", "string", required=True),
        Column("at", "date", required=True),
        Column("kind", "string", required=True),
        Column("channel", "string"),
        Column("topic", "string"),
        Column("satisfaction", RATIO),
        Column("resolved", "boolean"),
        Column("cost", MONEY),  # what serving it cost (服务成本): the cost to serve is their sum
    ),
    time_column="at",
    key="interaction_id",
)

CONTACTS = TableSpec(
    "contacts",
    (
        Column("contact_id", "string"),
        Column("customer_id", "string", required=True),
        Column("rep_id", "string"),
        Column("at", "date", required=True),
        Column("kind", "string", required=True),
    ),
    time_column="at",
    key="contact_id",
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (ORDERS, CUSTOMERS, INTERACTIONS, CONTACTS)}
