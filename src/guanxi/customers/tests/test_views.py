"""Staff pages: instant search partial, 360 page and timeline paging, forms with field-level
errors, quick actions through htmx, and the language switch."""

from __future__ import annotations

import pytest

from guanxi.customers import services
from guanxi.customers.models import Customer
from guanxi.testing import grant_marketing, make_customer

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def test_instant_search_returns_the_results_partial(client, personas):
    make_customer(personas.admin, full_name="欧阳娜娜", phones=["13900001111"])
    make_customer(personas.admin, full_name="张伟")
    client.force_login(personas.admin)
    r = client.get("/customers/?q=oyn", headers={**HTMX, "HX-Target": "results"})
    html = r.content.decode()
    assert "<html" not in html and "欧阳娜娜" in html and "张伟" not in html
    assert "139 0000 1111" in html  # phones shown as people write them


def test_360_timeline_pages_with_an_older_button(client, personas):
    c = make_customer(personas.admin, full_name="张伟")
    for i in range(25):
        services.interaction_log(actor=personas.admin, customer=c, kind="note",
                                 summary=f"note-{i:02d}")
    client.force_login(personas.admin)
    html = client.get(f"/customers/{c.pk}/").content.decode()
    assert "note-24" in html and "note-04" not in html and 'data-testid="timeline-more"' in html
    cursor = html.split("timeline/?cursor=")[1].split('"')[0]
    rest = client.get(f"/customers/{c.pk}/timeline/?cursor={cursor}", headers=HTMX)
    body = rest.content.decode()
    assert "note-04" in body and "note-00" in body and "timeline-more" not in body
    assert "Customer created" in body


def test_create_form_shows_field_errors_and_keeps_nothing(client, personas):
    existing = make_customer(personas.admin, full_name="张伟", phones=["13800138000"])
    client.force_login(personas.sales)
    r = client.post("/customers/new/", {"family_name": "李", "given_name": "娜",
                                         "phone": "12345", "email": "bad@",
                                         "gender": "female", "preferred_language": "zh-hans",
                                         "source": "pos"})
    assert r.status_code == 422
    errors = r.context["form"].errors
    assert set(errors) == {"phone", "email"}
    r = client.post("/customers/new/", {"family_name": "张", "given_name": "伟",
                                         "phone": "+86 138 0013 8000", "gender": "male",
                                         "preferred_language": "zh-hans", "source": "pos"})
    assert r.status_code == 422
    assert f"#{existing.pk}" in str(r.context["form"].errors["phone"])
    assert Customer.objects.count() == 1


def test_create_then_edit_through_the_forms(client, personas):
    client.force_login(personas.sales)
    r = client.post("/customers/new/", {"family_name": "李", "given_name": "娜",
                                         "phone": "139 1234 5678", "tags": "VIP，新客",
                                         "gender": "female", "preferred_language": "zh-hans",
                                         "source": "pos", "owner": personas.teammate.pk})
    assert r.status_code == 302
    c = Customer.objects.get()
    assert c.owner == personas.teammate
    assert sorted(t.tag.name for t in c.tag_links.all()) == ["VIP", "新客"]
    r = client.post(f"/customers/{c.pk}/edit/", {
        "family_name": "李", "given_name": "娜", "gender": "female", "region": "上海市",
        "preferred_language": "zh-hans", "source": "pos"})
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.region == "上海市" and c.owner == personas.teammate


def test_quick_actions_return_partials(client, personas):
    c = make_customer(personas.sales, full_name="张伟")
    client.force_login(personas.sales)
    r = client.post(f"/customers/{c.pk}/interactions/", {"kind": "visit", "summary": "到店"},
                    headers=HTMX)
    assert "到店" in r.content.decode() and "<html" not in r.content.decode()
    r = client.post(f"/customers/{c.pk}/interactions/", {"kind": "visit", "summary": " "},
                    headers=HTMX)
    assert "errorlist" in r.content.decode()
    r = client.post(f"/customers/{c.pk}/tags/", {"name": "老客户"}, headers=HTMX)
    assert "老客户" in r.content.decode()
    r = client.post(f"/customers/{c.pk}/consents/",
                    {"channel": "wechat", "purpose": "marketing", "granted": "1"}, headers=HTMX)
    assert r.status_code == 200
    assert c.consents.get(channel="wechat", purpose="marketing").granted


def test_language_switch(client, personas):
    client.force_login(personas.admin)
    r = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/customers/"},
                    follow=True)
    html = r.content.decode()
    assert '<html lang="zh-hans">' in html and "新建客户" in html
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/customers/"}, follow=True)
    assert "New customer" in r.content.decode()


def test_a_bad_cursor_on_a_page_is_a_clear_4xx_not_a_crash(client, personas):
    client.force_login(personas.admin)
    r = client.get("/customers/?cursor=%%%")
    assert r.status_code == 422 and "Malformed cursor" in r.content.decode()


def test_export_is_audited_and_neutralises_formulas(client, personas):
    from guanxi.audit.models import AuditEntry

    grant_marketing(personas.admin, make_customer(personas.admin, full_name="=HYPERLINK(1)"))
    client.force_login(personas.marketing)
    body = b"".join(client.get("/customers/export.csv").streaming_content).decode()
    assert "'=HYPERLINK(1)" in body
    assert AuditEntry.objects.filter(action="customer.export", actor_label="marketing").exists()
