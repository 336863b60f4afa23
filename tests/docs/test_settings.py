"""Every setting is documented, and read in one place (datasette's test_settings_are_documented)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tierkit.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def documented() -> dict[str, tuple[str, str]]:
    """setting -> (environment variable, default) from the table in docs/settings.md."""
    rows = re.findall(r"^\| (\w+) \| `(\w+)` \| (.+?) \|", (ROOT / "docs/settings.md").read_text("utf-8"), re.M)
    return {name: (env, default) for name, env, default in rows}


def test_every_setting_is_documented_with_its_variable_and_default() -> None:
    docs = documented()
    for setting in SETTINGS:
        assert setting.name in docs, f"{setting.name} is not in docs/settings.md"
        env, default = docs[setting.name]
        assert env == setting.env
        assert default == (f"`{setting.default}`" if setting.default is not None else "(none)")
    assert set(docs) == {s.name for s in SETTINGS}, "docs/settings.md lists a setting the code does not have"


def environment_reads(path: Path) -> list[int]:
    """Lines that read os.environ (get, [], getenv): only tierkit/settings.py may."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = ast.unparse(node.func)
            if target in ("os.environ.get", "os.getenv", "environ.get"):
                found.append(node.lineno)
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) in ("os.environ", "environ")
            and isinstance(node.ctx, ast.Load)
        ):
            found.append(node.lineno)
    return found


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "tierkit").rglob("*.py"))
        if path.name != "settings.py" and (lines := environment_reads(path))
    }
    assert readers == {}


def test_every_tierkit_variable_named_in_the_code_is_a_setting() -> None:
    known = {s.env for s in SETTINGS}
    named = set()
    for path in (ROOT / "tierkit").rglob("*.py"):
        named |= set(re.findall(r"\bTIERKIT_[A-Z_]+\b", path.read_text("utf-8")))
    assert named <= known, f"not in tierkit/settings.py: {sorted(named - known)}"
