from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand

# The path without its query string (%(U)s, not the request line %(r)s) and no referrer:
# searches by phone or email must not end up in the log.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s"'


def gunicorn_argv(bind: str, workers: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "guanxi.config.wsgi:application",
            "--bind", bind, "--workers", str(workers), "--threads", str(threads),
            "--worker-class", "gthread", "--access-logfile", "-",
            "--access-logformat", ACCESS_LOG_FORMAT, "--timeout", "120"]


class Command(BaseCommand):
    help = "Serve the web interface and API with gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("GUANXI_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int,
                            default=int(os.environ.get("GUANXI_WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int,
                            default=int(os.environ.get("GUANXI_WEB_THREADS", "4")))

    def handle(self, *args, bind, workers, threads, **options):
        argv = gunicorn_argv(bind, workers, threads)
        self.stdout.write(f"Guanxi on http://{bind}/")
        os.execv(argv[0], argv)  # noqa: S606 - replace this process with gunicorn
