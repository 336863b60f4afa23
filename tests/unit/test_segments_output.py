from __future__ import annotations

import pyarrow as pa
import pytest

from tierkit.errors import PolicyError
from tierkit.policy.model import RfmSegment
from tierkit.policy.segments import load_segments, segment_map_names
from tierkit.runs.output import escape_formulas


def test_shipped_maps_cover_every_cell() -> None:
    assert {"rf10", "rfm8"} <= set(segment_map_names())
    assert len(load_segments("rf10", 5, "here")) == 10
    assert len(load_segments("rfm8", 5, "here")) == 8


def test_a_gap_in_a_map_is_named() -> None:
    segments = [RfmSegment(name="top", r=(3, 3)), RfmSegment(name="low", r=(1, 1))]
    with pytest.raises(PolicyError, match="no segment covers r=2 f=1 m=1"):
        load_segments(segments, 3, "p.yaml: scores.rfm.segments")


def test_a_map_for_other_bins_is_refused() -> None:
    with pytest.raises(PolicyError, match="made for 5 bins, the score has 3"):
        load_segments("rf10", 3, "p.yaml")


def test_formula_like_text_is_quoted() -> None:
    table = pa.table({"t": ["=SUM(A1)", "+86 138", "-5", "@x", "\tx", "plain", None], "n": [1, 2, 3, 4, 5, 6, 7]})
    out = escape_formulas(table)
    assert out["t"].to_pylist() == ["'=SUM(A1)", "'+86 138", "'-5", "'@x", "'\tx", "plain", None]
    assert out["n"] == table["n"]
