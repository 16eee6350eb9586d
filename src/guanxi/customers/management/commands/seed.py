import datetime as dt

from django.core.management.base import BaseCommand
from tqdm import tqdm

from guanxi.accounts.models import User
from guanxi.core.permissions import Role
from guanxi.customers.seeding import generate


class Command(BaseCommand):
    help = "Add N deterministic customers with orders and events (same seed, same data)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                            help="YYYY-MM-DD the histories end on (default: now); with the "
                                 "same seed and date the data is identical")

    def handle(self, *args, customers, seed, batch, as_of, **options):
        now = None
        if as_of is not None:
            now = dt.datetime.combine(as_of, dt.time(12), tzinfo=dt.UTC)
        owners = list(User.objects.filter(role=Role.SALES, is_active=True)
                      .values_list("pk", flat=True))
        with tqdm(total=customers, unit="customers", disable=None) as bar:
            result = generate(customers=customers, seed=seed, owners=owners, now=now,
                              progress=bar.update, batch=batch)
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {result.customers} customers, {result.identities} identities, "
            f"{result.orders} orders, {result.order_lines} order lines, "
            f"{result.events} events."))
