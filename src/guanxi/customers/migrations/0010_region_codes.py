from django.db import migrations, models


def backfill(apps, schema_editor):
    """The code of every region already stored (one parse per distinct text)."""
    from guanxi.customers.regions import region_codes

    Customer = apps.get_model("customers", "Customer")
    texts = list(Customer.objects.exclude(region="").values_list("region", flat=True)
                 .distinct().order_by())
    for start in range(0, len(texts), 2000):
        chunk = texts[start:start + 2000]
        for text, code in zip(chunk, region_codes(chunk), strict=True):
            if code:
                Customer.objects.filter(region=text).update(region_code=code)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0009_follow_ups_recent_views"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="region_code",
            field=models.CharField(blank=True, db_default="", db_index=True, default="",
                                   editable=False, max_length=6, verbose_name="region code"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
