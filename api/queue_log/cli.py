"""``lapor import-queue-log`` and ``lapor reconcile``: queue_log into the database."""

from __future__ import annotations

import argparse
import errno
import time
from pathlib import Path
from typing import Any

from api.core.db import make_engine
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.events.hourly import Thresholds
from api.queue_log import Progress, import_file


def cmd_import(args: argparse.Namespace, settings: ApiSettings) -> int:
    path = Path(args.file)
    # Before the database is touched: a typo must not migrate (or create) one.
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    engine = make_engine(settings.database_url)
    upgrade(engine)
    since = None
    if getattr(args, "hours", None) is not None:
        since = int(time.time() - 3600 * args.hours)
    started = time.monotonic()
    summary = import_file(
        engine,
        path,
        node=args.node,
        thresholds=Thresholds(settings.short_abandon_seconds, settings.service_level_seconds),
        since=since,
        progress=None if args.quiet else Progress(path.stat().st_size),
    )
    elapsed = time.monotonic() - started
    print(
        f"{path}: {summary} in {elapsed:.1f} s ({summary.lines / max(elapsed, 1e-9):.0f} lines/s)"
    )
    engine.dispose()
    return 0


def add_commands(sub: Any) -> None:
    """Register the subcommands on the ``lapor`` parser."""
    imp = sub.add_parser("import-queue-log", help="load an Asterisk queue_log (idempotent)")
    imp.add_argument("file")
    imp.add_argument("--node", default="callcenter", help="the Asterisk node it came from")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(func=cmd_import)
    rec = sub.add_parser(
        "reconcile", help="fill a collector outage's gaps from queue_log (recent lines only)"
    )
    rec.add_argument("file")
    rec.add_argument("--node", default="callcenter")
    rec.add_argument("--hours", type=float, default=48.0, help="how far back to look")
    rec.add_argument("--quiet", action="store_true")
    rec.set_defaults(func=cmd_import)
