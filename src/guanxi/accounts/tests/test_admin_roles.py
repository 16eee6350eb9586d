from __future__ import annotations

import pytest

from guanxi.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_changing_a_role_in_the_admin_is_audited(client, personas):
    client.force_login(personas.admin)
    url = f"/admin/accounts/user/{personas.service.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update({"role": "manager", "team": "", "date_joined_0": "2026-01-01",
                 "date_joined_1": "00:00:00", "groups": [], "user_permissions": []})
    data.pop("last_login", None)
    r = client.post(url, data)
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    personas.service.refresh_from_db()
    assert personas.service.role == "manager"
    entry = AuditEntry.objects.get(action="user.role_change")
    assert entry.changes == {"role": ["service", "manager"]} and entry.actor_label == "admin"


def test_user_set_role_refuses_non_admins(personas):
    from django.core.exceptions import PermissionDenied

    from guanxi.accounts.services import user_set_role

    with pytest.raises(PermissionDenied):
        user_set_role(actor=personas.manager, user=personas.sales, role="admin")
