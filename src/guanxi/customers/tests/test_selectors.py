"""Selectors: search, scoping, masking and pinned query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.customers import selectors, services
from guanxi.testing import bearer, make_customer

pytestmark = pytest.mark.django_db


def test_search_by_name_pinyin_initials_phone_suffix_and_email(personas):
    a = make_customer(personas.admin, full_name="曾国藩", phones=["13812345678"],
                      emails=["guofan@example.com"])
    make_customer(personas.admin, full_name="Lena Müller", emails=["lena@web.de"])

    def names(q):
        return [c.display_name for c in
                selectors.customer_search(actor=personas.admin, q=q).items]

    for q in ("曾国藩", "曾", "zengguofan", "ZengGuo", "zgf", "guofan", "5678", "138 1234",
              "+86 138", "guofan@example.com"):
        assert names(q) == [a.display_name], q
    assert names("müller") == names("lena") == ["Lena Müller"]
    assert names("no such person") == []


def test_filters_by_tag_owner_region(personas):
    a = make_customer(personas.admin, full_name="张伟", region="浙江省杭州市", tags=["VIP"],
                      owner=personas.sales)
    make_customer(personas.admin, full_name="张芳", region="上海市")
    assert selectors.customer_search(actor=personas.admin, tag="VIP").items == [a]
    assert selectors.customer_search(actor=personas.admin, region="浙江").items == [a]
    assert selectors.customer_search(actor=personas.admin, owner_id=personas.sales.pk,
                                     q="zhang").items == [a]


def test_analyst_sees_masked_personal_data_everywhere(client, personas):
    c = make_customer(personas.admin, full_name="张伟", phones=["13812345678"],
                      emails=["john@example.com"], birthday=__import__("datetime").date(1990, 1, 2))
    page = selectors.customer_search(actor=personas.analyst, q="zhangwei")
    values = {i.value for i in page.items[0].identities.all()}
    assert values == {"138****5678", "j***@example.com"}
    view = selectors.customer_360(actor=personas.analyst, customer_id=c.pk)
    assert view.customer.birthday is None
    with pytest.raises(RuntimeError):
        view.customer.save()  # masked data can never be written back
    body = client.get(f"/api/v1/customers/{c.pk}", headers=bearer(personas.analyst)).json()
    assert {i["value"] for i in body["customer"]["identities"]} == values
    client.force_login(personas.analyst)
    html = client.get(f"/customers/{c.pk}/").content.decode()
    assert "138****5678" in html and "13812345678" not in html
    export = b"".join(client.get("/customers/export.csv?everyone=1").streaming_content).decode()
    assert "138****5678" in export and "+8613812345678" not in export


def test_list_query_count_is_constant(client, personas, django_assert_max_num_queries):
    for i in range(30):
        c = make_customer(personas.admin, full_name=f"客户{i}", phones=[f"1390000{i:04d}"],
                          tags=["VIP", "新客"])
        services.identity_add(actor=personas.admin, customer=c, kind="email",
                              value=f"c{i}@example.com")
    client.force_login(personas.admin)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/customers/").status_code == 200
    # session + user + customers + identities + tags + total count + saved views + filter
    # choices: not one per row
    assert len(ctx) <= 12, [q["sql"] for q in ctx]
    headers = bearer(personas.admin)
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/customers?limit=30", headers=headers).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/customers?q=kehu", headers=headers).status_code == 200


def test_360_page_query_count_is_bounded(client, personas):
    c = make_customer(personas.admin, full_name="张伟", phones=["13812345678"], tags=["VIP"])
    for i in range(40):
        services.interaction_log(actor=personas.admin, customer=c, kind="note",
                                 summary=f"note {i}")
    client.force_login(personas.admin)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(f"/customers/{c.pk}/").status_code == 200
    # the 360 view, the panels (scores, stage badges, duplicates, messages and the
    # templates to send one with), the service panel (tickets, scores, complaints),
    # follow-ups, the loyalty panel (member and tier, the tier table, coupons, referrals)
    # and the "recently viewed" upsert: a fixed number, not one per event
    assert len(ctx) <= 25, "\n".join(q["sql"][:110] for q in ctx)
