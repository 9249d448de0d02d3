"""FastAGI server against a fake Asterisk over real TCP: the wire edge cases."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import pytest

from agi_scripts.routes import ROUTES
from ivr import (
    AGICommandError,
    AGIError,
    AGIHangup,
    AGIUsageError,
    CallOutcome,
    Channel,
    DigitsResult,
    FastAGIServer,
    Handler,
    RecordResult,
    UniqueIdFilter,
)
from ivr.fastagi import LINE_LIMIT, FastAGILimits
from tests.integration.agi_peer import DEFAULT_UNIQUEID, AGIPeer, agi_headers, header_bytes
from tests.integration.agi_servers import AGIServers, RunningServer

OUTCOME_TIMEOUT = 5.0


class StartServer(Protocol):
    def __call__(
        self, routes: Mapping[str, Handler], header_timeout: float = ...
    ) -> Awaitable[RunningServer]: ...


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    servers = AGIServers(OUTCOME_TIMEOUT)

    async def start(routes: Mapping[str, Handler], header_timeout: float = 5.0) -> RunningServer:
        return await servers.start(routes, limits=FastAGILimits(header_timeout=header_timeout))

    yield start
    await servers.close()


async def do_nothing(channel: Channel) -> None:
    pass


async def answer_only(channel: Channel) -> None:
    await channel.answer()


# (a)
async def test_header_timeout_closes_connection(start_server: StartServer) -> None:
    sut = await start_server({"greet": do_nothing}, header_timeout=0.2)
    peer = await sut.connect()
    await peer.write(b"agi_network: yes\nagi_network_script: greet\n")

    assert await peer.read_until_closed() == b""
    outcome = await sut.next_outcome()
    assert outcome.status == "bad_request"
    assert outcome.error == "header timeout"
    assert sut.server.stats.rejected == 1


# (b)
async def test_hangup_line_before_reply_is_out_of_band(start_server: StartServer) -> None:
    seen: dict[str, object] = {}

    async def handler(channel: Channel) -> None:
        seen["digit"] = await channel.stream_file("lapor/menu", "12")
        seen["hung_up"] = channel.hung_up
        seen["number"] = await channel.get_variable("CALLERID(num)")
        await channel.answer()

    sut = await start_server({"greet": handler})
    peer = await sut.connect()
    await peer.send_headers()
    await peer.expect("STREAM FILE lapor/menu 12", "HANGUP", "200 result=49 endpos=1000")
    await peer.expect("GET VARIABLE CALLERID(num)", "200 result=1 (08123456789)")

    # ANSWER is refused locally: nothing more reaches the wire.
    assert await peer.read_until_closed() == b""
    assert seen == {"digit": "1", "hung_up": True, "number": "08123456789"}
    assert (await sut.next_outcome()).status == "hangup"


async def test_stream_file_minus_one_then_hangup_raises(start_server: StartServer) -> None:
    sut = await start_server({"greet": ROUTES["greet"]})
    peer = await sut.connect()
    await peer.send_headers()
    await peer.expect("ANSWER", "200 result=0")
    # Asterisk answers -1 and then announces the hangup before the next reply.
    await peer.expect('STREAM FILE lapor/selamat-datang ""', "200 result=-1 endpos=0")
    await peer.expect("NOOP", "HANGUP", "200 result=0")

    assert await peer.read_until_closed() == b""
    assert (await sut.next_outcome()).status == "hangup"


async def test_stream_file_missing_prompt_is_not_a_hangup(start_server: StartServer) -> None:
    sut = await start_server({"greet": ROUTES["greet"]})
    peer = await sut.connect()
    await peer.send_headers()
    await peer.expect("ANSWER", "200 result=0")
    await peer.expect('STREAM FILE lapor/selamat-datang ""', "200 result=-1 endpos=0")
    await peer.expect("NOOP", "200 result=0")
    await peer.expect(f"SET VARIABLE LAPOR_GREETED {DEFAULT_UNIQUEID}")
    await peer.expect("SET VARIABLE LAPOR_STATUS OK")

    assert await peer.read_until_closed() == b""
    assert (await sut.next_outcome()).status == "ok"


# (c)
async def test_multiline_520_raises_usage_error_and_stays_in_sync(
    start_server: StartServer,
) -> None:
    seen: dict[str, object] = {}

    async def handler(channel: Channel) -> None:
        with pytest.raises(AGIUsageError) as caught:
            await channel.say_digits("12")
        seen["usage"] = caught.value.usage
        seen["after"] = await channel.get_variable("AFTER")

    sut = await start_server({"greet": handler})
    peer = await sut.connect()
    await peer.send_headers()
    await peer.expect(
        'SAY DIGITS 12 ""',
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: SAY DIGITS <number> <escape_digits>",
        "  Say a given digit string.",
        "520 End of proper usage.",
    )
    await peer.expect("GET VARIABLE AFTER", "200 result=1 (in sync)")
    await peer.expect("SET VARIABLE LAPOR_STATUS OK")

    assert await peer.read_until_closed() == b""
    assert seen == {
        "usage": " Usage: SAY DIGITS <number> <escape_digits>\n  Say a given digit string.",
        "after": "in sync",
    }
    assert (await sut.next_outcome()).status == "ok"


# (d)
@pytest.mark.parametrize(
    ("name", "split_inside_name_at"),
    [
        ("Jos\u00e9", 4),  # between the two bytes of "é"
        ("Siti Aisyah", 5),
        ("B\u1eedu \u0110\u1ee9c", 2),  # inside the three bytes of "ử"
    ],
)
async def test_utf8_split_across_writes_survives(
    start_server: StartServer, name: str, split_inside_name_at: int
) -> None:
    seen: list[str] = []

    async def handler(channel: Channel) -> None:
        seen.append(channel.request.calleridname)

    sut = await start_server({"greet": handler})
    peer = await sut.connect()
    data = header_bytes(agi_headers(calleridname=name))
    split = data.index(name.encode()) + split_inside_name_at
    await peer.write(data[:split], data[split:], pause=0.05)
    await peer.expect("SET VARIABLE LAPOR_STATUS OK")

    assert await peer.read_until_closed() == b""
    assert seen == [name]


class ThreadedServer:
    """A server on its own event loop, so a frozen server loop fails the test, not hangs it."""

    def __init__(self, routes: Mapping[str, Handler], header_timeout: float) -> None:
        self.outcomes: queue.Queue[CallOutcome] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._routes = routes
        self._header_timeout = header_timeout
        self.server: FastAGIServer | None = None

    async def _start(self) -> FastAGIServer:
        server = FastAGIServer(
            self._routes,
            port=0,
            limits=FastAGILimits(header_timeout=self._header_timeout),
            on_call_end=self.outcomes.put,
        )
        await server.start()
        return server

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.bound_port

    async def next_outcome(self) -> CallOutcome:
        return await asyncio.to_thread(self.outcomes.get, timeout=OUTCOME_TIMEOUT)

    @contextmanager
    def running(self) -> Iterator[ThreadedServer]:
        self._thread.start()
        try:
            self.server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
            yield self
            asyncio.run_coroutine_threadsafe(self.server.close(grace=1.0), self._loop).result(5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop.close()


# (e)
async def test_stalled_connections_do_not_block_a_normal_call() -> None:
    with ThreadedServer({"greet": answer_only}, header_timeout=30.0).running() as threaded:
        closed_at_once = await AGIPeer.connect(threaded.port)  # like `nc -z`
        await closed_at_once.close()
        silent = await AGIPeer.connect(threaded.port)
        partial = await AGIPeer.connect(threaded.port)
        await partial.write(b"agi_network: yes\nagi_uniq")
        try:
            normal = await AGIPeer.connect(threaded.port)
            await normal.send_headers()
            await normal.expect("ANSWER", "200 result=0")
            await normal.expect("SET VARIABLE LAPOR_STATUS OK")
            assert await normal.read_until_closed() == b""
            await normal.close()

            statuses = [(await threaded.next_outcome()).status]
            while "ok" not in statuses:
                statuses.append((await threaded.next_outcome()).status)
            assert not silent.reader.at_eof()
            assert not partial.reader.at_eof()
        finally:
            await silent.close()
            await partial.close()
        while len(statuses) < 4:
            statuses.append((await threaded.next_outcome()).status)

    assert sorted(statuses) == ["bad_request", "bad_request", "bad_request", "ok"]


async def test_partial_headers_then_close_is_a_bad_request(start_server: StartServer) -> None:
    sut = await start_server({"greet": do_nothing})
    peer = await sut.connect()
    await peer.write(b"agi_network: yes\nagi_uniq")
    await peer.close()

    outcome = await sut.next_outcome()
    assert outcome.status == "bad_request"
    assert outcome.error == "connection closed in the middle of the headers"


async def test_overlong_header_line_is_a_bad_request(start_server: StartServer) -> None:
    sut = await start_server({"greet": do_nothing})
    peer = await sut.connect()
    await peer.write(b"agi_calleridname: " + b"x" * (LINE_LIMIT + 10) + b"\n\n")

    assert await peer.read_until_closed() == b""
    outcome = await sut.next_outcome()
    assert outcome.status == "bad_request"
    assert outcome.error is not None
    assert "longer than" in outcome.error


async def test_malformed_header_is_a_bad_request(start_server: StartServer) -> None:
    sut = await start_server({"greet": do_nothing})
    peer = await sut.connect()
    await peer.write(b"agi_network: yes\nGET / HTTP/1.1\n\n")

    assert await peer.read_until_closed() == b""
    assert (await sut.next_outcome()).status == "bad_request"


# (f)
async def test_unknown_script_sets_failed_status_and_closes(start_server: StartServer) -> None:
    sut = await start_server({"greet": do_nothing})
    peer = await sut.connect()
    await peer.send_headers(script="nosuch")
    await peer.expect("SET VARIABLE LAPOR_STATUS FAILED")
    await peer.expect('SET VARIABLE LAPOR_ERROR "unknown script: nosuch"')
    verbose = await peer.read_command()
    assert verbose.startswith("VERBOSE ")
    assert "unknown script: nosuch" in verbose
    await peer.reply("200 result=1")

    assert await peer.read_until_closed() == b""
    outcome = await sut.next_outcome()
    assert (outcome.status, outcome.script) == ("unknown_script", "nosuch")
    assert sut.server.stats.rejected == 1


# (g)
def test_sync_handler_rejected_at_construction() -> None:
    def sync_handler(channel: Channel) -> None:
        pass

    routes: dict[str, Any] = {"greet": do_nothing, "sync": sync_handler}
    with pytest.raises(TypeError, match="sync"):
        FastAGIServer(routes)


def test_async_callable_object_accepted() -> None:
    class Menu:
        async def __call__(self, channel: Channel) -> None:
            pass

    FastAGIServer({"menu": Menu()})


# (h)
async def test_query_string_is_stripped_for_routing(start_server: StartServer) -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []

    async def handler(channel: Channel) -> None:
        seen.append((channel.request.script, channel.request.args))

    sut = await start_server({"greet": handler})
    peer = await sut.connect()
    await peer.send_headers(
        script="greet?x=1", request="agi://127.0.0.1/greet?x=1", arg_1="a b", arg_2="2"
    )
    await peer.expect("SET VARIABLE LAPOR_STATUS OK")

    assert await peer.read_until_closed() == b""
    assert seen == [("greet", ("a b", "2"))]
    assert (await sut.next_outcome()).script == "greet"


# (i)
async def test_handler_exception_sets_failed_and_logs_with_uniqueid(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(channel: Channel) -> None:
        logging.getLogger("agi_scripts.broken").info("about to fail")
        raise RuntimeError("boom")

    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(UniqueIdFilter())
    sut = await start_server({"greet": handler})
    peer = await sut.connect()
    await peer.send_headers(uniqueid="1700000099.7")
    await peer.expect("SET VARIABLE LAPOR_STATUS FAILED")
    await peer.expect('SET VARIABLE LAPOR_ERROR "RuntimeError: boom"')
    assert await peer.read_until_closed() == b""
    outcome = await sut.next_outcome()

    assert (outcome.status, outcome.error) == ("failed", "RuntimeError: boom")
    messages = [record.getMessage() for record in caplog.records]
    start = messages.index("call start script=greet channel=PJSIP/carrier-00000001")
    end = messages.index("call end status=failed")
    during_call = caplog.records[start : end + 1]
    assert "about to fail" in messages[start:end]
    assert {getattr(record, "uniqueid", None) for record in during_call} == {"1700000099.7"}
    tracebacks = [record for record in during_call if record.exc_info]
    assert len(tracebacks) == 1
    exc_info = tracebacks[0].exc_info
    assert exc_info is not None
    assert isinstance(exc_info[1], RuntimeError)
    assert getattr(caplog.records[0], "uniqueid", None) == "-"  # "listening", outside a call
    assert sut.server.stats.failed == 1


# (j)
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("200 result=35 (dtmf) endpos=12345", RecordResult("dtmf", "#", 12345)),
        ("200 result=4123 (timeout) endpos=96000", RecordResult("timeout", None, 96000)),
        ("200 result=-1 (hangup) endpos=5000", RecordResult("hangup", None, 5000)),
    ],
)
async def test_record_file_results(
    start_server: StartServer, reply: str, expected: RecordResult
) -> None:
    seen: list[RecordResult] = []

    async def handler(channel: Channel) -> None:
        seen.append(await channel.record_file("/var/spool/lapor/rec-1", silence_s=3))

    sut = await start_server({"greet": handler})
    peer = await sut.connect()
    await peer.send_headers()
    await peer.expect("RECORD FILE /var/spool/lapor/rec-1 wav # 120000 BEEP s=3", reply)
    # SET VARIABLE is still allowed after a hangup.
    await peer.expect("SET VARIABLE LAPOR_STATUS OK")

    assert await peer.read_until_closed() == b""
    assert seen == [expected]


@pytest.mark.parametrize("reason", ["writefile", "waitfor"])
async def test_record_file_failure_raises(start_server: StartServer, reason: str) -> None:
    async def handler(channel: Channel) -> None:
        await channel.record_file("rec", fmt="gsm", escape_digits="", beep=False, timeout_ms=-1)

    sut = await start_server({"greet": handler})
    peer = await sut.connect()
    await peer.send_headers()
    await peer.expect('RECORD FILE rec gsm "" -1', f"200 result=-1 ({reason})")
    await peer.expect("SET VARIABLE LAPOR_STATUS FAILED")
    await peer.expect(
        f'SET VARIABLE LAPOR_ERROR "AGIError: RECORD FILE failed: 200 result=-1 ({reason})"'
    )

    assert await peer.read_until_closed() == b""
    assert (await sut.next_outcome()).status == "failed"


async def call_one(
    start_server: StartServer,
    call: Callable[[Channel], Awaitable[object]],
    command: str,
    *reply: str,
) -> object:
    """Run one channel method against a scripted reply; returns its result or exception."""
    seen: list[object] = []

    async def handler(channel: Channel) -> None:
        try:
            seen.append(await call(channel))
        except AGIError as exc:
            seen.append(exc)

    sut = await start_server({"greet": handler})
    peer = await sut.connect()
    await peer.send_headers()
    await peer.expect(command, *reply)
    await peer.answer_until_closed()
    return seen[0]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("200 result=123", DigitsResult("123", timed_out=False)),
        ("200 result=12 (timeout)", DigitsResult("12", timed_out=True)),
        ("200 result= (timeout)", DigitsResult("", timed_out=True)),
    ],
)
async def test_get_data(start_server: StartServer, reply: str, expected: DigitsResult) -> None:
    result = await call_one(
        start_server,
        lambda ch: ch.get_data("lapor/nomor", 5000, 4),
        "GET DATA lapor/nomor 5000 4",
        reply,
    )
    assert result == expected


async def test_get_data_hangup(start_server: StartServer) -> None:
    result = await call_one(
        start_server, lambda ch: ch.get_data("p", 5000, 4), "GET DATA p 5000 4", "200 result=-1"
    )
    assert isinstance(result, AGIHangup)


@pytest.mark.parametrize(
    ("reply", "expected"), [("200 result=0", None), ("200 result=1 (a b)", "a b")]
)
async def test_get_variable(start_server: StartServer, reply: str, expected: str | None) -> None:
    result = await call_one(start_server, lambda ch: ch.get_variable("X"), "GET VARIABLE X", reply)
    assert result == expected


async def test_exec_joins_arguments_with_commas(start_server: StartServer) -> None:
    result = await call_one(
        start_server,
        lambda ch: ch.exec("Playback", "lapor/terima kasih", "noanswer"),
        'EXEC Playback "lapor/terima kasih,noanswer"',
        "200 result=0",
    )
    assert result == 0


async def test_exec_unknown_application(start_server: StartServer) -> None:
    result = await call_one(start_server, lambda ch: ch.exec("Nope"), "EXEC Nope", "200 result=-2")
    assert isinstance(result, AGICommandError)
    assert "Nope" in str(result)


# (k)
async def test_commands_after_hangup(start_server: StartServer) -> None:
    refused: list[str] = []

    async def handler(channel: Channel) -> None:
        await channel.command("NOOP")
        assert channel.hung_up
        forbidden: dict[str, Callable[[], Awaitable[object]]] = {
            "answer": channel.answer,
            "stream_file": lambda: channel.stream_file("x"),
            "get_data": lambda: channel.get_data("x", 1000, 1),
            "say_digits": lambda: channel.say_digits("1"),
            "record_file": lambda: channel.record_file("x"),
            "channel_status": lambda: channel.command("CHANNEL STATUS"),
        }
        for name, call in forbidden.items():
            with pytest.raises(AGIHangup):
                await call()
            refused.append(name)
        await channel.hangup()  # already gone: nothing to do
        await channel.exec("Log", "NOTICE", "gone")
        await channel.get_variable("X")
        await channel.set_variable("X", "1")
        await channel.command("GET FULL VARIABLE", "${X}")
        await channel.command("DATABASE PUT", "lapor", "k", "v")
        await channel.verbose("still here", 3)
        await channel.command("NOOP")

    sut = await start_server({"greet": handler})
    peer = await sut.connect()
    await peer.send_headers()
    await peer.expect("NOOP", "200 result=0", "HANGUP")
    await peer.expect("EXEC Log NOTICE,gone", "200 result=0")
    await peer.expect("GET VARIABLE X", "200 result=0")
    await peer.expect("SET VARIABLE X 1")
    await peer.expect("GET FULL VARIABLE ${X}", "200 result=1 (1)")
    await peer.expect("DATABASE PUT lapor k v")
    await peer.expect('VERBOSE "still here" 3')
    await peer.expect("NOOP", "200 result=0")
    await peer.expect("SET VARIABLE LAPOR_STATUS OK")

    assert await peer.read_until_closed() == b""
    assert refused == [
        "answer",
        "stream_file",
        "get_data",
        "say_digits",
        "record_file",
        "channel_status",
    ]
    assert (await sut.next_outcome()).status == "ok"


async def test_dead_channel_reply_counts_as_hangup(start_server: StartServer) -> None:
    sut = await start_server({"greet": answer_only})
    peer = await sut.connect()
    await peer.send_headers()
    await peer.expect(
        "ANSWER", "511 Command Not Permitted on a dead channel or intercepted channel"
    )

    assert await peer.read_until_closed() == b""
    assert (await sut.next_outcome()).status == "hangup"


# (l)
async def test_eof_while_awaiting_reply_is_a_hangup(start_server: StartServer) -> None:
    sut = await start_server(ROUTES)
    first = await sut.connect()
    await first.send_headers()
    assert await first.read_command() == "ANSWER"
    await first.close()
    assert (await sut.next_outcome()).status == "hangup"

    second = await sut.connect()
    await second.send_headers(uniqueid="1700000000.2")
    await second.expect("ANSWER", "200 result=0")
    await second.expect('STREAM FILE lapor/selamat-datang ""', "200 result=0 endpos=0")
    await second.expect("SET VARIABLE LAPOR_GREETED 1700000000.2")
    await second.expect("SET VARIABLE LAPOR_STATUS OK")
    assert await second.read_until_closed() == b""
    assert (await sut.next_outcome()).status == "ok"
    assert sut.server.stats.handled == 2


# (m)
async def test_greet_end_to_end(start_server: StartServer) -> None:
    sut = await start_server(ROUTES)
    peer = await sut.connect()
    await peer.send_headers(script="greet")
    await peer.expect("ANSWER", "200 result=0")
    await peer.expect('STREAM FILE lapor/selamat-datang ""', "200 result=0 endpos=48000")
    await peer.expect(f"SET VARIABLE LAPOR_GREETED {DEFAULT_UNIQUEID}")
    await peer.expect("SET VARIABLE LAPOR_STATUS OK")

    assert await peer.read_until_closed() == b""
    outcome = await sut.next_outcome()
    assert outcome == CallOutcome(DEFAULT_UNIQUEID, "greet", "ok")


async def test_close_cancels_a_stuck_handler(start_server: StartServer) -> None:
    sut = await start_server(ROUTES)
    peer = await sut.connect()
    await peer.send_headers()
    assert await peer.read_command() == "ANSWER"  # never answered

    await asyncio.wait_for(sut.server.close(grace=0.1), OUTCOME_TIMEOUT)
    assert await peer.read_until_closed() == b""


async def test_a_call_cut_off_at_shutdown_ends_quietly(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def waits_for_the_caller(channel: Channel) -> None:
        await channel.get_data("lapor/status-masukkan", 8000, 8)

    sut = await start_server({"greet": waits_for_the_caller})
    peer = await sut.connect()
    await peer.send_headers()
    assert (await peer.read_command()).startswith("GET DATA")
    with caplog.at_level(logging.INFO):
        # Asterisk never answers GET DATA: the grace runs out and close() cuts the call off.
        await sut.server.close(grace=0.1)
        await asyncio.sleep(0)  # let asyncio run the connection's done-callback
    assert await peer.read_until_closed() == b""
    assert "call cut off at server shutdown" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
