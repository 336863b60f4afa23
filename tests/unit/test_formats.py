"""Text layouts and forms a file may come in: whitespace-separated (CDNOW's own format), no
header, `--delimiter`, `--date-format`, and the header words users wrote in issue 12."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pytest
import yaml

from tierkit.canonical import TABLES
from tierkit.errors import InputError
from tierkit.tables import csv_layout
from tierkit.tables.headers import map_headers
from tierkit.tables.parsing import check_date_format, parse_date
from tierkit.tables.sources import WHITESPACE, delimiter_option, open_source, sniff_delimiter, text_options

CON = ibis.duckdb.connect()
SYNONYMS = Path(__file__).resolve().parents[2] / "tierkit" / "tables" / "synonyms.yaml"


def write(path: Path, *lines: str, newline: str = "\n") -> Path:
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    return path


def dates(texts: list[str], date_format: str | None = None) -> list[object]:
    t = ibis.memtable({"s": texts}, schema={"s": "string"})
    return CON.to_pyarrow(t.select(v=parse_date(t.s, date_format=date_format)))["v"].to_pylist()


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([" 00004 0001 19970101  2   29.33", " 00004 0001 19970118  2   29.73"], WHITESPACE),  # CDNOW
        (["order_id customer_id ordered_at amount", "A1\t0012  2024-01-05 100"], WHITESPACE),
        (["order_id;customer_id", "A1;0012"], ";"),
        (["Customer ID", "0012", "0013"], ","),  # one column whose name has a space
        (["客户编号", "0012"], ","),
        (["客户编号", "C 0012", "C 0013"], ","),  # one column whose values have spaces
    ],
)
def test_the_sniffer_recognises_whitespace(tmp_path: Path, lines: list[str], expected: str) -> None:
    path = write(tmp_path / "f.txt", *lines, newline="\r\n")
    assert sniff_delimiter(path, path) == expected


def test_whitespace_the_sniffer_cannot_settle_is_refused_with_the_hint(tmp_path: Path) -> None:
    path = write(tmp_path / "f.txt", "order id  customer  amount", "A1  0012  100")
    with pytest.raises(InputError, match=r"f.txt: the delimiter was not recognised: whitespace\? use --delimiter$"):
        sniff_delimiter(path, path)


@pytest.mark.parametrize(
    ("given", "expected"),
    [(",", ","), (";", ";"), ("|", "|"), ("\\t", "\t"), ("\t", "\t"), ("tab", "\t"), ("whitespace", WHITESPACE)],
)
def test_delimiter_option(given: str, expected: str) -> None:
    assert delimiter_option(given) == expected


@pytest.mark.parametrize("given", ["x", "", ",,", "space"])
def test_delimiter_option_refuses_others(given: str) -> None:
    with pytest.raises(InputError, match=r"--delimiter .*: use ',', ';', '\|', '\\t' \(tab\) or whitespace"):
        delimiter_option(given)


def test_a_file_without_a_header_gets_numbered_columns(tmp_path: Path) -> None:
    """CDNOW's first line is data: its columns are column1 ... column5, and row N is line N."""
    path = write(tmp_path / "cd.txt", " 00004 0001 19970101  2   29.33", " 00004 0001 19970118  2   x", newline="\r\n")
    source = open_source(path)
    assert csv_layout.header(source) == ["column1", "column2", "column3", "column4", "column5"]
    assert csv_layout.first_row_with(source, "column5", "x") == "row 2 (line 2)"
    ragged = write(tmp_path / "r.txt", "1 2 3", "4 5", newline="\r\n")
    with pytest.raises(InputError, match="the delimiter was not recognised"):
        open_source(ragged)
    assert (
        csv_layout.ragged_row(open_source(ragged, delimiter=WHITESPACE))
        == "row 2 (line 2) has 2 fields, the header has 3"
    )
    headed = write(tmp_path / "h.csv", "order_id,customer_id", "1,2")
    assert csv_layout.header(open_source(headed)) == ["order_id", "customer_id"]


def test_the_delimiter_given_beats_the_sniffer(tmp_path: Path) -> None:
    path = write(tmp_path / "o.csv", "a,b;c;d", "1,2;3;4")
    assert csv_layout.header(open_source(path)) == ["a,b", "c", "d"]
    with text_options(delimiter=","):
        assert csv_layout.header(open_source(path)) == ["a", "b;c;d"]
    assert csv_layout.header(open_source(path, delimiter=",")) == ["a", "b;c;d"]


@pytest.mark.parametrize(
    ("fmt", "texts", "expected"),
    [
        ("%d/%m/%Y", ["05/01/2024", "5/1/2024", "31/12/2023 10:30"], ["2024-01-05", "2024-01-05", "2023-12-31"]),
        ("%m/%d/%y", ["01/05/24", "12/31/99", "12/31/68"], ["2024-01-05", "1999-12-31", "2068-12-31"]),
        ("%d-%b-%Y", ["05-Jan-2024", "5-DEC-2023"], ["2024-01-05", "2023-12-05"]),
        ("%d %B %Y", ["5 January 2024", "29 February 2023"], ["2024-01-05", None]),
        ("%Y%d%m", ["20240501"], ["2024-01-05"]),  # the format first: not read as May 1st
        ("%d.%m.%Y", ["2024-01-05", "45296", "notadate", "1.13.2024"], ["2024-01-05", "2024-01-05", None, None]),
    ],
)
def test_date_format(fmt: str, texts: list[str], expected: list[str | None]) -> None:
    want = [dt.date.fromisoformat(e) if e else None for e in expected]
    assert dates(texts, fmt) == want
    with text_options(date_format=fmt):  # what `--date-format` sets for the command
        assert dates(texts) == want
    assert dates(["05/01/2024"]) == [None]  # and only for it


@pytest.mark.parametrize(
    ("fmt", "message"),
    [("%d/%m", "a year"), ("%Y-%m", "a day"), ("%Y-%q-%d", "%q is not"), ("%Y-%m-%d-%d", "%d twice"), ("", "a year")],
)
def test_bad_date_formats(fmt: str, message: str) -> None:
    with pytest.raises(InputError, match=f"--date-format '{fmt}': .*{message}"):
        check_date_format(fmt)


# The words of issue 12, and which canonical column each one means (by hand, from the exports
# they come from: a membership card number, a Taobao buyer, a customer number, a mobile number).
USERS_WORDS = {"会员卡号": "customer_id", "买家": "customer_id", "客户编号": "customer_id", "手机号码": "phone"}


@pytest.mark.parametrize(("word", "canonical"), USERS_WORDS.items())
def test_the_users_header_words_are_synonyms(word: str, canonical: str) -> None:
    listed = yaml.safe_load(SYNONYMS.read_text("utf-8"))
    assert word in listed[canonical]
    assert [k for k, words in listed.items() if word in words] == [canonical]  # and of nothing else
    kind = "orders" if canonical in TABLES["orders"].names else "customers"
    assert map_headers([word], TABLES[kind], "f.csv") == {word: canonical}


@pytest.mark.parametrize("engine_name", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_whitespace_without_a_header_reads_alike_on_both_engines(tmp_path: Path, engine_name: str) -> None:
    """CDNOW's layout, a day-first date under --date-format, and a bad date named by its row:
    what file-mode `grade` reads (read_inputs) inside the command's text options."""
    from tierkit.backends import connect
    from tierkit.engine.reading import read_inputs

    engine = connect(engine_name)
    lines = [" 00004 0001 05/01/1997  2   29.33", " 00004 0001 18/01/1997  2   29.73", " 00018 0002 01/02/1997  1  1.5"]
    path = write(tmp_path / "cd.txt", *lines, newline="\r\n")
    maps = {"column1": "customer_id", "column3": "ordered_at", "column5": "amount"}
    with text_options(date_format="%d/%m/%Y"):
        orders = read_inputs(engine, path, maps=maps).orders
    rows = engine.to_pyarrow(orders.table.order_by(["customer_id", "ordered_at"])).to_pylist()
    assert [(r["customer_id"], r["ordered_at"].isoformat(), str(r["amount"])) for r in rows] == [
        ("00004", "1997-01-05", "29.33"),
        ("00004", "1997-01-18", "29.73"),
        ("00018", "1997-02-01", "1.50"),
    ]
    # without the format no date is a known form; the smallest is named, on the line it is on
    with pytest.raises(InputError, match=r"cd.txt: row 3 \(line 3\): ordered_at: '01/02/1997' is not a valid date"):
        read_inputs(engine, path, maps=maps)
