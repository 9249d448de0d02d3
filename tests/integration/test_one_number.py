"""One citizen, one number: 0812…, 62812… and +62812… are stored as 0812… wherever a
number comes in (calls, IVR and SMS complaints, callbacks), on SQLite and PostgreSQL, and
the migration brings the rows stored before into the same form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from api.callbacks.service import CallbackRequest
from api.complaints.models import Complaint
from api.core.auth import Role
from api.core.db import make_engine
from api.core.migrate import downgrade, upgrade
from api.events.models import Call
from tests.conftest import ApiHarness
from tests.integration.event_factory import FakeCall
from tests.integration.test_callbacks_api import post_events, request_callback
from tests.integration.test_complaints_api import complaint

NATIONAL = "081299887766"
INTERNATIONAL = "+6281299887766"
COUNTRY_CODE = "6281299887766"


def stored(api: ApiHarness, model: Any) -> list[Any]:
    with Session(api.engine) as session:
        return list(session.exec(select(model)).all())


def test_a_complaint_from_the_ivr_is_stored_under_the_national_form(api: ApiHarness) -> None:
    body = complaint(caller_number=INTERNATIONAL)
    created = api.client.post("/complaints", json=body, headers=api.headers(Role.ivr))
    assert created.status_code == 201, created.text
    [row] = stored(api, Complaint)
    assert row.caller_number == NATIONAL
    search = api.client.get(
        "/complaints", params={"caller": COUNTRY_CODE}, headers=api.headers(Role.supervisor)
    )
    assert search.status_code == 200, search.text
    assert [c["ticket"] for c in search.json()["items"]] == [body["ticket"]]


def test_one_sms_under_two_spellings_is_one_complaint(api: ApiHarness) -> None:
    headers = api.headers(Role.gateway)
    sms = {"number": INTERNATIONAL, "text": "lapor 1 jalan rusak"}
    first = api.client.post("/sms/inbound", json=sms, headers=headers)
    sms = {"number": NATIONAL, "text": "LAPOR 1 jalan rusak"}
    again = api.client.post("/sms/inbound", json=sms, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert first.json()["ticket"] == again.json()["ticket"]
    [row] = stored(api, Complaint)
    assert row.caller_number == NATIONAL


def test_calls_and_callbacks_store_the_national_form(api: ApiHarness) -> None:
    at = datetime.now(UTC) - timedelta(minutes=10)
    call = FakeCall(COUNTRY_CODE, at, "abandoned", wait=40)
    post_events(api, call.events)
    request_callback(api, INTERNATIONAL, at, None)
    assert [row.caller for row in stored(api, Call)] == [NATIONAL]
    assert [row.number for row in stored(api, CallbackRequest)] == [NATIONAL]
    listed = api.client.get(
        "/callbacks", params={"number": INTERNATIONAL}, headers=api.headers(Role.agent)
    )
    assert listed.status_code == 200, listed.text
    assert {item["number"] for item in listed.json()} == {NATIONAL}
    assert len(listed.json()) == 2  # the request and the abandoned call, one citizen


def test_the_migration_normalises_numbers_stored_before(database_url: str) -> None:
    engine = make_engine(database_url)
    rows = [
        ("1.1", INTERNATIONAL, "aa"),
        ("1.2", COUNTRY_CODE, "aa"),  # the same SMS again under another spelling
        ("1.3", "081211112222", "bb"),
        ("1.4", "unknown", "cc"),
    ]
    try:
        upgrade(engine, "0026_monitoring_role")
        with engine.begin() as connection:
            for linkedid, number, digest in rows:
                connection.execute(
                    text("INSERT INTO call (node, linkedid, caller) VALUES ('cc1', :id, :n)"),
                    {"id": linkedid, "n": number},
                )
                connection.execute(
                    text(
                        "INSERT INTO sms_intake (sender, text_hash, bucket, ticket, received_at)"
                        " VALUES (:n, :h, 7, :t, CURRENT_TIMESTAMP)"
                    ),
                    {"n": number, "h": digest, "t": linkedid.replace(".", "")},
                )
        upgrade(engine)
        with engine.connect() as connection:
            callers = connection.execute(text("SELECT caller FROM call ORDER BY linkedid")).all()
            senders = connection.execute(
                text("SELECT sender FROM sms_intake ORDER BY ticket")
            ).all()
        assert [c for (c,) in callers] == [NATIONAL, NATIONAL, "081211112222", "unknown"]
        # The second copy of one SMS keeps its spelling: the unique key allows one.
        assert sorted(s for (s,) in senders) == sorted(
            [NATIONAL, COUNTRY_CODE, "081211112222", "unknown"]
        )
        downgrade(engine)
    finally:
        engine.dispose()
