"""Inputs an adversarial pass found that ended in a traceback (exit 1) instead of one line
naming the problem with exit 2 (issue 15). Each is run as a user runs it and must be a
TierkitError, whose message the CLI prints as `error: ...`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app
from tierkit.errors import TierkitError

runner = CliRunner()
HEADER = "order_id,customer_id,ordered_at,amount"
TODAY = ["--today", "2026-11-29"]


def refused(*args: str) -> str:
    """The one-line error of a command that must refuse its input."""
    result = runner.invoke(app, list(args))
    assert isinstance(result.exception, TierkitError), repr(result.exception)
    assert result.exception.exit_code == 2
    message = str(result.exception)
    assert "\n" not in message
    return message


def workspace(root: Path) -> Path:
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    return root


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_utf16_with_an_odd_number_of_bytes(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(f"{HEADER}\nO1,0001,2024-01-01,10\n".encode("utf-16") + b"\x00")
    ws = workspace(tmp_path / "ws")
    out = str(tmp_path / "x.csv")
    grade = ["grade", "--orders", str(path), "--output", out]
    commands = [["import", "orders", str(path), "-w", str(ws), *TODAY], grade]
    for args in commands:
        message = refused(*args)
        assert message == (
            f"{path}: line 3: the file ends inside a UTF-16 character (an odd number of bytes): "
            "it was cut short, or it is not UTF-16; save it again as UTF-8 CSV"
        )


@pytest.mark.parametrize("where", ["header", "data"])
def test_a_cell_over_the_csv_modules_field_limit(tmp_path: Path, where: str) -> None:
    """Python's csv module stops at 131,072 bytes a field: in the sniffer (the header) and in the
    pass that names a broken row (a short row after a long cell)."""
    big = "x" * 140_000
    if where == "header":
        path = write(tmp_path / "wide.csv", f"{HEADER},{big}", "O1,0001,2024-01-01,10,a")
        expected = f"{path}: line 1: column 5 of the header is 140,000 characters long"
    else:
        path = write(tmp_path / "long.csv", f"{HEADER},note", f'O1,0001,2024-01-01,10,"{big}"', "O2,0002,2024-01-01")
        expected = f"{path}: row 2 (line 3) has 3 fields, the header has 5"
    ws = workspace(tmp_path / "ws")
    assert refused("import", "orders", str(path), "-w", str(ws), *TODAY).startswith(expected)
    assert refused("grade", "--orders", str(path), "--output", str(tmp_path / "x.csv")).startswith(expected)


def test_a_workspace_path_with_both_quotes(tmp_path: Path) -> None:
    """Ibis wrote COPY ... TO with Python's repr of the path: \\' inside '...' is no SQL quote."""
    ws = workspace(tmp_path / 'bob\'s "shop"')
    orders = write(tmp_path / "orders.csv", HEADER, "O1,0001,2024-01-01,10", "O2,0002,2024-02-01,20")
    result = runner.invoke(app, ["import", "orders", str(orders), "-w", str(ws), *TODAY, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"] == 2
    graded = runner.invoke(app, ["grade", "-w", str(ws), "--json"])
    assert graded.exit_code == 0, graded.output
    assert json.loads(graded.stdout)["customers"] == 2


@pytest.mark.parametrize("as_of", ["0001-01-01", "0001-12-31"])
def test_an_as_of_whose_windows_reach_before_year_1(tmp_path: Path, as_of: str) -> None:
    orders = write(tmp_path / "orders.csv", HEADER, "O1,0001,0001-01-01,10")
    message = refused("grade", "--orders", str(orders), "--as-of", as_of, "--output", str(tmp_path / "x.csv"))
    assert message.startswith(f"as-of {as_of}: the ")
    assert "window would start before 0001-01-01, the first day of the calendar; grade as of a later date" in message


def test_an_as_of_whose_birthdays_reach_past_year_9999(tmp_path: Path) -> None:
    orders = write(tmp_path / "orders.csv", HEADER, "O1,0001,9999-12-01,10")
    customers = write(tmp_path / "customers.csv", "customer_id,birth_date", "0001,1990-05-01")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "name: b\nmetrics:\n  spend: {sum: amount, window: 1M}\n  soon: {expr: 'days_until_birthday(birth_date)'}\n"
        "tiers:\n  - {name: all, else: true}\n",
        "utf-8",
    )
    message = refused(
        "grade", "--orders", str(orders), "--customers", str(customers), "--policy", str(policy),
        "--as-of", "9999-12-31", "--output", str(tmp_path / "x.csv"),
    )  # fmt: skip
    assert message.endswith(
        "metrics.soon.expr: cannot apply 'days_until_birthday' at column 1 in 'days_until_birthday(birth_date)': "
        "as-of 9999-12-31: the next birthday falls after 9999-12-31, the last day of the calendar"
    )


def test_diff_with_a_negative_limit(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    orders = write(tmp_path / "orders.csv", HEADER, "O1,0001,2024-01-01,10")
    assert runner.invoke(app, ["grade", "-w", str(ws), "--orders", str(orders)]).exit_code == 0
    assert refused("diff", "current", "current", "-w", str(ws), "--limit", "-1") == (
        "--limit -1: give how many movers to list, 0 or more"
    )


def policy_with(tmp_path: Path, rule: str) -> Path:
    path = tmp_path / "policy.yaml"
    text = "name: p\nmetrics:\n  spend: {sum: amount, window: 12M}\ntiers:\n"
    path.write_text(text + f"  - {{name: vip, when: {json.dumps(rule)}}}\n  - {{name: rest, else: true}}\n", "utf-8")
    return path


def test_a_nul_in_a_rules_text_is_refused_by_check(tmp_path: Path) -> None:
    """check said ok and grade failed in DuckDB: a rule's text may not hold control characters."""
    path = policy_with(tmp_path, "customer_id == 'a\x00b' or spend > 10")
    message = refused("check", str(path))
    assert "tiers[0].when: control character U+0000 at column 18 in 'customer_id == 'a\\x00b' or spend > 10'" in message


def test_a_rule_nested_too_deep_is_refused_by_check(tmp_path: Path) -> None:
    path = policy_with(tmp_path, "(" * 3000 + "spend > 10" + ")" * 3000)
    message = refused("check", str(path))
    assert "tiers[0].when: parentheses, 'not' and '-' nested more than 50 deep at column 51" in message
    assert len(message) < 500  # one line, not the rule's 6,000 characters
    assert runner.invoke(app, ["check", str(policy_with(tmp_path, "(" * 50 + "spend > 10" + ")" * 50))]).exit_code == 0
    deep_not = policy_with(tmp_path, "not " * 51 + "spend > 10")
    assert "nested more than 50 deep" in refused("check", str(deep_not))
