"""`tierkit link` on a generated Chinese population with known truth (benchmarks/population.py),
with a few people written by hand whose answer was worked out by hand."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app

pytest.importorskip("splink")
runner = CliRunner()

# Written by hand, appended to the population; (record id, person) and why.
HAND = [
    # one person: the CRM in simplified characters, the shop in traditional, a new phone, no ID number
    ("H001", "甄伟华", "13812345001", "110105198803154217", "", "1988-03-15", "北京市朝阳区", "人民路12号3栋201室"),
    ("H002", "甄偉華", "18611112222", "", "", "1988年3月15日", "北京市朝阳区", "人民路12号3栋201室"),
    # one person: a homophone typed by the input method (玮 for 伟), the same phone and ID number
    ("H003", "阙伟宸", "13900001111", "440106199201304418", "77001122@qq.com", "1992-01-30", "广州市天河区", ""),
    ("H004", "阙玮宸", "13900001111", "440106199201304418", "", "", "广州市天河区", "解放路8号"),
    # two people: the same name, another birth date, phone, ID number and city
    ("H005", "阙伟宸", "13511113333", "320102198507074039", "", "1985-07-07", "南京市鼓楼区", "中山路200号1栋101室"),
]
HAND_PERSONS = {"H001": "h1", "H002": "h1", "H003": "h2", "H004": "h2", "H005": "h3"}


def _population(records: int) -> Any:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "population.py"
    spec = importlib.util.spec_from_file_location("population_for_linking", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.generate(records, seed=5)


def _pairs(groups: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for g in groups.values() for p in itertools.combinations(g, 2)}  # type: ignore[misc]


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Any]:
    folder = tmp_path_factory.mktemp("population")
    population = _population(4000)
    population.rows.extend(HAND)
    population.person.update(HAND_PERSONS)
    records, _ = population.write(folder)
    out = folder / "persons.parquet"
    result = runner.invoke(app, ["link", "customers", str(records), "--output", str(out), "--json"])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    persons = dict(zip(table["customer_id"].to_pylist(), table["person_id"].to_pylist(), strict=True))
    return persons, population


def test_pairwise_precision_and_recall_against_the_truth(linked: tuple[dict[str, str], Any]) -> None:
    persons, population = linked
    found, truth = defaultdict(list), defaultdict(list)
    for record, person in persons.items():
        found[person].append(record)
        truth[population.person[record]].append(record)
    found_pairs, true_pairs = _pairs(found), _pairs(truth)
    hits = len(found_pairs & true_pairs)
    assert len(true_pairs) > 1000  # about 0.28 further records per person: a real number of duplicates
    assert hits / len(found_pairs) >= 0.95
    assert hits / len(true_pairs) >= 0.95


def test_the_hand_written_people(linked: tuple[dict[str, str], Any]) -> None:
    persons, _ = linked
    assert persons["H001"] == persons["H002"]  # traditional characters, new phone, no ID number
    assert persons["H003"] == persons["H004"]  # a homophone
    assert persons["H005"] not in (persons["H003"], persons["H001"])  # a namesake is someone else


def test_traditional_names_find_their_simplified_record(linked: tuple[dict[str, str], Any]) -> None:
    """Each record the generator wrote in traditional characters ends up with its person's other
    records (those were never written in traditional)."""
    persons, population = linked
    first: dict[Any, str] = {}
    for record, person in sorted(population.person.items()):
        if record not in population.changes:
            first.setdefault(person, record)
    traditional = [r for r, what in population.changes.items() if "traditional" in what.split(";")]
    assert len(traditional) > 50
    rows = {row[0]: row for row in population.rows}
    assert all(rows[r][1] != rows[first[population.person[r]]][1] for r in traditional)  # really written otherwise
    joined = [r for r in traditional if persons[r] == persons[first[population.person[r]]]]
    assert len(joined) / len(traditional) >= 0.95


def test_the_truth_file_names_every_record(tmp_path: Path) -> None:
    population = _population(300)
    records, truth = population.write(tmp_path)
    with records.open(encoding="utf-8") as handle:
        ids = [row["客户编号"] for row in csv.DictReader(handle)]
    with truth.open(encoding="utf-8") as handle:
        known = {row["customer_id"]: row["person"] for row in csv.DictReader(handle)}
    assert sorted(ids) == sorted(known)
    assert len(set(ids)) == len(ids)
