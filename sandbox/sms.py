"""Citizens' SMS through the sandbox carrier: send them to the call center, read replies.

The carrier stands in for the GSM gateway. It sends an SMS as a SIP MESSAGE on its trunk
to the call center (AMI ``MessageSend``), and raises every MESSAGE the call center sends
back as the UserEvent ``CarrierSms`` (To, and base64 From and Body).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from types import TracebackType

from sandbox.ami import AMIClient, Message
from sandbox.harness import CARRIER_AMI_USER, Sandbox
from sandbox.instance import InstanceError

LINE = "082282204761"
# AMI reads lines of up to 1 KB, so MessageSend carries bodies of about 750 bytes (base64).
AMI_BODY_BYTES = 700


@dataclass(frozen=True)
class Reply:
    body: str
    sender: str


class CarrierPhones:
    """One carrier AMI session; replies are kept from the moment it connects."""

    def __init__(self, sandbox: Sandbox, ami: AMIClient) -> None:
        self.sandbox = sandbox
        self.ami = ami
        self._read: dict[str, int] = {}

    @classmethod
    async def connect(cls, sandbox: Sandbox) -> CarrierPhones:
        ami = await AMIClient.connect(
            "127.0.0.1",
            sandbox.config.carrier_ami_port,
            CARRIER_AMI_USER,
            sandbox.secrets.carrier,
        )
        return cls(sandbox, ami)

    async def __aenter__(self) -> CarrierPhones:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.ami.close()

    async def send(self, sender: str, text: str, line: str = LINE) -> None:
        """Text ``line`` from ``sender``; long bodies go from a file via the carrier dialplan."""
        if len(text.encode()) > AMI_BODY_BYTES:
            await self._send_from_file(sender, text, line)
            return
        result = await self.ami.action(
            "MessageSend",
            Destination=f"pjsip:PJSIP/{line}@callcenter",
            From=f'"Warga" <sip:{sender}@127.0.0.1>',
            Base64Body=base64.b64encode(text.encode()).decode(),
        )
        if result.get("Response") != "Success":
            raise InstanceError(f"MessageSend refused: {result}")

    async def _send_from_file(self, sender: str, text: str, line: str) -> None:
        name = f"sms-{sender}.txt"
        path = self.sandbox.carrier.host(name)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
        variables = f"SMS_LINE={line},SMS_FROM=sip:{sender}@127.0.0.1"
        result = await self.ami.action(
            "Originate",
            Channel="Local/s@sms-send",
            Application="Wait",
            Data="1",
            Variable=f"{variables},SMS_FILE={self.sandbox.carrier.path(name)}",
        )
        if result.get("Response") != "Success":
            raise InstanceError(f"the carrier could not send the SMS: {result}")

    def replies(self, number: str) -> list[Reply]:
        """Every reply the carrier received for ``number`` so far."""
        return [_reply(m) for m in self.ami.events if _for(m, number)]

    async def next_reply(self, number: str, timeout: float) -> Reply:
        """The first reply to ``number`` not returned before (TimeoutError if none comes)."""
        seen = self._read.get(number, 0)
        await self.ami.wait_for(lambda _: len(self.replies(number)) > seen, timeout)
        self._read[number] = seen + 1
        return self.replies(number)[seen]


def _for(message: Message, number: str) -> bool:
    return message.get("UserEvent") == "CarrierSms" and message.get("To") == number


def _reply(message: Message) -> Reply:
    return Reply(
        body=base64.b64decode(message["Body"]).decode(),
        sender=base64.b64decode(message["From"]).decode(),
    )
