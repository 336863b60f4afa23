"""The command line starts without the heavy libraries; each command loads what it needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("ibis", "duckdb", "pyarrow", "scipy", "sklearn", "splink", "sqlalchemy", "pyspark", "pandas")


def loaded_after(code: str, env: dict[str, str] | None = None, whole: bool = False) -> set[str]:
    """The top-level packages (every module with `whole`) loaded after running `code`."""
    names = "sys.modules" if whole else "{m.split('.')[0] for m in sys.modules}"
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted({names})), file=sys.stderr)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env).stderr
    return set(json.loads(out.strip().splitlines()[-1]))


def cli(*args: str) -> str:
    """Code that runs `tierkit ARGS` in the process and goes on when it exits (--help does)."""
    run = "from tierkit.cli.app import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
    return f"sys.argv = ['tierkit', *{list(args)!r}]\n{run}"


def test_the_cli_and_the_package_import_no_engine() -> None:
    assert not loaded_after("import tierkit.cli.app") & set(HEAVY)
    assert not loaded_after("import tierkit; tierkit.__version__") & set(HEAVY)


def test_a_command_loads_its_use_case_when_it_runs() -> None:
    found = loaded_after("from tierkit.cli.app import app\nfrom tierkit.app import grading")
    assert {"ibis", "duckdb"} <= found and "sklearn" not in found and "pyspark" not in found


def test_help_loads_no_engine() -> None:
    assert not loaded_after(cli("--help")) & set(HEAVY)
    assert not loaded_after(cli("grade", "--help")) & set(HEAVY)


def test_a_cached_plan_is_run_without_ibis_compilers(tmp_path: Path) -> None:
    """`tierkit grade` whose plans are in the cache neither compiles nor imports Ibis's SQL
    compilers (every dialect sqlglot has); the first grading, which compiles, does."""
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,ordered_at,amount\nC1,2026-01-05,120.50\nC2,2026-03-01,80\n", "utf-8")
    env = {**os.environ, "TIERKIT_PLAN_CACHE": str(tmp_path / "plans")}
    args = ("grade", "--orders", str(orders), "--policy", "rfm", "--as-of", "2026-06-30", "--json")
    first = loaded_after(cli(*args, "--output", str(tmp_path / "a.parquet")), env, whole=True)
    again = loaded_after(cli(*args, "--output", str(tmp_path / "b.parquet")), env, whole=True)
    assert "ibis.backends.sql.compilers" in first
    assert "ibis.backends.sql.compilers" not in again and "ibis.backends.sql.compilers.datafusion" not in again
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
