"""One import row to clean values: address parts longer than their columns."""

from __future__ import annotations

import pytest

from guanxi.dataquality.rows import RowInvalid, customer_row


def test_an_address_part_longer_than_its_column_is_cut_with_a_warning():
    mapping = {"name": "full_name", "city": "city", "street": "street"}
    row = customer_row({"name": "刘洋", "city": "城" * 70, "street": "路" * 150},
                       mapping, {})
    assert row.address == {"city": "城" * 60, "street": "路" * 150}
    assert [(w.field, w.value) for w in row.warnings] == [("city", "城" * 70)]
    assert "60" in row.warnings[0].message


def test_an_id_longer_than_its_column_rejects_the_row():
    with pytest.raises(RowInvalid) as caught:
        customer_row({"name": "刘洋", "id": "X" * 201}, {"name": "full_name", "id": "external_id"},
                     {})
    assert [(e.field, "200" in e.message) for e in caught.value.errors] == [
        ("external_id", True)]
