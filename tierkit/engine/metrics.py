"""Metrics: one row per customer as of a date, built as one Ibis expression.

Each source table is scanned by a single GROUP BY: every metric over that table becomes one
or more conditional aggregates (`sum(amount) FILTER (WHERE window and where)`), and a second
step turns those partials into the metric (rates, ratios, streaks). The population is every
customer with an order on or before the as-of date; a window with none of their rows gives 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir

from tierkit.canonical import TABLES
from tierkit.engine.absent import absent_columns
from tierkit.engine.absent import notes as absent_notes
from tierkit.engine.inputs import Inputs
from tierkit.engine.kinds import plugin_columns
from tierkit.engine.rules import RuleCompiler, compile_condition
from tierkit.engine.spans import CountSpans
from tierkit.engine.windows import Window
from tierkit.errors import PolicyError, did_you_mean
from tierkit.policy.loader import LoadedPolicy
from tierkit.policy.model import MetricSpec
from tierkit.tables.attributes import kind_of
from tierkit.tables.readers import SourceTable

RESERVED = {"customer_id", "tier", "tier_label", "tags", "reasons", "as_of"}
CUSTOMER_ATTRIBUTES = (
    "name",
    "gender",
    "birth_date",
    "occupation",
    "education",
    "region",
    "business_line",
    "signup_date",
)


@dataclass
class _Plan:
    """Aggregates per source table, and how each metric is finished from them."""

    aggregates: dict[str, dict[str, ir.Value]] = field(default_factory=dict)
    finish: dict[str, Callable[[ir.Table], ir.Value]] = field(default_factory=dict)
    counter: int = 0
    names: dict[tuple[str, object], str] = field(default_factory=dict)

    def add(self, table: str, value: ir.Value) -> str:
        """A named partial aggregate; two metrics asking for the same one share it."""
        key = (table, value.op())
        if key not in self.names:
            self.counter += 1
            self.names[key] = f"__p{self.counter}"
            self.aggregates.setdefault(table, {})[self.names[key]] = value
        return self.names[key]


NEVER: ir.BooleanValue = ibis.literal(False)  # a filter no row passes (see MetricBuilder.constant)


def _zero(value: ir.Value) -> ir.Value:
    return value.fill_null(ibis.literal(0).cast(value.type()))


class MetricBuilder:
    def __init__(self, inputs: Inputs, policy: LoadedPolicy, as_of: dt.date) -> None:
        self.inputs, self.loaded, self.as_of = inputs, policy, as_of
        self.as_of_lit = ibis.literal(as_of)
        self.plan = _Plan()
        self.spans = CountSpans()
        # metrics that are one value for every customer (no table to count, a column the file
        # lacks): kept out of the windows and sorts a grading runs (engine.grade)
        self.constants: dict[str, ir.Value] = {}
        self.scoped: dict[str, ir.Table] = {}
        self.warnings: list[str] = []
        self.plugins: dict[str, dict[str, MetricSpec]] = {}  # kind -> its metrics, built together in build()
        self.models: dict[str, dict[str, Any]] = {}  # kind -> what its builder says of its model (manifest)
        self.missing: dict[tuple[str, str], list[str]] = {}  # (file, absent column) -> metrics reading it
        self.unknown_now: list[tuple[str, str]] = []  # set by partials() for the metric being planned

    def source(self, name: str, where: str) -> tuple[SourceTable, ir.Table]:
        src = self.inputs.table(name)
        if src is None:
            raise PolicyError(f"{where}: needs the {name} table, and none was given (--{name} FILE)")
        if name not in self.scoped:
            time_col = src.spec.time_column or ""
            self.scoped[name] = src.table.filter(src.table[time_col] <= self.as_of_lit)
        return src, self.scoped[name]

    def condition(
        self, spec: MetricSpec, src: SourceTable, table: ir.Table, window: Window, where: str, periods: int = 1
    ) -> ir.BooleanValue | None:
        """The row filter of one aggregate, or None for every row up to the as-of date."""
        tests: list[ir.BooleanValue] = []
        start = window.start(self.as_of, periods)
        time = table[src.spec.time_column or ""]
        if start is not None:
            tests.append(time > ibis.literal(start))
            if periods > 1:
                tests.append(time <= ibis.literal(window.start(self.as_of, periods - 1)))
        if spec.where:
            names = {c: src.value(table, c) for c in src.spec.names}
            test = compile_condition(spec.where, names, f"{where}.where", self.as_of, population=False)
            constant = self.constant(test)
            if constant is False:
                return NEVER
            if constant is None:
                tests.append(test)
        if not tests:
            return None
        cond = tests[0]
        for test in tests[1:]:
            cond = cond & test
        return cond

    def constant(self, test: ir.BooleanValue) -> bool | None:
        """A filter that reads no column (it names only columns the file lacks, which read as
        NULL): its one value, so that the engine does not test it on every order row. None when
        the filter reads a column, or when nothing runs (`tierkit check`)."""
        if not self.inputs.runs or test.op().find(ops.Field):
            return None
        assert self.inputs.backend is not None
        return bool(self.inputs.backend.execute_scalar(test))

    def column(self, src: SourceTable, table: ir.Table, name: str, where: str) -> ir.Value:
        if name in ("month", "day", "year"):
            time = table[src.spec.time_column or ""]
            return {"day": time, "month": time.year() * 100 + time.month(), "year": time.year()}[name]
        if name not in src.spec.names:
            raise PolicyError(
                f"{where}: unknown column '{name}' in {src.spec.name}{did_you_mean(name, src.spec.names)}"
            )
        if name not in src.present:
            raise PolicyError(f"{where}: {src.path} has no column '{name}'")
        return table[name]

    def partials(
        self, spec: MetricSpec, window: Window, where: str, periods: int = 1
    ) -> Callable[[ir.Table], ir.Value]:
        """Plan the aggregates of one simple metric; return how to finish it."""
        kind = spec.kind
        table_name = spec.count or spec.recency or spec.tenure or spec.from_ or "orders"
        if self.inputs.table(table_name) is None:
            # A preset reads complaints too; with no interactions file they count as none.
            column = getattr(spec, kind)
            known = TABLES[table_name].names
            if kind not in ("count", "recency", "tenure") and column not in (*known, "month", "day", "year"):
                raise PolicyError(f"{where}: unknown column '{column}' in {table_name}{did_you_mean(column, known)}")
            self.warnings.append(f"{where}: no {table_name} table given; counted as none")
            if kind in ("count", "sum", "distinct"):
                return lambda t: ibis.literal(0).cast("int64")
            return lambda t: ibis.null("float64")
        src, table = self.source(table_name, where)
        absent = absent_columns(spec, src)
        if absent:  # a column the file lacks: unknown, not zero (see engine.absent)
            for column in absent:
                self.missing.setdefault((str(src.path), column), [])
            self.unknown_now = [(str(src.path), column) for column in absent]
            return lambda t: ibis.null(_unknown_type(spec, src))
        cond = self.condition(spec, src, table, window, where, periods)
        never = cond is NEVER
        cond = None if never else cond

        def add(value: ir.Value) -> str:
            """A partial aggregate; a typed NULL when no row can pass (same finish, same types,
            no work per row)."""
            return self.plan.add(table_name, ibis.null(value.type()) if never else value)

        arg = getattr(spec, kind)
        if kind == "count":
            p = add(table.count(where=cond))
            if not never:  # a count over adjacent windows may be the sum of two others (engine.spans)
                start = window.start(self.as_of, periods)
                end = window.start(self.as_of, periods - 1) if periods > 1 else self.as_of
                assert end is not None
                self.spans.note(table_name, spec.where or "", (start, end), p)
            return lambda t: _zero(t[p])
        if kind in ("recency", "tenure"):
            time = table[src.spec.time_column or ""]
            p = add((time.max if kind == "recency" else time.min)(where=cond))
            return lambda t: self.as_of_lit.delta(t[p], unit="day")
        value = self.column(src, table, arg, where)
        if kind == "distinct":
            p = add(value.nunique(where=cond))
            return lambda t: _zero(t[p])
        if kind in ("min", "max"):
            p = add(getattr(value, kind)(where=cond))
            return lambda t: t[p]
        if not value.type().is_numeric():
            raise PolicyError(f"{where}: {kind} needs a number, and '{arg}' is {value.type()}")
        total = add(value.sum(where=cond))
        if kind == "sum":
            decimal = value.type().is_decimal()
            scale = getattr(value.type(), "scale", 0) or 0
            return lambda t: _zero(t[total].cast(f"decimal(38, {scale})") if decimal else t[total])
        n = add(value.count(where=cond))
        return lambda t: ibis.ifelse(t[n] > 0, t[total].cast("float64") / t[n].cast("float64"), ibis.null("float64"))

    def metric(self, name: str, spec: MetricSpec) -> None:
        self.unknown_now = []
        self._metric(name, spec)
        for key in self.unknown_now:
            if name not in self.missing[key]:
                self.missing[key].append(name)

    def _metric(self, name: str, spec: MetricSpec) -> None:
        where = self.loaded.where("metrics", name)
        window = Window.parse(spec.window)
        if spec.plugin is not None:  # a plug-in kind (clv, churn): its builder's table is joined in build()
            self.plugins.setdefault(spec.kind, {})[name] = spec
            self.plan.finish[name] = _column(f"__{spec.kind}_{name}")
            return
        if spec.kind == "expr":
            self.plan.finish[name] = self.expression(name, spec.expr or "", where)
            return
        if spec.kind == "trend":
            inner = spec.trend
            assert inner is not None
            if inner.window not in (None,) or inner.kind in ("trend", "expr", "consecutive_years"):
                raise PolicyError(f"{where}.trend: a plain metric without its own window")
            both = [w for w in (inner.where, spec.where) if w]
            merged = inner.model_copy(
                update={"where": " and ".join(f"({w})" for w in both) or None, "from_": inner.from_ or spec.from_}
            )
            now = self.partials(merged, window, f"{where}.trend")
            before = self.partials(merged, window, f"{where}.trend", periods=2)

            def ratio(t: ir.Table) -> ir.Value:
                b = before(t).cast("float64")
                return ibis.ifelse(b != 0, now(t).cast("float64") / b, ibis.null("float64"))

            self.plan.finish[name] = ratio
            return
        if spec.kind == "consecutive_years":
            self.plan.finish[name] = self.streak(spec, where)
            return
        finish = self.partials(spec, window, where)
        if spec.per:
            span = window.per(spec.per, self.as_of)
            self.plan.finish[name] = lambda t: finish(t).cast("float64") / span
        else:
            self.plan.finish[name] = finish

    def streak(self, spec: MetricSpec, where: str) -> Callable[[ir.Table], ir.Value]:
        """Consecutive 12-month periods, counting back from the as-of date, at or above a threshold."""
        year = Window.parse("1Y")
        threshold = float(spec.threshold or 0)
        years = spec.max_years or 10
        src = self.inputs.table(spec.from_ or "orders")
        if threshold > 0 and src is not None and src.first is not None:
            # A year before the first row sums to 0 and ends every streak: skip its aggregate.
            years = sum(1 for k in range(years) if (year.start(self.as_of, k) or self.as_of) >= src.first)
        sums = [
            self.partials(
                spec.model_copy(update={"consecutive_years": None, "sum": spec.consecutive_years}),
                year,
                where,
                periods=k + 1,
            )
            for k in range(max(years, 1))
        ]

        def count(t: ir.Table) -> ir.Value:
            running: ir.BooleanValue = ibis.literal(True)
            total: ir.Value = ibis.literal(0)
            for year_sum in sums:
                running = running & (year_sum(t).cast("float64") >= threshold)
                total = total + running.ifelse(1, 0)
            return total.cast("int64")

        return count

    def expression(self, name: str, text: str, where: str) -> Callable[[ir.Table], ir.Value]:
        def finish(t: ir.Table) -> ir.Value:
            names = {c: t[c] for c in t.columns if not c.startswith("__")}
            return RuleCompiler(names, f"{where}.expr", self.as_of).compile(text)

        return finish

    def build(self) -> ir.Table:
        policy = self.loaded.policy
        for name in policy.metrics:
            if name in RESERVED:
                raise PolicyError(f"{self.loaded.where('metrics', name)}: '{name}' is a reserved name")
        for name, spec in policy.metrics.items():
            self.metric(name, spec)
        _, orders = self.source("orders", "orders")
        derived = self.spans.derive(self.plan.aggregates)
        order_aggregates = self.plan.aggregates.get("orders", {})
        if order_aggregates:
            base = _summed(orders.group_by("customer_id").aggregate(**order_aggregates), derived.get("orders"))
        else:
            base = orders.select("customer_id").distinct()
        for table_name in ("interactions", "contacts"):
            aggs = self.plan.aggregates.get(table_name)
            if not aggs:
                continue
            _, table = self.source(table_name, table_name)
            part = _summed(table.group_by("customer_id").aggregate(**aggs), derived.get(table_name))
            base = base.left_join(part, "customer_id").drop("customer_id_right")
        base = self.attributes(base)
        for kind, specs in self.plugins.items():
            joined = plugin_columns(
                kind,
                self.inputs,
                self.as_of,
                specs,
                self.loaded.where("metrics"),
                notes=self.warnings,
                models=self.models,
            )
            base = base.left_join(joined, "customer_id").drop("customer_id_right")
        for name in policy.metrics:
            value = self.plan.finish[name](base)
            if not value.op().find(ops.Field):  # the same for everyone: a file lacks what it counts
                self.constants[name] = value
            base = base.mutate(**{name: value})
        if self.missing and self.inputs.runs:
            self.warnings.extend(absent_notes(self.loaded, self.missing))
        hidden = [c for c in base.columns if c.startswith("__")]
        return base.drop(*hidden)

    def attributes(self, base: ir.Table) -> ir.Table:
        """Customer attributes that rules may read: the canonical ones (gender, region, age ...),
        every other column of the customers file (医院级别, income_band ...), and those the policy
        declares, which are unknown (NULL) where the file lacks them."""
        customers = self.inputs.customers
        declared = self.loaded.policy.attributes
        if customers is None:
            if declared and self.inputs.runs:
                self.warnings.append(
                    f"{self.loaded.where('attributes')}: no customers file; "
                    f"{', '.join(declared)} are unknown, and rules on them do not fire"
                )
            return base.mutate(**{name: ibis.null(ATTRIBUTE_TYPES[kind]) for name, kind in declared.items()})
        keep = [c for c in CUSTOMER_ATTRIBUTES if c in customers.present]
        metrics = set(self.loaded.policy.metrics)
        for name in customers.attributes:  # the file's own columns: 医院级别, income_band ...
            if name in metrics or name in RESERVED or name.startswith("__"):
                self.warnings.append(
                    f"{customers.path}: column '{name}' has the name of a metric or of an output column; "
                    "rules read the metric (rename the column to read it)"
                )
            elif name not in keep and not (name == "age" and "birth_date" in keep):
                keep.append(name)
        part = customers.table.select("customer_id", *keep)
        absent = [name for name in declared if name not in keep]
        if absent and self.inputs.runs:
            self.warnings.append(
                f"{customers.path}: no column {', '.join(absent)} ({self.loaded.where('attributes')}); "
                "unknown for every customer, so rules and tags on them do not fire"
            )
        part = part.mutate(**{name: ibis.null(ATTRIBUTE_TYPES[declared[name]]) for name in absent})
        for name, kind in declared.items():
            if name in keep and kind_of(part[name]) != kind:
                raise PolicyError(
                    f"{self.loaded.where('attributes', name)}: '{name}' is declared {kind}, and {customers.path} "
                    f"has it as {kind_of(part[name])}"
                )
        base = base.left_join(part, "customer_id").drop("customer_id_right")
        if "birth_date" in keep:
            birth = base.birth_date
            before_birthday = (birth.month() * 100 + birth.day()) > (self.as_of.month * 100 + self.as_of.day)
            base = base.mutate(age=(self.as_of.year - birth.year() - before_birthday.ifelse(1, 0)).cast("int64"))
        return base


def _unknown_type(spec: MetricSpec, src: SourceTable) -> str:
    """The type the metric would have had, so that the table's schema does not depend on the file."""
    kind = spec.kind
    if kind in ("count", "distinct"):
        return "int64"
    if kind == "avg":
        return "float64"
    column = src.spec.column(str(getattr(spec, kind)))
    if kind == "sum" and column.type.startswith("decimal"):
        scale = column.type.split(",")[1].strip(" )") if "," in column.type else "0"
        return f"decimal(38, {scale})"
    return str(column.type)


ATTRIBUTE_TYPES = {"text": "string", "number": "decimal(38, 6)", "date": "date", "boolean": "boolean"}


def _summed(table: ir.Table, derived: dict[str, tuple[str, str]] | None) -> ir.Table:
    """The counts the plan adds up from two others (engine.spans), beside the aggregates."""
    if not derived:
        return table
    return table.mutate(**{name: table[first] + table[second] for name, (first, second) in derived.items()})


def _column(name: str) -> Callable[[ir.Table], ir.Value]:
    return lambda t: t[name]


def build_metrics(
    inputs: Inputs, policy: LoadedPolicy, as_of: dt.date
) -> tuple[ir.Table, list[str], dict[str, dict[str, Any]], dict[str, ir.Value]]:
    """The per-customer table, the grading notes, what plug-in kinds say of their models, and the
    metrics that are one value for everyone (each as its typed literal)."""
    builder = MetricBuilder(inputs, policy, as_of)
    return builder.build(), builder.warnings, builder.models, builder.constants
