"""The import's fast derivation agrees with the general one on any set of queue_log lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from api.events.derive import derive_call
from api.events.derive_lines import derive_lines, line_event

VERBS = [
    "ENTERQUEUE",
    "CONNECT",
    "COMPLETEAGENT",
    "COMPLETECALLER",
    "ABANDON",
    "EXITWITHTIMEOUT",
    "EXITEMPTY",
    "EXITWITHKEY",
    "RINGNOANSWER",
    "RINGCANCELED",
    "BLINDTRANSFER",
    "ATTENDEDTRANSFER",
    "INFO",
]
DATA = st.sampled_from(["", "0", "3", "4", "5", "19", "20", "61", "x", "0812", "1.5"])
AGENTS = st.sampled_from(["", "NONE", "petugas-1001", "petugas-1002"])


@st.composite
def lines(draw: st.DrawFn) -> list[list[str]]:
    count = draw(st.integers(min_value=1, max_value=7))
    out = []
    for _ in range(count):
        epoch = str(1795890000 + draw(st.integers(min_value=0, max_value=6)))
        verb = draw(st.sampled_from(VERBS))
        data = draw(st.lists(DATA, min_size=0, max_size=5))
        out.append([epoch, "1.1", draw(st.sampled_from(["pengaduan", ""])), draw(AGENTS), verb])
        out[-1].extend(data)
    return out


@settings(max_examples=3000)
@given(lines(), st.sampled_from([0, 5, 10]))
def test_fast_path_equals_general_derivation(parts: list[list[str]], short: int) -> None:
    general = derive_call("1.1", [line_event(p) for p in parts], short)
    assert derive_lines(parts, short) == general


def test_an_answered_call() -> None:
    row = derive_lines(
        [
            ["1795890000", "1.1", "pengaduan", "NONE", "ENTERQUEUE", "", "0812", "1"],
            ["1795890009", "1.1", "pengaduan", "petugas-1001", "CONNECT", "9", "1.2", "1"],
            ["1795890069", "1.1", "pengaduan", "petugas-1001", "COMPLETECALLER", "9", "60", "1"],
        ],
        5,
    )
    assert (row.caller, row.agent, row.hold_seconds, row.talk_seconds, row.outcome) == (
        "0812",
        "petugas-1001",
        9,
        60,
        "answered",
    )
