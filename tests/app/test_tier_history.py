"""A card's tier history from the recent runs' tiers joined by customer (app/tier_history.py).
The oracle: each run's result file read with pyarrow (the tier a run gave the customer), and
the run-by-run reading the card falls back on while the joined table is built."""

from __future__ import annotations

import datetime as dt
import os

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.api.conftest import Served, make_workspace
from tierkit.app import history, tier_history
from tierkit.app.serving import TIERS, ServedWorkspace, Settings
from tierkit.app.tier_history import join
from tierkit.cli.app import app as cli_app
from tierkit.runs.files import list_runs
from tierkit.workspace import Workspace


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Served:
    """Four runs a quarter apart: customers who had not bought yet are not in the early ones."""
    served = make_workspace(tmp_path_factory.mktemp("tier-history") / "ws", "sqlite", customers=300)
    as_of = dt.date.fromisoformat(list_runs(served.workspace)[-1].manifest["as_of"])
    for quarters in (3, 2, 1):
        earlier = (as_of - dt.timedelta(days=91 * quarters)).isoformat()
        args = ["grade", "-w", str(served.workspace.root), "--as-of", earlier, "--no-publish", "--json"]
        graded = CliRunner().invoke(cli_app, args)
        assert graded.exit_code == 0, graded.output
    return served


def _results(ws: Workspace) -> dict[str, dict[str, str]]:
    found = {}
    for run in list_runs(ws):
        columns = pq.read_table(run.result, columns=["customer_id", "tier"]).to_pydict()
        found[run.run_id] = dict(zip(columns["customer_id"], columns["tier"], strict=True))
    return found


def _served(shop: Served) -> ServedWorkspace:
    served = ServedWorkspace.open(shop.workspace.root, Settings(pointer_ttl=0.0, rate_per_second=0))
    served.histories.start()  # as a serving process does (tierkit.api.app)
    return served


def test_a_one_shot_card_reads_the_runs_one_by_one(shop: Served) -> None:
    """`tierkit show` opens a served workspace for one card: no join, and no thread left behind."""
    served = ServedWorkspace.open(shop.workspace.root)
    try:
        runs = tuple(r.run_id for r in served.runs())
        assert served.histories.get(runs, lambda: [served.snapshot(r) for r in runs], served.history_ready) is None
        served.histories.wait(timeout=1.0)
        assert served.histories.get(runs, lambda: [served.snapshot(r) for r in runs], served.history_ready) is None
        # and it waits for every run's lookup: a one-shot card leaves none out
        moments, pending = history.recent_tiers(served, "no-such-customer", "zh")
        assert ([m["run_id"] for m in moments], pending) == (list(runs), 0)
    finally:
        served.close()


def test_the_joined_history_gives_each_runs_tier_from_its_result(shop: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    results = _results(shop.workspace)
    everyone = sorted(set().union(*results.values()))
    served = _served(shop)
    try:
        with monkeypatch.context() as patched:  # the run-by-run reading, as while the join is built
            patched.setattr(served.histories, "get", lambda *_: None)
            # a serving process waits for no run's lookup: the card shows its own run, and says how
            # many runs it leaves out while background threads read them
            moments, pending = history.recent_tiers(served, everyone[0], "zh")
            assert ([m["current"] for m in moments], pending) == ([True], len(results) - 1)
            served.histories.wait()
            assert history.recent_tiers(served, everyone[0], "zh")[1] == 0
            by_run = [history.timeline(served, c, lang) for c in everyone[:60] for lang in ("zh", "en")]
        history.timeline(served, everyone[0], "zh")  # asks for the join
        served.histories.wait()
        runs = tuple(r.run_id for r in served.runs())
        joined = served.histories.get(runs, lambda: [served.snapshot(r) for r in runs], served.history_ready)
        assert joined is not None and joined.runs == runs
        assert sum(1 for c in everyone if any(c not in tiers for tiers in results.values())) > 0  # some absent
        for customer_id in [*everyone, "no-such-customer"]:
            timeline = history.timeline(served, customer_id, "zh")
            assert [h["run_id"] for h in timeline] == list(runs)
            assert [h["tier"] for h in timeline] == [results[r].get(customer_id) for r in runs], customer_id
        # the joined table and the run-by-run reading say the same, labels too
        assert [history.timeline(served, c, lang) for c in everyone[:60] for lang in ("zh", "en")] == by_run
    finally:
        served.close()


def test_a_rebuilt_run_lookup_or_a_new_run_gives_a_new_join(shop: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    served = _served(shop)
    try:
        runs = tuple(r.run_id for r in served.runs())
        ask = lambda: [served.snapshot(r) for r in runs]  # noqa: E731
        served.histories.get(runs, ask, served.history_ready)
        served.histories.wait()
        before = served.histories.get(runs, ask, served.history_ready)
        assert before is not None
        # erasure drops a run's lookups (they held the person): the next look at the runs rebuilds
        # that run's, and the join made from the old one is not used again
        past = next(r for r in served.runs() if r.run_id != served.current_id())
        os.remove(past.path / TIERS)
        assert served.histories.get(runs, ask, served.history_ready) is None
        served.histories.wait()
        after = served.histories.get(runs, ask, served.history_ready)
        assert after is not None and after is not before
        assert after.snapshots[past.run_id].table is not before.snapshots[past.run_id].table  # the rebuilt lookup
        # another set of runs (a run graded since): the join made serves the runs it holds while
        # one of exactly those runs is built
        fewer = runs[1:]
        ask_fewer = lambda: [served.snapshot(r) for r in fewer]  # noqa: E731
        assert served.histories.get(fewer, ask_fewer, served.history_ready) is after
        served.histories.wait()
        # it lacks no run and is young: kept
        assert served.histories.get(fewer, ask_fewer, served.history_ready) is after
        monkeypatch.setattr(tier_history, "REJOIN_AFTER", 0.0)
        # old enough: joined again, served meanwhile
        assert served.histories.get(fewer, ask_fewer, served.history_ready) is after
        served.histories.wait()
        again = served.histories.get(fewer, ask_fewer, served.history_ready)
        assert again is not None and again.runs == fewer
    finally:
        served.close()


def test_a_join_extended_by_new_runs_says_what_each_result_says(shop: Served) -> None:
    """A join made from the one before (the runs it holds from the same lookups kept, the others
    read), for a run dropped and runs added, in another order too: each customer's tier in each
    run is the result file's."""
    results = _results(shop.workspace)
    everyone = sorted(set().union(*results.values()))
    served = _served(shop)
    try:
        runs = [r.run_id for r in served.runs()]
        snapshots = {r: served.snapshot(r) for r in runs}
        for first, then in [(runs[:2], runs[1:]), (runs[2:], runs), (runs[::-1], runs[:3])]:
            before = join([snapshots[r] for r in first])
            extended = join([snapshots[r] for r in then], before)
            assert extended.runs == tuple(then)
            for customer_id in [*everyone, "no-such-customer"]:
                assert extended.of(customer_id) == {r: results[r].get(customer_id) for r in then}, customer_id
            # customers of no run it holds are not kept
            assert extended.table.rows == len(set().union(*(results[r] for r in then)))
    finally:
        served.close()
