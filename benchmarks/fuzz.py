"""Bad input, fuzzed for minutes (issue 15, part 6): atheris over the importers, the rule language
and the policy loader, then the hypothesis properties of tests/reliability/test_fuzz_*.py with
many more examples, drawn at random (CI runs a few, the same ones every time).

    .venv/bin/python benchmarks/fuzz.py --minutes 10            # every target, split evenly
    .venv/bin/python benchmarks/fuzz.py --target rules --minutes 5
    .venv/bin/python benchmarks/fuzz.py --engine hypothesis --minutes 20

atheris (coverage-guided, libFuzzer) mutates bytes: they are rule text, policy YAML, or a file
given to `tierkit import` as .csv, .xlsx or .parquet (the first byte chooses). An input passes
when it imports or checks cleanly, or fails with one line of TierkitError; any other exception,
an error of several lines, or an input running past --timeout seconds is a finding: atheris
prints it with its traceback and saves the input as crash-* (or timeout-*) in --out. Without
atheris installed (`pip install atheris`: it has wheels for CPython 3.11 on Linux x86-64) the
hypothesis half still runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("rules", "policy", "import")
SUFFIXES = (".csv", ".csv", ".csv", ".xlsx", ".parquet", ".tsv")


def one_line(err: Exception) -> None:
    message = str(err)
    if not message.strip() or "\n" in message or "\r" in message:
        raise AssertionError(f"an error that is not one line: {message!r}")


def rules_input(data: bytes) -> None:
    """Rule text, parsed and compiled against a few typed columns (as `tierkit check` does)."""
    import ibis

    from tierkit.engine.rules import RuleCompiler
    from tierkit.errors import TierkitError

    table = ibis.table({"a": "int64", "b": "float64", "c": "string", "d": "date"}, name="t")
    text = data.decode("utf-8", errors="replace")
    try:
        RuleCompiler({c: table[c] for c in table.columns}, "fuzz").compile(text)
    except TierkitError as err:
        one_line(err)


def policy_input(data: bytes) -> None:
    """Policy YAML text, loaded and checked."""
    from tierkit.engine.check import check_policy
    from tierkit.errors import TierkitError
    from tierkit.policy.loader import parse_policy

    try:
        check_policy(parse_policy(data.decode("utf-8", errors="replace"), "fuzz.yaml"))
    except TierkitError as err:
        one_line(err)


class Importer:
    """Bytes as a file imported into a workspace (a fresh one every 100 inputs), soundness checked."""

    def __init__(self, root: Path) -> None:
        from tierkit.app import workspaces

        self.root = root
        self.template = root / "template"
        workspaces.init(self.template, "retail")
        self.count = 0
        self.ws = self.template

    def __call__(self, data: bytes) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.reliability.fuzz_outcomes import run_import, unsound

        if self.count % 100 == 0:
            self.ws = self.root / f"ws{self.count}"
            shutil.copytree(self.template, self.ws)
        self.count += 1
        suffix = SUFFIXES[data[0] % len(SUFFIXES)] if data else ".csv"
        path = self.root / f"input{self.count}{suffix}"
        path.write_bytes(data[1:])
        try:
            run_import(self.ws, path)  # one_line inside; any other exception propagates
            problems = unsound(self.ws)
            if problems:
                raise AssertionError(f"the workspace after importing {path.name}: {problems}")
        finally:
            path.unlink(missing_ok=True)


def seeds(target: str, folder: Path) -> None:
    """A corpus to start from: the presets' rules and texts, and a few orders files."""
    from tierkit.policy.loader import preset_names, preset_text

    folder.mkdir(parents=True, exist_ok=True)
    if target == "rules":
        import yaml

        found: list[str] = []

        def walk(node: object) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in ("when", "where", "expr") and isinstance(value, str):
                        found.append(value)
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        for name in preset_names():
            walk(yaml.safe_load(preset_text(name)))
        for i, rule in enumerate(found):
            (folder / f"rule{i}").write_text(rule, "utf-8")
    elif target == "policy":
        for name in preset_names():
            (folder / name).write_text(preset_text(name), "utf-8")
    else:
        text = '订单号,客户编号,下单时间,金额\nA1,0001,2024/1/5,"¥1,234.50"\nA2,0002,2024年1月6日,12元\n'
        (folder / "utf8").write_bytes(b"\x00" + text.encode("utf-8"))
        (folder / "gbk").write_bytes(b"\x01" + text.replace("¥", "").encode("gbk"))
        (folder / "utf16").write_bytes(b"\x02" + text.encode("utf-16"))


def run_atheris(target: str, seconds: int, timeout: int, out: Path) -> int:
    """One target in a child process (atheris ends its process when it stops); its exit code."""
    corpus = out / f"corpus-{target}"
    seeds(target, corpus)
    args = [sys.executable, __file__, "--child", target, f"-max_total_time={seconds}", f"-timeout={timeout}"]
    args += [f"-artifact_prefix={out}/{target}-", "-rss_limit_mb=6144", str(corpus)]
    print(f"atheris {target}: {seconds} s", flush=True)
    return subprocess.run(args, cwd=out).returncode


def child(target: str, argv: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["tierkit.policy", "tierkit.tables", "tierkit.ingest", "yaml"]):
        import tierkit.engine.rules
        import tierkit.policy.loader
        import tierkit.tables.sources  # noqa: F401
    test = {"rules": rules_input, "policy": policy_input}.get(target)
    if test is None:
        test = Importer(Path(tempfile.mkdtemp(prefix="tierkit-fuzz-")))
    atheris.Setup([sys.argv[0], *argv], test)
    atheris.Fuzz()


def run_hypothesis(seconds: int) -> int:
    """The CI properties with random examples, round after round, until the time is up."""
    env = os.environ | {"TIERKIT_FUZZ_RANDOM": "1", "TIERKIT_FUZZ_SCALE": "5"}
    end, rounds, failed = time.monotonic() + seconds, 0, 0
    while time.monotonic() < end:
        rounds += 1
        tests = ["tests/reliability/test_fuzz_imports.py", "tests/reliability/test_fuzz_policy.py"]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], cwd=ROOT, env=env
        )
        failed += done.returncode != 0
        print(f"hypothesis round {rounds}: {'failed' if done.returncode else 'passed'}", flush=True)
    return 1 if failed else 0


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--target", choices=[*TARGETS, "all"], default="all")
    parser.add_argument("--engine", choices=["atheris", "hypothesis", "both"], default="both")
    parser.add_argument("--timeout", type=int, default=60, help="seconds an input may take before it is a hang")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "tierkit-fuzz")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    seconds = int(args.minutes * 60)
    try:
        import atheris  # noqa: F401

        have_atheris = True
    except ImportError:
        have_atheris = False
        print("atheris is not installed: the hypothesis properties only (pip install atheris)", flush=True)
    engines = ["atheris", "hypothesis"] if args.engine == "both" else [args.engine]
    if not have_atheris:
        engines = ["hypothesis"]
    targets = list(TARGETS) if args.target == "all" else [args.target]
    share = seconds // len(engines)
    codes = []
    if "atheris" in engines:
        codes += [run_atheris(t, max(10, share // len(targets)), args.timeout, args.out) for t in targets]
    if "hypothesis" in engines:
        codes.append(run_hypothesis(share))
    print(f"findings (if any) in {args.out}: {sorted(p.name for p in args.out.glob('*-crash-*'))}")
    sys.exit(1 if any(codes) else 0)


if __name__ == "__main__":
    main()
