"""A workspace's tierkit.yaml that is not valid YAML is one line naming the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierkit.errors import WorkspaceError
from tierkit.workspace import Workspace


def test_an_unquoted_cron_is_a_one_line_error_with_the_line_and_the_fix(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws", "retail")
    config = tmp_path / "ws" / "tierkit.yaml"
    config.write_text(config.read_text("utf-8") + "schedule: */5 * * * *\n", "utf-8")
    line = config.read_text("utf-8").splitlines().index("schedule: */5 * * * *") + 1
    with pytest.raises(WorkspaceError) as found:
        Workspace.open(tmp_path / "ws")
    said = str(found.value)
    assert said.startswith(f"{config}:{line}: not valid YAML") and "\n" not in said
    assert 'schedule: "*/5 * * * *"' in said
