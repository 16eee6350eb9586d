"""`guanxi loyalty expire|review`: run the nightly expiry or tier review now, with a
progress bar (the worker runs both each night)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm


class Command(BaseCommand):
    help = "Expire points past their date, or review every member's tier, now."

    def add_arguments(self, parser):
        parser.add_argument("job", choices=("expire", "review"))

    def handle(self, *args, job, **options):
        from guanxi.loyalty.jobs import points_expire, tiers_review

        with tqdm(unit="members", disable=None) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            if job == "expire":
                points = points_expire(progress=progress)
                self.stdout.write(f"{points} points expired.")
            else:
                counts = tiers_review(progress=progress)
                self.stdout.write("{up} up, {down} down, {grace} into the grace period."
                                  .format(**counts))
