"""Crash safety, proven by killing (issue 15, part 1): real tierkit processes SIGKILLed at seeded
random moments, the workspace checked after each kill and after the next command of the same
kind (tests/reliability/crash_harness.py; the long run is benchmarks/kills.py).

A failure prints the seed and the kill schedule: `Harness(root, seed).run(kills)` with the same
numbers replays it (`TIERKIT_KILL_SEED` picks another seed)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.reliability.crash_harness import Harness, main_table

SEED = int(os.environ.get("TIERKIT_KILL_SEED", "20261204"))
KILLS = 16  # four of each kind below


def test_kills_of_grade_import_link_and_publish_leave_a_sound_workspace(tmp_path: Path) -> None:
    harness = Harness(tmp_path, SEED)
    report = harness.run(KILLS, kinds=("grade", "import", "link", "publish"), race=True)
    assert len(report.kills) >= 15
    assert sum(k.killed for k in report.kills) >= 8, "most kills must land while the process runs\n" + report.schedule()
    assert not report.failures, f"replay with seed {SEED}:\n{report.schedule()}\n{main_table(report)}"


def test_a_serve_killed_while_grading_lets_the_next_one_grade(tmp_path: Path) -> None:
    harness = Harness(tmp_path, SEED)
    harness.build()
    harness.report.durations["serve"] = 0.0  # killed at once, while its grading holds the lease
    kill = harness.kill_one(1, "serve")
    assert not kill.failures, kill.line()
