"""The daily report goes out by email (a real SMTP server) and Telegram (a fake Bot API),
each channel once, retried with backoff and recorded in ``report_delivery``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date

import pytest
from sqlmodel import Session

from api import cli
from api.core.auth import Role
from api.core.settings import ApiSettings
from api.reports import delivery, labels, pdf, render, service
from api.reports.schemas import DailyReportContent
from tests.conftest import ApiHarness
from tests.integration.delivery_fakes import Mailbox, TelegramFake, smtp_server, telegram_api
from tests.integration.report_seed import DAY, seed

ROLES = ("collector", "ivr", "agent", "supervisor", "leadership")
TOKEN = "123456789:AAtestTOKENtestTOKENtestTOKEN_x-1"
CHAT = "-1001234567890"
RECIPIENTS = ["walikota@bandarlampung.example", "sekda@bandarlampung.example"]


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def telegram() -> Iterator[tuple[TelegramFake, str]]:
    with telegram_api() as fake:
        yield fake


def settings_for(
    api: ApiHarness, smtp_port: int, telegram_url: str | None = None, **more: object
) -> ApiSettings:
    telegram = (
        {"telegram_bot_token": TOKEN, "telegram_chat_id": CHAT, "telegram_api_url": telegram_url}
        if telegram_url
        else {}
    )
    values: dict[str, object] = {
        "database_url": api.engine.url.render_as_string(hide_password=False),
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_security": "none",
        "smtp_from": "pusat-panggilan@bandarlampung.example",
        "report_recipients": RECIPIENTS,
        "delivery_attempts": 3,
        "delivery_base_delay_seconds": 0.01,
        **telegram,
        **more,
    }
    return ApiSettings.model_validate(values)


def generated(api: ApiHarness, settings: ApiSettings, day: date = DAY) -> DailyReportContent:
    with Session(api.engine) as session:
        report, _ = service.generate(session, day=day, settings=settings)
        return service.load(report)


def deliveries(api: ApiHarness, day: date, role: Role = Role.supervisor) -> list[dict[str, object]]:
    response = api.client.get(
        "/reports/deliveries", params={"day": day.isoformat()}, headers=api.headers(role)
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, object]] = response.json()
    return rows


async def test_the_report_arrives_by_email_and_telegram_once(
    api: ApiHarness, mailbox: tuple[Mailbox, int], telegram: tuple[TelegramFake, str]
) -> None:
    seed(api.client, api.engine, {r: api.headers(Role(r)) for r in ROLES})
    (inbox, port), (bot, url) = mailbox, telegram
    settings = settings_for(api, port, url)
    content = generated(api, settings)
    expected_pdf = pdf.to_pdf(content)

    await asyncio.gather(*(delivery.deliver(api.engine, settings, DAY) for _ in range(2)))
    await delivery.deliver(api.engine, settings, DAY)

    [(rcpt, message)] = inbox.received
    assert rcpt == RECIPIENTS
    assert message["Subject"] == labels.text("delivery", "subject", date=labels.long_date(DAY))
    assert message["From"] == "pusat-panggilan@bandarlampung.example"
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    # SMTP carries lines ending in CRLF.
    assert body.get_content().replace("\r\n", "\n") == render.to_html(content)
    [attachment] = message.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"laporan-harian-{DAY.isoformat()}.pdf"
    assert attachment.get_content() == expected_pdf

    [document] = bot.received
    assert (document.token, document.chat_id) == (TOKEN, CHAT)
    assert document.filename == f"laporan-harian-{DAY.isoformat()}.pdf"
    assert document.data == expected_pdf
    assert f"{content.calls.offered} panggilan masuk" in document.caption
    assert f"{len(content.forwarded)} diteruskan kepada Wali Kota" in document.caption

    rows = deliveries(api, DAY)
    assert [(r["channel"], r["status"], r["attempts"], r["last_error"]) for r in rows] == [
        ("email", "sent", 1, None),
        ("telegram", "sent", 1, None),
    ]
    assert rows[0]["target"] == "wa***@bandarlampung.example, se***@bandarlampung.example"
    assert rows[1]["target"] == CHAT
    assert deliveries(api, DAY, Role.admin) == rows
    forbidden = api.client.get(
        "/reports/deliveries", params={"day": DAY.isoformat()}, headers=api.headers(Role.agent)
    )
    assert forbidden.status_code == 403


async def test_a_refusing_server_is_retried_then_failed_then_sent_later(
    api: ApiHarness, mailbox: tuple[Mailbox, int]
) -> None:
    inbox, port = mailbox
    settings = settings_for(api, port)
    generated(api, settings)
    inbox.refusing = True

    [row] = await delivery.deliver(api.engine, settings, DAY)

    assert (row.channel, row.status, row.attempts) == ("email", "failed", 3)
    assert inbox.refused == 3
    assert row.last_error is not None
    assert "554" in row.last_error
    assert "Pesan ditolak" in row.last_error
    assert row.sent_at is None
    assert inbox.received == []

    inbox.refusing = False
    [row] = await delivery.deliver(api.engine, settings, DAY)

    assert (row.status, row.attempts, row.last_error) == ("sent", 4, None)
    assert row.sent_at is not None
    assert len(inbox.received) == 1
    assert inbox.refused == 3


async def test_a_stopped_server_fails_with_the_reason_and_a_bot_api_error_is_recorded(
    api: ApiHarness, telegram: tuple[TelegramFake, str]
) -> None:
    with smtp_server() as (_, port):
        pass  # stopped: nothing listens on that port now
    settings = settings_for(
        api, port, telegram[1], delivery_attempts=2, telegram_chat_id="@bukan_grup_ini"
    )
    generated(api, settings)
    bot, _ = telegram

    rows = await delivery.deliver(api.engine, settings, DAY)

    email, sent = rows
    assert (email.status, email.attempts) == ("failed", 2)
    assert email.last_error is not None
    assert "ConnectionRefusedError" in email.last_error
    # The fake takes any chat; what matters is that it got the configured one.
    assert (sent.status, sent.target, bot.received[0].chat_id) == (
        "sent",
        "@bukan_grup_ini",
        "@bukan_grup_ini",
    )


async def test_a_day_without_a_report_sends_nothing(
    api: ApiHarness, mailbox: tuple[Mailbox, int]
) -> None:
    inbox, port = mailbox
    settings = settings_for(api, port)
    with pytest.raises(Exception, match="no daily report"):
        await delivery.deliver(api.engine, settings, DAY)
    assert inbox.received == []


async def test_nothing_configured_delivers_nothing(api: ApiHarness) -> None:
    settings = ApiSettings(database_url=api.engine.url.render_as_string(hide_password=False))
    generated(api, settings)
    assert await delivery.deliver(api.engine, settings, DAY) == []
    assert deliveries(api, DAY) == []


def test_lapor_report_deliver(
    api: ApiHarness,
    mailbox: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inbox, port = mailbox
    generated(api, settings_for(api, port))
    monkeypatch.setenv("LAPOR_API_DATABASE_URL", api.engine.url.render_as_string(False))
    assert cli.main(["report", "deliver", "--day", DAY.isoformat()]) == 1
    assert "no delivery configured" in capsys.readouterr().err
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "SMTP_FROM": "pusat-panggilan@bandarlampung.example",
        "REPORT_RECIPIENTS": ",".join(RECIPIENTS),
    }.items():
        monkeypatch.setenv(f"LAPOR_API_{name}", value)
    for _ in range(2):
        assert cli.main(["report", "deliver", "--day", DAY.isoformat()]) == 0
        out = capsys.readouterr().out
        assert f"{DAY} email to wa***@bandarlampung.example" in out
        assert "sent, 1 attempts" in out
    assert len(inbox.received) == 1
    assert cli.main(["report", "deliver", "--day", "2026-11-21"]) == 1
    assert "no daily report for 2026-11-21" in capsys.readouterr().err
