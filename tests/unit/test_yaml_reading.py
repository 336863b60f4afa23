"""libyaml and PyYAML's Python reader give the same data and lines; reader errors name the line."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from tierkit import yaml_reading
from tierkit.errors import PolicyError
from tierkit.policy.loader import parse_policy, preset_names


def _marks(node: yaml.Node, out: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    out.append((node.tag, node.start_mark.line, node.start_mark.column))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _marks(key, out)
            _marks(value, out)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _marks(item, out)
    return out


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_reads_the_same_as_the_python_reader(name: str) -> None:
    text = resources.files("tierkit.policy").joinpath("presets", f"{name}.yaml").read_text("utf-8")
    node, data = yaml_reading.node_and_data(text)
    assert data == yaml.safe_load(text)  # the oracle: PyYAML's pure-Python reader
    assert node is not None
    assert _marks(node, []) == _marks(yaml.compose(text), [])
    assert yaml_reading.load_yaml(text) == data


def test_libyaml_is_used_when_pyyaml_has_it() -> None:
    assert (yaml_reading.SafeLoader is yaml.CSafeLoader) == bool(yaml.__with_libyaml__)


def test_a_bad_character_after_chinese_text_is_on_its_own_line() -> None:
    """libyaml counts UTF-8 bytes: the line must still be the third, not one past it."""
    text = "name: 中文名字中文名字\nmetrics: {}\nscores: \x07\n"
    with pytest.raises(PolicyError, match=r"^p.yaml:3: not valid YAML: character U\+0007"):
        parse_policy(text, "p.yaml")


def test_empty_document_reads_as_none() -> None:
    assert yaml_reading.node_and_data("") == (None, None)
    assert yaml_reading.load_yaml("# only a comment\n") is None
