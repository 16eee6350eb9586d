"""Customer services: normalisation, conflicts, timeline events and audit entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from guanxi.audit.models import AuditEntry
from guanxi.core.errors import Conflict, InvalidInput, NotFound
from guanxi.customers import services
from guanxi.customers.models import Customer, Event, Identity, Order, SearchTerm
from guanxi.customers.selectors import consent_allows
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def test_create_normalises_contacts_and_writes_timeline_and_audit(personas):
    # given messy input as it arrives from a shop counter
    # when
    c = make_customer(personas.sales, full_name="欧阳娜娜", phones=["0086 139-0000 1111"],
                      emails=[" Nana@Example.COM "])
    # then
    assert (c.family_name, c.given_name, c.display_name) == ("欧阳", "娜娜", "欧阳娜娜")
    assert set(c.identities.values_list("value", flat=True)) == {
        "+8613900001111", "nana@example.com"}
    assert c.owner == personas.sales  # sales staff own what they create
    assert Event.objects.filter(customer=c, kind="customer_created").count() == 1
    entry = AuditEntry.objects.get(action="customer.create", customer_id=c.pk)
    assert entry.actor_label == "sales"
    assert SearchTerm.objects.filter(customer=c, term="n:ouyangnana").exists()


def test_fullwidth_digits_are_normalised(personas):
    c = make_customer(personas.admin, full_name="张伟", phones=["１３８００１３８０００"])
    assert c.identities.get().value == "+8613800138000"


def test_second_customer_with_existing_identity_is_a_conflict_naming_the_first(personas):
    first = make_customer(personas.admin, full_name="张伟", phones=["13800138000"])
    with pytest.raises(Conflict) as exc:
        make_customer(personas.admin, full_name="張偉", phones=["+86 138 0013 8000"])
    assert f"#{first.pk}" in exc.value.message and "张伟" in exc.value.message
    assert exc.value.extra["existing_customer_id"] == first.pk
    assert exc.value.errors[0].field == "phones.0"
    assert Customer.objects.count() == 1  # nothing half-written


def test_conflict_does_not_reveal_a_name_the_actor_cannot_see(personas):
    make_customer(personas.outsider, full_name="王芳", emails=["wf@example.com"])
    with pytest.raises(Conflict) as exc:
        make_customer(personas.sales, full_name="王芳", emails=["WF@example.com"])
    assert "王芳" not in exc.value.message


def test_invalid_fields_are_all_reported_with_paths(personas):
    with pytest.raises(InvalidInput) as exc:
        make_customer(personas.admin, full_name="", emails=["nope"], phones=["12"],
                      gender="robot")
    fields = {e.field for e in exc.value.errors}
    assert fields == {"family_name", "emails.0", "phones.0", "gender"}
    assert Customer.objects.count() == 0


def test_update_records_old_and_new_values(personas):
    c = make_customer(personas.admin, full_name="张伟", region="上海市")
    services.customer_update(actor=personas.admin, customer=c, region="浙江省杭州市",
                             given_name="薇")
    c.refresh_from_db()
    assert c.display_name == "张薇"
    entry = AuditEntry.objects.get(action="customer.update")
    assert entry.changes["region"] == ["上海市", "浙江省杭州市"]
    assert SearchTerm.objects.filter(customer=c, term="n:zhangwei").exists()
    assert Event.objects.filter(customer=c, kind="profile_updated").exists()


def test_sales_cannot_reassign_or_touch_other_teams_customers(personas):
    other = make_customer(personas.outsider, full_name="李娜")
    own = make_customer(personas.sales, full_name="李强")
    with pytest.raises(NotFound):
        services.customer_update(actor=personas.sales, customer=other, region="x")
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=personas.sales, customer=own, owner=personas.outsider)
    services.customer_update(actor=personas.teammate, customer=own, region="北京市")
    services.customer_update(actor=personas.sales, customer=own, owner=personas.sales)


def test_tags_and_consent_write_events_and_marketing_is_off_by_default(personas):
    c = make_customer(personas.admin, full_name="张伟")
    assert consent_allows(c, "sms", "marketing") is False
    assert consent_allows(c, "sms", "service") is True
    services.consent_set(actor=personas.admin, customer=c, channel="sms", purpose="marketing",
                         granted=True, source="POS tablet", proof="signature #42")
    assert consent_allows(c, "sms", "marketing") is True
    services.tag_add(actor=personas.admin, customer=c, name=" VIP ")
    services.tag_add(actor=personas.admin, customer=c, name="VIP")  # no duplicate
    services.tag_remove(actor=personas.admin, customer=c, name="VIP")
    kinds = list(Event.objects.filter(customer=c).values_list("kind", flat=True))
    assert kinds.count("tag_added") == 1 and "tag_removed" in kinds
    consent_event = Event.objects.get(customer=c, kind="consent_changed")
    assert consent_event.data["proof"] == "signature #42"


def test_order_totals_lines_and_timeline(personas):
    c = make_customer(personas.admin, full_name="张伟")
    order = services.order_create(
        actor=personas.admin, customer=c, channel="pos",
        lines=[services.OrderLineInput(sku="A", quantity=2, unit_price=Decimal("9.99")),
               services.OrderLineInput(sku="B", unit_price=Decimal("100"))])
    assert order.total == Decimal("119.98")
    event = Event.objects.get(customer=c, kind="order_placed")
    assert event.order_id == order.pk and event.data["items"] == 3
    services.order_set_status(actor=personas.admin, order=order, status="refunded")
    assert Event.objects.filter(customer=c, kind="order_refunded").exists()


def test_order_with_bad_lines_writes_nothing(personas):
    c = make_customer(personas.admin, full_name="张伟")
    with pytest.raises(InvalidInput) as exc:
        services.order_create(actor=personas.admin, customer=c, lines=[
            services.OrderLineInput(sku="UNKNOWN"),
            services.OrderLineInput(sku="A", quantity=0, unit_price=Decimal("1"))])
    assert {e.field for e in exc.value.errors} == {"lines.0.unit_price", "lines.1.quantity"}
    assert Order.objects.count() == 0


def test_interaction_log(personas):
    c = make_customer(personas.sales, full_name="张伟")
    event = services.interaction_log(actor=personas.sales, customer=c, kind="call",
                                     summary="Asked about 龙井")
    assert event.actor == personas.sales
    with pytest.raises(InvalidInput):
        services.interaction_log(actor=personas.sales, customer=c, kind="fax", summary="")
    with pytest.raises(PermissionDenied):
        services.interaction_log(actor=personas.analyst, customer=c, kind="note", summary="x")


def test_ingest_is_idempotent_and_all_or_nothing(personas):
    c = make_customer(personas.admin, full_name="张伟", emails=["zw@example.com"])
    now = timezone.now()
    batch = [services.EventInput(kind="page_viewed", occurred_at=now, customer_id=c.pk,
                                 idempotency_key="k1"),
             services.EventInput(kind="email_opened", occurred_at=now,
                                 identity=services.IdentityInput(kind="email",
                                                                 value="ZW@example.com"),
                                 idempotency_key="k2"),
             services.EventInput(kind="page_viewed", occurred_at=now, customer_id=c.pk,
                                 idempotency_key="k1")]
    assert services.events_ingest(actor=personas.admin, events=batch) == {
        "received": 3, "created": 2, "duplicates": 1}
    assert services.events_ingest(actor=personas.admin, events=batch)["created"] == 0
    bad = [services.EventInput(kind="page_viewed", occurred_at=now, customer_id=c.pk),
           services.EventInput(kind="order_placed", occurred_at=now, customer_id=c.pk),
           services.EventInput(kind="page_viewed", occurred_at=now + dt.timedelta(days=3),
                               customer_id=999999)]
    before = Event.objects.count()
    with pytest.raises(InvalidInput) as exc:
        services.events_ingest(actor=personas.admin, events=bad)
    assert {e.field for e in exc.value.errors} == {
        "events.1.kind", "events.2.occurred_at", "events.2.customer_id"}
    assert Event.objects.count() == before


def test_identity_add_and_remove_keep_search_in_step(personas):
    c = make_customer(personas.admin, full_name="张伟")
    ident = services.identity_add(actor=personas.admin, customer=c, kind="phone",
                                  value="138 1234 5678")
    assert SearchTerm.objects.filter(customer=c, term="r:8765432183168").exists()
    services.identity_remove(actor=personas.admin, identity=ident)
    assert not Identity.objects.filter(customer=c).exists()
    assert not SearchTerm.objects.filter(customer=c, term__startswith="r:").exists()


def _written(c: Customer) -> dict[str, object]:
    """Everything creating `c` wrote, without ids and times."""
    entry = AuditEntry.objects.get(action="customer.create", customer_id=c.pk)
    return {
        "profile": (c.family_name, c.given_name, c.display_name, c.region,
                    c.owner.username if c.owner else None,
                    c.company.name if c.company else None),
        "identities": sorted(c.identities.values_list("kind", "system", "value", "verified",
                                                      "is_primary")),
        "addresses": sorted(c.addresses.values_list("kind", "country", "city", "street",
                                                    "is_primary")),
        "tags": sorted(c.tag_links.values_list("tag__name", flat=True)),
        "terms": sorted(SearchTerm.objects.filter(customer=c).values_list("term", flat=True)),
        "events": list(Event.objects.filter(customer=c).values_list("kind", "source",
                                                                   "actor__username")),
        "audit": entry.changes,
    }


def test_one_and_many_customers_are_created_the_same_way(personas):
    # given the same customer, given once to customer_create and once in a batch
    def fields(n: int) -> dict[str, object]:
        return dict(
            family_name="王", given_name=f"芳{n}", emails=[f" Fang{n}@Example.com "],
            phones=[f"1390000{n:04d}"],
            identities=[services.IdentityInput(kind="external", system="shop",
                                               value=f"S-{n}")],
            tags=["VIP", " 杭州  老客 "], company_name="西湖茶社",
            addresses=[services.AddressInput(city="杭州市", street="龙井路1号"),
                       services.AddressInput(kind="shipping", city="上海市",
                                             street="南京路2号", is_primary=True)],
            profile={"region": "杭州市", "source": "import"})

    def as_kwargs(n: int) -> dict[str, object]:
        values = fields(n)
        profile = values.pop("profile")
        return {**values, **profile}  # type: ignore[dict-item]

    one = services.customer_create(actor=personas.sales, **as_kwargs(5))
    [many] = services.customers_bulk_create(actor=personas.sales,
                                            customers=[services.NewCustomer(**fields(7))])
    # then both wrote the same rows, event and audit entry (up to the numbering)
    a, b = _written(one), _written(many)
    assert str(a).replace("5", "#") == str(b).replace("7", "#")
    assert a["addresses"] == [("home", "CN", "杭州市", "龙井路1号", False),
                              ("shipping", "CN", "上海市", "南京路2号", True)]
    assert a["tags"] == ["VIP", "杭州 老客"]


def test_bulk_create_names_the_row_and_field_and_writes_nothing(personas):
    before = Customer.objects.count()
    rows = [services.NewCustomer(family_name="李", given_name="雷", emails=["lei@example.com"]),
            services.NewCustomer(family_name="韩", emails=["not-an-email"]),
            services.NewCustomer(given_name="", addresses=[services.AddressInput()])]
    with pytest.raises(InvalidInput) as caught:
        services.customers_bulk_create(actor=personas.admin, customers=rows)
    assert {e.field for e in caught.value.errors} == {
        "1.emails.0", "2.family_name", "2.addresses.0.street"}
    make_customer(personas.admin, full_name="韩梅梅", emails=["mei@example.com"])
    with pytest.raises(Conflict) as taken:
        services.customers_bulk_create(actor=personas.admin, customers=[
            rows[0], services.NewCustomer(family_name="韩", emails=["MEI@example.com"])])
    assert [e.field for e in taken.value.errors] == ["1.emails.0"]
    assert Customer.objects.count() == before + 1


def test_many_updates_write_what_one_update_writes(personas):
    a = make_customer(personas.admin, full_name="王芳", emails=["wf@example.com"])
    b = make_customer(personas.admin, full_name="李雷", emails=["ll@example.com"])
    services.customer_update(actor=personas.admin, customer=a, region="杭州市",
                             occupation="教师")
    services.customers_update_many(actor=personas.admin, changes=[
        services.ProfileChange(b, {"region": "杭州市", "occupation": "教师"})])

    def written(c: Customer) -> tuple[object, ...]:
        c.refresh_from_db()
        event = Event.objects.get(customer=c, kind="profile_updated")
        entry = AuditEntry.objects.get(action="customer.update", customer_id=c.pk)
        return (c.region, c.occupation, c.version, event.data, event.actor_id, entry.changes,
                entry.actor_label)

    assert written(a) == written(b)
    assert b.updated_at > b.created_at


def test_many_updates_name_the_row_and_write_nothing_on_error(personas):
    a = make_customer(personas.admin, full_name="王芳")
    b = make_customer(personas.admin, full_name="李雷")
    with pytest.raises(InvalidInput) as caught:
        services.customers_update_many(actor=personas.admin, changes=[
            services.ProfileChange(a, {"region": "上海市"}),
            services.ProfileChange(b, {"gender": "robot"})])
    assert [e.field for e in caught.value.errors] == ["1.gender"]
    a.refresh_from_db()
    assert a.region == "" and not Event.objects.filter(kind="profile_updated").exists()
    from guanxi.core.errors import PreconditionFailed

    with pytest.raises(PreconditionFailed):
        services.customers_update_many(actor=personas.admin, changes=[
            services.ProfileChange(a, {"region": "上海市"}, expected_version=a.version + 1)])
