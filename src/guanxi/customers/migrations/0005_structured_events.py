"""Events Guanxi writes itself carry structured data, rendered in the viewer's language
when shown; their stored English (or Chinese) sentences go. On PostgreSQL every event
also records the transaction that wrote it, for the timeline's consumer cursors."""

import re

from django.db import migrations

# Kinds whose summary was a sentence built from data the event already carries.
FROM_DATA = ("customer_created", "profile_updated", "identity_added", "identity_removed",
             "consent_changed", "tags_automatic", "stage_changed", "tier_changed",
             "order_placed", "order_refunded", "order_cancelled", "customer_merged",
             "customer_unmerged")
_MERGED = re.compile(r"#(\d+)\s*(.*?)\s*(?:undone|的合并|合并)?$")


def structure(apps, schema_editor):
    Event = apps.get_model("customers", "Event")
    Order = apps.get_model("customers", "Order")
    batch = []

    def flush():
        Event.objects.bulk_update(batch, ["summary", "data"])
        batch.clear()

    qs = (Event.objects.filter(kind__in=(*FROM_DATA, "tag_added", "tag_removed"))
          .exclude(summary="").only("pk", "kind", "summary", "data", "order_id"))
    for event in qs.iterator(chunk_size=2000):
        data = dict(event.data or {})
        if event.kind in ("tag_added", "tag_removed"):
            data["tag"] = event.summary
        elif event.kind.startswith("order_") and "ref" not in data:
            order = Order.objects.filter(pk=event.order_id or data.get("order_id")).first()
            data["ref"] = (order.external_id or f"#{order.pk}") if order else ""
        elif event.kind in ("customer_merged", "customer_unmerged"):
            match = _MERGED.search(event.summary)
            if match:
                data.setdefault("other", int(match.group(1)))
                data.setdefault("name", match.group(2).strip())
            data.setdefault("other", data.get("absorbed"))
        event.summary, event.data = "", data
        batch.append(event)
        if len(batch) >= 2000:
            flush()
    flush()


def xid_forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE customers_event ADD COLUMN xid bigint NOT NULL "
        "DEFAULT (pg_current_xact_id()::text::bigint)")
    schema_editor.execute("CREATE INDEX event_xid_id ON customers_event (xid, id)")


def xid_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_event DROP COLUMN xid")


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_customer_version")]
    operations = [
        migrations.RunPython(structure, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(xid_forward, xid_backward),
    ]
