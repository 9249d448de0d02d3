"""How Asterisk 22 reads what we send, re-implemented from its C source for the tests.

- ``agi_args``: res_agi.c ``parse_args`` (an AGI command line into words).
- ``app_args``: main/app.c ``__ast_app_separate_args`` (an application's or function's
  argument string into arguments: commas split outside parentheses, brackets and quotes;
  quotes are removed; a backslash keeps the next character).
- ``ami_actions``: main/manager.c ``get_input``/``do_message`` (lines end at LF with an
  optional CR; an empty line ends an action; a header is split at its first colon).
"""

from __future__ import annotations


def agi_args(line: str) -> list[str]:
    args: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and current is None:
                current = []
                args.append("")
            continue
        if char in " \t" and not quoted and not escaped:
            if current is not None:
                args[-1] = "".join(current)
            current = None
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if current is None:
            current = []
            args.append("")
        current.append(char)
        escaped = False
    if current is not None:
        args[-1] = "".join(current)
    return args


def app_args(data: str, delim: str = ",") -> list[str]:
    args: list[str] = []
    current: list[str] = []
    depth = {"(": 0, "[": 0}
    closing = {")": "(", "]": "["}
    quoted = escaped = False
    for char in data:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == delim and not (any(depth.values()) or quoted):
            args.append("".join(current))
            current = []
        else:
            if char in depth:
                depth[char] += 1
            elif char in closing:
                depth[closing[char]] = max(0, depth[closing[char]] - 1)
            current.append(char)
    args.append("".join(current))
    return args


def ami_actions(data: bytes) -> list[list[tuple[str, str]]]:
    actions: list[list[tuple[str, str]]] = []
    headers: list[tuple[str, str]] = []
    for raw in data.decode("utf-8", errors="replace").split("\n"):
        line = raw.removesuffix("\r")
        if line:
            key, _, value = line.partition(":")
            headers.append((key.strip(), value.strip()))
        elif headers:
            actions.append(headers)
            headers = []
    if headers:
        actions.append(headers)
    return actions
