"""Whole processes timed side by side: wall time and peak memory, interleaved against noise."""

from __future__ import annotations

import statistics
import subprocess
import sys

MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "code = subprocess.run(sys.argv[1:]).returncode; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(time.perf_counter() - t, u.ru_maxrss, code, u.ru_utime + u.ru_stime)"
)


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """Seconds, peak resident MB and CPU seconds (user + system, all threads) of one process
    running `cmd`. CPU time is what a busy shared machine disturbs least."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True)
    seconds, rss_kb, code, cpu = out.stdout.strip().splitlines()[-1].split()
    if int(code) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    return float(seconds), int(rss_kb) / 1024, float(cpu)


def compare(commands: dict[str, list[str]], repeat: int, before_each: dict[str, object] | None = None) -> dict:
    """Median seconds and peak MB per command, run in turns so that machine noise hits all alike.

    `before_each` maps a name to a callable run before each of its runs (e.g. clearing output)."""
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            hook = (before_each or {}).get(name)
            if callable(hook):
                hook()
            results[name].append(measure(cmd))
    return {
        name: {
            "median_s": round(statistics.median(r[0] for r in runs), 3),
            "peak_mb": round(max(r[1] for r in runs), 1),
            "median_cpu_s": round(statistics.median(r[2] for r in runs), 3),
        }
        for name, runs in results.items()
    }
