"""How the API's commands (``lapor``, ``lapor-api``) end on a failure they expect: one line
on stderr naming what to fix and status 1, not a traceback. Usage errors stay argparse's
(status 2); anything else is a bug and keeps its traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

from pydantic import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError

from api.core.db import DatabaseUrlError
from ivr.commandline import settings_problem

ENV_PREFIX = "LAPOR_API_"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run(prog: str, command: Callable[[], int]) -> int:
    """``command()``'s status, or 1 with ``prog: problem`` on stderr."""
    try:
        return command()
    except DatabaseUrlError as exc:
        problem = f"{ENV_PREFIX}DATABASE_URL: {exc}"
    except ValidationError as exc:
        problem = settings_problem(exc, ENV_PREFIX)
    except (OperationalError, InterfaceError) as exc:
        # Connection refused, unknown host, bad password, a SQLite file that can't be
        # opened: the driver's first line says which.
        cause = exc.orig if exc.orig is not None else exc
        problem = f"database ({ENV_PREFIX}DATABASE_URL): {first_line(cause)}"
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        problem = f"{where}{exc.strerror or first_line(exc)}"
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    print(f"{prog}: {problem}", file=sys.stderr)
    return 1
