"""The docs cover what ships: every command, every preset, every score type and metric kind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from tierkit.cli.app import app
from tierkit.policy.kinds import metric_kinds
from tierkit.policy.loader import load_policy, preset_names
from tierkit.policy.model import AGGREGATES, SCORE_TYPES

ROOT = Path(__file__).resolve().parents[2]


def text(name: str) -> str:
    return (ROOT / name).read_text("utf-8")


def test_every_command_has_a_section_in_cli_docs() -> None:
    commands = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    headings = set(re.findall(r"^## ([\w-]+)", text("docs/cli.md"), flags=re.M))  # subject-export
    assert commands and not [c for c in commands if c not in headings]


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_is_documented(name: str) -> None:
    assert f"`{name}`" in text("README.md")
    assert name in text("docs/presets.md")
    assert load_policy(name).policy.description


def test_every_score_type_and_metric_kind_is_documented() -> None:
    scores, policy = text("docs/scores.md"), text("docs/policy.md")
    assert not [t for t in SCORE_TYPES if f"## {t}" not in scores]
    assert not [k for k in AGGREGATES if f"`{k}`" not in policy]
    assert not [k for k in metric_kinds() if f"### `{k}`" not in policy]  # plug-in kinds too


def test_readme_quick_start_is_the_two_make_commands() -> None:
    readme = text("README.md")
    assert "make demo" in readme and "make test" in readme
    assert "make test" in text(".ci/run")


def test_the_python_api_as_the_readme_shows_it(tmp_path: Path) -> None:
    import tierkit

    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,ordered_at,amount\n001,2024-06-01,120000\n002,2024-05-01,10\n", "utf-8")
    result = tierkit.grade(orders, policy="retail", as_of="2024-06-30")
    assert result.table.num_rows == 2 and result.table["customer_id"].to_pylist() == ["001", "002"]
    summary = result.summary()
    assert {row["class"]: row["customers"] for row in summary["tiers"]} == {"regular": 1, "potential": 1}
    assert result.write(tmp_path / "graded.parquet")["customers"] == 2
    assert "customer_id" in result.expr.columns
    import ibis

    assert "SELECT" in ibis.to_sql(result.expr, dialect="postgres")
    regular = result.engine.to_pyarrow(result.expr.filter(result.expr.tier == "regular"))
    assert regular["customer_id"].to_pylist() == ["001"]


def test_the_readme_needs_no_internal_import(tmp_path: Path) -> None:
    """Every `tierkit.X` the README's Python uses is public (in tierkit.__all__), and works."""
    import tierkit

    blocks = re.findall(r"```python\n(.*?)```", text("README.md"), flags=re.S)
    used = {name for block in blocks for name in re.findall(r"\btierkit\.(\w+)", block)}
    assert used and used <= set(tierkit.__all__)
    assert not [b for b in blocks if re.search(r"from tierkit\.|import tierkit\.", b)]
    policy = tmp_path / "policy.yaml"
    policy.write_text("name: t\nmetrics: {s: {sum: amount}}\ntiers: [{name: a, else: true}]\n", "utf-8")
    assert tierkit.check(policy).policy.name == "t"
    assert {"clv", "churn"} <= set(tierkit.metric_kinds())
    policy.write_text("name: t\nmetrics: {s: {sum: amount, window: 5Q}}\ntiers: [{name: a, else: true}]\n", "utf-8")
    with pytest.raises(tierkit.PolicyError, match=r"policy\.yaml:2: metrics\.s\.window"):
        tierkit.check(policy)


def test_the_readme_python_snippet_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: the snippet a new user pastes first must run, on the files it names."""
    import shutil

    from tierkit.demo.shop import generate

    files = generate(tmp_path / "shop", customers=200, seed=3)
    shutil.copy(files.orders, tmp_path / "orders.parquet")
    shutil.copy(files.customers, tmp_path / "customers.parquet")
    readme = text("README.md")
    snippet = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), {})
    assert (tmp_path / "graded.parquet").exists()


def test_small_things_a_new_user_meets() -> None:
    """`tierkit --version`, help rows without a value type on flags, a licence setuptools reads."""
    from typer.testing import CliRunner

    from tierkit.cli.app import app
    from tierkit.version import __version__

    runner = CliRunner()
    assert runner.invoke(app, ["--version"]).stdout.strip() == f"tierkit {__version__}"
    for command in (["--help"], ["grade", "--help"], ["show", "--help"]):
        assert "<bool>" not in runner.invoke(app, command).stdout
    project = text("pyproject.toml")
    assert 'license = "Apache-2.0"' in project and "Apache License" in text("LICENSE")


def test_preset_versions_the_docs_print_are_the_presets_versions() -> None:
    """`tierkit check` examples in the docs show real output: a preset's version as it is now."""
    found = 0
    for name in ("README.md", *(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))):
        body = text(name)
        for preset, short in re.findall(r"preset:([a-z-]+): ok, policy '[a-z-]+' version ([0-9a-f]{12})", body):
            assert load_policy(preset).short_hash == short, (name, preset)
            found += 1
        for full, preset in re.findall(r'"hash": "([0-9a-f]{64})",\s*"source": "preset:([a-z-]+)"', body):
            assert load_policy(preset).hash == full, (name, preset)
            found += 1
    assert found >= 2


def test_the_readme_walkthrough_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick start's commands after `make demo`, in order, on a small demo workspace."""
    import shlex

    from typer.testing import CliRunner

    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["demo", "--workspace", "demo-workspace", "--customers", "500"]).exit_code == 0
    block = text("README.md").split("From the command line:", 1)[1].split("```sh\n", 1)[1]
    commands = [line.split("#")[0].strip() for line in block.split("```", 1)[0].splitlines() if line.strip()]
    assert len(commands) >= 5
    for command in commands:
        args = shlex.split(command.removeprefix(".venv/bin/tierkit "))
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (command, result.output)
    assert (tmp_path / "vip.xlsx").exists()
