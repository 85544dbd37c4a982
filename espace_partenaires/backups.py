"""Backups and restores (issue 21, item 1): the database and the attachments in one dated tar.

An archive `espace-partenaires-YYYYMMDD-HHMMSS.tar` holds:

- `database.dump` (PostgreSQL: `pg_dump --format=custom`, in the snapshot the counts are taken
  in) or `database.sqlite3` (SQLite: the online backup API's copy, a consistent page-by-page copy
  taken while the portal runs);
- `files/<name>`: every file of the attachments' storage, read through the Storage API (the
  local folder or the S3 bucket, django-storages), under its stored name;
- `manifest.json`: the applied migrations of each app (the schema), the rows of each table, the
  size and SHA-256 of the dump and of each file. No setting, no address, no password.

A restore checks the archive (checksums) and the schemas before it changes anything: an archive
holding a migration this code does not know (a newer version's), or a target database migrated
beyond the archive, is refused. It then replaces the database and the files, and compares the
counts and the checksums with the manifest.

The archive holds personal data: it is written 0600, in a 0700 folder, and must be stored
encrypted (docs/operations.md).
"""

import datetime
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import Storage, storages
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.translation import gettext as _

FORMAT = 1
PREFIX = "espace-partenaires-"
SUFFIX = ".tar"
MANIFEST = "manifest.json"
FILES = "files/"
DUMPS = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """Why a backup or a restore stopped; the message is French, for the operator."""


@dataclass
class RestoreReport:
    archive: str
    tables: int = 0
    rows: int = 0
    files: int = 0
    removed_files: int = 0
    mismatches: list[str] = field(default_factory=list)


# --- Backup ---------------------------------------------------------------------------------


def create_backup(directory: Path | None = None) -> Path:
    """Write a new archive in `directory` (BACKUP_DIR), then keep the BACKUP_KEEP newest ones.
    The archive appears under its name only once complete."""
    directory = Path(directory or settings.BACKUP_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    name = f"{PREFIX}{timezone.localtime():%Y%m%d-%H%M%S}{SUFFIX}"  # Paris time
    target = directory / name
    partial = directory / f".{name}.partial"
    vendor = connection.vendor
    if vendor not in DUMPS:
        raise BackupError(
            _("Base de données %(vendor)s : non prise en charge.") % {"vendor": vendor}
        )
    with tempfile.TemporaryDirectory(dir=directory) as work:
        dump = Path(work) / DUMPS[vendor]
        migrations, counts = _dump_database(dump)
        dump.chmod(0o600)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with (
                os.fdopen(descriptor, "wb") as output,
                tarfile.open(fileobj=output, mode="w") as tar,
            ):
                tar.add(dump, arcname=dump.name)
                files = _add_files(tar, storages["attachments"])
                manifest = {
                    "format": FORMAT,
                    "created_at": timezone.now().isoformat(),
                    "database": {
                        "vendor": vendor,
                        "name": dump.name,
                        "size": dump.stat().st_size,
                        "sha256": _sha256_path(dump),
                    },
                    "schema": {app: names[-1] for app, names in migrations.items()},
                    "migrations": migrations,
                    "counts": counts,
                    "files": files,
                }
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
            partial.rename(target)
        finally:
            partial.unlink(missing_ok=True)
    prune(directory, keep=settings.BACKUP_KEEP)
    return target


def archives(directory: Path) -> list[Path]:
    """The complete archives of `directory`, oldest first (their names sort by date)."""
    return sorted(path for path in directory.glob(f"{PREFIX}*{SUFFIX}") if path.is_file())


def prune(directory: Path, *, keep: int) -> list[Path]:
    """Delete all but the `keep` newest archives; the deleted ones."""
    old = archives(directory)[:-keep] if keep > 0 else []
    for path in old:
        path.unlink()
    return old


def _dump_database(dump: Path) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Write the dump; the applied migrations and the rows per table, of the dump's own data."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        copy = sqlite3.connect(dump)
        try:
            connection.connection.backup(copy)
        finally:
            copy.close()
        copy = sqlite3.connect(dump)
        try:
            tables = [
                row[0]
                for row in copy.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            counts = {t: copy.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608 (names from the catalogue)
            applied = copy.execute("SELECT app, name FROM django_migrations").fetchall()
        finally:
            copy.close()
        return _by_app(applied), counts
    # PostgreSQL: the counts and the migrations are read in the snapshot pg_dump then dumps,
    # exported by a repeatable-read transaction kept open while pg_dump runs.
    connection.ensure_connection()
    connection.set_autocommit(False)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = _count_rows(cursor)
            cursor.execute("SELECT app, name FROM django_migrations")
            applied = cursor.fetchall()
        _pg(
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-acl",
            f"--snapshot={snapshot}",
            f"--file={dump}",
        )
    finally:
        connection.rollback()
        connection.set_autocommit(True)
    return _by_app(applied), counts


def _count_rows(cursor) -> dict[str, int]:
    counts = {}
    for table in sorted(connection.introspection.table_names(cursor)):
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 (names from the catalogue)
        counts[table] = cursor.fetchone()[0]
    return counts


def _by_app(applied) -> dict[str, list[str]]:
    migrations = defaultdict(list)
    for app, name in applied:
        migrations[app].append(name)
    return {app: sorted(names) for app, names in sorted(migrations.items())}


def _walk(storage: Storage, path: str = "") -> Iterator[str]:
    try:
        folders, files = storage.listdir(path)
    except FileNotFoundError:  # a local storage nothing was ever written to
        return
    for name in sorted(files):
        yield f"{path}{name}"
    for folder in sorted(folders):
        yield from _walk(storage, f"{path}{folder}/")


def _add_files(tar: tarfile.TarFile, storage: Storage) -> list[dict]:
    files = []
    for name in _walk(storage):
        digest = hashlib.sha256()
        size = storage.size(name)
        with storage.open(name, "rb") as source:
            info = tarfile.TarInfo(FILES + name)
            info.size, info.mode, info.mtime = size, 0o600, int(timezone.now().timestamp())
            tar.addfile(info, _Hashing(source, digest))
        files.append({"name": name, "size": size, "sha256": digest.hexdigest()})
    return files


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(content), 0o600, int(timezone.now().timestamp())
    tar.addfile(info, io.BytesIO(content))


class _Hashing(io.RawIOBase):
    """A file read through, its bytes added to a digest on the way."""

    def __init__(self, source, digest):
        self.source, self.digest = source, digest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.digest.update(chunk)
        return chunk


def _sha256_path(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


# --- PostgreSQL's client programs -----------------------------------------------------------


def _pg(program: str, *args: str) -> None:
    """Run pg_dump or pg_restore on the default database. Its password goes in the environment
    (PGPASSWORD), never on the command line, which `ps` shows."""
    binary = shutil.which(program)
    if binary is None:
        raise BackupError(
            _(
                "%(program)s est introuvable : installez le client PostgreSQL (paquet "
                "postgresql-client, de la version du serveur ou plus récent)."
            )
            % {"program": program}
        )
    database = settings.DATABASES["default"]
    environment = {
        **os.environ,
        "PGHOST": str(database.get("HOST") or ""),
        "PGPORT": str(database.get("PORT") or ""),
        "PGUSER": str(database.get("USER") or ""),
        "PGPASSWORD": str(database.get("PASSWORD") or ""),
        "PGDATABASE": str(database["NAME"]),
    }
    if sslmode := database.get("OPTIONS", {}).get("sslmode"):
        environment["PGSSLMODE"] = sslmode
    result = subprocess.run(  # noqa: S603 (a fixed program, our arguments)
        [binary, *args], env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(
            _("%(program)s a échoué (code %(code)s) : %(error)s")
            % {"program": program, "code": result.returncode, "error": result.stderr.strip()}
        )


# --- Restore --------------------------------------------------------------------------------


def read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive, mode="r:") as tar:
            manifest = json.load(tar.extractfile(MANIFEST))
    except (OSError, KeyError, tarfile.TarError, ValueError) as error:
        raise BackupError(
            _("%(archive)s n'est pas une archive de sauvegarde lisible (%(error)s).")
            % {"archive": archive, "error": error}
        ) from error
    if manifest.get("format") != FORMAT:
        raise BackupError(
            _("Format d'archive %(format)s inconnu de cette version.")
            % {"format": manifest.get("format")}
        )
    return manifest


def check_schemas(manifest: dict) -> None:
    """Refuse an archive of a newer code, and a target database migrated beyond the archive."""
    archived = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    newer = sorted(archived - set(loader.disk_migrations))
    if newer:
        raise BackupError(
            _(
                "Restauration refusée : l'archive vient d'une version plus récente du portail, "
                "son schéma a des migrations que ce code ne connaît pas (%(migrations)s). "
                "Installez la version qui a fait la sauvegarde (ou une plus récente), puis "
                "relancez la restauration. Rien n'a été modifié."
            )
            % {"migrations": _names(newer)}
        )
    recorder = MigrationRecorder(connection)
    target = set(recorder.applied_migrations()) if recorder.has_table() else set()
    ahead = sorted(target - archived)
    if ahead:
        raise BackupError(
            _(
                "Restauration refusée : la base cible est migrée au-delà de l'archive "
                "(%(migrations)s), ses tables ne correspondraient pas à ses données. Restaurez "
                "sur une base vide (dropdb puis createdb, ou une base neuve), puis lancez "
                "« manage.py migrate ». Rien n'a été modifié."
            )
            % {"migrations": _names(ahead)}
        )


def _names(migrations: list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{app}.{name}" for app, name in migrations[:5])
    return shown + (" …" if len(migrations) > 5 else "")


def restore_backup(archive: Path) -> RestoreReport:
    """Replace the database and the attachments by the archive's, then check them."""
    archive = Path(archive)
    manifest = read_manifest(archive)
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(
            _(
                "L'archive est une base %(archive)s, la base configurée (DATABASE_URL) est une "
                "base %(target)s : restaurez sur le même moteur. Rien n'a été modifié."
            )
            % {"archive": vendor, "target": connection.vendor}
        )
    check_schemas(manifest)
    storage = storages["attachments"]
    with tempfile.TemporaryDirectory() as work, tarfile.open(archive, mode="r:") as tar:
        dump = Path(work) / DUMPS[vendor]
        _extract_checked(tar, manifest["database"]["name"], manifest["database"]["sha256"], dump)
        for entry in manifest["files"]:
            with tar.extractfile(FILES + entry["name"]) as source:
                if hashlib.file_digest(source, "sha256").hexdigest() != entry["sha256"]:
                    raise BackupError(_corrupt(entry["name"]))
        # The archive is whole and fits this code: from here on, the target changes.
        _restore_database(dump)
        kept = {entry["name"] for entry in manifest["files"]}
        removed = [name for name in _walk(storage) if name not in kept]
        for name in removed:
            storage.delete(name)
        for entry in manifest["files"]:
            if storage.exists(entry["name"]):
                storage.delete(entry["name"])
            with tar.extractfile(FILES + entry["name"]) as source:
                saved = storage.save(entry["name"], File(source, name=entry["name"]))
            if saved != entry["name"]:
                raise BackupError(
                    _("Le stockage a enregistré %(name)s sous un autre nom (%(saved)s).")
                    % {"name": entry["name"], "saved": saved}
                )
    report = RestoreReport(archive=archive.name, removed_files=len(removed))
    report.mismatches = verify(manifest, report)
    return report


def _corrupt(name: str) -> str:
    return _(
        "L'archive est altérée : la somme SHA-256 de %(name)s ne correspond pas au manifeste. "
        "Rien n'a été modifié."
    ) % {"name": name}


def _extract_checked(tar: tarfile.TarFile, member: str, sha256: str, target: Path) -> None:
    with tar.extractfile(member) as source, target.open("wb") as output:
        shutil.copyfileobj(source, output, CHUNK)
    if _sha256_path(target) != sha256:
        raise BackupError(_corrupt(member))


def _restore_database(dump: Path) -> None:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        source = sqlite3.connect(dump)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
        connection.close()
        return
    connection.close()  # no session of ours holds a lock on what pg_restore drops
    _pg(
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-acl",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={settings.DATABASES['default']['NAME']}",
        str(dump),
    )


def verify(manifest: dict, report: RestoreReport) -> list[str]:
    """Compare the restored database and files with the manifest; what differs, in French."""
    mismatches = []
    with connection.cursor() as cursor:
        counts = _count_rows(cursor)
    for table, expected in manifest["counts"].items():
        found = counts.get(table)
        if found != expected:
            mismatches.append(
                _("table %(table)s : %(found)s lignes, %(expected)s attendues")
                % {"table": table, "found": found, "expected": expected}
            )
    report.tables, report.rows = len(counts), sum(counts.values())
    storage = storages["attachments"]
    for entry in manifest["files"]:
        try:
            with storage.open(entry["name"], "rb") as source:
                digest = hashlib.file_digest(source, "sha256").hexdigest()
        except FileNotFoundError:
            digest = None
        if digest != entry["sha256"]:
            mismatches.append(_("fichier %(name)s : absent ou différent") % {"name": entry["name"]})
        else:
            report.files += 1
    return mismatches


def next_run(at: str, now: datetime.datetime | None = None) -> datetime.datetime:
    """The next time of day `at` ("HH:MM", in TIME_ZONE) strictly after `now`."""
    now = timezone.localtime(now)
    hour, minute = (int(part) for part in at.split(":"))
    run = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if run <= now:
        run = timezone.make_aware(
            datetime.datetime.combine(run.date() + datetime.timedelta(days=1), run.time())
        )
    return run
