from __future__ import annotations

import os
import secrets
from typing import Any

from django.core.management.base import BaseCommand

from guanxi.accounts.models import User
from guanxi.accounts.services import user_create
from guanxi.core.permissions import Role


def ensure_admin(command: BaseCommand, username: str = "admin") -> tuple[User, str | None]:
    """The administrator, created if missing (password from GUANXI_ADMIN_PASSWORD, or
    generated and printed once). Returns the user and, when it was just created, its
    password (the demo gives its staff the same one)."""
    password = os.environ.get("GUANXI_ADMIN_PASSWORD")
    admin = User.objects.filter(username=username).first()
    if admin is not None:
        command.stdout.write(f"Administrator '{username}' already exists.")
        return admin, None
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    admin = user_create(actor=None, username=username, password=password, role=Role.ADMIN,
                        is_superuser=True)
    command.stdout.write(command.style.SUCCESS(f"Created administrator '{username}'."))
    if generated:
        command.stdout.write(command.style.WARNING(
            f"  Password (shown once, write it down): {password}"))
    return admin, password


class Command(BaseCommand):
    help = ("Create the administrator 'admin' (password from GUANXI_ADMIN_PASSWORD, or "
            "generated and printed once). `guanxi demo` also loads the demo data.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        ensure_admin(self, username)
