"""docs/own-export.md runs as written: every `$ tierkit` command on the page, in order, on the
CDNOW sample as lifetimes ships it, answers as the page shows."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app
from tierkit.errors import TierkitError

PAGE = Path(__file__).resolve().parents[2] / "docs" / "own-export.md"


def test_the_page_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    shutil.copy(Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt", tmp_path / "CDNOW_sample.txt")
    monkeypatch.chdir(tmp_path)
    page = PAGE.read_text("utf-8")
    commands = re.findall(r"^\$ tierkit (.+)$", page, flags=re.M)
    assert len(commands) >= 6
    runner = CliRunner()
    for line in commands:
        result = runner.invoke(app, shlex.split(line))
        shown = page.split(f"$ tierkit {line}\n", 1)[1].split("\n", 1)[0]  # the page's first line of output
        if shown.startswith("error:"):
            assert isinstance(result.exception, TierkitError), line
            assert " ".join(shown.removeprefix("error: ").split()) == " ".join(str(result.exception).split()), line
            continue
        assert result.exit_code == 0, (line, result.output)
        said = "".join((result.stdout + result.stderr).split())  # the console wraps long lines, even mid-word
        if not re.search(r"\d{8}-\d{6}-[0-9a-f]{4}", shown):  # run ids differ from run to run
            assert "".join(shown.split()) in said, (line, shown)
    assert (tmp_path / "champions.xlsx").exists()
