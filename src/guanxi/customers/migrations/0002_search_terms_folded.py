"""Search terms again for every customer: names folded to simplified characters without
accents (張偉 finds 张伟, muller finds Müller) and emails in their own namespace ('e:'),
so roles that see contacts masked can be limited to whole values."""

from django.db import migrations

BATCH = 2000


def rebuild(apps, schema_editor):
    from guanxi.customers.search import terms_for

    Customer = apps.get_model("customers", "Customer")
    Identity = apps.get_model("customers", "Identity")
    SearchTerm = apps.get_model("customers", "SearchTerm")
    last = 0
    while True:
        people = list(Customer.objects.filter(pk__gt=last).order_by("pk")
                      .values_list("pk", "family_name", "given_name", "display_name")[:BATCH])
        if not people:
            return
        ids = [p[0] for p in people]
        contacts: dict[int, dict[str, list[str]]] = {}
        for cid, kind, value in Identity.objects.filter(
                customer_id__in=ids, kind__in=["email", "phone"]).values_list(
                "customer_id", "kind", "value"):
            contacts.setdefault(cid, {"email": [], "phone": []})[kind].append(value)
        SearchTerm.objects.filter(customer_id__in=ids).delete()
        rows = []
        for cid, family, given, display in people:
            c = contacts.get(cid, {"email": [], "phone": []})
            rows += [SearchTerm(customer_id=cid, term=t) for t in terms_for(
                family_name=family, given_name=given, display_name=display,
                emails=c["email"], phones=c["phone"])]
        SearchTerm.objects.bulk_create(rows, batch_size=5000)
        last = ids[-1]


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop, elidable=True)]
