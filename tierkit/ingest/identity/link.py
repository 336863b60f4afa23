"""`tierkit link`: which customer records are one real person, by probabilistic record linkage.

The Fellegi-Sunter model of splink runs on the engine's own DuckDB connection (no pandas):
u probabilities from random pairs, m probabilities by expectation maximisation, then scored
pairs within the blocking rules of matching.yaml. Pairs at or above the match threshold are
one person; pairs between the review and match thresholds go to a review list and are merged
only once someone says so (decisions are kept, see `review`). Clusters are the connected
components of the merged pairs; a person's id is the smallest record id in the cluster, so it
stays put while that record stays.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute

from tierkit.backends import Backend
from tierkit.backends.duckdb import DuckDBBackend
from tierkit.backends.spark import SparkBackend
from tierkit.errors import TierkitError
from tierkit.ingest.identity.blocking import Blocking, afford
from tierkit.ingest.identity.keys import IDENTITY_FIELDS, name_keys, record_keys
from tierkit.ingest.identity.model import MatchingPlan, plan_for, splink_settings
from tierkit.ingest.identity.review import Decisions
from tierkit.ingest.identity.training import train

RECORDS = "tk_link_records"
KEY_FIELDS = ("name_key", "name_sorted", "name_hanzi", "surname_key", *IDENTITY_FIELDS[2:])  # name -> its keys
STAGES = ("reading records", "counting blocks", "training the model", "scoring pairs", "clustering", "writing")


@dataclass
class Linked:
    """One row per record (`records`), and the pairs left for a person to decide (`review`)."""

    records: pa.Table  # source, customer_id, person_id, match_probability, match_weight, agreed
    review: pa.Table  # source_l, customer_id_l, source_r, customer_id_r, match_probability, fields...
    plan: MatchingPlan
    pairs_scored: int
    training: dict[str, Any] = field(default_factory=dict)
    blocking: Blocking | None = None

    def summary(self) -> dict[str, Any]:
        persons = len(set(self.records["person_id"].to_pylist()))
        return {
            "records": self.records.num_rows,
            "persons": persons,
            "merged_records": self.records.num_rows - persons,
            "review_pairs": self.review.num_rows,
            "pairs_scored": self.pairs_scored,
            "fields": list(self.plan.comparisons),
            "thresholds": {"match": self.plan.match, "review": self.plan.review},
            "training": self.training,
            **({"blocking_left_out": self.blocking.left_out} if self.blocking and self.blocking.left_out else {}),
        }


def prepare(engine: Backend, sources: list[tuple[str, ir.Table]]) -> ir.Table:
    """Every source's records, keyed (see keys.py), as one DuckDB table splink can read."""
    keyed = [record_keys(table).mutate(source=ibis.literal(name)) for name, table in sources]
    records = keyed[0].union(*keyed[1:]) if len(keyed) > 1 else keyed[0]
    records = records.mutate(unique_id=records.source + "|" + records.customer_id)
    names = engine.to_pyarrow(records.select("__name").filter(records.__name.notnull()).distinct())
    lookup = ibis.memtable(name_keys(names["__name"].to_pylist()))
    joined = records.left_join(lookup, records.__name == lookup.__name).drop("__name", "__name_right")
    table = engine.con.create_table(RECORDS, joined, overwrite=True)
    repeated = engine.to_pyarrow(
        table.group_by("unique_id").aggregate(n=table.count()).filter(lambda t: t.n > 1).limit(1)
    )
    if repeated.num_rows:
        source, _, customer = repeated["unique_id"][0].as_py().partition("|")
        raise TierkitError(f"{source}: customer_id '{customer}' appears more than once; each record needs its own id")
    return table


def _present(engine: Backend, table: ir.Table) -> set[str]:
    """The key fields filled in at least 1% of records: emptier ones would only add noise."""
    counts = engine.to_pyarrow(
        table.aggregate(__n=table.count(), **{f: table[f].count() for f in KEY_FIELDS})
    ).to_pylist()[0]
    return {f for f in KEY_FIELDS if counts[f] and counts[f] >= 0.01 * counts["__n"]}


def link(
    engine: Backend,
    sources: list[tuple[str, ir.Table]],
    decisions: Decisions | None = None,
    match: float | None = None,
    review: float | None = None,
    previous: pa.Table | None = None,
    say: Callable[[str], None] = lambda stage: None,
) -> Linked:
    """Link the records of `sources` (name, customers table) into persons.

    `previous`: the last link's records (source, customer_id, person_id), so that persons keep
    their ids from run to run. `say(stage)` is called as each of STAGES starts (a progress bar);
    the last, writing, is the caller's."""
    from splink import Linker
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    say(STAGES[0])
    table = prepare(engine, sources)
    n = int(engine.execute_scalar(table.count()))
    present = _present(engine, table)
    plan = plan_for(present, match, review)
    say(STAGES[1])
    blocking = afford(engine, table, plan.blocking, n, plan.budget)
    plan = dataclasses.replace(plan, blocking=blocking.kept)
    say(STAGES[2])
    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = _database(engine)
    frame = db_api.register(RECORDS, table_name="tk_link_input")
    settings = splink_settings(plan, prior=min(1.0, 1.0 / max(n - 1, 1)))
    model = Linker(frame, settings, log_level=logging.ERROR)
    training = train(model, plan, n, present)
    say(STAGES[3])
    scored = model.inference.predict(threshold_match_probability=plan.review)
    edges = engine.con.table(scored.physical_name)
    pairs = engine.execute_scalar(edges.count())
    say(STAGES[4])
    chosen = (decisions or Decisions.empty()).apply(engine, edges, table)
    clusters = cluster_pairwise_predictions_at_threshold(
        db_api.register(RECORDS, table_name="tk_link_nodes"),
        db_api.register(chosen.get_name(), table_name="tk_link_edges"),
        db_api,
        node_id_column_name="unique_id",
        threshold_match_probability=plan.match,
    )
    if previous is not None:
        previous = previous.append_column(
            "unique_id", pa.compute.binary_join_element_wise(previous["source"], previous["customer_id"], "|")
        )
    linked = _result(engine, engine.con.table(clusters.physical_name), edges, chosen, plan, pairs, previous)
    linked.training = training
    linked.blocking = blocking
    return linked


def _database(engine: Backend) -> Any:
    """splink's database layer on the engine's own connection: DuckDB, or the shared Spark session."""
    if isinstance(engine, DuckDBBackend):
        from splink import DuckDBAPI

        return DuckDBAPI(connection=engine.raw)
    if isinstance(engine, SparkBackend):  # the module imports PySpark only when a session starts
        from splink import SparkAPI

        return SparkAPI(spark_session=engine.session, break_lineage_method="checkpoint")
    raise TierkitError(f"tierkit link cannot run on the {engine.name} engine")


def _keep_previous(people: ir.Table, previous: pa.Table | None) -> ir.Table:
    """person_id: the id the cluster's records had in the previous link, where they agree on one;
    else the cluster's smallest record id. A person keeps their id when a record with a smaller
    id joins them; when a cluster splits, the part holding most of its records keeps the id."""
    if previous is None or previous.num_rows == 0:
        return people.mutate(person_id=people.__default)
    before = ibis.memtable(previous.select(["unique_id", "person_id"])).rename(__was="person_id", __uid="unique_id")
    votes = people.join(before, people.unique_id == before.__uid)
    votes = votes.group_by(["cluster_id", "__was"]).aggregate(__n=votes.count(), __low=votes.unique_id.min())
    best_cluster = ibis.row_number().over(group_by=votes.__was, order_by=[ibis.desc(votes.__n), votes.__low])
    votes = votes.mutate(__won=best_cluster).filter(lambda t: t.__won == 0)
    best_id = ibis.row_number().over(group_by=votes.cluster_id, order_by=[ibis.desc(votes.__n), votes.__was])
    claims = votes.mutate(__pick=best_id).filter(lambda t: t.__pick == 0).select("cluster_id", __claim=votes.__was)
    joined = people.left_join(claims, "cluster_id")
    return joined.mutate(person_id=ibis.coalesce(joined.__claim, joined.__default)).drop("__claim", "cluster_id_right")


def _result(
    engine: Backend,
    clusters: ir.Table,
    scored: ir.Table,
    chosen: ir.Table,
    plan: MatchingPlan,
    pairs: int,
    previous: pa.Table | None = None,
) -> Linked:
    records = engine.con.table(RECORDS)
    member = clusters.select("unique_id", "cluster_id")
    people = records.join(member, "unique_id")
    first = people.group_by("cluster_id").aggregate(__first=people.unique_id.min())
    sources = engine.execute_scalar(records.source.nunique())
    own = records.customer_id if sources == 1 else records.source + ":" + records.customer_id
    ids = records.select(__first=records.unique_id, __default=own)
    people = people.join(first, "cluster_id").join(ids, "__first")
    people = _keep_previous(people, previous).drop("__default")
    # a field agreed when its comparison gave positive evidence (a match weight above 0)
    weighed = [name for name in plan.comparisons if f"mw_{name}" in scored.columns]  # splink omits untrained ones
    agreed = [ibis.ifelse(scored[f"mw_{name}"] > 0, name, ibis.null("string")) for name in weighed]
    gammas = scored.select(
        "unique_id_l",
        "unique_id_r",
        w=scored.match_weight,
        a=ibis.array(agreed).filter(lambda v: v.notnull()).join(","),
    )
    merged = chosen.filter(chosen.match_probability >= plan.match)
    merged = merged.left_join(gammas, ["unique_id_l", "unique_id_r"]).select(
        "unique_id_l",
        "unique_id_r",
        p=merged.match_probability,
        w=gammas.w,
        a=ibis.coalesce(gammas.a, ibis.literal("(decided in review)")),
    )
    ends = merged.select(unique_id=merged.unique_id_l, p=merged.p, w=merged.w, a=merged.a).union(
        merged.select(unique_id=merged.unique_id_r, p=merged.p, w=merged.w, a=merged.a)
    )
    best = ends.mutate(__rank=ibis.row_number().over(group_by=ends.unique_id, order_by=[ibis.desc(ends.p), ends.a]))
    best = best.filter(best.__rank == 0).drop("__rank")
    out = people.left_join(best, "unique_id").select(
        "source", "customer_id", "person_id", match_probability=best.p, match_weight=best.w, agreed=best.a
    )
    result = engine.to_pyarrow(out.order_by(["source", "customer_id"]))
    review = _review(engine, chosen, plan)
    return Linked(result, review, plan, int(pairs))


def _review(engine: Backend, edges: ir.Table, plan: MatchingPlan) -> pa.Table:
    records = engine.con.table(RECORDS)
    shown = [f for f in KEY_FIELDS if f in plan.comparisons or f == "name_key"]
    open_pairs = edges.filter((edges.match_probability >= plan.review) & (edges.match_probability < plan.match))
    left = records.select(
        unique_id_l=records.unique_id,
        source_l=records.source,
        customer_id_l=records.customer_id,
        **{f"{f}_l": records[f] for f in shown},
    )
    right = records.select(
        unique_id_r=records.unique_id,
        source_r=records.source,
        customer_id_r=records.customer_id,
        **{f"{f}_r": records[f] for f in shown},
    )
    pairs = (
        open_pairs.select("unique_id_l", "unique_id_r", "match_probability")
        .join(left, "unique_id_l")
        .join(right, "unique_id_r")
    )
    columns = ["source_l", "customer_id_l", "source_r", "customer_id_r", "match_probability"]
    columns += [f"{f}_{side}" for f in shown for side in ("l", "r")]
    return engine.to_pyarrow(
        pairs.select(*columns).order_by([ibis.desc("match_probability"), "customer_id_l", "customer_id_r"])
    )
