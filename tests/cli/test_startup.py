"""The command line starts without the heavy libraries; each command loads what it needs."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("ibis", "duckdb", "pyarrow", "scipy", "sklearn", "splink", "sqlalchemy", "pyspark", "pandas")


def loaded_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_the_cli_and_the_package_import_no_engine() -> None:
    assert not loaded_after("import tierkit.cli.app") & set(HEAVY)
    assert not loaded_after("import tierkit; tierkit.__version__") & set(HEAVY)


def test_a_command_loads_its_use_case_when_it_runs() -> None:
    found = loaded_after("from tierkit.cli.app import app\nfrom tierkit.app import grading")
    assert {"ibis", "duckdb"} <= found and "sklearn" not in found and "pyspark" not in found
