"""Backup and verified restore: SQLite's online backup API, pg_dump/pg_restore for
PostgreSQL. A manifest of row counts travels with each backup; a restore reports success
only when the restored database has exactly those counts."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection

from guanxi.audit.services import log_action


class RestoreError(Exception):
    pass


def row_counts() -> dict[str, int]:
    tables = sorted({m._meta.db_table for m in apps.get_models() if m._meta.managed}
                    & set(connection.introspection.table_names()))
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = int(cursor.fetchone()[0])
    return counts


def _manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def _pg_env() -> tuple[list[str], dict[str, str]]:
    s = connection.settings_dict
    args = ["-h", s.get("HOST") or "127.0.0.1", "-p", str(s.get("PORT") or 5432),
            "-U", s.get("USER") or "postgres"]
    env = dict(os.environ)
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = s["PASSWORD"]
    return args, env


Progress = Callable[[int, int], None]  # (pages done, pages in all)


def _sqlite_copy(source: sqlite3.Connection, target: sqlite3.Connection,
                 progress: Progress | None) -> None:
    def report(status: int, remaining: int, total: int) -> None:
        if progress:
            progress(total - remaining, total)

    # Copy in steps so a large database shows progress and lets writers in between.
    source.backup(target, pages=4096, progress=report)


def backup_create(*, path: Path, actor: Any = None,
                  progress: Progress | None = None) -> dict[str, Any]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Audit first so the backup contains the record of itself being taken.
    log_action(actor=actor, action="backup.create", object_type="database",
               extra={"path": str(path)})
    counts = row_counts()
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(path)
        try:
            _sqlite_copy(connection.connection, target, progress)
        finally:
            target.close()
    elif connection.vendor == "postgresql":
        args, env = _pg_env()
        subprocess.run(["pg_dump", "-Fc", "--no-owner", *args, "-f", str(path),  # noqa: S607
                        connection.settings_dict["NAME"]], check=True, env=env)
    else:
        raise RestoreError(f"backups are not supported on {connection.vendor}")
    manifest = {"vendor": connection.vendor, "counts": counts}
    _manifest_path(path).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def backup_restore(*, path: Path, progress: Progress | None = None) -> dict[str, Any]:
    path = Path(path)
    manifest_file = _manifest_path(path)
    if not path.exists():
        raise RestoreError(f"{path} does not exist")
    if not manifest_file.exists():
        raise RestoreError(f"{manifest_file} is missing; cannot verify the restore")
    manifest = json.loads(manifest_file.read_text())
    if manifest["vendor"] != connection.vendor:
        raise RestoreError(f"backup is from {manifest['vendor']}, database is {connection.vendor}")
    if connection.vendor == "sqlite":
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            status = source.execute("PRAGMA integrity_check").fetchone()[0]
            if status != "ok":
                raise RestoreError(f"backup file is damaged: {status}")
            connection.ensure_connection()
            _sqlite_copy(source, connection.connection, progress)
        finally:
            source.close()
    else:
        args, env = _pg_env()
        connection.close()
        subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner",  # noqa: S607
                        "--single-transaction", *args, "-d", connection.settings_dict["NAME"],
                        str(path)], check=True, env=env)
    actual = row_counts()
    expected = manifest["counts"]
    wrong = {t: (expected.get(t), actual.get(t)) for t in set(expected) | set(actual)
             if expected.get(t) != actual.get(t)}
    if wrong:
        raise RestoreError(f"row counts differ after restore (expected, found): {wrong}")
    return manifest


def backup_rotate(directory: Path, keep: int) -> None:
    files = sorted(Path(directory).glob("guanxi-*.backup"))
    for old in files[:-keep] if keep else files:
        old.unlink(missing_ok=True)
        _manifest_path(old).unlink(missing_ok=True)



