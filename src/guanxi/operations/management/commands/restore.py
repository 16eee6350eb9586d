from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from guanxi.operations.backups import RestoreError, backup_restore
from guanxi.operations.management.commands.backup import PageBar


class Command(BaseCommand):
    help = "Restore the database from a backup made by `guanxi backup`, verified by row counts."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, path, yes, **options):
        if not yes and input("This replaces ALL current data. Type 'restore' to go on: ") \
                != "restore":
            raise CommandError("Not restored.")
        bar = PageBar("restore")
        try:
            manifest = backup_restore(path=path, progress=bar)
        except RestoreError as exc:
            raise CommandError(f"Restore failed: {exc}") from exc
        finally:
            bar.close()
        total = sum(manifest["counts"].values())
        self.stdout.write(self.style.SUCCESS(
            f"Restored and verified {total} rows in {len(manifest['counts'])} tables. "
            f"The replaced database is kept as {manifest['previous']}."))
