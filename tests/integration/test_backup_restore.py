"""The restore of docs/operations.md, as it says: ``lapor backup DIR``, lose everything,
``lapor restore DIR``; the complaints, recordings, units' attachments and next ticket are
as before.

On SQLite and on a real PostgreSQL (pg_dump and pg_restore), through the ``lapor`` the
operator runs, with the API and the IVR's own ticket counter and outbox around it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlmodel import Session

from api.complaints.models import get_complaint
from api.complaints.workflow import ComplaintStatus
from api.core.auth import Role
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from ivr.outbox import Outbox
from ivr.tickets import TicketIssuer
from tests.conftest import POSTGRES, ApiHarness
from tests.e2e.services import BIN
from tests.integration.test_attachments import PDF, png
from tests.integration.test_complaints_api import complaint

NODE = 10


@dataclass
class Site:
    """One installation: its database, recordings and attachments folders and IVR spool."""

    database_url: str
    recordings: Path
    spool: Path
    attachments: Path

    def lapor(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "LAPOR_API_DATABASE_URL": self.database_url,
            "LAPOR_API_RECORDINGS_DIR": str(self.recordings),
            "LAPOR_API_ATTACHMENTS_DIR": str(self.attachments),
            "LAPOR_IVR_SPOOL_DIR": str(self.spool),
        }
        return subprocess.run(
            [str(BIN / "lapor"), *args], env=env, capture_output=True, text=True, check=False
        )

    @contextmanager
    def api(self) -> Iterator[ApiHarness]:
        app = create_app(
            ApiSettings(
                database_url=self.database_url,
                recordings_dir=self.recordings,
                attachments_dir=self.attachments,
            )
        )
        upgrade(app.state.engine)
        with TestClient(app) as client:
            yield ApiHarness(client, app.state.engine)
        app.state.engine.dispose()

    def lose_everything(self) -> None:
        """The disk is gone: the database, the recordings, the attachments, the spool."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{url.database}{suffix}").unlink(missing_ok=True)
        else:  # the guide's dropdb and createdb, against the test cluster
            server = f"--maintenance-db={POSTGRES.admin_dsn()}"
            for command in ("dropdb --if-exists", "createdb"):
                subprocess.run([*command.split(), server, str(url.database)], check=True)
        shutil.rmtree(self.recordings)
        shutil.rmtree(self.attachments, ignore_errors=True)
        shutil.rmtree(self.spool)


def take_calls(site: Site) -> list[str]:
    """Three complaints as the IVR takes them: a ticket from the spool's counter, a
    recording file, the complaint delivered to the API; a unit's photo and document on
    the last; and a fourth still in the outbox."""
    site.recordings.mkdir()
    tickets = TicketIssuer(site.spool, NODE)
    delivered = []
    with site.api() as api:
        for call in range(3):
            ticket = tickets.issue()
            name = f"{ticket}-17958901{call}.wav"
            (site.recordings / name).write_bytes(os.urandom(40_000 + call))
            body = complaint(ticket, recording_path=f"/var/spool/asterisk/lapor/{name}")
            body["uniqueid"] = f"17958901{call}.1"
            created = api.client.post("/complaints", json=body, headers=api.headers(Role.ivr))
            assert created.status_code == 201, created.text
            delivered.append(ticket)
        moved = api.client.post(
            f"/complaints/{delivered[0]}/status",
            json={"to": "diverifikasi"},
            headers=api.headers(Role.supervisor),
        )
        assert moved.status_code == 200, moved.text
        attach(api, delivered[-1])
    pending = complaint(tickets.issue(), uniqueid="179589019.1")
    Outbox(site.spool).put("complaint", pending["ticket"], pending)
    return delivered


def attach(api: ApiHarness, ticket: str) -> None:
    """The unit at work on ``ticket`` attaches a photo and a document."""
    with Session(api.engine) as session:
        order = get_complaint(session, ticket=ticket)
        order.status, order.unit = ComplaintStatus.ditindaklanjuti, "dinas-pu"
        session.add(order)
        session.commit()
    files = [("jalan.png", png(), "image/png"), ("berita-acara.pdf", PDF, "application/pdf")]
    added = api.client.post(
        f"/complaints/{ticket}/attachments",
        headers=api.headers(Role.unit),
        files=[("files", one) for one in files],
    )
    assert added.status_code == 201, added.text


def state(site: Site, tickets: list[str]) -> dict[str, Any]:
    """What the citizens gave, as the API shows it, and the spool's outbox."""
    seen: dict[str, Any] = {}
    with site.api() as api:
        staff = api.headers(Role.supervisor)
        seen["list"] = api.client.get("/complaints", headers=staff).json()
        for ticket in tickets:
            seen[ticket] = api.client.get(f"/complaints/{ticket}", headers=staff).json()
            seen[f"{ticket}/history"] = api.client.get(
                f"/complaints/{ticket}/history", headers=staff
            ).json()
            recording = api.client.get(f"/complaints/{ticket}/recording", headers=staff)
            assert recording.status_code == 200
            seen[f"{ticket}/recording"] = recording.content
            attachments = api.client.get(f"/complaints/{ticket}/attachments", headers=staff)
            seen[f"{ticket}/attachments"] = attachments.json()
            for one in attachments.json():
                url = f"/complaints/{ticket}/attachments/{one['id']}"
                seen[url] = api.client.get(url, headers=staff).content
    seen["outbox"] = [(r.kind, r.key, r.payload) for r in Outbox(site.spool).pending()]
    return seen


def test_backup_wipe_restore_gives_back_complaints_recordings_and_the_next_ticket(
    database_url: str, tmp_path: Path
) -> None:
    site = Site(database_url, tmp_path / "recordings", tmp_path / "spool", tmp_path / "files")
    tickets = take_calls(site)
    before = state(site, tickets)
    assert [a["name"] for a in before[f"{tickets[-1]}/attachments"]] == [
        "jalan.png",
        "berita-acara.pdf",
    ]
    recordings = {p.name: p.read_bytes() for p in site.recordings.iterdir()}
    attachments = {p.name: p.read_bytes() for p in site.attachments.iterdir()}
    assert sorted(attachments.values()) == sorted([png(), PDF])
    counter = (site.spool / f"ticket-sequence-{NODE}").read_text()

    made = site.lapor("backup", str(tmp_path / "backup"))
    assert made.returncode == 0, made.stderr
    assert "3 recording file(s), 2 attachment file(s)" in made.stdout
    site.lose_everything()

    restored = site.lapor("restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr
    assert state(site, tickets) == before
    assert {p.name: p.read_bytes() for p in site.recordings.iterdir()} == recordings
    assert {p.name: p.read_bytes() for p in site.attachments.iterdir()} == attachments
    assert (site.spool / f"ticket-sequence-{NODE}").read_text() == counter
    assert TicketIssuer(site.spool, NODE).issue() == f"{NODE}000005"

    # Again, over what it restored: refused, in one line, with nothing touched.
    again = site.lapor("restore", str(tmp_path / "backup"))
    assert again.returncode == 1
    assert again.stderr.startswith("lapor: restore refused: the database already holds data")
    assert len(again.stderr.strip().splitlines()) == 1


def test_a_restore_never_overwrites_a_recording_or_an_attachment_or_uses_a_damaged_backup(
    sqlite_url: str, tmp_path: Path
) -> None:
    site = Site(sqlite_url, tmp_path / "recordings", tmp_path / "spool", tmp_path / "files")
    take_calls(site)
    (site.attachments / ".upload-unfinished").write_bytes(b"half a photo")
    assert site.lapor("backup", str(tmp_path / "backup")).returncode == 0
    assert not (tmp_path / "backup" / "attachments" / ".upload-unfinished").exists()
    assert site.lapor("backup", str(tmp_path / "backup")).returncode == 1  # not empty
    site.lose_everything()
    site.recordings.mkdir()
    name = next(p.name for p in (tmp_path / "backup" / "recordings").iterdir())
    (site.recordings / name).write_bytes(b"another call's audio")

    clash = site.lapor("restore", str(tmp_path / "backup"))
    assert clash.returncode == 1
    assert "exist with other content" in clash.stderr
    assert (site.recordings / name).read_bytes() == b"another call's audio"
    assert not Path(str(make_url(sqlite_url).database)).exists()  # checked before writing

    (site.recordings / name).unlink()
    site.attachments.mkdir()
    photo = next(p.name for p in (tmp_path / "backup" / "attachments").iterdir())
    (site.attachments / photo).write_bytes(b"another unit's photo")
    clash = site.lapor("restore", str(tmp_path / "backup"))
    assert clash.returncode == 1
    assert f"first {site.attachments / photo}:" in clash.stderr
    assert (site.attachments / photo).read_bytes() == b"another unit's photo"

    (site.attachments / photo).unlink()
    copy = tmp_path / "backup" / "recordings" / name
    copy.write_bytes(copy.read_bytes()[:-1])
    damaged = site.lapor("restore", str(tmp_path / "backup"))
    assert damaged.returncode == 1
    assert f"recordings/{name} is missing or damaged" in damaged.stderr
