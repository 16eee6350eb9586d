"""The workspace shell shows what the apps registered (navigation, home cards, global
search) and only what the user's role may see."""

from __future__ import annotations

import pytest

from guanxi.analytics.services import segment_save
from guanxi.core import shell
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def _nav(client) -> set[str]:
    html = client.get("/").content.decode()
    return {name for name in ("customers", "analytics", "segments", "imports", "duplicates")
            if f'data-nav="{name}"' in html}


def test_navigation_and_home_cards_follow_the_role(client, personas):
    make_customer(personas.sales, full_name="王芳")
    client.force_login(personas.manager)
    assert _nav(client) == {"customers", "analytics", "segments", "imports", "duplicates"}
    home = client.get("/").content.decode()
    assert 'data-card="customers.newest"' in home and "王芳" in home
    assert 'data-card="dataquality.review"' in home
    client.force_login(personas.sales)
    assert _nav(client) == {"customers", "analytics", "segments"}
    home = client.get("/").content.decode()
    assert 'data-card="dataquality.review"' not in home
    client.force_login(personas.norole)
    page = client.get("/")
    assert page.status_code == 200 and 'data-testid="home-no-role"' in page.content.decode()
    assert _nav(client) == set()


def test_global_search_asks_every_provider_the_user_may_use(client, personas):
    make_customer(personas.sales, full_name="王小明", owner=personas.sales)
    make_customer(personas.outsider, full_name="王大明", owner=personas.outsider)
    segment_save(actor=personas.manager, name="王牌客户",
                 rules={"field": "region", "operator": "equals", "value": "上海"})
    client.force_login(personas.manager)
    html = client.get("/search/", {"q": "王"}).content.decode()
    assert 'data-provider="customers"' in html and 'data-provider="segments"' in html
    assert "王小明" in html and "王大明" in html and "王牌客户" in html
    # sales see their team's customers only
    client.force_login(personas.sales)
    html = client.get("/search/", {"q": "王"}, HTTP_HX_REQUEST="true").content.decode()
    assert "王小明" in html and "王大明" not in html
    assert "<html" not in html  # the htmx request gets the results only
    html = client.get("/search/", {"q": "没有这个人"}).content.decode()
    assert 'data-testid="search-nothing"' in html


def test_a_new_app_registers_its_own_entries(client, personas, monkeypatch):
    monkeypatch.setattr(shell, "_NAV", dict(shell._NAV))
    monkeypatch.setattr(shell, "_CARDS", dict(shell._CARDS))
    shell.register_nav(shell.NavEntry("loyalty", "Loyalty", "/loyalty/", "customer.view",
                                      order=60))
    shell.register_home_card(shell.HomeCard(
        "loyalty.points", "customers/_home_newest.html", lambda actor: {"customers": []},
        "customer.view"))
    client.force_login(personas.service)
    html = client.get("/").content.decode()
    assert 'data-nav="loyalty"' in html and 'href="/loyalty/"' in html
    assert 'data-card="loyalty.points"' in html
