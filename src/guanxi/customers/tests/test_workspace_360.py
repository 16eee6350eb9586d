"""The 360 page as a workspace: contacts edited in place, follow-ups from a logged
interaction to the home page and back, recently viewed customers, KPI tiles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.audit.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.models import Event, FollowUp, Identity
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def test_edit_a_phone_make_primary_add_and_remove_contacts(client, personas):
    c = make_customer(personas.admin, full_name="张伟", phones=["13800138000"],
                      owner=personas.sales)
    phone = Identity.objects.get(customer=c, kind="phone")
    client.force_login(personas.sales)
    page = client.get(f"/customers/{c.pk}/").content.decode()
    assert 'href="tel:+8613800138000"' in page
    r = client.post(f"/customers/{c.pk}/contacts/{phone.pk}/", {"value": "139 0000 1111"},
                    HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "Contact saved." in r["HX-Trigger"]
    phone.refresh_from_db()
    assert phone.value == "+8613900001111"
    entry = AuditEntry.objects.get(action="identity.change")
    assert entry.changes["value"] == ["+8613800138000", "+8613900001111"]
    assert Event.objects.filter(customer=c, kind="identity_changed").exists()
    # Bad input: a clear error in the panel, nothing written.
    r = client.post(f"/customers/{c.pk}/contacts/{phone.pk}/", {"value": "not a phone"},
                    HTTP_HX_REQUEST="true")
    assert 'data-testid="contact-error"' in r.content.decode()
    phone.refresh_from_db()
    assert phone.value == "+8613900001111"
    client.post(f"/customers/{c.pk}/contacts/", {"kind": "phone", "value": "13700001234"})
    second = Identity.objects.get(customer=c, value="+8613700001234")
    assert not second.is_primary
    client.post(f"/customers/{c.pk}/contacts/{second.pk}/", {"value": second.value,
                                                              "primary": "1"})
    second.refresh_from_db()
    phone.refresh_from_db()
    assert second.is_primary and not phone.is_primary
    client.post(f"/customers/{c.pk}/contacts/{phone.pk}/remove/")
    assert not Identity.objects.filter(pk=phone.pk).exists()
    client.post(f"/customers/{c.pk}/addresses/", {"province": "浙江省", "city": "杭州市",
                                                  "street": "西湖路 1 号"})
    assert c.addresses.count() == 1
    # Analysts may not change contacts.
    client.force_login(personas.analyst)
    assert client.post(f"/customers/{c.pk}/contacts/", {"kind": "phone",
                                                        "value": "13700001235"}).status_code == 403


def test_a_follow_up_from_a_call_reaches_the_home_page_and_is_done(client, personas):
    c = make_customer(personas.admin, full_name="李娜", owner=personas.sales)
    client.force_login(personas.sales)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    r = client.post(f"/customers/{c.pk}/interactions/", {
        "kind": "call", "summary": "Wants the autumn catalogue", "follow_up_on": tomorrow})
    assert r.status_code == 302
    follow_up = FollowUp.objects.get()
    assert follow_up.assignee == personas.sales and follow_up.due_on == tomorrow
    home = client.get("/").content.decode()
    assert 'data-testid="home-follow-ups"' in home and "李娜" in home
    assert 'data-testid="home-recent"' not in home  # not opened yet
    client.get(f"/customers/{c.pk}/")
    assert 'data-testid="home-recent"' in client.get("/").content.decode()
    client.post(f"/customers/{c.pk}/follow-ups/{follow_up.pk}/done/", {"next": "home"})
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None
    assert Event.objects.filter(customer=c, kind="follow_up_done").count() == 1
    assert "李娜" not in client.get("/").content.decode().split('data-card="customers.recent"')[0]
    # A follow-up in the past is refused with the field named.
    with pytest.raises(Exception) as exc:
        services.interaction_log(actor=personas.sales, customer=c, kind="note", summary="x",
                                 follow_up_on=timezone.localdate() - dt.timedelta(days=1))
    assert exc.value.errors[0].field == "follow_up_on"


def test_home_tiles_for_the_role(client, personas):
    make_customer(personas.admin, full_name="王芳", owner=personas.sales)
    make_customer(personas.admin, full_name="赵敏", owner=personas.outsider)
    client.force_login(personas.manager)
    page = client.get("/").content.decode()
    assert 'data-tile="customers.customers"' in page and 'data-tile="customers.revenue"' in page
    client.force_login(personas.sales)
    page = client.get("/").content.decode()
    tile = page.split('data-tile="customers.customers"')[1].split("</strong>")[0]
    assert ">1<" in tile  # the salesperson's own customers only


def test_the_privacy_officer_reaches_copy_and_erasure_from_the_360_page(client, personas):
    c = make_customer(personas.admin, full_name="王芳")
    client.force_login(personas.admin)
    page = client.get(f"/customers/{c.pk}/").content.decode()
    assert f'href="/privacy/people/{c.pk}/"' in page
    client.force_login(personas.manager)
    assert 'data-testid="privacy-link"' not in client.get(f"/customers/{c.pk}/").content.decode()
