from __future__ import annotations

import datetime as dt
import os
import secrets

from django.core.management.base import BaseCommand
from django.utils import timezone

from guanxi.accounts.models import User
from guanxi.accounts.services import user_create
from guanxi.core.permissions import Role


class Command(BaseCommand):
    help = ("Create the administrator 'admin' (password from GUANXI_ADMIN_PASSWORD, or "
            "generated and printed once). With --demo, also load the demo data once.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--demo", action="store_true")

    def handle(self, *args, username, demo, **options):
        password = os.environ.get("GUANXI_ADMIN_PASSWORD")
        admin = User.objects.filter(username=username).first()
        if admin is None:
            generated = password is None
            password = password or secrets.token_urlsafe(12)
            admin = user_create(actor=None, username=username, password=password,
                                role=Role.ADMIN, is_superuser=True)
            self.stdout.write(self.style.SUCCESS(f"Created administrator '{username}'."))
            if generated:
                self.stdout.write(self.style.WARNING(
                    f"  Password (shown once, write it down): {password}"))
        else:
            self.stdout.write(f"Administrator '{username}' already exists.")
            password = None
        if demo:
            from guanxi.customers.demo import STAFF, demo_load

            loaded = demo_load(admin=admin, password=password)
            if loaded is None:
                self.stdout.write("Demo data already loaded; nothing added.")
            else:
                self.stdout.write(self.style.SUCCESS(
                    "Loaded demo data: {customers} customers, {orders} orders, "
                    "{events} events.".format(**loaded)))
                if password:
                    names = ", ".join(s[0] for s in STAFF)
                    self.stdout.write(f"  Demo staff ({names}) share the admin's password.")
                # Score now so the 360 pages show stages and value straight away (and
                # once as of two months ago, from the data up to then, so the stage
                # flows have history); the worker rescores nightly.
                from guanxi.analytics.services import demo_segments, scores_refresh

                scores_refresh(actor=admin, as_of=timezone.now() - dt.timedelta(days=60))
                scored = scores_refresh(actor=admin)
                segments = demo_segments(actor=admin)
                self.stdout.write(f"  Scored {scored['customers']} customers; "
                                  f"{segments} example segments.")
