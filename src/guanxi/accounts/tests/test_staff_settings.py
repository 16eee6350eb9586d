"""Settings → Staff and teams: invite, change role and team, deactivate; audited, and only
for administrators."""

from __future__ import annotations

import pytest

from guanxi.accounts.models import User
from guanxi.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_invite_change_role_and_deactivate(client, personas):
    client.force_login(personas.admin)
    assert "Staff and teams" in client.get("/settings/").content.decode()
    r = client.post("/accounts/staff/invite/", {"username": "wang.fang", "last_name": "王",
                                                "first_name": "芳", "role": "sales",
                                                "team": "华东"})
    page = r.content.decode()
    new = User.objects.get(username="wang.fang")
    assert str(new) == "王芳" and new.team.name == "华东" and new.role == "sales"
    password = page.split('data-testid="invite-password">')[1].split("<")[0]
    assert new.check_password(password)
    assert AuditEntry.objects.filter(action="user.create", object_id=str(new.pk)).exists()
    # a clear error for a taken username, nothing written
    r = client.post("/accounts/staff/invite/", {"username": "wang.fang", "role": "sales"},
                    follow=True)
    assert "already exists" in r.content.decode() and User.objects.filter(
        username="wang.fang").count() == 1
    client.post(f"/accounts/staff/{new.pk}/role/", {"role": "manager", "team": ""})
    new.refresh_from_db()
    assert new.role == "manager" and new.team is None
    # deactivated: signed out and refused at sign-in
    other = client.__class__()
    other.force_login(new)
    client.post(f"/accounts/staff/{new.pk}/active/", {"active": "0"})
    new.refresh_from_db()
    assert not new.is_active
    assert other.get("/").status_code == 302  # its session ended
    assert AuditEntry.objects.filter(action="user.deactivate").exists()
    client.post(f"/accounts/staff/{new.pk}/active/", {"active": "1"})
    new.refresh_from_db()
    assert new.is_active
    # an administrator cannot lock themselves out
    client.post(f"/accounts/staff/{personas.admin.pk}/active/", {"active": "0"})
    personas.admin.refresh_from_db()
    assert personas.admin.is_active


def test_only_administrators_manage_staff(client, personas):
    client.force_login(personas.manager)
    assert client.get("/accounts/staff/").status_code == 403
    assert client.post("/accounts/staff/invite/", {"username": "x", "role": "sales"}
                       ).status_code == 403
    assert client.post(f"/accounts/staff/{personas.sales.pk}/active/",
                       {"active": "0"}).status_code == 403
    personas.sales.refresh_from_db()
    assert personas.sales.is_active

