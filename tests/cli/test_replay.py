"""A second `tierkit grade --output X.parquet` of the same request replays the first one's SQL
(runs/replay.py), and writes what a whole grading writes, or runs the grading whole.

The oracle of every replay is a whole grading of the same files with the cache off
(TIERKIT_PLAN_CACHE=off), compared byte for byte: a replay that is found must write the same
file and print the same summary; one that is not (each thing its key or its steps hold changed)
must leave the grading to run whole. Whole processes, as a user runs the command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tierkit.cli.entry import grade_request
from tierkit.policy.loader import preset_names
from tierkit.runs import replay

AS_OF = "2025-12-31"
VOLATILE = ("seconds", "replayed", "output")


def orders_file(path: Path, rows: int = 5000, scale: int = 37, amount: str = "DECIMAL(18, 2)", extra: str = "") -> Path:
    """Orders of 300 customers over two years; the first order is on 2024-01-01 whatever the
    scale of the amounts."""
    duckdb.sql(
        "COPY (SELECT 'C' || lpad((i % 300)::VARCHAR, 4, '0') AS customer_id,"
        f" DATE '2024-01-01' + (i % 700)::INT AS ordered_at, ((i * {scale}) % 5000 + 0.5)::{amount} AS amount{extra}"
        f" FROM range({rows}) r(i)) TO '{path}' (FORMAT parquet)"
    )
    return path


def tierkit(args: list[str], plans: Path | str, cwd: Path | None = None, **env: str) -> tuple[dict[str, Any], str]:
    """(the summary of `tierkit ... --json`, stderr) of a whole process."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(Path(str(plans)).parent)}
    environment.update(TIERKIT_PLAN_CACHE=str(plans), **env)
    done = subprocess.run(
        [sys.executable, "-m", "tierkit.cli", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=cwd,
    )
    return (json.loads(done.stdout) if done.returncode == 0 else {"error": done.returncode}), done.stderr


def command(orders: Path, out: Path, *more: str) -> list[str]:
    policy = [] if "--policy" in more else ["--policy", "retail"]
    return ["grade", "--orders", str(orders), *policy, "--as-of", AS_OF, "--output", str(out), *more]


def grade(orders: Path, out: Path, plans: Path | str, *more: str, **env: str) -> dict[str, Any]:
    summary, stderr = tierkit(command(orders, out, *more), plans, **env)
    assert "error" not in summary, stderr[-2000:]
    return summary


def whole(orders: Path, out: Path, *more: str) -> dict[str, Any]:
    """The oracle: the same grading with no cache at all."""
    summary = grade(orders, out, "off", *more)
    assert summary["replayed"] is False
    return summary


def same(replayed: dict[str, Any], graded: dict[str, Any]) -> bool:
    return {k: v for k, v in replayed.items() if k not in VOLATILE} == {
        k: v for k, v in graded.items() if k not in VOLATILE
    }


def test_a_second_grading_replays_and_writes_what_a_whole_grading_writes(tmp_path: Path) -> None:
    orders, plans = orders_file(tmp_path / "orders.parquet"), tmp_path / "plans"
    first = grade(orders, tmp_path / "first.parquet", plans)
    second = grade(orders, tmp_path / "second.parquet", plans)
    oracle = whole(orders, tmp_path / "whole.parquet")
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert second["customers"] == 300 and second["output"] == str(tmp_path / "second.parquet")
    assert (tmp_path / "second.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert same(second, oracle) and same(first, oracle)
    assert len(list(plans.glob("*.replay.json"))) == 1


@pytest.mark.parametrize(("scale", "rows"), [(41, 5000), (7, 4321), (37, 12000)])
def test_next_data_of_the_same_shape_replays_and_matches_its_whole_grading(
    tmp_path: Path, scale: int, rows: int
) -> None:
    """Other amounts, other rows, other customers' tiers: the plan is the same, so is the result."""
    plans = tmp_path / "plans"
    grade(orders_file(tmp_path / "orders.parquet"), tmp_path / "first.parquet", plans)
    orders = orders_file(tmp_path / "orders.parquet", rows=rows, scale=scale)  # rewritten in place
    replayed = grade(orders, tmp_path / "replayed.parquet", plans)
    oracle = whole(orders, tmp_path / "whole.parquet")
    assert replayed["replayed"] is True
    assert (tmp_path / "replayed.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert same(replayed, oracle)


def edit_policy(tmp_path: Path) -> list[str]:
    policy = tmp_path / "policy.yaml"
    if not policy.exists():
        from tierkit.policy.loader import preset_text

        policy.write_text(preset_text("retail"), "utf-8")
        return ["--policy", str(policy)]
    policy.write_text(policy.read_text("utf-8").replace("name: retail", "name: retail-edited", 1), "utf-8")
    return ["--policy", str(policy)]


def without_day_one(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """The day-one orders gone: the checks decide another first order date."""
    orders = tmp_path / "orders.parquet"
    duckdb.sql(
        f"COPY (SELECT * FROM '{orders}' WHERE ordered_at > DATE '2024-01-01') TO '{tmp_path / 'later.parquet'}'"
        " (FORMAT parquet)"
    )
    os.replace(tmp_path / "later.parquet", orders)
    return [], {}


CHANGES: dict[str, Any] = {
    "the policy file": lambda tmp: (edit_policy(tmp), {}),
    "the input schema (a column more)": lambda tmp: (
        orders_file(tmp / "orders.parquet", extra=", 'web' AS channel") and [],
        {},
    ),
    "the input schema (a type)": lambda tmp: (orders_file(tmp / "orders.parquet", amount="DOUBLE") and [], {}),
    "the first order date": without_day_one,
    "a setting": lambda tmp: ([], {"TIERKIT_REASONS": "full"}),
    "the language": lambda tmp: (["--lang", "en"], {}),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_thing_the_plan_depends_on_when_changed_grades_whole(tmp_path: Path, change: str) -> None:
    orders, plans = orders_file(tmp_path / "orders.parquet"), tmp_path / "plans"
    before = edit_policy(tmp_path) if change == "the policy file" else []
    assert grade(orders, tmp_path / "first.parquet", plans, *before)["replayed"] is False
    more, env = CHANGES[change](tmp_path)
    more = more or before
    graded = grade(orders, tmp_path / "second.parquet", plans, *more, **env)
    oracle = grade(orders, tmp_path / "whole.parquet", "off", *more, **env)
    assert graded["replayed"] is False
    assert (tmp_path / "second.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert same(graded, oracle)
    assert grade(orders, tmp_path / "third.parquet", plans, *more, **env)["replayed"] is True  # kept anew


def test_a_bad_row_is_refused_with_the_whole_gradings_message(tmp_path: Path) -> None:
    orders, plans = orders_file(tmp_path / "orders.parquet"), tmp_path / "plans"
    grade(orders, tmp_path / "first.parquet", plans)
    duckdb.sql(
        f"COPY (SELECT customer_id, CASE WHEN customer_id = 'C0007' THEN NULL ELSE ordered_at END AS ordered_at, amount"
        f" FROM '{orders}') TO '{tmp_path / 'bad.parquet'}' (FORMAT parquet)"
    )
    os.replace(tmp_path / "bad.parquet", orders)
    args = command(orders, tmp_path / "x.parquet")
    cached, cached_err = tierkit(args, plans)
    uncached, uncached_err = tierkit(args, "off")
    assert cached == uncached == {"error": 2}
    assert "ordered_at: empty" in cached_err and cached_err == uncached_err
    assert not (tmp_path / "x.parquet").exists()


def test_csv_inputs_are_not_replayed(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    duckdb.sql(f"COPY (SELECT * FROM '{orders_file(tmp_path / 'o.parquet')}') TO '{orders}' (HEADER)")
    plans = tmp_path / "plans"
    assert grade(orders, tmp_path / "a.parquet", plans)["replayed"] is False
    assert grade(orders, tmp_path / "b.parquet", plans)["replayed"] is False
    assert list(plans.glob("*.replay.json")) == []


def test_a_replay_loads_neither_ibis_nor_typer_nor_the_policy_model(tmp_path: Path) -> None:
    orders, plans = orders_file(tmp_path / "orders.parquet"), tmp_path / "plans"
    grade(orders, tmp_path / "first.parquet", plans)
    args = command(orders, tmp_path / "b.parquet")
    script = (
        "import sys, json\n"
        f"sys.argv = ['tierkit', *{args!r}, '--json']\n"
        "from tierkit.cli.entry import main\n"
        "main()\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    env = {"TIERKIT_PLAN_CACHE": str(plans), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert json.loads(done.stdout)["replayed"] is True, done.stderr[-2000:]
    loaded = {m.split(".")[0] for m in json.loads(done.stderr.strip().splitlines()[-1])}
    assert "duckdb" in loaded  # the check sees imports
    assert sorted(loaded & {"ibis", "typer", "click", "rich", "pydantic", "sqlglot", "pyarrow", "yaml"}) == []


def test_the_key_changes_with_tierkits_files_and_installed_versions(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "module.py").write_text("x = 1\n", "utf-8")
    before = replay.source_fingerprint(tmp_path)
    os.utime(tmp_path / "module.py", ns=(1, 1))
    assert replay.source_fingerprint(tmp_path) != before
    request: dict[str, str | None] = {"orders": "/data/orders.parquet", "policy": "retail", "as_of": AS_OF}
    key = replay.key(request)
    monkeypatch.setattr(replay, "installed", lambda: ["ibis_framework-99.0.0.dist-info"])
    assert replay.key(request) != key
    monkeypatch.undo()
    monkeypatch.setattr(duckdb, "__version__", "0.0.1")
    assert replay.key(request) != key
    monkeypatch.undo()
    assert replay.key({**request, "as_of": "2025-11-30"}) != key
    assert replay.key(request) == key


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["grade", "--orders", "o.parquet", "--output", "x.parquet"], {"orders": "o.parquet", "output": "x.parquet"}),
        (["grade", "--orders=o.parquet", "--output=x.parquet", "--json", "--lang", "en"], {"lang": "en"}),
        (["grade", "--orders", "o.parquet", "--output", "x.parquet", "--engine", "duckdb"], {"policy": None}),
        (["grade", "--orders", "o.parquet", "--output", "x.csv"], None),  # not Parquet out
        (["grade", "--orders", "o.parquet", "--output", "x.parquet", "--engine", "spark"], None),
        (["grade", "--orders", "o.parquet", "--output", "x.parquet", "--map", "a=b"], None),  # not replayable
        (["grade", "--orders", "o.parquet", "--orders", "p.parquet", "--output", "x.parquet"], None),
        (["grade", "--orders", "o.parquet", "-w", "ws"], None),  # a workspace run
        (["grade", "--orders", "o.parquet", "--output"], None),
        (["grade", "--orders", "o.parquet", "--output", "x.parquet", "--lang", "fr"], None),  # typer says why
        (["show", "00000001"], None),
    ],
)
def test_which_command_lines_a_replay_may_answer(argv: list[str], expected: dict[str, str] | None) -> None:
    asked = grade_request(argv)
    if expected is None:
        assert asked is None
        return
    assert asked is not None
    request, json_out = asked
    assert json_out == ("--json" in argv)
    for name, value in expected.items():
        assert request[name] == value  # as typed: a note names the file as the user did
    assert request["lang"] in ("zh", "en") and request["cwd"] == os.getcwd()


def test_the_replay_setting_off_grades_whole_every_time(tmp_path: Path) -> None:
    orders, plans = orders_file(tmp_path / "orders.parquet"), tmp_path / "plans"
    assert grade(orders, tmp_path / "a.parquet", plans, TIERKIT_REPLAY="off")["replayed"] is False
    assert grade(orders, tmp_path / "b.parquet", plans, TIERKIT_REPLAY="off")["replayed"] is False
    assert list(plans.glob("*.replay.json")) == [] and list(plans.glob("*.sql"))  # compiled plans still kept
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_replays_other_data_as_its_whole_grading(tmp_path: Path, preset: str) -> None:
    """The same request replays; on other data of the same shape it writes the whole grading's
    bytes (a preset whose plan reads the data otherwise must grade whole, never differ)."""
    plans, policy = tmp_path / "plans", ["--policy", preset]
    orders = orders_file(tmp_path / "orders.parquet")
    assert grade(orders, tmp_path / "first.parquet", plans, *policy)["replayed"] is False
    assert grade(orders, tmp_path / "again.parquet", plans, *policy)["replayed"] is True
    orders = orders_file(tmp_path / "orders.parquet", rows=7000, scale=53)
    graded = grade(orders, tmp_path / "second.parquet", plans, *policy)
    oracle = grade(orders, tmp_path / "whole.parquet", "off", *policy)
    assert (tmp_path / "second.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert same(graded, oracle)


def test_relative_paths_read_in_the_replay_as_typed(tmp_path: Path) -> None:
    """The notes and the output name the files as the user typed them, replayed or not."""
    orders_file(tmp_path / "orders.parquet")
    (tmp_path / "out").mkdir()
    args = ["grade", "--orders", "orders.parquet", "--as-of", AS_OF, "--output", "out/x.parquet"]
    first, _ = tierkit(args, tmp_path / "plans", cwd=tmp_path)
    second, _ = tierkit(args, tmp_path / "plans", cwd=tmp_path)
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert second["output"] == first["output"] == "out/x.parquet"
    assert second["warnings"] == first["warnings"] and any("orders.parquet has no" in w for w in first["warnings"])
    elsewhere, _ = tierkit(
        ["grade", "--orders", "../orders.parquet", "--as-of", AS_OF, "--output", "y.parquet"],
        tmp_path / "plans",
        cwd=(tmp_path / "out"),
    )
    assert elsewhere["replayed"] is False and any("../orders.parquet has no" in w for w in elsewhere["warnings"])
    args[-1] = "missing/x.parquet"  # a folder that is not there: the grading's own error, not a replay's folder
    assert tierkit(args, tmp_path / "plans", cwd=tmp_path)[0] == {"error": 2}
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    "spoil", ["not json", '{"format": 1}', '{"format": 1, "files": {}, "shape": {}, "steps": 3}', ""]
)
def test_a_spoiled_record_grades_whole(tmp_path: Path, spoil: str) -> None:
    orders, plans = orders_file(tmp_path / "orders.parquet"), tmp_path / "plans"
    grade(orders, tmp_path / "first.parquet", plans)
    (record,) = plans.glob("*.replay.json")
    record.write_text(spoil, "utf-8")
    assert grade(orders, tmp_path / "second.parquet", plans)["replayed"] is False
    assert (tmp_path / "second.parquet").read_bytes() == (tmp_path / "first.parquet").read_bytes()
    assert grade(orders, tmp_path / "third.parquet", plans)["replayed"] is True  # written anew
