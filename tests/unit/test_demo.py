from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from tierkit.demo.people import id_check_digit
from tierkit.demo.shop import generate


def test_known_id_check_digit() -> None:
    assert id_check_digit("11010519491231002") == "X"  # the standard's worked example


def test_demo_is_seeded_and_realistic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", customers=300, seed=7)
    b = generate(tmp_path / "b", customers=300, seed=7)
    assert a.orders.read_bytes() == b.orders.read_bytes()
    customers = pq.read_table(a.customers).to_pylist()
    assert len(customers) == 300 and customers[0]["customer_id"] == "00000001"
    for c in customers:
        number = c["id_number"]
        assert len(number) == 18 and id_check_digit(number[:17]) == number[17]
        assert number[6:14] == c["birth_date"].strftime("%Y%m%d")
        assert (int(number[16]) % 2 == 1) == (c["gender"] == "男")
        assert len(c["phone"]) == 11 and c["phone"].startswith("1")
    orders = pq.read_table(a.orders)
    assert orders.num_rows > 300 * 5
    assert str(orders.schema.field("amount").type) == "decimal128(18, 2)"
