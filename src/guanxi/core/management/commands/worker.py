import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand

from guanxi.core.watchdog import watch_forever


class Command(BaseCommand):
    help = ("Run the background worker and scheduler (Huey consumer), with a watchdog that "
            "requeues work whose worker died within about 25 seconds.")

    def handle(self, *args, **options):
        stop = threading.Event()
        threading.Thread(target=watch_forever, args=(stop,), name="watchdog",
                         daemon=True).start()
        try:
            call_command("run_huey")
        finally:
            stop.set()
