"""Test modules have unique names: the test folders are not packages, so pytest imports each by its
basename, and a second tests/*/test_small.py fails to collect ("import file mismatch") on a clean
clone, where no __pycache__ hides it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_modules_share_a_name() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [name for name, n in names.items() if n > 1] == []
