"""The `guanxi` command: Django's management commands under Guanxi's settings."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["guanxi", *sys.argv[1:]])


if __name__ == "__main__":
    main()
