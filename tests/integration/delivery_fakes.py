"""Where the daily report is delivered in tests: a real SMTP server (aiosmtpd) and a fake
of the Telegram Bot API's sendDocument, both on free loopback ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Request
from starlette.datastructures import UploadFile

from tests.browser.server import serving


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it accepts; while ``refusing``, answers DATA 554."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refused: int = 0
    refusing: bool = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refusing:
            self.refused += 1
            return "554 5.7.1 Pesan ditolak oleh server uji"
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(([str(r) for r in envelope.rcpt_tos], message))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class Document:
    token: str
    chat_id: str
    caption: str
    filename: str
    data: bytes


@dataclass
class TelegramFake:
    received: list[Document] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/bot{token}/sendDocument")
        async def send_document(token: str, request: Request) -> dict[str, Any]:
            async with request.form() as form:
                document = form["document"]
                assert isinstance(document, UploadFile)
                self.received.append(
                    Document(
                        token=token,
                        chat_id=str(form["chat_id"]),
                        caption=str(form["caption"]),
                        filename=str(document.filename),
                        data=await document.read(),
                    )
                )
            return {"ok": True, "result": {"message_id": len(self.received)}}

        return app


@contextmanager
def telegram_api() -> Iterator[tuple[TelegramFake, str]]:
    fake = TelegramFake()
    with serving(fake.app()) as url:
        yield fake, url
