"""`guanxi loyalty expire|review|backfill`: run the nightly expiry or tier review now, or
give every paid order without points its points (after the programme is set up over an
existing order history), with a progress bar (the worker runs expiry and review each
night)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm


class Command(BaseCommand):
    help = ("Expire points past their date, review every member's tier, or award points "
            "for past orders, now.")

    def add_arguments(self, parser):
        parser.add_argument("job", choices=("expire", "review", "backfill"))

    def handle(self, *args, job, **options):
        from guanxi.loyalty.backfill import points_backfill
        from guanxi.loyalty.jobs import points_expire, tiers_review

        with tqdm(unit="customers" if job == "backfill" else "members", disable=None) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            if job == "backfill":
                counts = points_backfill(progress=progress)
                self.stdout.write("{points} points for {orders} orders of {members} members."
                                  .format(**counts))
            elif job == "expire":
                points = points_expire(progress=progress)
                self.stdout.write(f"{points} points expired.")
            else:
                counts = tiers_review(progress=progress)
                self.stdout.write("{up} up, {down} down, {grace} into the grace period."
                                  .format(**counts))
