"""The personal data dataquality holds about a person: merge records (the absorbed
customer's snapshot), duplicate candidates, import files, their previews and error
reports. Registered with core.privacy in DataqualityConfig.ready()."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.core.privacy import ERASED, Person, PersonalData, redact, register_personal_data
from guanxi.dataquality.models import ImportJob, ImportRowError, JobStatus, MatchCandidate, Merge
from guanxi.dataquality.readers import read_rows


def merged_ids(customer_id: int) -> set[int]:
    """The ids of the customers merged into this one (their history is the person's)."""
    return set(Merge.objects.filter(survivor_id=customer_id)
               .values_list("absorbed_number", flat=True))


def _merges_export(person: Person) -> list[dict[str, Any]]:
    return [{"absorbed_number": m.absorbed_number, "absorbed_name": m.absorbed_name,
             "merged_at": m.merged_at.isoformat(), "automatic": m.automatic,
             "undone_at": m.undone_at.isoformat() if m.undone_at else None}
            for m in Merge.objects.filter(survivor_id=person.customer_id).order_by("merged_at")]


def _merges_erase(person: Person) -> int:
    ids = {person.customer_id, *person.other_ids}
    changed = 0
    for merge in Merge.objects.filter(Q(survivor_id=person.customer_id)
                                      | Q(absorbed_number__in=ids)
                                      | Q(survivor_number__in=ids)):
        merge.absorbed_name = ERASED
        merge.snapshot = redact(merge.snapshot, person)
        merge.save(update_fields=["absorbed_name", "snapshot"])
        changed += 1
    return changed


def _candidates_erase(person: Person) -> int:
    ids = {person.customer_id, *person.other_ids}
    return int(MatchCandidate.objects.filter(Q(left_id__in=ids) | Q(right_id__in=ids))
               .delete()[0])


def _row_errors_of(person: Person) -> Iterator[ImportRowError]:
    """The error-report rows that are the person's (their value or any cell of the row)."""
    for error in ImportRowError.objects.order_by("id").iterator():
        if person.found_in(error.value) or person.found_in(
                json.dumps(error.raw, ensure_ascii=False)):
            yield error


def _row_errors_export(person: Person) -> list[dict[str, Any]]:
    return [{"import": e.job_id, "row": e.row, "field": e.field, "value": e.value,
             "reason": e.reason} for e in _row_errors_of(person)]


def _row_errors_erase(person: Person) -> int:
    changed = 0
    for error in list(_row_errors_of(person)):
        # The whole row is the person's (the value that failed too).
        ImportRowError.objects.filter(pk=error.pk).update(
            value=ERASED, raw={k: ERASED for k in error.raw})
        changed += 1
    return changed


def _is_theirs(person: Person, row: dict[str, Any]) -> bool:
    """A row of an import file (or its preview) with one of the person's values."""
    return any(person.found_in(str(v)) for v in row.values())


def _write_rows(path: Path, fmt: str, rows: list[dict[str, str]]) -> None:
    """Write `rows` back in the file's own format (to a new file, then swapped in)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    tmp = path.with_suffix(path.suffix + ".tmp")
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(c, "") for c in columns])
        book.save(tmp)
    elif fmt == "json":
        tmp.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    else:
        with tmp.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    tmp.replace(path)


def _job_files_erase(person: Person) -> int:
    """Import files still on disk lose the person's rows; the previews kept on the job
    lose them too. A file being imported right now is left to its job (it is deleted or
    kept by the retention rules afterwards)."""
    changed = 0
    for job in ImportJob.objects.exclude(status__in=[JobStatus.RUNNING, JobStatus.QUEUED]):
        path = Path(job.stored_path)
        if job.stored_path and path.exists():
            rows = [row for _n, row in read_rows(path, job.file_format)]
            keep = [row for row in rows if not _is_theirs(person, row)]
            if len(keep) != len(rows):
                _write_rows(path, job.file_format, keep)
                changed += 1
        options = dict(job.options)
        if isinstance(options.get("sample"), list):  # the preview's rows: whole rows go
            options["sample"] = [item for item in options["sample"] if not (
                isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict)
                and _is_theirs(person, item[1]))]
        options = redact(options, person)
        if options != job.options:
            ImportJob.objects.filter(pk=job.pk).update(options=options)
            changed += 1
    return changed


def _job_files_export(person: Person) -> list[dict[str, Any]]:
    found = []
    for job in ImportJob.objects.order_by("id"):
        path = Path(job.stored_path)
        if job.stored_path and path.exists():
            for number, row in read_rows(path, job.file_format):
                if _is_theirs(person, row):
                    found.append({"import": job.pk, "file": job.original_name, "row": number,
                                  "values": row})
    return found


def register_dataquality_personal_data() -> None:
    register_personal_data(PersonalData(
        "dataquality.merges", _("Merged duplicate records"), "dataquality",
        {"absorbed_name": "identity", "snapshot": "record"},
        [_("Undoing a merge of duplicates")], _merges_export, _merges_erase, order=20))
    register_personal_data(PersonalData(
        "dataquality.candidates", _("Possible duplicates"), "dataquality",
        {"explanation": "derived"}, [_("Finding duplicate customers")],
        lambda p: [], _candidates_erase, order=20))
    register_personal_data(PersonalData(
        "dataquality.import_errors", _("Import error reports"), "dataquality",
        {"value": "record", "raw": "record"}, [_("Correcting imported data")],
        _row_errors_export, _row_errors_erase, order=20))
    register_personal_data(PersonalData(
        "dataquality.import_files", _("Imported files"), "dataquality",
        {"row": "record"}, [_("Importing customer lists")],
        _job_files_export, _job_files_erase, order=20))


def _old_jobs(cutoff: Any) -> Any:
    return ImportJob.objects.filter(created_at__lt=cutoff).exclude(
        status__in=[JobStatus.RUNNING, JobStatus.QUEUED])


def _import_files_due(cutoff: Any) -> int:
    jobs = _old_jobs(cutoff)
    files = sum(1 for job in jobs.only("stored_path")
                if job.stored_path and Path(job.stored_path).exists())
    return files + ImportRowError.objects.filter(job__in=jobs).count()


def _import_files_apply(cutoff: Any) -> int:
    """Delete old import files, their previews and error reports (the job's counts stay)."""
    changed = 0
    for job in _old_jobs(cutoff):
        path = Path(job.stored_path) if job.stored_path else None
        if path is not None and path.exists():
            path.unlink()
            changed += 1
        if "sample" in job.options:
            ImportJob.objects.filter(pk=job.pk).update(
                options={k: v for k, v in job.options.items() if k != "sample"})
    changed += int(ImportRowError.objects.filter(job__in=_old_jobs(cutoff)).delete()[0])
    return changed


def register_dataquality_retention() -> None:
    from guanxi.core.privacy import RetentionRule, register_retention

    register_retention(RetentionRule(
        "dataquality.import_files", _("Import files, previews and error reports"),
        "dataquality", "GUANXI_RETAIN_IMPORT_FILES_DAYS", "days", _("deleted"),
        _import_files_due, _import_files_apply))
