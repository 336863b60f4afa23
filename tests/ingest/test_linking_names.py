"""Name keys against a hand-written table: traditional -> simplified, pinyin, surname."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tierkit.ingest.identity.names import name_keys, simplified

# written by hand: (as typed, simplified characters or None for a Latin name, pinyin key, surname key)
TABLE = [
    ("張偉", "张伟", "zhangwei", "张"),
    ("张伟", "张伟", "zhangwei", "张"),
    ("陳麗華", "陈丽华", "chenlihua", "陈"),
    ("劉國強", "刘国强", "liuguoqiang", "刘"),
    ("鄭東", "郑东", "zhengdong", "郑"),
    ("黃曉龍", "黄晓龙", "huangxiaolong", "黄"),
    ("歐陽娜娜", "欧阳娜娜", "ouyangnana", "欧"),
    ("萬俟卨", "万俟卨", "moqixie", "万"),  # a compound surname, read as one (mo qi, not wan si)
    ("單雄信", "单雄信", "shanxiongxin", "单"),  # 单 as a surname is shan
    ("乾隆", "乾隆", "qianlong", "乾"),  # 乾 stays 乾 here: not every 乾 is 干
    ("蕭敬騰", "萧敬腾", "xiaojingteng", "萧"),  # 蕭 is 萧; the mainland's 肖 meets it by pinyin only
    ("鍾麗緹", "钟丽缇", "zhongliti", "钟"),
    ("陈 丽华", "陈丽华", "chenlihua", "陈"),  # a space typed inside the name
    ("陈\u3000丽华", "陈丽华", "chenlihua", "陈"),  # an ideographic space
    ("Zhang Wei", None, "zhangwei", None),
    ("Lü Bu", None, "lvbu", None),
]


@pytest.mark.parametrize(("typed", "hanzi", "key", "surname"), TABLE)
def test_name_keys_against_a_hand_written_table(typed: str, hanzi: str | None, key: str, surname: str | None) -> None:
    row = name_keys([typed]).to_pylist()[0]
    assert (row["name_hanzi"], row["name_key"], row["surname_key"]) == (hanzi, key, surname)


def test_text_without_chinese_is_left_as_it_is() -> None:
    assert simplified("Zhang Wei, 138-0013-8000") == "Zhang Wei, 138-0013-8000"
    assert simplified("張偉 138-0013-8000") == "张伟 138-0013-8000"


def _population_module() -> object:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "population.py"
    spec = importlib.util.spec_from_file_location("population_for_names", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_generators_own_table_agrees_with_opencc() -> None:
    """The population generator writes traditional names from its own hand-made table; tierkit
    reads them back with OpenCC's. Every pair agrees except where the mainland writes a surname
    otherwise than the traditional form's simplification (肖 for 蕭, which simplifies to 萧)."""
    table = _population_module().TRADITIONAL  # type: ignore[attr-defined]
    disagree = {simple: trad for simple, trad in table.items() if simplified(trad) != simple}
    assert disagree == {"肖": "蕭"}
    assert simplified("蕭") == "萧"
