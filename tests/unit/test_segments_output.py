from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tierkit.errors import PolicyError
from tierkit.policy.model import RfmSegment
from tierkit.policy.segments import load_segments, segment_map_names
from tierkit.runs.output import convert_parquet


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


def test_formula_like_text_is_quoted_in_csv(tmp_path: Path) -> None:
    import csv

    import pyarrow.parquet as pq

    source = tmp_path / "result.parquet"
    values = ["=SUM(A1)", "+86 138", "-5", "@x", "\tx", "plain", None]
    pq.write_table(pa.table({"t": values, "n": [1, 2, 3, 4, 5, 6, 7], "tier": ["a"] * 7}), source)
    out = tmp_path / "out.csv"
    assert convert_parquet(source, out) == 7
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["t"] for r in rows] == ["'=SUM(A1)", "'+86 138", "'-5", "'@x", "'\tx", "plain", ""]
    assert [r["n"] for r in rows] == ["1", "2", "3", "4", "5", "6", "7"]  # numbers are not text
