"""Member events (会员活动): capacity and the waiting line, registration by staff and by the
member's signed link, check-in by the QR code's token, attendance on the timeline and as
points, cancellation, the API, merge and privacy."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections
from django.utils import timezone

from guanxi.core.errors import Conflict, DomainError, InvalidInput
from guanxi.loyalty import events
from guanxi.loyalty.models import Member, MemberEvent, Registration
from guanxi.loyalty.views import member_link
from guanxi.testing import bearer, make_customer
from guanxi.timeline.store import event_model

pytestmark = pytest.mark.django_db


def _event(personas, *, capacity=2, points=30, starts_in=dt.timedelta(days=3),
           open_to_members=True):
    now = timezone.localtime()
    start = (now + starts_in).strftime("%Y-%m-%dT%H:%M")
    end = (now + starts_in + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    return events.event_save(actor=personas.manager, data={
        "name": "品茶会", "description": "西湖龙井新茶", "location": "杭州店",
        "starts_at": start, "ends_at": end, "capacity": capacity, "points": points,
        "open_to_members": "on" if open_to_members else ""})


def _kinds(customer):
    return list(event_model().objects.filter(customer_id=customer.pk,
                                             kind__startswith="member_event_")
                .order_by("pk").values_list("kind", "data__state"))


def test_setup_checks_every_field(programme, personas):
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    with pytest.raises(InvalidInput) as info:
        events.event_save(actor=personas.manager, data={
            "name": "", "starts_at": now, "ends_at": now, "capacity": 0, "points": -1})
    fields = {e.field for e in info.value.errors}
    assert {"name", "capacity", "points"} <= fields
    with pytest.raises(InvalidInput) as info:
        events.event_save(actor=personas.manager, data={
            "name": "品茶会", "starts_at": now, "ends_at": now, "capacity": 1, "points": 0})
    assert [e.field for e in info.value.errors] == ["ends_at"]
    with pytest.raises(PermissionDenied):
        events.event_save(actor=personas.sales, data={"name": "x"})
    assert not MemberEvent.objects.exists()


def test_capacity_waiting_line_and_promotion(programme, personas):
    event = _event(personas, capacity=2)
    a, b, c, d = (make_customer(personas.admin, full_name=n) for n in "甲乙丙丁")
    states = [events.event_register(actor=personas.service, event=event, customer=x).state
              for x in (a, b, c, d)]
    assert states == ["registered", "registered", "waiting", "waiting"]
    # registering again changes nothing
    assert events.event_register(actor=personas.service, event=event, customer=c).state \
        == "waiting"
    view = events.registration_view(Registration.objects.get(event=event, customer=d))
    assert view["waiting_position"] == 2
    events.registration_cancel(actor=personas.service, event=event, customer=a)
    assert Registration.objects.get(event=event, customer=c).state == "registered"
    assert Registration.objects.get(event=event, customer=d).state == "waiting"
    assert _kinds(c) == [("member_event_registered", "waiting"),
                         ("member_event_registered", "registered")]
    assert _kinds(a)[-1][0] == "member_event_cancelled"
    # more places move the line up
    events.event_save(actor=personas.manager, instance=event, data={
        "name": event.name,
        "starts_at": timezone.localtime(event.starts_at).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": timezone.localtime(event.ends_at).strftime("%Y-%m-%dT%H:%M"),
        "capacity": 3, "points": 30,
        "open_to_members": "on"})
    assert Registration.objects.get(event=event, customer=d).state == "registered"
    # the cancelled member comes back at the end of the line
    assert events.event_register(actor=personas.service, event=event, customer=a).state \
        == "waiting"
    counts = events.event_view(event)
    assert (counts["registered"], counts["waiting"], counts["places_left"]) == (3, 1, 0)


@pytest.mark.django_db(transaction=True)
def test_two_registrations_for_the_last_place(programme, personas, settings):
    """The event's row lock: of many members registering at once for two places, exactly
    two get them and the rest wait."""
    event = _event(personas, capacity=2)
    people = [make_customer(personas.admin, full_name=f"客{i}") for i in range(8)]
    errors: list[Exception] = []

    def register(customer):
        try:
            events.event_register(actor=personas.service, event=event, customer=customer)
        except Exception as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=register, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    states = sorted(Registration.objects.filter(event=event).values_list("state", flat=True))
    assert states == ["registered"] * 2 + ["waiting"] * 6


def test_check_in_puts_attendance_on_the_timeline_and_awards_points_once(programme,
                                                                         personas):
    event = _event(personas, capacity=1, points=30, starts_in=dt.timedelta(hours=1))
    a, b = (make_customer(personas.admin, full_name=n) for n in "甲乙")
    registration = events.event_register(actor=personas.service, event=event, customer=a)
    events.event_register(actor=personas.service, event=event, customer=b)
    token = events.check_in_token(registration)
    assert events.from_token(f"https://crm.example/loyalty/check-in/{token}")[1] == a
    with pytest.raises(InvalidInput):
        events.from_token(token[:-1] + ("A" if token[-1] != "A" else "B"))
    for _ in range(2):
        done = events.check_in(actor=personas.service, event=event, customer=a)
    assert done.state == "attended" and done.checked_in_at is not None
    assert Member.objects.get(customer=a).balance == 30
    assert _kinds(a)[-1] == ("member_event_attended", None)
    assert event_model().objects.filter(customer_id=a.pk, kind="points_earned").count() == 1
    # still waiting and the event full: refused, nothing written
    with pytest.raises(Conflict):
        events.check_in(actor=personas.service, event=event, customer=b)
    assert not Member.objects.filter(customer=b, balance__gt=0).exists()
    with pytest.raises(Conflict):  # the attendance stays
        events.registration_cancel(actor=personas.service, event=event, customer=a)
    with pytest.raises(PermissionDenied):
        events.check_in(actor=personas.analyst, event=event, customer=a)


def test_check_in_is_open_only_around_the_event(programme, personas):
    event = _event(personas, starts_in=dt.timedelta(days=3))
    a = make_customer(personas.admin, full_name="甲")
    events.event_register(actor=personas.service, event=event, customer=a)
    with pytest.raises(Conflict):
        events.check_in(actor=personas.service, event=event, customer=a)


def test_member_registers_and_cancels_from_their_page(client, programme, personas):
    event = _event(personas, capacity=1)
    staff_only = _event(personas, open_to_members=False)
    a, b = (make_customer(personas.admin, full_name=n) for n in "甲乙")
    link_a, link_b = member_link(a), member_link(b)
    page = client.get(link_a).content.decode()
    assert "品茶会" in page and 'data-testid="member-event-register"' in page
    page = client.post(f"{link_a}/events/{event.pk}").content.decode()
    assert 'data-testid="member-event-qr"' in page and "<svg" in page
    registration = Registration.objects.get(event=event, customer=a)
    assert registration.source == "member" and registration.state == "registered"
    assert events.check_in_token(registration) in page
    page = client.post(f"{link_b}/events/{event.pk}").content.decode()
    assert Registration.objects.get(event=event, customer=b).state == "waiting"
    client.post(f"{link_a}/events/{event.pk}", {"what": "cancel"})
    assert Registration.objects.get(event=event, customer=b).state == "registered"
    # staff-only events refuse the member, a changed link shows nothing
    page = client.post(f"{link_a}/events/{staff_only.pk}").content.decode()
    assert not Registration.objects.filter(event=staff_only).exists()
    assert client.post(f"{link_a[:-2]}xx/events/{event.pk}").status_code == 404
    with pytest.raises(DomainError):
        events.event_register(actor=None, event=staff_only, customer=a)


def test_cancelling_the_event_cancels_every_registration(programme, personas):
    event = _event(personas, capacity=1)
    a, b = (make_customer(personas.admin, full_name=n) for n in "甲乙")
    for x in (a, b):
        events.event_register(actor=personas.service, event=event, customer=x)
    assert events.event_cancel(actor=personas.manager, event=event) == 2
    assert set(Registration.objects.values_list("state", flat=True)) == {"cancelled"}
    assert _kinds(b)[-1][0] == "member_event_cancelled"
    with pytest.raises(Conflict):
        events.event_register(actor=personas.service, event=event, customer=a)
    assert events.event_cancel(actor=personas.manager, event=event) == 0


def test_staff_pages(client, programme, personas):
    event = _event(personas, capacity=1, starts_in=dt.timedelta(hours=1))
    a = make_customer(personas.admin, full_name="甲乙丙", phones=["13800138000"])
    client.force_login(personas.manager)
    assert client.get("/loyalty/events/").status_code == 200
    found = client.get(f"/loyalty/events/{event.pk}/?q=13800138000").content.decode()
    assert "甲乙丙" in found
    client.post(f"/loyalty/events/{event.pk}/", {"what": "register", "customer": a.pk})
    registration = Registration.objects.get(event=event, customer=a)
    scanned = client.get(f"/loyalty/check-in/{events.check_in_token(registration)}")
    assert scanned.status_code == 200 and "甲乙丙" in scanned.content.decode()
    client.post(f"/loyalty/check-in/{events.check_in_token(registration)}")
    assert Registration.objects.get(pk=registration.pk).state == "attended"
    assert client.get("/loyalty/check-in/nonsense").status_code == 404
    # a bad edit names the field and changes nothing
    bad = client.post(f"/loyalty/events/{event.pk}/", {"what": "save", "name": "改名",
                                                       "capacity": "x"})
    assert bad.status_code == 422 and MemberEvent.objects.get(pk=event.pk).name == "品茶会"
    # from the member's loyalty page
    other = _event(personas, capacity=5)
    client.post(f"/loyalty/customers/{a.pk}/act", {"what": "event", "event": other.pk,
                                                   "back": "loyalty"})
    assert Registration.objects.filter(event=other, customer=a, state="registered").exists()
    page = client.get(f"/loyalty/customers/{a.pk}/").content.decode()
    assert 'data-testid="customer-registrations"' in page and "品茶会" in page


def test_api(client, programme, personas):
    event = _event(personas, capacity=1, starts_in=dt.timedelta(hours=1))
    a, b = (make_customer(personas.admin, full_name=n) for n in "甲乙")
    headers = bearer(personas.service)
    listed = client.get("/api/v1/loyalty/events", headers=headers).json()
    assert listed[0]["name"] == "品茶会" and listed[0]["places_left"] == 1
    url = f"/api/v1/loyalty/events/{event.pk}/registrations"
    first = client.post(url, {"customer_id": a.pk}, content_type="application/json",
                        headers=headers).json()
    second = client.post(url, {"customer_id": b.pk}, content_type="application/json",
                         headers=headers).json()
    assert (first["state"], second["state"], second["waiting_position"]) == (
        "registered", "waiting", 1)
    gone = client.delete(f"{url}/{a.pk}", headers=headers).json()
    assert gone["state"] == "cancelled"
    assert {r["customer_id"]: r["state"] for r in client.get(url, headers=headers).json()
            } == {a.pk: "cancelled", b.pk: "registered"}
    token = events.check_in_token(Registration.objects.get(event=event, customer=b))
    done = client.post(f"/api/v1/loyalty/events/{event.pk}/check-in", {"code": token},
                       content_type="application/json", headers=headers)
    assert done.status_code == 200 and done.json()["state"] == "attended"
    assert client.get(f"/api/v1/loyalty/members/{b.pk}", headers=headers).json()[
        "balance"] == 30
    bad = client.post(f"/api/v1/loyalty/events/{event.pk}/check-in", {},
                      content_type="application/json", headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "customer_id"
    analyst = client.post(url, {"customer_id": a.pk}, content_type="application/json",
                          headers=bearer(personas.analyst))
    assert analyst.status_code == 403


def test_merge_keeps_one_registration_per_event_and_erasure_removes_them(programme,
                                                                         personas):
    from guanxi.core.privacy import Person, personal_data_sources
    from guanxi.dataquality.services import customers_merge

    event = _event(personas, capacity=5)
    other = _event(personas, capacity=5)
    a, b = (make_customer(personas.admin, full_name=n) for n in "甲乙")
    for x in (a, b):
        events.event_register(actor=personas.service, event=event, customer=x)
    events.event_register(actor=personas.service, event=other, customer=b)
    customers_merge(actor=personas.admin, survivor=a, absorbed=b)
    assert sorted(Registration.objects.filter(customer=a).values_list("event_id", flat=True)
                  ) == sorted([event.pk, other.pk])
    part = next(p for p in personal_data_sources() if p.name == "loyalty.events")
    person = Person(customer_id=a.pk, values=frozenset())
    assert {r["event"] for r in part.export(person)} == {"品茶会"}
    assert part.erase(person) == 2 and not Registration.objects.filter(customer=a).exists()
