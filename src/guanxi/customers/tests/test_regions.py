"""Regions stored as division codes beside the text: 杭州 means every spelling."""

from __future__ import annotations

import pytest

from guanxi.customers import regions, selectors, services
from guanxi.customers.models import Customer
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def test_codes_of_every_spelling():
    codes = regions.region_codes(["杭州", "浙江杭州", "浙江省杭州市", "Hangzhou", "杭州市西湖区",
                                  "上海", "上海市徐汇区", "Berlin", "", "浙江"])
    assert codes[:4] == ["330100"] * 4
    assert codes[4] == "330106" and codes[5] == "310000" and codes[6] == "310104"
    assert codes[7] == "" and codes[8] == "" and codes[9] == "330000"
    assert [regions.prefix(c) for c in ("330000", "330100", "330106")] == ["33", "3301",
                                                                             "330106"]
    assert regions.label("330106") == "浙江省 杭州市 西湖区"
    tree = regions.region_tree(["330106", "330100", "310104"])
    assert [(r.value, r.label, r.depth) for r in tree] == [
        ("31", "上海市", 0), ("310104", "徐汇区", 2), ("33", "浙江省", 0),
        ("3301", "杭州市", 1), ("330106", "西湖区", 2)]


def test_every_write_keeps_the_code_and_the_filter_finds_every_spelling(client, personas):
    spellings = ["杭州", "浙江杭州", "浙江省杭州市", "Hangzhou"]
    made = [make_customer(personas.admin, full_name=f"客户{i}", region=r)
            for i, r in enumerate(spellings)]
    other = make_customer(personas.admin, full_name="上海客户", region="上海市")
    assert {c.region_code for c in Customer.objects.filter(pk__in=[c.pk for c in made])} == {
        "330100"}
    services.customer_update(actor=personas.admin, customer=other, region="杭州市西湖区")
    other.refresh_from_db()
    assert other.region_code == "330106"
    found = selectors.customer_search(actor=personas.admin, region="3301", limit=50).items
    assert len(found) == 5
    assert len(selectors.customer_search(actor=personas.admin, region="330106").items) == 1
    # the list's region picker is the tree of the regions present
    client.force_login(personas.admin)
    page = client.get("/customers/?region=3301").content.decode()
    assert "5 customers" in page and 'value="3301" selected' in page


def test_a_segment_rule_on_a_region_means_every_spelling(personas):
    from guanxi.analytics.selectors import segment_count

    for i, r in enumerate(["杭州", "浙江省杭州市", "Hangzhou", "上海"]):
        make_customer(personas.admin, full_name=f"客户{i}", region=r)
    rule = {"field": "region", "operator": "equals", "value": "杭州"}
    assert segment_count(actor=personas.admin, rules=rule) == 3
    rule = {"field": "region", "operator": "in", "value": ["Hangzhou", "上海"]}
    assert segment_count(actor=personas.admin, rules=rule) == 4
