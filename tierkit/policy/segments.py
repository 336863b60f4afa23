"""RFM segment maps: data files that name each region of the R x F (x M) score cube.

A map must cover every score combination for its number of bins; we check that when the map is
loaded, so a policy can never leave a customer without a segment by accident.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from tierkit.errors import PolicyError, did_you_mean
from tierkit.policy.model import RfmSegment
from tierkit.yaml_reading import load_yaml


def segment_map_names() -> list[str]:
    folder = resources.files("tierkit.policy").joinpath("segments")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


@lru_cache(maxsize=32)
def _read_map(name: str) -> tuple[int, tuple[RfmSegment, ...]]:
    if name in segment_map_names():
        text = resources.files("tierkit.policy").joinpath("segments", f"{name}.yaml").read_text("utf-8")
    elif Path(name).exists():
        text = Path(name).read_text("utf-8")
    else:
        raise PolicyError(
            f"unknown segment map '{name}'{did_you_mean(name, segment_map_names())}"
            f" (maps: {', '.join(segment_map_names())})"
        )
    data = load_yaml(text)
    try:
        segments = TypeAdapter(list[RfmSegment]).validate_python(data["segments"])
    except (ValidationError, KeyError, TypeError) as exc:
        raise PolicyError(f"segment map '{name}': {exc}") from exc
    return int(data.get("bins", 5)), tuple(segments)


def load_segments(spec: str | list[RfmSegment], bins: int, where: str) -> list[RfmSegment]:
    if isinstance(spec, str):
        try:
            map_bins, segments = _read_map(spec)
        except PolicyError as err:
            raise PolicyError(f"{where}: {err}") from err
        if map_bins != bins:
            raise PolicyError(f"{where}: segment map '{spec}' is made for {map_bins} bins, the score has {bins}")
        chosen = list(segments)
    else:
        chosen = list(spec)
    _check_coverage(chosen, bins, where)
    return chosen


def _check_coverage(segments: list[RfmSegment], bins: int, where: str) -> None:
    for r, f, m in itertools.product(range(1, bins + 1), repeat=3):
        cell = {"r": r, "f": f, "m": m}
        if not any(
            all(getattr(s, a) is None or getattr(s, a)[0] <= cell[a] <= getattr(s, a)[1] for a in "rfm")
            for s in segments
        ):
            raise PolicyError(f"{where}: no segment covers r={r} f={f} m={m}")
