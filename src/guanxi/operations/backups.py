"""Backup and verified restore: SQLite's online backup API, pg_dump/pg_restore for
PostgreSQL. A manifest of row counts travels with each backup.

The counts come from the backup's own snapshot (the copied SQLite file; on PostgreSQL the
exported snapshot pg_dump reads), so a backup taken while people write verifies. A
restore goes into a new database first (a new file; a new PostgreSQL database), is
verified there, and only then replaces the live one; the old database is kept beside it
(`<file>.before-restore-<time>` / `<name>_before_restore_<time>`). A failed restore
leaves the live database untouched."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection

from guanxi.audit.services import log_action
from guanxi.core.permissions import Actor


class RestoreError(Exception):
    pass


def _tables(present: set[str]) -> list[str]:
    return sorted({m._meta.db_table for m in apps.get_models() if m._meta.managed} & present)


def _count(cursor: Any, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        counts[table] = int(cursor.fetchone()[0])
    return counts


def row_counts() -> dict[str, int]:
    """Rows per Guanxi table in the live database."""
    with connection.cursor() as cursor:
        return _count(cursor, _tables(set(connection.introspection.table_names())))


def _sqlite_counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return _count(db.cursor(), _tables(present))
    finally:
        db.close()


def _manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%f")


def _pg_env() -> tuple[list[str], dict[str, str]]:
    s = connection.settings_dict
    args = ["-h", s.get("HOST") or "127.0.0.1", "-p", str(s.get("PORT") or 5432),
            "-U", s.get("USER") or "postgres"]
    env = dict(os.environ)
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = s["PASSWORD"]
    return args, env


@contextlib.contextmanager
def _pg_connection(dbname: str | None = None, autocommit: bool = False) -> Iterator[Any]:
    """A connection of its own (not Django's), to the live or another database."""
    params = connection.get_connection_params()
    if dbname is not None:
        params["dbname"] = dbname
    raw = connection.get_new_connection(params)
    raw.autocommit = autocommit
    try:
        yield raw
    finally:
        raw.close()


Progress = Callable[[int, int], None]  # (pages done, pages in all)


def _sqlite_copy(source: sqlite3.Connection, target: sqlite3.Connection,
                 progress: Progress | None, pages: int = 4096) -> None:
    def report(status: int, remaining: int, total: int) -> None:
        if progress:
            progress(total - remaining, total)

    source.backup(target, pages=pages, progress=report)


def _sqlite_copy_live(path: Path, progress: Progress | None) -> None:
    """The live SQLite database, copied online into a new file."""
    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        _sqlite_copy(connection.connection, target, progress)
    finally:
        target.close()


def _verify(expected: dict[str, int], actual: dict[str, int], where: str) -> None:
    wrong = {t: (expected.get(t), actual.get(t)) for t in set(expected) | set(actual)
             if expected.get(t) != actual.get(t)}
    if wrong:
        raise RestoreError(f"row counts differ in {where} (expected, found): {wrong}")


def backup_create(*, path: Path, actor: Actor = None,
                  progress: Progress | None = None) -> dict[str, Any]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Audit first so the backup contains the record of itself being taken.
    log_action(actor=actor, action="backup.create", object_type="database",
               extra={"path": str(path)})
    if connection.vendor == "sqlite":
        _sqlite_copy_live(path, progress)
        counts = _sqlite_counts(path)
    elif connection.vendor == "postgresql":
        counts = _pg_dump(path)
    else:
        raise RestoreError(f"backups are not supported on {connection.vendor}")
    manifest = {"vendor": connection.vendor, "counts": counts}
    _manifest_path(path).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def _pg_dump(path: Path) -> dict[str, int]:
    """pg_dump reads the snapshot in which the rows were counted (exported by a
    repeatable-read transaction held open until the dump is done)."""
    args, env = _pg_env()
    with _pg_connection() as raw, raw.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        counts = _count(cursor, _tables({r[0] for r in cursor.fetchall()}))
        subprocess.run(["pg_dump", "-Fc", "--no-owner", f"--snapshot={snapshot}",  # noqa: S607
                        *args, "-f", str(path), connection.settings_dict["NAME"]],
                       check=True, env=env)
        raw.rollback()
    return counts


def backup_restore(*, path: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Replace the live database with a backup, verified before and after; returns the
    manifest with `previous`: where the replaced database was kept."""
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
        previous = _sqlite_restore(path, manifest["counts"], progress)
    else:
        previous = _pg_restore(path, manifest["counts"])
    _verify(manifest["counts"], row_counts(), "the restored database")
    return {**manifest, "previous": previous}


def _sqlite_restore(path: Path, expected: dict[str, int], progress: Progress | None) -> str:
    live = Path(connection.settings_dict["NAME"])
    stamp = _stamp()
    fresh = live.with_name(f"{live.name}.restore-{stamp}")
    kept = live.with_name(f"{live.name}.before-restore-{stamp}")
    try:
        # 1. into a new file, checked there: the live database is not touched yet
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = sqlite3.connect(fresh)
        try:
            status = source.execute("PRAGMA integrity_check").fetchone()[0]
            if status != "ok":
                raise RestoreError(f"backup file is damaged: {status}")
            _sqlite_copy(source, target, progress)
        finally:
            source.close()
            target.close()
        _verify(expected, _sqlite_counts(fresh), "the backup")
        # 2. the current database kept beside it, then replaced in one step (one write
        # transaction: other connections wait, and see the old or the new data)
        _sqlite_copy_live(kept, None)
        verified = sqlite3.connect(f"file:{fresh}?mode=ro", uri=True)
        try:
            _sqlite_copy(verified, connection.connection, None, pages=-1)
        finally:
            verified.close()
    except sqlite3.Error as exc:
        raise RestoreError(f"restore failed: {exc}") from exc
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    return str(kept)


def _pg_restore(path: Path, expected: dict[str, int]) -> str:
    from psycopg import sql

    args, env = _pg_env()
    live = connection.settings_dict["NAME"]
    stamp = _stamp()
    fresh, kept = f"{live}_restore_{stamp}"[:63], f"{live}_before_restore_{stamp}"[:63]
    with _pg_connection("postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
            sql.Identifier(fresh)))
        try:
            # 1. into a new database, checked there
            done = subprocess.run(["pg_restore", "--no-owner", "--single-transaction",  # noqa: S607
                                   "--exit-on-error", *args, "-d", fresh, str(path)],
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RestoreError(f"pg_restore failed: {done.stderr.strip()[:2000]}")
            with _pg_connection(fresh) as raw, raw.cursor() as cursor:
                cursor.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                _verify(expected, _count(cursor, _tables({r[0] for r in cursor.fetchall()})),
                        "the backup")
            # 2. swap: the live database is kept under another name
            connection.close()
            for _attempt in range(5):
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", [live])
                try:
                    admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(live), sql.Identifier(kept)))
                    break
                except Exception as exc:  # a client reconnected in between: again
                    last: Exception = exc
            else:
                raise RestoreError(f"could not take the live database offline: {last}")
            try:
                admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(fresh), sql.Identifier(live)))
            except Exception:
                admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(kept), sql.Identifier(live)))  # the old one back
                raise
        except BaseException:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(fresh)))
            raise
    return kept


def backup_rotate(directory: Path, keep: int) -> None:
    files = sorted(Path(directory).glob("guanxi-*.backup"))
    for old in files[:-keep] if keep else files:
        old.unlink(missing_ok=True)
        _manifest_path(old).unlink(missing_ok=True)
