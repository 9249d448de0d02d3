"""``lapor bootstrap``: a fresh deployment's first admin and service tokens, in one pass.

It migrates the database, creates the admin if that username does not exist yet, and
makes sure each service has a live token in a file of its own under ``--tokens-dir``:

- ``ivr.token`` (role ivr), read by ``lapor-ivr`` (``LAPOR_IVR_API_TOKEN_FILE``) and, under
  compose, by the classic AGI scripts (docker/asterisk/entrypoint.sh);
- ``collector.token`` (role collector), read by ``lapor-collector``
  (``LAPOR_COLLECTOR_API_TOKEN_FILE``);
- ``gateway.token`` (role gateway), read by Asterisk's SMS dialplan
  (``LAPOR_SMS_API_TOKEN_FILE``).
- ``monitoring.token`` (role monitoring), read by the compose profile's Prometheus to
  scrape ``GET /metrics`` (monitoring/prometheus/prometheus.yml).

Idempotent: a token file whose token is live in the database, with its role, is kept as
it is; a missing file, or one the database does not know (a new database, a revoked
token), gets a new token, and the older tokens of that name are revoked. A second run
changes nothing, neither the files nor the database.

The admin's password comes from ``LAPOR_ADMIN_PASSWORD`` or the file named by
``LAPOR_ADMIN_PASSWORD_FILE``; it is only needed while the admin does not exist, is never
printed, and is never reset by a later run (change it in the console instead). Tokens are
written with mode 0600, never printed either.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.core.auth import ApiToken, Role, create_token, hash_token, revoke_token
from api.core.db import make_engine
from api.core.errors import ApiError
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.people.users import User, create_user
from ivr.placeholders import refuse_placeholder

# (file stem, role) of every service token the deployment needs.
SERVICE_TOKENS: tuple[tuple[str, Role], ...] = (
    ("ivr", Role.ivr),
    ("collector", Role.collector),
    ("gateway", Role.gateway),
    ("monitoring", Role.monitoring),
)
TOKEN_NAME_PREFIX = "bootstrap-"
DEFAULT_TOKENS_DIR = Path("/run/lapor/tokens")
DEFAULT_ADMIN = "admin"


class BootstrapError(Exception):
    """Bootstrap cannot go on: the message says what to fix."""


@dataclass(frozen=True)
class BootstrapResult:
    admin_created: bool
    tokens_created: tuple[str, ...]
    tokens_kept: tuple[str, ...]


def token_file(tokens_dir: Path, stem: str) -> Path:
    return tokens_dir / f"{stem}.token"


def admin_password(env: Mapping[str, str]) -> str | None:
    """``LAPOR_ADMIN_PASSWORD``, else the content of ``LAPOR_ADMIN_PASSWORD_FILE``; never
    ``.env.example``'s placeholder."""
    variable = "LAPOR_ADMIN_PASSWORD"
    password = env.get(variable) or None
    path = env.get("LAPOR_ADMIN_PASSWORD_FILE", "")
    if password is None and path:
        variable += "_FILE"
        try:
            password = Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise BootstrapError(f"cannot read {variable} {path}: {exc.strerror}") from exc
    try:
        refuse_placeholder(password or "", variable)
    except ValueError as exc:
        raise BootstrapError(str(exc)) from None
    return password


def bootstrap(
    engine: Engine,
    tokens_dir: Path,
    *,
    admin_username: str = DEFAULT_ADMIN,
    password: str | None = None,
) -> BootstrapResult:
    """Migrate, then create whatever of the admin and the service tokens is missing."""
    upgrade(engine)
    created: list[str] = []
    kept: list[str] = []
    with Session(engine) as session:
        admin_created = ensure_admin(session, admin_username, password)
        tokens_dir.mkdir(parents=True, exist_ok=True)
        for stem, role in SERVICE_TOKENS:
            if ensure_token(session, token_file(tokens_dir, stem), stem, role):
                created.append(stem)
            else:
                kept.append(stem)
    return BootstrapResult(admin_created, tuple(created), tuple(kept))


def ensure_admin(session: Session, username: str, password: str | None) -> bool:
    """Create the admin unless the username exists (its password is left alone)."""
    existing = session.exec(select(User).where(User.username == username)).first()
    if existing is not None:
        if existing.role is not Role.admin:
            raise BootstrapError(f"user {username!r} exists but is not an admin")
        return False
    if not password:
        raise BootstrapError(
            f"admin {username!r} does not exist yet: set LAPOR_ADMIN_PASSWORD "
            "or LAPOR_ADMIN_PASSWORD_FILE"
        )
    try:
        create_user(
            session,
            username=username,
            password=password,
            role=Role.admin,
            full_name="Administrator",
        )
    except ApiError as exc:
        raise BootstrapError(f"cannot create admin {username!r}: {exc.message}") from exc
    return True


def ensure_token(session: Session, path: Path, stem: str, role: Role) -> bool:
    """Keep ``path``'s token if it is live with ``role``; else replace it. True if new."""
    name = TOKEN_NAME_PREFIX + stem
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        live = session.exec(
            select(ApiToken).where(
                ApiToken.token_hash == hash_token(token),
                ApiToken.name == name,
                ApiToken.role == role,
                ApiToken.revoked_at == None,  # noqa: E711
                ApiToken.expires_at == None,  # noqa: E711
            )
        ).first()
        if token and live is not None:
            return False
    revoke_token(session, name=name)
    write_secret(path, create_token(session, name=name, role=role))
    return True


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` (mode 0600) atomically: a reader sees old or new."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def cmd_bootstrap(args: argparse.Namespace, settings: ApiSettings) -> int:
    engine = make_engine(settings.database_url)
    try:
        password = admin_password(os.environ)
        result = bootstrap(
            engine, Path(args.tokens_dir), admin_username=args.admin_username, password=password
        )
    except (BootstrapError, OSError) as exc:
        print(f"lapor bootstrap: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    admin = "created" if result.admin_created else "already there"
    print(f"admin {args.admin_username}: {admin}")
    for stem in result.tokens_created:
        print(f"token {stem}: new, in {token_file(Path(args.tokens_dir), stem)}")
    for stem in result.tokens_kept:
        print(f"token {stem}: kept")
    return 0


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    boot = sub.add_parser(
        "bootstrap",
        help="migrate, create the admin and the service tokens (idempotent)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    boot.add_argument(
        "--tokens-dir",
        default=os.environ.get("LAPOR_TOKENS_DIR", str(DEFAULT_TOKENS_DIR)),
        help="where the services' token files go (default: $LAPOR_TOKENS_DIR or %(default)s)",
    )
    boot.add_argument(
        "--admin-username", default=os.environ.get("LAPOR_ADMIN_USERNAME", DEFAULT_ADMIN)
    )
    boot.set_defaults(func=cmd_bootstrap)
