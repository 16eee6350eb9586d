from django.core.management.base import BaseCommand, CommandError

from guanxi.accounts.models import ApiToken, User
from guanxi.accounts.services import token_create, token_revoke
from guanxi.core.errors import InvalidInput


class Command(BaseCommand):
    help = "Manage API tokens: `token create --user NAME`, `token list`, `token revoke PREFIX`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="print a new token for a user")
        create.add_argument("--user", required=True)
        create.add_argument("--name", default="cli")
        create.add_argument("--scopes", default="read,write",
                            help="comma-separated: read, write, or <app>:read / <app>:write")
        create.add_argument("--days", type=int, default=None,
                            help="days until it expires (default GUANXI_API_TOKEN_DAYS)")
        sub.add_parser("list", help="list tokens")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **options):
        if action == "create":
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}")
            try:
                _token, secret = token_create(
                    actor=None, user=user, name=options["name"], days=options["days"],
                    scopes=[s.strip() for s in options["scopes"].split(",") if s.strip()])
            except InvalidInput as exc:
                raise CommandError("; ".join(f"{e.field}: {e.message}"
                                             for e in exc.errors)) from exc
            self.stdout.write(secret)
        elif action == "list":
            for t in ApiToken.objects.select_related("user").order_by("created_at"):
                state = ("revoked" if t.revoked_at else "expired" if t.is_expired
                         else "active")
                self.stdout.write(f"{t.prefix}\t{t.user.username}\t{t.name}\t{state}\t"
                                  f"{','.join(t.scopes)}\texpires {t.expires_at or 'never'}\t"
                                  f"last used {t.last_used_at or 'never'}")
        else:
            token = ApiToken.objects.filter(prefix=options["prefix"]).first()
            if token is None:
                raise CommandError("No such token")
            token_revoke(actor=None, token=token)
            self.stdout.write(f"Revoked {token.prefix}")
