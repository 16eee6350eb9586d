"""Settings → automatic tags: rules added, changed and deleted in the app (audited,
re-tagging everyone in the worker)."""

from __future__ import annotations

import pytest

from guanxi.audit.models import AuditEntry
from guanxi.core.work import work_drain
from guanxi.customers.models import CustomerTag
from guanxi.dataquality.models import TagRule
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db(transaction=True)


def test_tag_rules_in_settings(client, personas):
    make_customer(personas.admin, full_name="张伟", region="浙江省杭州市")
    client.force_login(personas.manager)
    assert "Automatic tags" in client.get("/settings/").content.decode()
    r = client.post("/quality/tag-rules/", {"tag": "杭州客户", "attribute": "region",
                                             "operator": "contains", "value": "杭州",
                                             "active": "on"})
    assert r.status_code == 302
    work_drain(["dataquality.retag"])
    assert CustomerTag.objects.filter(tag__name="杭州客户").count() == 1
    rule = TagRule.objects.get()
    assert AuditEntry.objects.filter(action="tagrule.save").exists()
    r = client.post(f"/quality/tag-rules/{rule.pk}/", {"tag": "杭州客户", "attribute": "region",
                                                        "operator": "bogus", "value": ""})
    assert r.status_code == 422 and TagRule.objects.get().operator == "contains"
    client.post(f"/quality/tag-rules/{rule.pk}/delete/")
    work_drain(["dataquality.retag"])
    # the rule is gone; customers keep the tag it gave (a plain tag now)
    assert not TagRule.objects.exists() and CustomerTag.objects.count() == 1
    client.force_login(personas.analyst)
    assert client.get("/quality/tag-rules/").status_code == 403


def test_the_import_preview_shows_values_in_the_users_language(personas):
    from django.utils import translation

    from guanxi.dataquality.importing import _describe
    from guanxi.dataquality.rows import CustomerRow

    row = CustomerRow(display_name="张伟", family_name="张", given_name="伟",
                      emails=["a@b.cn"], profile={"gender": "male", "preferred_channel": "wechat"},
                      address={"province": "浙江省", "city": "杭州市", "district": "",
                               "street": "文三路"})
    with translation.override("zh-hans"):
        shown = _describe(row)
    assert shown["gender"] == "男" and shown["preferred_channel"] == "微信"
    assert shown["address"] == "浙江省 杭州市 文三路"
