"""Old "identity added" events carried the contact in their summary ("Phone: +86…"):
keep only the kind, so the timeline shows no contact that masking or erasure misses."""

from django.db import migrations


def scrub(apps, schema_editor):
    Event = apps.get_model("customers", "Event")
    changed = []
    for event in Event.objects.filter(kind="identity_added", summary__contains=":").only(
            "pk", "summary").iterator(chunk_size=2000):
        event.summary = event.summary.split(":", 1)[0].strip()
        changed.append(event)
        if len(changed) >= 2000:
            Event.objects.bulk_update(changed, ["summary"])
            changed = []
    Event.objects.bulk_update(changed, ["summary"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_search_terms_folded")]
    operations = [migrations.RunPython(scrub, migrations.RunPython.noop, elidable=True)]
