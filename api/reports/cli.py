"""``lapor report daily --date D [--force] [--output DIR]``: make a day's report now;
``lapor report deliver --day D``: send a stored report on the channels not yet sent."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session

from api.core.db import make_engine
from api.core.errors import ApiError
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.reports import delivery, pdf, render, service
from api.reports.schemas import DailyReport


def _write(folder: Path, report: DailyReport) -> list[Path]:
    content = service.load(report)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"laporan-harian-{report.day.isoformat()}"
    files = {
        ".json": report.content.encode(),
        ".csv": render.to_csv(content).encode(),
        ".html": render.to_html(content).encode(),
        ".pdf": pdf.to_pdf(content),
    }
    for suffix, data in files.items():
        stem.with_suffix(suffix).write_bytes(data)
    return [stem.with_suffix(s) for s in files]


def cmd_daily(args: argparse.Namespace, settings: ApiSettings) -> int:
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            return _daily(session, args, settings)
    finally:
        engine.dispose()


def _daily(session: Session, args: argparse.Namespace, settings: ApiSettings) -> int:
    day: date = args.date or service.yesterday()
    try:
        report, made = service.generate(session, day=day, settings=settings, force=args.force)
    except ApiError as exc:
        print(f"lapor: {exc.message}", file=sys.stderr)
        return 1
    content = service.load(report)
    print(
        f"daily report {day}: {'generated' if made else 'already stored'};"
        f" {content.calls.offered} calls, {content.complaints.total} new complaints,"
        f" {len(content.forwarded)} forwarded to the mayor"
    )
    for path in _write(args.output, report) if args.output else []:
        print(path)
    return 0


def cmd_deliver(args: argparse.Namespace, settings: ApiSettings) -> int:
    if not delivery.configured(settings):
        print("lapor: no delivery configured (LAPOR_API_SMTP_* or _TELEGRAM_*)", file=sys.stderr)
        return 1
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        rows = asyncio.run(delivery.deliver(engine, settings, args.day))
    except ApiError as exc:
        print(f"lapor: {exc.message}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    for row in rows:
        error = f" ({row.last_error})" if row.status != "sent" and row.last_error else ""
        print(
            f"{row.day} {row.channel} to {row.target}: {row.status}, {row.attempts} attempts{error}"
        )
    return 0 if delivery.all_sent(settings, rows) else 1


def add_commands(sub: Any) -> None:
    """Register ``report daily`` on the ``lapor`` parser."""
    report = sub.add_parser("report", help="the mayor's reports")
    actions = report.add_subparsers(dest="action", required=True)
    daily = actions.add_parser(
        "daily", help="make (or show) the daily report of an Asia/Jakarta day"
    )
    daily.add_argument(
        "--date", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: yesterday)"
    )
    daily.add_argument(
        "--force", action="store_true", help="rebuild a stored report (moves nothing again)"
    )
    daily.add_argument("--output", type=Path, help="also write .json/.csv/.html/.pdf here")
    daily.set_defaults(func=cmd_daily)
    deliver = actions.add_parser(
        "deliver", help="send a stored daily report by email/Telegram (channels not yet sent)"
    )
    deliver.add_argument("--day", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    deliver.set_defaults(func=cmd_deliver)
