"""The scripts of benchmarks/ loaded as modules, for the tests that check their floors agree with
tierkit (a floor that computed other work would make its ratio meaningless)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@contextmanager
def beside_benchmarks() -> Iterator[None]:
    """benchmarks/ on the import path for a while: its scripts import their siblings (grade.py, timing.py)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield
    finally:
        sys.path.remove(str(BENCHMARKS))


def load_script(name: str) -> ModuleType:
    """benchmarks/NAME.py as the module `bench_NAME`."""
    with beside_benchmarks():
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
