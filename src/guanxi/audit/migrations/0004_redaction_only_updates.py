"""Audit entries stay append-only, with one exception: erasure of a person's data (PIPL)
may replace the values in `changes` and `extra`, and only by an UPDATE that sets
`redacted_at` and leaves who, when, what and which object unchanged. Deletion stays
refused on PostgreSQL."""

from django.db import migrations

KEPT = ("at", "actor_id", "actor_label", "action", "object_type", "object_id", "customer_id")
_PG_CHANGED = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in KEPT)
_SQLITE_CHANGED = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in KEPT)

PG_UP = f"""
CREATE OR REPLACE FUNCTION guanxi_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.redacted_at IS NULL OR {_PG_CHANGED} THEN
        RAISE EXCEPTION 'audit entries are append-only';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""
PG_DOWN = """
CREATE OR REPLACE FUNCTION guanxi_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only';
END;
$$ LANGUAGE plpgsql;
"""
SQLITE_UP = f"""
DROP TRIGGER IF EXISTS audit_append_only;
CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit_auditentry
WHEN NEW.redacted_at IS NULL OR {_SQLITE_CHANGED}
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
"""
SQLITE_DOWN = """
DROP TRIGGER IF EXISTS audit_append_only;
CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit_auditentry
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
"""


def _run(schema_editor, scripts):
    sql = scripts.get(schema_editor.connection.vendor)
    if not sql:
        return
    if schema_editor.connection.vendor == "sqlite":
        # one statement per execute (the trigger body's own ";" is not followed by a
        # newline)
        for statement in (s.strip() for s in sql.split(";\n") if s.strip()):
            schema_editor.execute(statement)
    else:
        schema_editor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_UP, "sqlite": SQLITE_UP})


def backwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_DOWN, "sqlite": SQLITE_DOWN})


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_auditentry_redacted_at")]
    operations = [migrations.RunPython(forwards, backwards)]
