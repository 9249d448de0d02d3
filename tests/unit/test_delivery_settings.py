"""The daily report's delivery settings: off unless configured, addresses checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.core.settings import ApiSettings
from api.reports.channels import masked
from api.reports.delivery import configured

SMTP = {"LAPOR_API_SMTP_HOST": "smtp.example.org", "LAPOR_API_SMTP_FROM": "lapor@example.org"}


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ApiSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ApiSettings(_env_file=None)  # type: ignore[call-arg]


def test_nothing_configured_means_no_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    assert configured(settings(monkeypatch)) == {}
    # A host without recipients, or a chat without a bot, is not enough either.
    half = settings(monkeypatch, LAPOR_API_SMTP_HOST="smtp.example.org")
    assert configured(half) == {}


def test_recipients_are_comma_separated_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    ok = settings(monkeypatch, **SMTP, LAPOR_API_REPORT_RECIPIENTS=" a@example.org,b@x.id ,")
    assert ok.report_recipients == ["a@example.org", "b@x.id"]
    assert list(configured(ok)) == ["email"]
    for bad in ("walikota", "Wali Kota <w@example.org>", "a@b", f"{'x' * 65}@example.org"):
        with pytest.raises(ValidationError):
            settings(monkeypatch, **SMTP, LAPOR_API_REPORT_RECIPIENTS=bad)
    too_many = ",".join(f"r{i}@example.org" for i in range(51))
    with pytest.raises(ValidationError):
        settings(monkeypatch, **SMTP, LAPOR_API_REPORT_RECIPIENTS=too_many)


def test_email_needs_a_from_address(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="LAPOR_API_SMTP_FROM"):
        settings(
            monkeypatch,
            LAPOR_API_SMTP_HOST="smtp.example.org",
            LAPOR_API_REPORT_RECIPIENTS="a@example.org",
        )


def test_the_password_may_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("rahasia-smtp-yang-panjang\n")
    read = settings(monkeypatch, LAPOR_API_SMTP_PASSWORD_FILE=str(secret))
    assert read.smtp_password == "rahasia-smtp-yang-panjang"
    assert "rahasia" not in repr(read)
    secret.write_text("x" * 257)
    with pytest.raises(ValidationError):
        settings(monkeypatch, LAPOR_API_SMTP_PASSWORD_FILE=str(secret))


def test_telegram_needs_a_real_looking_token_and_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "123456:" + "A" * 30
    ok = settings(
        monkeypatch, LAPOR_API_TELEGRAM_BOT_TOKEN=token, LAPOR_API_TELEGRAM_CHAT_ID="-100123"
    )
    assert list(configured(ok)) == ["telegram"]
    assert token not in repr(ok)
    for name, bad in (
        ("LAPOR_API_TELEGRAM_BOT_TOKEN", "not a token"),
        ("LAPOR_API_TELEGRAM_CHAT_ID", "walikota"),
        ("LAPOR_API_TELEGRAM_API_URL", "ftp://example.org"),
    ):
        with pytest.raises(ValidationError):
            settings(monkeypatch, **{name: bad})


def test_recipients_are_masked_in_the_record() -> None:
    assert masked("walikota@bandarlampung.go.id") == "wa***@bandarlampung.go.id"
