"""``lapor backup DIR`` and ``lapor restore DIR``: the database, the recordings, the units'
attachments, the spool.

A backup is one new folder::

    manifest.json        what is in it, with every file's SHA-256 (written last)
    database.sqlite      SQLite: ``VACUUM INTO``, a consistent copy while the API runs
    database.pgdump      PostgreSQL: ``pg_dump --format=custom``
    recordings/...       LAPOR_API_RECORDINGS_DIR, file by file
    attachments/...      LAPOR_API_ATTACHMENTS_DIR, file by file (not unfinished uploads)
    spool/...            LAPOR_IVR_SPOOL_DIR: the ticket counters, the outbox

The order matters: the database first, then the recordings and attachments, then the
spool. The IVR writes a recording before it delivers the complaint, the API puts an
attachment's file in place before it commits its row, and the IVR keeps a complaint in
its outbox until the API has it, so every complaint in the dump has its recording and
attachments in the backup,
and a complaint delivered while the backup ran is in the dump or in the spool's outbox
(or both: the outbox delivers it again, which the API accepts once).

A restore checks every file of the backup against the manifest, and refuses (before it
writes anything) a database that holds data, or a recording, attachment or spool file
that exists with other content: nothing a citizen or a unit gave is overwritten. Ticket
counters are raised to the backup's, never lowered. Files it creates get the owner of the
folder they go in. The attachments folder is made by the API's first upload, so a missing
one backs up as empty.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from api.complaints.attachment_files import TEMP_PREFIX
from api.core.db import make_engine
from api.ops.dbcopy import first_table_with_rows
from ivr.durable import fsync_dir as _fsync  # a file or a folder alike
from ivr.tickets import SEQUENCE_DIGITS, TicketIssuer

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "database.sqlite"
PG_FILE = "database.pgdump"
COUNTER_PREFIX = "ticket-sequence-"
IDENTITY_FILE = "node-identity"


class BackupError(RuntimeError):
    """A backup or restore that can't be made; says why and what to do."""


@dataclass(frozen=True)
class Folders:
    """The installation's folders a backup carries besides the database."""

    recordings: Path
    attachments: Path
    spool: Path


@dataclass
class Summary:
    database: str
    files: dict[str, str] = field(default_factory=dict)  # relative path: sha256

    def count(self, folder: str) -> int:
        return sum(1 for name in self.files if name.startswith(f"{folder}/"))


def _kind(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"unsupported database {backend!r}: sqlite or postgresql")
    return backend


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump/pg_restore, and the environment carrying the password."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip() or result.returncode}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    """Every regular file under ``folder``, relative to it, in a stable order."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path.relative_to(folder)


def _copy(source: Path, target: Path) -> str:
    """Copy one file durably (to a temporary name, then renamed); its SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.restore-tmp")
    shutil.copy2(source, temporary)
    _fsync(temporary)
    os.replace(temporary, target)
    return _sha256(target)


def _read_counter(path: Path) -> str:
    """A ticket counter, read under the IVR's lock (never half-written)."""
    with path.open("r") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        return handle.read()


def _existing(folder: Path, what: str) -> Path:
    if not folder.is_dir():
        raise BackupError(f"the {what} folder {folder} does not exist")
    return folder


def backup(database_url: str, folders: Folders, target: Path) -> Summary:
    """Write a new backup into ``target`` (a new or empty folder)."""
    url = make_url(database_url)
    kind = _kind(url)
    recordings = _existing(folders.recordings, "recordings")
    spool = _existing(folders.spool, "IVR spool")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: each backup goes into a new folder")
    target.mkdir(parents=True, exist_ok=True)
    summary = Summary(kind)
    if kind == "sqlite":
        database = _sqlite_path(url)
        if not database.is_file():
            raise BackupError(f"the SQLite database {database} does not exist")
        connection = sqlite3.connect(database)
        try:
            connection.execute("VACUUM INTO ?", (str(target / SQLITE_FILE),))
        finally:
            connection.close()
        dump = SQLITE_FILE
    else:
        conninfo, env = _libpq(url)
        dump = PG_FILE
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={target / PG_FILE}",
                f"--dbname={conninfo}",
            ],
            env,
        )
    _fsync(target / dump)
    summary.files[dump] = _sha256(target / dump)
    for name in _files(recordings):
        summary.files[f"recordings/{name}"] = _copy(recordings / name, target / "recordings" / name)
    attachments = folders.attachments
    for name in _files(attachments) if attachments.is_dir() else ():
        if not name.name.startswith(TEMP_PREFIX):
            copy = target / "attachments" / name
            summary.files[f"attachments/{name}"] = _copy(attachments / name, copy)
    for name in _files(spool):
        copy = target / "spool" / name
        if name.name.startswith(COUNTER_PREFIX):
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(_read_counter(spool / name))
            _fsync(copy)
            summary.files[f"spool/{name}"] = _sha256(copy)
        elif not name.name.endswith(".tmp"):
            summary.files[f"spool/{name}"] = _copy(spool / name, copy)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "database": kind,
        "files": summary.files,
    }
    temporary = target / f".{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    _fsync(temporary)
    os.replace(temporary, target / MANIFEST)
    _fsync(target)
    return summary


def read_manifest(folder: Path) -> Summary:
    """The backup's manifest, after checking every file it lists."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(
            f"{folder} holds no {MANIFEST}: not a backup, or an unfinished one"
        ) from None
    except json.JSONDecodeError as exc:
        raise BackupError(f"{folder / MANIFEST} is damaged: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not {FORMAT}")
    summary = Summary(str(manifest["database"]), dict(manifest["files"]))
    for name, digest in summary.files.items():
        path = folder / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"the backup's {name} is missing or damaged (SHA-256 differs)")
    return summary


def _conflicts(summary: Summary, folder: Path, prefix: str) -> list[str]:
    """Files of the backup that exist in ``folder`` with other content."""
    clashes = []
    for name, digest in summary.files.items():
        if not name.startswith(f"{prefix}/"):
            continue
        relative = name.removeprefix(f"{prefix}/")
        existing = folder / relative
        if Path(relative).name.startswith(COUNTER_PREFIX) or relative == IDENTITY_FILE:
            continue  # counters are raised, an identity kept: never a clash
        if existing.exists() and _sha256(existing) != digest:
            clashes.append(str(existing))
    return clashes


def _owned_like(path: Path, folder: Path) -> None:
    if os.geteuid() == 0:
        owner = folder.stat()
        os.chown(path, owner.st_uid, owner.st_gid)


def _restore_files(summary: Summary, source: Path, folder: Path, prefix: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, digest in summary.files.items():
        if not name.startswith(f"{prefix}/"):
            continue
        relative = Path(name.removeprefix(f"{prefix}/"))
        target = folder / relative
        if relative.name.startswith(COUNTER_PREFIX):
            _raise_counter(source / name, folder, relative)
        elif target.exists() and (relative.name == IDENTITY_FILE or _sha256(target) == digest):
            continue
        else:
            for parent in reversed(relative.parents[:-1]):
                if not (folder / parent).exists():
                    (folder / parent).mkdir()
                    _owned_like(folder / parent, folder)
            if _copy(source / name, target) != digest:
                raise BackupError(f"{target} was not written whole")
        if target.exists():
            _owned_like(target, folder)


def _raise_counter(copy: Path, spool: Path, relative: Path) -> None:
    node = int(relative.name.removeprefix(COUNTER_PREFIX))
    text = copy.read_text().strip()
    if text:
        tickets = TicketIssuer((spool / relative).parent, node)
        tickets.raise_to(f"{node:02d}{int(text):0{SEQUENCE_DIGITS}d}")


def restore(database_url: str, folders: Folders, source: Path) -> Summary:
    """Restore the backup in ``source``: into an empty database, and next to (never over)
    the recordings, attachments and spool files there are."""
    summary = read_manifest(source)
    url = make_url(database_url)
    kind = _kind(url)
    if kind != summary.database:
        raise BackupError(
            f"the backup holds a {summary.database} database and the target is {kind}:"
            " restore into the same kind, then `lapor db copy` to move it"
        )
    if full := _holds_data(url):
        raise BackupError(
            f"the database already holds data (table {full} has rows): restore into an empty"
            " one (docs/operations.md says how to make one)"
        )
    places = {
        "recordings": folders.recordings,
        "attachments": folders.attachments,
        "spool": folders.spool,
    }
    clashes = [
        clash for prefix, folder in places.items() for clash in _conflicts(summary, folder, prefix)
    ]
    if clashes:
        raise BackupError(
            f"{len(clashes)} file(s) exist with other content than the backup's, first"
            f" {clashes[0]}: move them aside and restore again"
        )
    if kind == "sqlite":
        _restore_sqlite(source / SQLITE_FILE, _sqlite_path(url))
    else:
        conninfo, env = _libpq(url)
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={conninfo}",
                str(source / PG_FILE),
            ],
            env,
        )
    for prefix, folder in places.items():
        _restore_files(summary, source, folder, prefix)
    return summary


def _holds_data(url: URL) -> str | None:
    """The first table with rows in the target database (a missing SQLite file has none:
    it is not created by looking)."""
    if url.get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        return None
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            return first_table_with_rows(connection)
    finally:
        engine.dispose()


def _restore_sqlite(copy: Path, database: Path) -> None:
    """SQLite's online backup, page by page, into the (empty) database file."""
    database.parent.mkdir(parents=True, exist_ok=True)
    reading = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    writing = sqlite3.connect(database)
    try:
        reading.backup(writing)
    finally:
        writing.close()
        reading.close()
