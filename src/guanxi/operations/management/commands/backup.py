from pathlib import Path

from django.core.management.base import BaseCommand
from tqdm import tqdm

from guanxi.operations.backups import backup_create


class PageBar:
    """A tqdm bar fed by the SQLite backup's (done, total) page counts."""

    def __init__(self, label: str) -> None:
        self.bar = tqdm(unit="page", desc=label, disable=None)

    def __call__(self, done: int, total: int) -> None:
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


class Command(BaseCommand):
    help = "Back up the database to PATH (SQLite online backup, or pg_dump on PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path, **options):
        bar = PageBar("backup")
        try:
            manifest = backup_create(path=path, progress=bar)
        finally:
            bar.close()
        total = sum(manifest["counts"].values())
        self.stdout.write(self.style.SUCCESS(
            f"Backed up {total} rows in {len(manifest['counts'])} tables to {path}"))
