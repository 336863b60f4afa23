"""`tierkit show` prints a card of the current run without loading the engine or the models.

A card is a lookup in the run's sorted, memory-mapped lookup file plus a few store reads (issue
16): Ibis, DuckDB, scipy, scikit-learn and splink are for grading, lists and linking, and cost
about 0.6 s of imports a card never uses. Whole processes, as a user runs the command; the first
card of a run builds the run's lookup files (with DuckDB) and is not the one checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tierkit.app.demo import demo

NOT_FOR_A_CARD = ("duckdb", "scipy", "sklearn", "splink", "pyspark", "pandas")


def show(workspace: Path, *args: str) -> tuple[dict[str, Any], set[str]]:
    """The card `tierkit show ARGS --json` prints, and the top-level packages loaded by then."""
    script = (
        "import sys, json\n"
        f"sys.argv = ['tierkit', 'show', *{list(args)!r}, '-w', {str(workspace)!r}, '--json']\n"
        "from tierkit.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip(), done.stderr[-2000:]
    return json.loads(done.stdout), set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def card_and_modules(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], set[str], str]:
    """A small demo shop with the churn model (so the card has churn words to say), a first card
    that builds the lookup files, then the card checked: (card, packages loaded, customer)."""
    root = tmp_path_factory.mktemp("card-imports") / "shop"
    customer = str(demo(root, 400, 7, None, "zh", history=True, churn=True)["example_customer"])
    first, _ = show(root, customer)
    card, loaded = show(root, customer)
    assert card == first
    return card, loaded, customer


def test_a_card_of_the_current_run_loads_no_engine_and_no_model(
    card_and_modules: tuple[dict[str, Any], set[str], str],
) -> None:
    card, loaded, customer = card_and_modules
    assert card["customer_id"] == customer and card["tier_history"]  # the whole card, with its history
    # the churn signals in words: the kind's `display` ran (the run stores 'signal=value;...')
    assert isinstance(card["metrics"]["churn_signals"], list)
    assert {"pyarrow", "sqlalchemy", "typer"} <= loaded  # what a card does need, so the check sees it
    assert sorted(loaded & set(NOT_FOR_A_CARD)) == []


def test_a_card_of_the_current_run_loads_no_ibis(card_and_modules: tuple[dict[str, Any], set[str], str]) -> None:
    assert "ibis" not in card_and_modules[1]
