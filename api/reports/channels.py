"""Sending a day's report by email (SMTP) and to a Telegram chat (Bot API sendDocument)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

import httpx

from api.core.settings import ApiSettings
from api.reports import labels, pdf, render
from api.reports.schemas import DailyReportContent


@dataclass(frozen=True)
class Outgoing:
    """What every channel sends of one day's report."""

    subject: str
    caption: str
    html: str
    pdf: bytes
    filename: str


def outgoing(content: DailyReportContent) -> Outgoing:
    day = labels.long_date(content.date)
    caption = labels.text(
        "delivery",
        "caption",
        date=day,
        offered=labels.number(content.calls.offered),
        complaints=labels.number(content.complaints.total),
        forwarded=labels.number(len(content.forwarded)),
    )
    return Outgoing(
        subject=labels.text("delivery", "subject", date=day),
        caption=caption,
        html=render.to_html(content),
        pdf=pdf.to_pdf(content),
        filename=f"laporan-harian-{content.date.isoformat()}.pdf",
    )


def masked(address: str) -> str:
    """``walikota@example.org`` -> ``wa***@example.org``: enough to tell recipients apart."""
    local, _, domain = address.partition("@")
    return f"{local[:2]}***@{domain}"


def email_target(settings: ApiSettings) -> str:
    return ", ".join(masked(a) for a in settings.report_recipients)


def email_message(settings: ApiSettings, report: Outgoing) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = report.subject
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(settings.report_recipients)
    message.set_content(report.html, subtype="html")
    message.add_attachment(
        report.pdf, maintype="application", subtype="pdf", filename=report.filename
    )
    return message


def send_email(settings: ApiSettings, report: Outgoing) -> None:
    """Blocking (smtplib): run it in a thread. Raises on any refusal."""
    timeout = settings.delivery_timeout_seconds
    host, port = settings.smtp_host, settings.smtp_port
    smtp: smtplib.SMTP
    if settings.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(email_message(settings, report))


class TelegramError(Exception):
    pass


async def send_telegram(settings: ApiSettings, report: Outgoing) -> None:
    """POST the PDF to the chat; raises unless the Bot API answers ok."""
    base = settings.telegram_api_url.rstrip("/")
    url = f"{base}/bot{settings.telegram_bot_token}/sendDocument"
    async with httpx.AsyncClient(timeout=settings.delivery_timeout_seconds) as client:
        response = await client.post(
            url,
            data={"chat_id": settings.telegram_chat_id, "caption": report.caption},
            files={"document": (report.filename, report.pdf, "application/pdf")},
        )
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200 or not isinstance(answer, dict) or not answer.get("ok"):
        # The URL holds the bot token: name only the status and the Bot API's description.
        description = answer.get("description", "") if isinstance(answer, dict) else ""
        raise TelegramError(f"Bot API answered {response.status_code}: {description}"[:300])
