"""What every Lapor command shares: ``--version``, and a help text that lists the
environment variables a service reads (its settings come from the environment only).

The lists are generated from the settings classes, so the help can't fall behind them.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_settings import BaseSettings

PACKAGE = "lapor-callcenter"


def package_version() -> str:
    """The installed distribution's version (pyproject.toml's, for an editable install)."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:  # the code run from a folder that was never installed
        return "unknown"


def add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")


def shown(default: object) -> str:
    """A default as the help shows it: an empty secret or an unset path reads as such."""
    if default is None:
        return "(unset)"
    if default == "" or default == []:
        return "(empty)"
    return str(default)


def settings_env(settings: type[BaseSettings]) -> list[tuple[str, object]]:
    """Each ``pydantic-settings`` field as (its environment variable, its default)."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    return [
        (f"{prefix}{name}".upper(), field.get_default(call_default_factory=True))
        for name, field in settings.model_fields.items()
    ]


def settings_problem(exc: ValidationError, prefix: str) -> str:
    """A settings ValidationError in one line: ``VARIABLE: what is wrong`` for each field
    (the input is not echoed: it may be a secret)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        field = "_".join(str(part) for part in error["loc"]).upper()
        problems.append(f"{prefix}{field}: {error['msg']}" if field else str(error["msg"]))
    return "; ".join(problems)


def service_parser(
    prog: str, description: str, env: Iterable[tuple[str, object]], *, env_note: str = ""
) -> argparse.ArgumentParser:
    """A service's parser: ``--help`` (description, then every variable with its default)
    and ``--version``; anything else is a usage error (status 2)."""
    variables = list(env)
    width = max(len(name) for name, _ in variables)
    lines = [f"environment variables{env_note}, with their defaults:"]
    lines += [f"  {name.ljust(width)}  {shown(default)}" for name, default in variables]
    parser = argparse.ArgumentParser(
        prog=prog,
        description=textwrap.fill(description, 79),
        epilog="\n".join(lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_version(parser)
    return parser
