"""A fake Asterisk that plays the FastAGI peer over a real TCP connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

# Seconds any single read waits before the test fails instead of hanging.
IO_TIMEOUT = 5.0
DEFAULT_UNIQUEID = "1700000000.1"


def agi_headers(
    script: str = "greet", uniqueid: str = DEFAULT_UNIQUEID, **extra: str
) -> dict[str, str]:
    """The header block Asterisk 22 sends for ``AGI(agi://127.0.0.1/<script>)``."""
    headers = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_request": f"agi://127.0.0.1/{script}",
        "agi_channel": "PJSIP/carrier-00000001",
        "agi_language": "id",
        "agi_type": "PJSIP",
        "agi_uniqueid": uniqueid,
        "agi_version": "22.0.0",
        "agi_callerid": "08123456789",
        "agi_calleridname": "Warga",
        "agi_dnid": "112",
        "agi_rdnis": "unknown",
        "agi_context": "lapor-inbound",
        "agi_extension": "112",
        "agi_priority": "2",
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
        "agi_threadid": "140000000000000",
    }
    headers.update({f"agi_{key}": value for key, value in extra.items()})
    return headers


def header_bytes(headers: Mapping[str, str]) -> bytes:
    return ("".join(f"{key}: {value}\n" for key, value in headers.items()) + "\n").encode()


class AGIPeer:
    """Asterisk's side of one FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> AGIPeer:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), IO_TIMEOUT)
        return cls(reader, writer)

    async def write(self, *chunks: bytes, pause: float = 0.0) -> None:
        """Write chunks as separate TCP writes, draining (and pausing) between them."""
        for index, chunk in enumerate(chunks):
            if index and pause:
                await asyncio.sleep(pause)
            self.writer.write(chunk)
            await self.writer.drain()

    async def send_headers(self, script: str = "greet", **headers: str) -> None:
        await self.write(header_bytes(agi_headers(script, **headers)))

    async def read_command(self) -> str:
        line = await asyncio.wait_for(self.reader.readline(), IO_TIMEOUT)
        if not line.endswith(b"\n"):
            raise AssertionError(f"connection closed instead of a command (got {line!r})")
        return line.decode().rstrip("\n")

    async def reply(self, *lines: str) -> None:
        await self.write("".join(f"{line}\n" for line in lines).encode())

    async def expect(self, command: str, *reply_lines: str) -> None:
        """Read one command, check it, answer it (``200 result=1`` by default)."""
        assert await self.read_command() == command
        await self.reply(*(reply_lines or ("200 result=1",)))

    async def answer_until_closed(self, reply: str = "200 result=1") -> list[str]:
        """Answer every remaining command with ``reply``; returns the commands."""
        commands: list[str] = []
        while line := await asyncio.wait_for(self.reader.readline(), IO_TIMEOUT):
            commands.append(line.decode().rstrip("\n"))
            await self.reply(reply)
        return commands

    async def read_until_closed(self) -> bytes:
        """Everything the server still sends until it closes the connection."""
        return await asyncio.wait_for(self.reader.read(), IO_TIMEOUT)

    async def read_until_gone(self) -> bytes:
        """Like ``read_until_closed``, without a timeout of its own, and a reset counts as
        closed: a server that closes without reading what the peer sent makes the kernel
        answer with a reset."""
        try:
            return await self.reader.read()
        except ConnectionError:
            return b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), IO_TIMEOUT)
        self.abort()

    def abort(self) -> None:
        """Drop the connection at once, whatever is still buffered."""
        self.writer.transport.abort()


async def flood(port: int, line: bytes, budget: int, host: str = "127.0.0.1") -> bool:
    """Write ``line`` over and over on a new connection: True once the server cut it
    off, False if ``budget`` bytes went through without that."""
    reader, writer = await asyncio.open_connection(host, port)
    chunk = line * max(1, 64 * 1024 // len(line))
    sent = 0
    try:
        while sent < budget:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            if reader.at_eof():
                return True
        return False
    except ConnectionError:
        return True
    finally:
        # Abort, not close: close() first flushes what is still buffered, and a server that
        # stopped reading without closing never lets it, so wait_closed() (and with it a
        # cancelled flood) would hang forever. Seen: test_ivr_flood stuck for 10 minutes.
        writer.transport.abort()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 5)
