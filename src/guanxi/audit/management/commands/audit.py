from django.core.management.base import BaseCommand, CommandError

from guanxi.audit.chain import audit_seal, audit_verify


class Command(BaseCommand):
    help = ("`audit verify`: chain the new audit entries, then check every entry's digest and "
            "the whole hash chain; exits 1 if anything was changed, removed or inserted.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "seal"])

    def handle(self, *args, action, **options):
        sealed = audit_seal()
        self.stdout.write(f"sealed {sealed} new entries")
        if action == "seal":
            return
        result = audit_verify()
        self.stdout.write(f"checked {result.checked} entries ({result.redacted} redacted by "
                          f"erasures, {result.unsealed} too new to seal)")
        if not result.ok:
            for problem in result.problems[:50]:
                self.stderr.write(problem)
            raise CommandError(f"the audit log fails verification: {len(result.problems)} "
                               "problem(s)")
        self.stdout.write("the audit log is intact")
