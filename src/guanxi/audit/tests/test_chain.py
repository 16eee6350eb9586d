"""The audit log's hash chain: sealing, `guanxi audit verify`, and what it detects (an
edited entry, a removed one), while erasure's redactions keep it valid."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from guanxi.audit.chain import audit_seal, audit_verify
from guanxi.audit.models import AuditEntry
from guanxi.audit.services import audit_redact
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db
LATER = dt.timedelta(minutes=2)


def _without_guard(sql: str, *params) -> None:
    """What someone with direct database access could do: switch the trigger off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_append_only")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_append_only")
        else:
            cursor.execute("DROP TRIGGER audit_append_only")
            cursor.execute(sql, params)


def _entries(personas, n: int = 3) -> list[AuditEntry]:
    for i in range(n):
        make_customer(personas.admin, full_name=f"客户{i}", phones=[f"1380000{i:04d}"])
    return list(AuditEntry.objects.order_by("id"))


def test_sealed_entries_verify_and_new_ones_wait(personas, capsys):
    entries = _entries(personas)
    assert all(e.digest for e in entries)
    assert audit_seal() == 0  # younger than a minute: their transactions may be open
    assert audit_seal(now=timezone.now() + LATER) == len(entries)
    result = audit_verify()
    assert result.ok and result.checked == len(entries)
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out


def test_an_edited_entry_is_found(personas):
    entries = _entries(personas)
    audit_seal(now=timezone.now() + LATER)
    _without_guard("UPDATE audit_auditentry SET actor_label = %s WHERE id = %s",
                   "someone-else", entries[1].pk)
    result = audit_verify()
    assert not result.ok and f"entry {entries[1].pk}: its content was changed" in result.problems
    with pytest.raises(CommandError):
        call_command("audit", "verify")


def test_a_removed_entry_breaks_the_chain(personas):
    entries = _entries(personas)
    audit_seal(now=timezone.now() + LATER)
    _without_guard("DELETE FROM audit_auditentry WHERE id = %s", entries[1].pk)
    problems = audit_verify().problems
    assert any(p.startswith(f"entry {entries[2].pk}: the chain breaks") for p in problems)


def test_the_database_refuses_edits_but_not_redaction(personas):
    entries = _entries(personas)
    audit_seal(now=timezone.now() + LATER)
    entry = entries[0]
    for sql, params in (("UPDATE audit_auditentry SET changes = %s WHERE id = %s",
                         ('{"x": 1}', entry.pk)),
                        ("UPDATE audit_auditentry SET chain = %s WHERE id = %s",
                         ("f" * 64, entry.pk))):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
            c.execute(sql, params)
    # an erasure's redaction is allowed, and the chain still verifies
    assert audit_redact(customer_ids={entry.customer_id},
                        redact=lambda v: {k: "[erased]" for k in v} if v else v) >= 1
    result = audit_verify()
    assert result.ok and result.redacted >= 1
