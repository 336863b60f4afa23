"""benchmarks/api_lookup.py's server CPU per request: a process's CPU seconds with its
descendants' (uvicorn's workers are children of the process the benchmark starts). Oracle: each
process's own `time.process_time()`, printed by it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.cli.benchmark_scripts import load_script

SPIN = (
    "import time\nt=time.process_time()\nwhile time.process_time()-t<{s}: pass\n"
    "print(time.process_time(), flush=True)\n"
)
# a parent that spins, starts a child that spins longer, and waits so that both can be read
FAMILY = (
    "import subprocess, sys, time\n"
    f"child = subprocess.Popen([sys.executable, '-c', {SPIN.format(s=0.6)!r} + 'time.sleep(30)'], stdout=sys.stdout)\n"
    + SPIN.format(s=0.3)
    + "time.sleep(30)\n"
)


def test_cpu_seconds_counts_a_process_and_its_descendants() -> None:
    cpu_seconds = load_script("api_lookup").cpu_seconds
    family = subprocess.Popen([sys.executable, "-c", FAMILY], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert family.stdout is not None
        spent = [float(family.stdout.readline()) for _ in range(2)]  # both done spinning
        time.sleep(0.1)
        counted = cpu_seconds(family.pid)
        # the two spins plus start-up (an interpreter each), never less than what they printed
        # /proc counts in clock ticks (1/100 s), rounded down per process and per thread
        assert sum(spent) - 0.06 <= counted <= sum(spent) + 0.6, (spent, counted)
    finally:
        os.killpg(family.pid, signal.SIGKILL)  # the child too
        family.wait()


def test_settle_waits_while_a_server_works_in_the_background() -> None:
    """A server just started works for seconds after its first cards (lookups read, the tier
    history joined): the benchmark waits until it is idle, and not longer."""
    settle = load_script("api_lookup").settle
    busy = subprocess.Popen([sys.executable, "-c", SPIN.format(s=2.5) + "time.sleep(30)"], stdout=subprocess.DEVNULL)
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.3)  # both interpreters started
        waited_busy = settle(busy.pid)
        # it spun ~2.5 CPU s from its start (~0.3 s before): settle polls every second
        assert 2.0 <= waited_busy <= 5.5, waited_busy
        assert settle(idle.pid) <= 1.5
        assert settle(busy.pid, longest=1.0) <= 1.5  # never past `longest` (idle by now anyway)
    finally:
        for process in (busy, idle):
            process.kill()
            process.wait()
