"""An API served over real HTTP for browser tests: SQLite, an officer (siti on phone 1001)
and a complaint with its recording, restartable on the same port (an API restart as the
browser sees it), and a collector's token to post events with."""

from __future__ import annotations

import math
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session

from api.complaints.models import ComplaintCategory, ComplaintCreate, create_complaint
from api.core.auth import Role, create_token
from api.core.clock import WorkCalendar
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from tests.browser.server import serving
from tests.people import add_agent

TICKET = "12000042"
CALLER = "6281277778888"


def wav(seconds: float = 2.0, rate: int = 8000) -> bytes:
    """A 440 Hz tone as 16-bit mono WAV (what Asterisk records, in shape)."""
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(seconds * rate))
    )
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + b"data" + struct.pack("<I", len(samples)) + samples


@dataclass
class Site:
    """The API on one SQLite file, restartable on the same port, and a collector token."""

    settings: ApiSettings
    collector: dict[str, str]
    url: str = ""
    _stop: threading.Event | None = None
    _thread: threading.Thread | None = None

    @contextmanager
    def up(self, port: int = 0) -> Iterator[str]:
        with serving(create_app(self.settings), port) as url:
            self.url = url
            yield url

    def post_events(self, events: list[dict[str, Any]]) -> None:
        response = httpx.post(
            f"{self.url}/events", json={"events": events}, headers=self.collector, timeout=10
        )
        response.raise_for_status()


def make_site(tmp_path: Path) -> Site:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    (recordings / f"{TICKET}.wav").write_bytes(wav())
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 'lapor.db'}", ami_port=1, recordings_dir=recordings
    )
    app = create_app(settings)
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_agent(session, "siti", "1001", full_name="Siti Aminah")
        create_complaint(
            session,
            data=ComplaintCreate(
                ticket=TICKET,
                category=ComplaintCategory.infrastruktur,
                caller_number=CALLER,
                line="082282204761",
                recording_path=f"/var/spool/asterisk/recording/{TICKET}.wav",
                uniqueid="1795890000.77",
                taken_at=datetime.now(UTC),
            ),
            calendar=WorkCalendar(),
        )
        token = create_token(session, name="collector", role=Role.collector)
    app.state.engine.dispose()
    return Site(settings, {"Authorization": f"Bearer {token}"})
