"""The import's batches keep each call's queue_log lines together."""

from __future__ import annotations

from api.events.bulk import EventRow
from api.queue_log import parse_row
from api.queue_log._batches import by_call

T = 1795890000


def rows(*lines: str) -> list[tuple[EventRow, int]]:
    parsed = [parse_row(line, "cc1") for line in lines]
    return [(row, n) for n, row in enumerate(parsed, start=1) if row is not None]


def test_a_call_is_held_back_until_its_last_verb() -> None:
    log = rows(
        f"{T}|1.1|q|NONE|ENTERQUEUE||0811|1",
        f"{T + 1}|1.2|q|NONE|ENTERQUEUE||0812|2",
        f"{T + 2}|1.1|q|a|CONNECT|2|1.3|1",
        f"{T + 3}|NONE|q|a|PAUSE|lunch",
        f"{T + 9}|1.1|q|a|COMPLETEAGENT|2|7|1",
        f"{T + 10}|1.2|q|NONE|ABANDON|2|2|9",
    )
    batches = list(by_call(log, size=2))
    calls = [[(r.linkedid, r.fields["Verb"]) for r in batch] for batch, _ in batches]
    assert calls == [
        [(None, "PAUSE"), ("1.1", "ENTERQUEUE"), ("1.1", "CONNECT"), ("1.1", "COMPLETEAGENT")],
        [("1.2", "ENTERQUEUE"), ("1.2", "ABANDON")],
        [],
    ]
    assert [done for _, done in batches] == [5, 6, 6]  # bytes read when each was cut


def test_a_call_quiet_for_an_hour_is_let_go() -> None:
    log = rows(
        f"{T}|1.1|q|NONE|ENTERQUEUE||0811|1",
        *(f"{T + 4000 + i}|NONE|q|a|PAUSE|x{i}" for i in range(3)),
    )
    first, _ = next(by_call(log, size=2))
    assert [r.linkedid for r in first] == [None, None, "1.1"]
