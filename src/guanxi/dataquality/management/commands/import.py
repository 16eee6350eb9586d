import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from guanxi.accounts.models import User
from guanxi.core.errors import DomainError
from guanxi.dataquality import importing, selectors
from guanxi.dataquality.fields import field_names
from guanxi.dataquality.models import ImportJob, JobStatus


class Command(BaseCommand):
    help = ("Import customers or orders from CSV, XLSX or JSON, with a progress bar. "
            "Columns are mapped by their headings, a saved preset or --map COLUMN=FIELD.")

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", type=Path)
        parser.add_argument("--kind", choices=["customers", "orders"], default="customers")
        parser.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD")
        parser.add_argument("--preset", default="", help="use a saved mapping preset")
        parser.add_argument("--save-preset", default="", help="save the mapping under a name")
        parser.add_argument("--source", default="import",
                            help="the customers' source (pos, shop, wechat, web, ...)")
        parser.add_argument("--system", default="import",
                            help="the system the external ids come from")
        parser.add_argument("--update", action="append", default=[], metavar="FIELD=POLICY",
                            help="what a row does to a customer who exists: fill_empty "
                                 "(the default), overwrite or never, per field")
        parser.add_argument("--dry-run", action="store_true",
                            help="check every row and report, without writing")
        parser.add_argument("--errors", type=Path, help="write the per-row error report here")
        parser.add_argument("--resume", type=int, metavar="JOB",
                            help="continue an interrupted import after its last checkpoint")
        parser.add_argument("--as-user", default="", help="the staff user doing the import")

    def handle(self, *args, **o):
        actor = (User.objects.filter(username=o["as_user"]).first() if o["as_user"] else
                 User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first())
        if actor is None:
            raise CommandError("no such user; pass --as-user NAME")
        try:
            job = self._resume(actor, o["resume"]) if o["resume"] else self._create(actor, o)
            with tqdm(total=job.total_rows or None, unit="rows", disable=None) as bar:
                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.n = done
                    bar.refresh()

                job = importing.import_run(job.pk, progress=progress)
        except DomainError as exc:
            raise CommandError("; ".join(f"{e.field}: {e.message}" + (
                f" ({e.value})" if e.value not in (None, "") else "") for e in exc.errors)
                or exc.message) from exc
        if job.status == JobStatus.FAILED:
            raise CommandError(f"import {job.pk} failed: {job.error}")
        verb = "would be" if job.dry_run else "were"
        self.stdout.write(self.style.SUCCESS(
            f"Import {job.pk}: {job.rows_done} rows; {job.created} {verb} created, "
            f"{job.updated} updated, {job.unchanged} unchanged, {job.failed} rejected; "
            f"{job.warned} imported with a value dropped."))
        if job.failed or job.warned:
            rows = importing.import_errors_rows(actor=actor, job=job)
            if target := o["errors"]:
                with target.open("w", newline="", encoding="utf-8-sig") as fh:
                    csv.writer(fh).writerows(rows)
                self.stdout.write(f"Row errors written to {target}")
            else:
                csv.writer(self.stdout).writerows(rows)

    def _create(self, actor, o) -> ImportJob:
        path = o["file"]
        if path is None:
            raise CommandError("give a FILE to import (or --resume JOB)")
        if not path.is_file():
            raise CommandError(f"{path}: no such file")

        def chunks():
            with path.open("rb") as fh:
                while block := fh.read(1 << 20):
                    yield block

        job = importing.import_upload(actor=actor, name=path.name, chunks=chunks(),
                                      size=path.stat().st_size, kind=o["kind"])
        mapping = dict(job.mapping)
        options = {"source": o["source"], "system": o["system"]}
        if o["preset"]:
            preset = selectors.preset_get(actor=actor, name=o["preset"])
            mapping = {c: f for c, f in preset.mapping.items() if c in job.options["columns"]}
            options = {**preset.options, **options}
        for item in o["map"]:
            column, sep, target = item.rpartition("=")
            if not sep:
                raise CommandError(f"--map {item!r}: write it as COLUMN=FIELD")
            if target not in field_names(o["kind"]) and target != "":
                raise CommandError(f"--map {item!r}: unknown field; choose from "
                                   f"{', '.join(field_names(o['kind']))}")
            mapping[column] = target
        update = dict(options.get("update", {}))
        for item in o["update"]:
            target, sep, policy = item.partition("=")
            if not sep:
                raise CommandError(f"--update {item!r}: write it as FIELD=POLICY")
            update[target] = policy
        if update:
            options["update"] = update
        job = importing.import_configure(actor=actor, job=job, mapping=mapping,
                                         options=options, dry_run=o["dry_run"],
                                         preset_name=o["save_preset"])
        self.stderr.write("Mapping: " + ", ".join(f"{c} → {f}" for c, f in job.mapping.items()))
        return importing.import_start(actor=actor, job=job, enqueue=False)

    def _resume(self, actor, job_id) -> ImportJob:
        job = selectors.import_get(actor=actor, job_id=job_id)
        if job.status != JobStatus.QUEUED:
            job = importing.import_resume(actor=actor, job=job, enqueue=False,
                                          stalled_after_s=0)
        self.stderr.write(f"Resuming import {job.pk} after row {job.rows_done}")
        return job
