from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from guanxi.dataquality.dedupe_file import DedupeFileError, dedupe_file
from guanxi.dataquality.matching import CLUSTER_THRESHOLD, FIELDS

STEPS = ["read", "standardise", "train", "predict", "cluster", "write"]


@contextmanager
def step_bar() -> Iterator[Callable[[str], None]]:
    """A progress bar over the named steps; yields the callback the matcher reports to."""
    with tqdm(total=len(STEPS), unit="step", disable=None) as bar:
        def progress(step: str) -> None:
            bar.set_description(step)
            if step in STEPS:
                bar.n = STEPS.index(step)
            bar.refresh()

        yield progress
        bar.n = len(STEPS)
        bar.refresh()


class Command(BaseCommand):
    help = ("Find duplicate people in a CSV file (no database needed) and write id,cluster_id; "
            "or with --db, in the live customer table (auto-merge and review queue).")

    def add_arguments(self, parser):
        parser.add_argument("input", nargs="?", type=Path)
        parser.add_argument("--id-column", default="id")
        parser.add_argument("--map", action="append", default=[], metavar="SRC=FIELD",
                            help=f"FIELD is one of: {' '.join(FIELDS)}; a field mapped "
                                 "twice joins the columns with a space")
        parser.add_argument("--out", type=Path)
        parser.add_argument("--threshold", type=float, default=CLUSTER_THRESHOLD,
                            help="match probability at which records are linked")
        parser.add_argument("--region", default="CN",
                            help="default region for phone numbers without a country code")
        parser.add_argument("--db", action="store_true",
                            help="resolve the live customer database instead of a file")
        parser.add_argument("--as-user", default="",
                            help="with --db: the staff user the merges are recorded as")

    def handle(self, *args, input, id_column, map, out, threshold, region, db, as_user,
               **options):
        if db:
            return self._handle_db(as_user)
        if input is None or out is None:
            raise CommandError("give INPUT.csv and --out OUT.csv (or --db)")
        try:
            with step_bar() as progress:
                summary = dedupe_file(input, out, id_column=id_column, mapping=map,
                                      threshold=threshold, region=region,
                                      progress=progress)
        except DedupeFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"{summary['records']} records, {summary['clusters']} people, "
            f"{summary['records'] - summary['clusters']} duplicates; "
            f"{summary['seconds']:.1f} s; wrote {out}"))

    def _handle_db(self, as_user: str) -> None:
        from guanxi.accounts.models import User
        from guanxi.dataquality.services import resolution_run

        actor = User.objects.filter(username=as_user).first() if as_user else (
            User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first())
        if actor is None:
            raise CommandError("no such user; pass --as-user NAME")
        with step_bar() as progress:
            result = resolution_run(actor=actor, progress=progress)
        self.stdout.write(self.style.SUCCESS(
            f"{result['customers']} customers compared: {result['merged']} merged "
            f"automatically, {result['queued']} pairs waiting for review, "
            f"{result['skipped']} known not to be the same person."))
