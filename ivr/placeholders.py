"""The ``change-me`` placeholders of ``.env.example``, refused as secrets at start-up.

Every settings class (API, collector, IVR) checks its secrets with ``refuse_placeholder``,
so a deployment that copied ``.env.example`` without replacing a value fails at once,
naming the variable to set, instead of running with a published secret. It lives in
``ivr`` because that is the one package every image ships (the Asterisk image has ``ivr``
and ``agi_scripts``, not ``api``) and it needs only the standard library.
"""

from __future__ import annotations

PLACEHOLDER = "change-me"


def refuse_placeholder(value: str, variable: str, compose_variable: str = "") -> None:
    """ValueError if ``value`` holds a placeholder; the message names ``variable`` and,
    when docker compose fills it from another one in ``.env``, that one too."""
    if PLACEHOLDER not in value.lower():
        return
    via = (
        f" (with docker compose: set {compose_variable} in .env)"
        if compose_variable and compose_variable != variable
        else ""
    )
    raise ValueError(
        f"{variable} holds a {PLACEHOLDER} placeholder from .env.example: replace it with"
        f" a real secret{via}"
    )
