"""``lapor backup``, ``lapor restore`` and ``lapor db copy`` (docs/operations.md)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.core.settings import ApiSettings
from api.ops.backup import BackupError, Folders, Summary, backup, restore
from api.ops.dbcopy import CopyRefused, copy_urls
from ivr.settings import IvrSettings


def _spool(args: argparse.Namespace) -> Path:
    given: str | None = args.spool
    return Path(given or os.environ.get("LAPOR_IVR_SPOOL_DIR") or IvrSettings.spool_dir)


def cmd_backup(args: argparse.Namespace, settings: ApiSettings) -> int:
    return _files_command(args, settings, backup, "backed up", "into", "backup failed")


def cmd_restore(args: argparse.Namespace, settings: ApiSettings) -> int:
    return _files_command(args, settings, restore, "restored", "from", "restore refused")


def _files_command(
    args: argparse.Namespace,
    settings: ApiSettings,
    action: Callable[[str, Folders, Path], Summary],
    done: str,
    where: str,
    failed: str,
) -> int:
    folders = Folders(
        recordings=Path(args.recordings) if args.recordings else settings.recordings_dir,
        attachments=Path(args.attachments) if args.attachments else settings.attachments_dir,
        spool=_spool(args),
    )
    try:
        summary = action(settings.database_url, folders, Path(args.dir))
    except BackupError as exc:
        print(f"lapor: {failed}: {exc}", file=sys.stderr)
        return 1
    print(
        f"{done} the {summary.database} database, {summary.count('recordings')}"
        f" recording file(s), {summary.count('attachments')} attachment file(s) and"
        f" {summary.count('spool')} spool file(s) {where} {args.dir}"
    )
    return 0


def cmd_db_copy(args: argparse.Namespace, settings: ApiSettings) -> int:
    try:
        result = copy_urls(args.from_url, args.to_url)
    except CopyRefused as exc:
        print(f"lapor: db copy refused: {exc}", file=sys.stderr)
        return 1
    print(f"copied {result}")
    return 0


def _folders(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="the backup's folder")
    parser.add_argument(
        "--recordings", help="the recordings folder (default: LAPOR_API_RECORDINGS_DIR)"
    )
    parser.add_argument(
        "--attachments", help="the attachments folder (default: LAPOR_API_ATTACHMENTS_DIR)"
    )
    parser.add_argument(
        "--spool", help="the IVR spool (default: LAPOR_IVR_SPOOL_DIR or /var/spool/lapor-ivr)"
    )


def add_commands(sub: Any, db: Any) -> None:
    """Register the subcommands on the ``lapor`` parser and its ``db`` group."""
    made = sub.add_parser(
        "backup",
        help="back up the database, recordings, attachments and IVR spool into a new folder",
    )
    _folders(made)
    made.set_defaults(func=cmd_backup)
    back = sub.add_parser(
        "restore",
        help="restore a backup into an empty database (recordings, attachments, spool too)",
    )
    _folders(back)
    back.set_defaults(func=cmd_restore)
    copy = db.add_parser("copy", help="copy every table into an empty database (ids kept)")
    copy.add_argument("from_url", metavar="FROM_URL", help="e.g. sqlite:////var/lib/lapor/lapor.db")
    copy.add_argument(
        "to_url", metavar="TO_URL", help="e.g. postgresql+psycopg://lapor@127.0.0.1/lapor"
    )
    copy.set_defaults(func=cmd_db_copy)
