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


def test_the_audit_log_page_filters_and_exports(client, personas):
    import csv
    import io

    a = make_customer(personas.admin, full_name="张伟")
    make_customer(personas.manager, full_name="李娜")
    client.force_login(personas.sales)
    assert client.get("/audit/").status_code == 403
    client.force_login(personas.manager)
    page = client.get(f"/audit/?customer={a.pk}")
    assert page.status_code == 200
    entries = list(page.context["page"])
    assert entries and {e.customer_id for e in entries} == {a.pk}
    by_who = client.get("/audit/?who=manager&action=customer.").context["page"]
    assert {e.actor_label for e in by_who} == {"manager"}
    bad = client.get("/audit/?since=yesterday&customer=x")
    assert bad.status_code == 422 and {e.field for e in bad.context["errors"]} == {
        "since", "customer"}
    export = client.get(f"/audit/?customer={a.pk}&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content)
                                       .decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "at", "who"] and len(rows) == len(entries) + 1
    assert AuditEntry.objects.filter(action="audit.export", actor_label="manager").exists()
