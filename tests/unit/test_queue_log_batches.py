"""The import's batches keep each call's queue_log lines together."""

from __future__ import annotations

from api.queue_log import split_line
from api.queue_log._batches import by_call

T = 1795890000


def lines(*texts: str) -> list[tuple[list[str], int]]:
    parsed = [split_line(text) for text in texts]
    return [(parts, n) for n, parts in enumerate(parsed, start=1) if parts is not None]


def test_a_call_is_held_back_until_its_last_verb() -> None:
    log = lines(
        f"{T}|1.1|q|NONE|ENTERQUEUE||0811|1",
        f"{T + 1}|1.2|q|NONE|ENTERQUEUE||0812|2",
        f"{T + 2}|1.1|q|a|CONNECT|2|1.3|1",
        f"{T + 3}|NONE|q|a|PAUSE|lunch",
        f"{T + 9}|1.1|q|a|COMPLETEAGENT|2|7|1",
        f"{T + 10}|1.2|q|NONE|ABANDON|2|2|9",
    )
    batches = list(by_call(log, size=2))
    calls = [
        ({k: [p[4] for p in v] for k, v in b.calls.items()}, [p[4] for p in b.others])
        for b in batches
    ]
    assert calls == [
        ({"1.1": ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]}, ["PAUSE"]),
        ({"1.2": ["ENTERQUEUE", "ABANDON"]}, []),
        ({}, []),
    ]
    assert [b.done for b in batches] == [5, 6, 6]  # bytes read when each was cut


def test_a_call_quiet_for_an_hour_is_let_go() -> None:
    log = lines(
        f"{T}|1.1|q|NONE|ENTERQUEUE||0811|1",
        *(f"{T + 4000 + i}|NONE|q|a|PAUSE|x{i}" for i in range(3)),
    )
    first = next(by_call(log, size=2))
    assert (list(first.calls), len(first.others)) == (["1.1"], 2)
