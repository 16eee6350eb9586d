from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from guanxi.core.management.commands.serve import gunicorn_argv


class Command(BaseCommand):
    help = ("Migrate, create an admin, load demo data once, then serve web and worker "
            "on http://127.0.0.1:8000 until interrupted.")

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("GUANXI_BIND", "127.0.0.1:8000"))
        parser.add_argument("--no-serve", action="store_true",
                            help="set everything up but do not start the servers")

    def handle(self, *args, bind, no_serve, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")
        call_command("createadmin", demo=True)
        if no_serve:
            return
        manage = [sys.executable, "-m", "guanxi"]
        procs = [subprocess.Popen(gunicorn_argv(bind, 2, 4)),
                 subprocess.Popen([*manage, "worker"])]
        self.stdout.write(self.style.SUCCESS(f"Guanxi is running on http://{bind}/ "
                                             "(web + worker). Ctrl-C stops both."))

        def stop(*_):
            for p in procs:
                if p.poll() is None:
                    p.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for p in procs:
                p.wait(timeout=15)
