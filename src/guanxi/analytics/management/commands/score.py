import datetime as dt

from django.core.management.base import BaseCommand
from tqdm import tqdm

from guanxi.analytics.services import scores_refresh


class Command(BaseCommand):
    help = "Score every customer now: RFM, value tier, lifecycle stage, lifetime value."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=dt.datetime.fromisoformat, default=None,
                            help="score as of this moment (YYYY-MM-DD[THH:MM]); default now")

    def handle(self, *args, as_of, **options):
        if as_of is not None and as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=dt.UTC)
        with tqdm(unit="step", disable=None) as bar:
            def progress(step: str, done: int, total: int) -> None:
                bar.total = total
                bar.set_description(step)
                bar.update(done - bar.n)

            summary = scores_refresh(as_of=as_of, progress=progress)
        self.stdout.write(self.style.SUCCESS(
            f"Scored {summary['customers']} customers; {summary['changed']} stage or tier "
            f"changes written to timelines"
            + ("" if summary["forecast"] else "; too few repeat buyers for lifetime value")))
