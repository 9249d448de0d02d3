"""Cut a parsed queue_log into batches that keep each call's lines together.

Two batches stored at once then rarely share a call, so neither waits for the other's
call locks (the ingest's advisory locks still make any overlap safe). A call's lines are
held back until its last verb, or until it has been quiet for an hour of log time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from api.events.bulk import EventRow

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


def by_call(
    rows: Iterable[tuple[EventRow, int]], size: int
) -> Iterator[tuple[list[EventRow], int]]:
    """Batches of about ``size`` rows, each with the offset (bytes) read when it was cut.

    ``rows`` come with the offset after each; whole calls go into a batch together.
    """
    batch: list[EventRow] = []
    open_calls: dict[str, list[EventRow]] = {}
    done = 0
    for row, done in rows:
        if row.linkedid is None:
            batch.append(row)
        else:
            lines = open_calls.setdefault(row.linkedid, [])
            lines.append(row)
            if row.fields.get("Verb") in _LAST_VERBS:
                batch.extend(open_calls.pop(row.linkedid))
        if len(batch) >= size:
            now = row.at.timestamp()
            for linkedid in [
                k for k, v in open_calls.items() if now - v[-1].at.timestamp() > _QUIET
            ]:
                batch.extend(open_calls.pop(linkedid))
            yield batch, done
            batch = []
    for lines in open_calls.values():
        batch.extend(lines)
    yield batch, done
