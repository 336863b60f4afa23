"""A file made for one download (an export), in a folder of its own that is removed once sent.

Every front end that answers with a file (the API's exports, the workbench's lists and
watchlists) writes it the same way: a fresh temporary folder, removed at once if writing fails,
and by the front end after the response has been sent (`Download.discard`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MEDIA = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Download:
    path: Path
    rows: int

    @property
    def media_type(self) -> str:
        return MEDIA.get(self.path.suffix, "application/octet-stream")

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def download(write: Callable[[Path], tuple[Path, int]]) -> Download:
    """The file `write` makes in a new temporary folder (it returns the file and its rows)."""
    folder = Path(tempfile.mkdtemp(prefix="tierkit-export-"))
    try:
        target, rows = write(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Download(target, rows)
