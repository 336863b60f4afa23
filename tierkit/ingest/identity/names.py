"""Names as keys: one spelling per name, whichever script or romanisation a system used.

- `name_hanzi`: a Chinese name in simplified characters (OpenCC's t2s table), spaces dropped, so
  張偉 and 张伟 are one name. Compared before the pinyin: the same characters are stronger
  evidence than the same sound (张伟 and 张玮 read alike and are often two people).
- `name_key`: the name's pinyin without tones (张伟, 張偉 and "Zhang Wei" all give zhangwei), so a
  homophone typed by the pinyin input method or a romanised name still meets the original.
- `name_sorted`: the same syllables sorted, for a swapped family and given name ("Wei ZHANG").
- `surname_key`: the first character of a Chinese name (simplified), for blocking: the surname,
  or the first half of a compound one, the same in every record of the person.

A Chinese name is read as its surname (surnames.yaml where that differs from the character's
common reading: 单 shan, not dan) and its given name, each reading cached: a million records
have far fewer distinct given names than names, so pypinyin is asked once per given name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from tierkit.yaml_reading import load_yaml

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
SPACES = re.compile(r"[\s\u3000·•・.]+")  # ideographic space and the middle dot of transliterations


@lru_cache(maxsize=1)
def surnames() -> dict[str, tuple[str, ...]]:
    """Surname characters that read otherwise as surnames (surnames.yaml), longest first."""
    data = load_yaml((Path(__file__).parent / "surnames.yaml").read_text("utf-8"))
    readings = {key: tuple(value) if isinstance(value, list) else (str(value),) for key, value in data.items()}
    return dict(sorted(readings.items(), key=lambda item: -len(item[0])))


@lru_cache(maxsize=1)
def _converter() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """`text` in simplified characters (OpenCC t2s); text without Chinese characters unchanged."""
    if not HAN.search(text):
        return text
    return _converter().convert(text)  # type: ignore[attr-defined, no-any-return]


def _latin(text: str) -> list[str]:
    latin = text.lower().replace("ü", "v")  # pinyin writes ü as v (吕 -> lv); so does Lü
    latin = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode()  # é -> e
    return [t for t in re.split(r"[^0-9a-z]+", latin) if t]


@lru_cache(maxsize=100_000)
def _words(text: str) -> tuple[str, ...]:
    """pypinyin's reading of a given name (its phrases read as phrases: 长乐 changle), or the
    words of Latin text; cached, as given names repeat far more than whole names."""
    from pypinyin import lazy_pinyin

    return tuple(t for chunk in lazy_pinyin(text) for t in _latin(chunk))


@lru_cache(maxsize=200_000)
def pinyin_tokens(name: str) -> tuple[str, ...]:
    """Syllables of a Chinese name, or the words of a Latin one, lower-case, no tones. A Chinese
    name starts with its surname, read as a surname (单 shan, not dan)."""
    name = simplified(name.strip())
    surname = next((s for s in surnames() if name.startswith(s) and len(name) > len(s)), None)
    if surname is not None:
        return surnames()[surname] + _words(name[len(surname) :])
    if len(name) > 1 and HAN.match(name[0]) and HAN.match(name[1]):
        return _words(name[0]) + _words(name[1:])
    return _words(name)


def name_keys(names: list[str]) -> pa.Table:
    """name -> (name_key, name_sorted, name_hanzi, surname_key), for a join back onto the records."""
    keys, sorted_keys, hanzi_keys, surname_keys = [], [], [], []
    for name in names:
        tokens = pinyin_tokens(name)
        keys.append("".join(tokens) or None)
        sorted_keys.append("".join(sorted(tokens)) or None)
        hanzi = SPACES.sub("", simplified(name.strip()))
        chinese = bool(hanzi) and all(HAN.match(c) for c in hanzi)
        hanzi_keys.append(hanzi if chinese else None)
        surname_keys.append(hanzi[0] if chinese and len(hanzi) > 1 else None)
    text = pa.string()  # typed even when there are no names: an empty column has no type to infer
    return pa.table(
        {
            "__name": pa.array(names, text),
            "name_key": pa.array(keys, text),
            "name_sorted": pa.array(sorted_keys, text),
            "name_hanzi": pa.array(hanzi_keys, text),
            "surname_key": pa.array(surname_keys, text),
        }
    )
