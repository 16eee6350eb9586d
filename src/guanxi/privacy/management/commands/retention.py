from django.core.management.base import BaseCommand

from guanxi.privacy.selectors import retention_preview
from guanxi.privacy.services import retention_run


class Command(BaseCommand):
    help = ("Show what the retention rules would delete or anonymise now (GUANXI_RETAIN_*); "
            "with --apply, do it (the worker does this nightly).")

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="delete/anonymise now")

    def handle(self, *args, apply=False, **options):
        for rule in retention_preview():
            keep = (f"keep {rule['keep']} {rule['unit']}" if rule["cutoff"] else "kept")
            self.stdout.write(f"{rule['name']}\t{rule['label']}\t{keep}\t"
                              f"{rule['due']} due to be {rule['action']}")
        if apply:
            report = retention_run()
            self.stdout.write("applied: " + ", ".join(f"{k}={v}" for k, v in report.items()))
