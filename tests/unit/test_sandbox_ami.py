"""sandbox/ami.py against a scripted AMI server: an OriginateResponse event that comes
before the Originate action's own response (a fast local call) is still an event."""

from __future__ import annotations

import asyncio

from sandbox.ami import AMIClient
from sandbox.harness import originate_response


def message(**fields: str) -> bytes:
    return ("".join(f"{key}: {value}\r\n" for key, value in fields.items()) + "\r\n").encode()


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"Asterisk Call Manager/9.0.0\r\n")
    while frame := await reader.readuntil(b"\r\n\r\n"):
        fields = dict(line.split(": ", 1) for line in frame.decode().strip().split("\r\n"))
        action_id = fields["ActionID"]
        if fields["Action"] == "Originate":
            # the call was answered before the manager thread wrote the action's response
            writer.write(message(Event="OriginateResponse", ActionID=action_id, Response="Success"))
        writer.write(message(Response="Success", ActionID=action_id))
        await writer.drain()


async def test_an_originate_response_before_the_actions_response_is_an_event() -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, await AMIClient.connect("127.0.0.1", port, "u", "s") as ami:
        reply = await ami.action("Originate", Channel="PJSIP/1@x")
        assert reply == {"Response": "Success", "ActionID": reply["ActionID"]}
        event = await ami.wait_for(originate_response(reply["ActionID"]), 2)
        assert event["Event"] == "OriginateResponse"
