"""Cut a parsed queue_log into batches that keep each call's lines together.

Two batches stored at once then rarely share a call, so neither waits for the other's
call locks (the advisory locks still make any overlap safe). A call's lines are held back
until its last verb, or until it has been quiet for an hour of log time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from api.events.derive_lines import Line
from api.events.placeholders import call_of

# Verbs after which a queue call has no more lines (app_queue, Asterisk 22).
_LAST_VERBS = {
    "COMPLETECALLER",
    "COMPLETEAGENT",
    "ABANDON",
    "EXITWITHTIMEOUT",
    "EXITEMPTY",
    "EXITWITHKEY",
    "BLINDTRANSFER",
    "ATTENDEDTRANSFER",
}
_QUIET = 3600
# queue_log's callid for lines that belong to no call (agents' changes, queue start-up).
NO_CALL = frozenset({"", "NONE", "REALTIME"})


@dataclass
class Batch:
    calls: dict[str, list[Line]] = field(default_factory=dict)
    others: list[Line] = field(default_factory=list)  # lines of no call, in file order
    size: int = 0  # lines in all
    done: int = 0  # bytes of the file read when the batch was cut


def by_call(lines: Iterable[tuple[Line, int]], size: int) -> Iterator[Batch]:
    """Batches of about ``size`` lines; ``lines`` come with the bytes read after each."""
    batch = Batch()
    open_calls: dict[str, list[Line]] = {}
    done = 0

    def release(callid: str) -> None:
        held = open_calls.pop(callid)
        batch.calls.setdefault(callid, []).extend(held)
        batch.size += len(held)

    for parts, done in lines:
        callid = call_of(parts[1])
        if callid in NO_CALL:
            batch.others.append(parts)
            batch.size += 1
        else:
            open_calls.setdefault(callid, []).append(parts)
            if parts[4] in _LAST_VERBS:
                release(callid)
        if batch.size >= size:
            now = int(parts[0])
            for quiet in [k for k, v in open_calls.items() if now - int(v[-1][0]) > _QUIET]:
                release(quiet)
            batch.done = done
            yield batch
            batch = Batch()
    for callid in list(open_calls):
        release(callid)
    batch.done = done
    yield batch
