"""``lapor retention run [--dry-run]``; ``lapor citizen export|erase NUMBER``."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from sqlmodel import Session

from api.core.auth import Principal, Role
from api.core.db import make_engine
from api.core.migrate import upgrade
from api.core.run_once import runner_name
from api.core.settings import ApiSettings
from api.retention import citizens, purge

# The audit's actor for a command run on the server (no token behind it).
CLI = Principal(name="lapor-cli", role=Role.admin, token_id=0)


def cmd_run(args: argparse.Namespace, settings: ApiSettings) -> int:
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        if args.dry_run:
            _print(purge.pending(engine, settings))
            return 0
        done = purge.run(engine, settings, trigger="cli", runner=runner_name())
        _print(done.counts)
        return 0
    finally:
        engine.dispose()


def cmd_citizen(args: argparse.Namespace, settings: ApiSettings) -> int:
    if not re.fullmatch(citizens.NUMBER_PATTERN, args.number):
        print("lapor: a number is an optional + and 4 to 20 digits", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            if args.action == "export":
                print(citizens.export(session, args.number, CLI).model_dump_json(indent=2))
            else:
                _print(citizens.erase(session, args.number, CLI, settings.recordings_dir))
        return 0
    finally:
        engine.dispose()


def _print(counts: dict[str, Any]) -> None:
    print(json.dumps(counts, indent=2, sort_keys=True))


def add_commands(sub: Any) -> None:
    retention = sub.add_parser("retention", help="purge personal data past the limit")
    actions = retention.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="purge now (the served API also does it daily)")
    run.add_argument("--dry-run", action="store_true", help="only count what would go")
    run.set_defaults(func=cmd_run)
    citizen = sub.add_parser("citizen", help="one citizen's data on request (audited)")
    commands = citizen.add_subparsers(dest="action", required=True)
    for action, text in (("export", "print it as JSON"), ("erase", "anonymise it everywhere")):
        one = commands.add_parser(action, help=text)
        one.add_argument("number")
        one.set_defaults(func=cmd_citizen)
