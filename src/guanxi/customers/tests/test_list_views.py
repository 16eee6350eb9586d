"""The customer list as a workspace: sort, columns, page size, both page directions, a
total, saved views and bulk actions (ticked or all matching), and the owner filter."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guanxi.accounts.models import SavedView
from guanxi.audit.models import AuditEntry
from guanxi.core.cursors import SortKey, sorted_page
from guanxi.core.errors import InvalidInput
from guanxi.core.work import work_drain
from guanxi.customers import selectors, services
from guanxi.customers.models import Customer, CustomerTag, Event
from guanxi.customers.services import bulk
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def _names(page):
    return [c.display_name for c in page.items]


def test_sorted_pages_walk_forwards_and_back_with_ties(personas):
    for name in ["B", "A", "C", "A", "B", "D", "A"]:
        make_customer(personas.admin, full_name=name)
    everyone = sorted(Customer.objects.all(), key=lambda c: (c.display_name, c.pk))
    expected = [c.pk for c in everyone]
    qs = Customer.objects.all()
    sort = SortKey("display_name")
    seen, cursor, pages = [], None, []
    while True:
        page = sorted_page(qs, sort=sort, cursor=cursor, limit=3)
        pages.append(page)
        seen += [c.pk for c in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert pages[0].prev_cursor is None and pages[-1].next_cursor is None
    # Back from the last page gives the page before it, exactly.
    back = sorted_page(qs, sort=sort, before=pages[-1].prev_cursor, limit=3)
    assert [c.pk for c in back.items] == [c.pk for c in pages[-2].items]
    assert back.next_cursor and back.prev_cursor


@settings(max_examples=25, deadline=None)
@given(names=st.lists(st.sampled_from(["甲", "乙", "丙", "A", "b"]), min_size=1, max_size=9),
       limit=st.integers(1, 4), descending=st.booleans())
def test_sorted_page_any_data_any_size(names, limit, descending):
    Customer.objects.all().delete()
    Customer.objects.bulk_create([Customer(display_name=n) for n in names])
    expected = [c.pk for c in sorted(Customer.objects.all(), key=lambda c: (c.display_name, c.pk),
                                     reverse=descending)]
    sort = SortKey("display_name", descending=descending)
    seen, cursor = [], None
    while True:
        page = sorted_page(Customer.objects.all(), sort=sort, cursor=cursor, limit=limit)
        seen += [c.pk for c in page.items]
        if not page.next_cursor:
            break
        # Every page can be reached back from the next one.
        nxt = sorted_page(Customer.objects.all(), sort=sort, cursor=page.next_cursor, limit=limit)
        again = sorted_page(Customer.objects.all(), sort=sort, before=nxt.prev_cursor, limit=limit)
        assert [c.pk for c in again.items] == [c.pk for c in page.items]
        cursor = page.next_cursor
    assert seen == expected


def test_search_sorts_and_counts(personas):
    for name, region in [("Zoe", "Berlin"), ("Anna", "浙江省杭州市"), ("Max", "Berlin")]:
        make_customer(personas.admin, full_name=name, region=region)
    assert _names(selectors.customer_search(actor=personas.admin, sort="name")) == [
        "Anna", "Max", "Zoe"]
    assert _names(selectors.customer_search(actor=personas.admin, sort="-name")) == [
        "Zoe", "Max", "Anna"]
    assert _names(selectors.customer_search(actor=personas.admin, sort="region"))[-1] == "Anna"
    assert selectors.customer_search_count(actor=personas.admin) == (3, True)
    assert selectors.customer_search_count(actor=personas.admin, region="Berlin") == (2, True)
    assert selectors.customer_search_count(actor=personas.admin, q="anna") == (1, True)


def test_list_page_sort_columns_size_and_pages(client, personas):
    for i in range(30):
        make_customer(personas.admin, full_name=f"Kunde {i:02d}", region="Berlin")
    client.force_login(personas.admin)
    html = client.get("/customers/?sort=-name&cols=region,created&size=25").content.decode()
    assert "30 customers" in html
    assert html.index("Kunde 29") < html.index("Kunde 28")
    assert "Customer since" in html and "<th>Phone</th>" not in html
    assert 'data-testid="next-page"' in html and 'data-testid="prev-page"' not in html
    nxt = re.search(r'href="(\?[^"]*cursor=[^"]+)"', html).group(1).replace("&amp;", "&")
    second = client.get("/customers/" + nxt).content.decode()
    assert "Kunde 04" in second and "Kunde 05" not in second
    assert 'data-testid="prev-page"' in second
    # Nonsense parameters fall back to the defaults instead of failing.
    assert client.get("/customers/?sort=DROP&size=999&cols=x").status_code == 200
    assert client.get("/customers/?before=%%%").status_code == 422


def test_owner_filter_offers_only_people_who_can_own_customers(client, personas):
    client.force_login(personas.admin)
    html = client.get("/customers/").content.decode()
    owners = re.search(r'data-testid="owner-filter">(.*?)</select>', html, re.S).group(1)
    assert str(personas.sales) in owners and str(personas.manager) in owners
    assert str(personas.analyst) not in owners and str(personas.marketing) not in owners


def test_an_owner_must_be_able_to_own_customers(personas):
    c = make_customer(personas.admin, full_name="张伟")
    with pytest.raises(InvalidInput) as exc:
        services.customer_update(actor=personas.admin, customer=c, owner=personas.analyst)
    assert exc.value.errors[0].field == "owner"
    with pytest.raises(InvalidInput):
        services.customer_create(actor=personas.admin, full_name="李娜", owner=personas.marketing)
    services.customer_update(actor=personas.admin, customer=c, owner=personas.sales)


def test_saved_views_personal_and_shared(client, personas):
    client.force_login(personas.manager)
    r = client.post("/customers/views/", {"name": " Berlin  VIPs ", "shared": "1",
                                         "query": "region=Berlin&sort=name&cursor=abc&evil=1"})
    view = SavedView.objects.get()
    assert view.name == "Berlin VIPs" and view.query == "region=Berlin&sort=name"
    assert r.status_code == 302
    assert r["Location"].endswith(f"region=Berlin&sort=name&view={view.pk}")
    assert AuditEntry.objects.filter(action="saved_view.create").exists()
    client.post("/customers/views/", {"name": "Mine", "query": "tag=VIP"})
    # Someone else sees the shared view, not the personal one, and cannot delete it.
    client.force_login(personas.sales)
    html = client.get("/customers/").content.decode()
    assert "Berlin VIPs" in html and ">Mine<" not in html
    assert client.get(f"/customers/views/{view.pk}/")["Location"].endswith(f"view={view.pk}")
    assert client.post(f"/customers/views/{view.pk}/delete/").status_code == 403
    mine = SavedView.objects.get(name="Mine")
    assert client.get(f"/customers/views/{mine.pk}/").status_code == 404
    client.force_login(personas.manager)
    assert client.post(f"/customers/views/{mine.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(name="Mine").exists()
    assert client.post("/customers/views/", {"name": "  ", "query": ""}).status_code == 302
    assert SavedView.objects.count() == 1


def test_tags_add_for_many_writes_what_one_at_a_time_writes(personas):
    a, b = (make_customer(personas.admin, full_name=n) for n in ("张伟", "李娜"))
    services.tag_add(actor=personas.admin, customer=a, name="VIP")
    tag, added = services.tags_add(actor=personas.admin, customers=[a, b], name=" VIP ")
    assert added == 1 and tag.name == "VIP"
    for c in (a, b):
        assert Event.objects.filter(customer=c, kind="tag_added", data={"tag": "VIP"}).count() == 1
        assert AuditEntry.objects.filter(customer_id=c.pk, action="tag.add").count() == 1
    assert services.tags_remove(actor=personas.admin, customers=[a, b], name="VIP") == 2
    assert not CustomerTag.objects.exists()


def test_bulk_on_ticked_customers_is_scoped_and_checked(personas):
    mine = make_customer(personas.admin, full_name="张伟", owner=personas.sales)
    other = make_customer(personas.admin, full_name="李娜", owner=personas.outsider)
    # A salesperson's bulk action reaches only the customers they can see.
    assert bulk.bulk_apply(actor=personas.sales, action="tag_add", value="回访",
                           ids=[mine.pk, other.pk]) == 1
    assert list(CustomerTag.objects.values_list("customer_id", flat=True)) == [mine.pk]
    with pytest.raises(InvalidInput):
        bulk.bulk_apply(actor=personas.admin, action="tag_add", value=" ", ids=[mine.pk])
    with pytest.raises(InvalidInput):
        bulk.bulk_apply(actor=personas.admin, action="owner", value=str(personas.analyst.pk),
                        ids=[mine.pk])
    assert bulk.bulk_apply(actor=personas.admin, action="owner", value=str(personas.manager.pk),
                           ids=[mine.pk, other.pk]) == 2
    assert set(Customer.objects.values_list("owner_id", flat=True)) == {personas.manager.pk}


def test_bulk_on_all_matching_runs_in_the_worker_with_progress(client, personas):
    for i in range(7):
        make_customer(personas.admin, full_name=f"Kunde {i}", region="Berlin" if i < 5 else "")
    client.force_login(personas.manager)
    r = client.post("/customers/bulk/", {"scope": "all", "action": "tag_add", "value": "Berlin",
                                         "query": "region=Berlin&sort=name"})
    item_id = int(r["Location"].rsplit("bulk=", 1)[1])
    status = client.get(f"/customers/bulk/{item_id}/")
    assert "every 1s" in status.content.decode()
    bulk.CHUNK, old = 2, bulk.CHUNK
    try:
        work_drain(["customers.bulk"])
    finally:
        bulk.CHUNK = old
    done = client.get(f"/customers/bulk/{item_id}/")
    assert "5 of 5 customers changed" in done.content.decode()
    assert done["HX-Trigger"] == "gx-bulk-done"
    assert CustomerTag.objects.filter(tag__name="Berlin").count() == 5
    entry = AuditEntry.objects.get(action="customer.bulk")
    assert entry.extra["matching"] == 5 and entry.extra["filters"] == {"region": "Berlin"}
    # The job is its starter's: others get a 404.
    client.force_login(personas.sales)
    assert client.get(f"/customers/bulk/{item_id}/").status_code == 404


def test_bulk_ticked_via_the_page(client, personas):
    a = make_customer(personas.admin, full_name="张伟")
    client.force_login(personas.manager)
    r = client.post("/customers/bulk/", {"action": "tag_add", "value": "VIP", "ids": [a.pk],
                                         "query": ""}, follow=True)
    assert "1 customer changed." in r.content.decode()
    assert client.post("/customers/bulk/", {"action": "nope", "ids": [a.pk]},
                       follow=True).status_code == 200
    client.force_login(personas.analyst)
    assert client.post("/customers/bulk/", {"action": "tag_add", "value": "x",
                                            "ids": [a.pk]}).status_code == 403


def test_export_in_the_users_language_or_machine_readable(client, personas):
    c = make_customer(personas.admin, full_name="张伟", gender="male", source="wechat",
                      owner=personas.sales)
    services.consent_set(actor=personas.admin, customer=c, channel="sms", purpose="marketing",
                         granted=True, source="test")
    client.force_login(personas.manager)

    def rows(query, language="zh-hans"):
        body = b"".join(client.get("/customers/export.csv" + query,
                                   HTTP_ACCEPT_LANGUAGE=language).streaming_content)
        return [line.split(",") for line in body.decode("utf-8-sig").strip().splitlines()]

    header, row = rows("?everyone=1")
    assert header[:4] == ["编号", "姓名", "姓", "名"]
    assert "男" in row and "微信" in row and str(personas.sales) in row
    created = row[header.index("成为客户")]
    assert row[header.index("同意营销的渠道")] == "短信"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", created), created
    header, row = rows("?everyone=1&codes=1")
    assert header[:2] == ["id", "display_name"]
    assert "male" in row and "wechat" in row and personas.sales.username in row
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", row[15]), row[15]
    assert row[header.index("consent_marketing")] == "sms"
