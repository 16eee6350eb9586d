from pathlib import Path

from django.core.management.base import BaseCommand

from guanxi.core.backups import backup_create


class Command(BaseCommand):
    help = "Back up the database to PATH (SQLite online backup, or pg_dump on PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path, **options):
        manifest = backup_create(path=path)
        total = sum(manifest["counts"].values())
        self.stdout.write(self.style.SUCCESS(
            f"Backed up {total} rows in {len(manifest['counts'])} tables to {path}"))
