"""Menus: play a prompt, take one key, re-prompt on a bad or missing key, give up after N.

0 is the officer key in every menu; ``choose`` returns it like any valid choice.
"""

from __future__ import annotations

from collections.abc import Sequence

from ivr.channel import Channel

OFFICER_KEY = "0"
ATTEMPTS = 3
# How long a caller has to press a key after the prompt ends, in milliseconds.
KEY_TIMEOUT_MS = 5000


async def choose(
    channel: Channel,
    prompts: Sequence[str],
    keys: str,
    *,
    invalid_prompt: str,
    no_input_prompt: str,
    attempts: int = ATTEMPTS,
    timeout_ms: int = KEY_TIMEOUT_MS,
) -> str | None:
    """The key pressed (one of ``keys`` or 0), or None after ``attempts`` failures.

    Every prompt can be interrupted by a key, which then counts as the answer.
    """
    allowed = keys + OFFICER_KEY
    for _ in range(attempts):
        key = await _ask(channel, prompts, allowed, timeout_ms)
        if key and key in allowed:
            return key
        await channel.stream_file(invalid_prompt if key else no_input_prompt)
    return None


async def _ask(channel: Channel, prompts: Sequence[str], allowed: str, timeout_ms: int) -> str:
    *leading, last = prompts
    for name in leading:
        key = await channel.stream_file(name, allowed)
        if key:
            return key
    result = await channel.get_data(last, timeout_ms, 1)
    return result.digits
