#!/usr/bin/env python3
"""greet: answer, play the welcome prompt, mark the call as greeted."""

from __future__ import annotations

from ivr import Channel
from ivr.metrics import observe_greeting

WELCOME_PROMPT = "lapor/selamat-datang"


async def greet(channel: Channel) -> None:
    await channel.answer()
    observe_greeting(channel)
    await channel.stream_file(WELCOME_PROMPT)
    await channel.set_variable("LAPOR_GREETED", channel.request.uniqueid)


if __name__ == "__main__":
    from ivr.classic import run_classic

    raise SystemExit(run_classic(greet))
