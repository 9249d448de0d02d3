"""``lapor``: administration commands for the API's database."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlmodel import Session

from api.core.auth import Role, create_token, revoke_token
from api.core.command import run
from api.core.db import make_engine
from api.core.errors import ApiError
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.ops.cli import add_commands as add_ops_commands
from api.people.bootstrap import add_command as add_bootstrap_command
from api.people.users import create_user
from api.queue_log.cli import add_commands as add_queue_log_commands
from api.reports.cli import add_commands as add_report_commands
from api.retention.cli import add_commands as add_retention_commands
from ivr.commandline import add_version


def cmd_db_upgrade(args: argparse.Namespace, settings: ApiSettings) -> int:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    print("database schema is up to date")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: ApiSettings) -> int:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with Session(engine) as session:
        token = create_token(session, name=args.name, role=Role(args.role))
    print(token)
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: ApiSettings) -> int:
    with Session(make_engine(settings.database_url)) as session:
        count = revoke_token(session, name=args.name)
    print(f"revoked {count} token(s) named {args.name}")
    return 0 if count else 1


def cmd_user_create_admin(args: argparse.Namespace, settings: ApiSettings) -> int:
    password = os.environ.get("LAPOR_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with Session(engine) as session:
        try:
            user = create_user(
                session,
                username=args.username,
                password=password,
                role=Role.admin,
                full_name=args.full_name,
            )
        except ApiError as exc:
            print(f"lapor: {exc.message}", file=sys.stderr)
            return 1
    print(f"created admin {user.username} (id {user.id})")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lapor", description=__doc__)
    add_version(p)
    sub = p.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply all migrations").set_defaults(func=cmd_db_upgrade)
    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    create = token.add_parser("create", help="create a token and print it once")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", required=True, help="who uses it, e.g. ivr-node-1")
    create.set_defaults(func=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke every token with this name")
    revoke.add_argument("--name", required=True)
    revoke.set_defaults(func=cmd_token_revoke)
    user = sub.add_parser("user", help="people").add_subparsers(dest="action", required=True)
    admin = user.add_parser(
        "create-admin", help="create an admin (password from LAPOR_ADMIN_PASSWORD or a prompt)"
    )
    admin.add_argument("--username", required=True)
    admin.add_argument("--full-name", default="Administrator")
    admin.set_defaults(func=cmd_user_create_admin)
    add_bootstrap_command(sub)
    add_queue_log_commands(sub)
    add_report_commands(sub)
    add_retention_commands(sub)
    add_ops_commands(sub, db)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; a usage error exits 2, an expected failure (unreachable database,
    bad URL or settings, missing file) prints one line and returns 1."""
    args = parser().parse_args(argv)

    def command() -> int:
        result: int = args.func(args, ApiSettings())
        return result

    return run("lapor", command)


if __name__ == "__main__":
    sys.exit(main())
