from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from guanxi.accounts.services import user_set_role
from guanxi.audit.models import AuditEntry
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def test_entries_cannot_be_changed_or_deleted_through_the_orm(personas):
    make_customer(personas.admin, full_name="张伟")
    entry = AuditEntry.objects.first()
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(action="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_the_database_refuses_updates(personas):
    make_customer(personas.admin, full_name="张伟")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = 'forged'")
    assert not AuditEntry.objects.filter(action="forged").exists()


def test_role_changes_are_audited_with_old_and_new(personas):
    user_set_role(actor=personas.admin, user=personas.service, role="manager")
    entry = AuditEntry.objects.get(action="user.role_change")
    assert entry.changes == {"role": ["service", "manager"]}
    assert entry.actor_label == "admin"
