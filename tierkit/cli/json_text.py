"""`--json` output: one JSON document on stdout, Chinese as itself.

Apart from render.py (rich) so that a replayed grading prints its summary without importing rich.
"""

from __future__ import annotations

import json
from typing import Any


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
