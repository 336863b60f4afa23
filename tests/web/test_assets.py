"""What the workbench serves from the package: vendored assets match their record, and every word
a template asks for is in the catalogue in both languages."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from tierkit.web.catalogue import LANGS, catalogue

WEB = Path(str(resources.files("tierkit.web")))


def test_vendored_files_match_the_recorded_checksums_and_licence() -> None:
    record = json.loads((WEB / "static" / "vendor" / "assets.json").read_text("utf-8"))
    assert record["echarts"]["licence"] == "Apache-2.0"
    for target, source in record["echarts"]["files"].items():
        data = (WEB / "static" / "vendor" / target).read_bytes()
        if "sha256" in source:
            assert hashlib.sha256(data).hexdigest() == source["sha256"], target
    notice = (WEB / "static" / "vendor" / "echarts" / "NOTICE").read_text("utf-8")
    assert "Apache ECharts" in notice


def test_no_page_names_another_host() -> None:
    for path in [*WEB.joinpath("templates").glob("*.html"), *WEB.joinpath("static").glob("*.js")]:
        text = path.read_text("utf-8")
        assert not re.search(r"""(src|href)=["']https?://""", text), path.name
        assert "cdn" not in text.lower(), path.name


KEY = re.compile(r"""\bt\(\s*['"]([a-z_]+\.[a-z0-9_.]+)['"]""")


@pytest.mark.parametrize("template", sorted(p.name for p in WEB.joinpath("templates").glob("*.html")))
def test_every_word_a_template_asks_for_is_in_the_catalogue(template: str) -> None:
    words = catalogue()
    asked = KEY.findall((WEB / "templates" / template).read_text("utf-8"))
    prefixes = [k for k in asked if k.endswith("_")]  # 'card.channel_' ~ channel: a family of keys
    missing = [k for k in asked if k not in words and k not in prefixes]
    missing += [p for p in prefixes if not any(k.startswith(p) for k in words)]
    assert missing == [], f"{template}: {missing}"
    for key in set(asked) - set(prefixes):
        assert all(words[key][lang] for lang in LANGS)
