"""The supervisors' wallboard over HTTP: who may see it, and that every figure on it is
the one ``/stats/live`` and ``/stats/summary`` give at the same moment. SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from api.core.auth import Role
from api.events import pushes
from api.live.models import LiveEvent
from api.people.users import create_user
from api.reports.delivery_record import Channel, claim, record_attempt
from tests.conftest import ApiHarness
from tests.integration.event_factory import FakeCall
from tests.integration.test_live_snapshot import queue_member, snapshot
from tests.integration.test_stats_api import get, post
from tests.people import PASSWORD, add_agent


def sign_in(api: ApiHarness, role: Role) -> None:
    username = f"{role.value}-wb"
    with Session(api.engine) as session:
        if role is Role.agent:
            add_agent(session, username, "1009")
        else:
            create_user(
                session, username=username, password=PASSWORD, role=role, full_name=username
            )
    response = api.client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303


def tile(page: str, name: str) -> str:
    match = re.search(rf'id="tile-{name}">([^<]*)<', page)
    assert match is not None, name
    return match.group(1)


def waiting_call(caller: str, joined: datetime) -> FakeCall:
    call = FakeCall(caller, joined, "answered", category="infrastruktur", ticket="12000077")
    call.events = [
        e for e in call.events if e["name"] in {"Newchannel", "QueueCallerJoin", "UserEvent"}
    ]
    return call


@pytest.mark.parametrize(
    ("role", "lands"), [(Role.supervisor, "/wallboard"), (Role.admin, "/wallboard")]
)
def test_supervisors_and_admins_land_on_the_wallboard(
    api: ApiHarness, role: Role, lands: str
) -> None:
    sign_in(api, role)
    home = api.client.get("/home", follow_redirects=False)
    assert home.headers["location"] == lands
    assert api.client.get("/wallboard").status_code == 200


def test_officers_get_no_wallboard(api: ApiHarness) -> None:
    sign_in(api, Role.agent)
    assert api.client.get("/wallboard").status_code == 403
    assert api.client.get("/wallboard/board").status_code == 403


def test_the_board_shows_what_the_stats_api_shows(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    done = [
        FakeCall("081200000001", now - timedelta(minutes=30), "answered", wait=8, talk=60),
        FakeCall("081200000002", now - timedelta(minutes=20), "answered", wait=35, talk=90),
        FakeCall("081200000003", now - timedelta(minutes=10), "abandoned", wait=40),
    ]
    late = waiting_call("081200000004", now - timedelta(seconds=45))
    members = [
        queue_member("petugas-1001"),
        queue_member("petugas-1002", Paused="1", PausedReason="sholat"),
    ]
    post(api, [*done, late], [snapshot(now - timedelta(seconds=50), members)])
    sign_in(api, Role.supervisor)
    page = api.client.get("/wallboard/board").text
    live = get(api, "/stats/live")
    summary = get(api, "/stats/summary")
    assert tile(page, "waiting") == str(len(live["waiting"])) == "1"
    assert tile(page, "offered") == str(summary["offered"])
    assert tile(page, "answered") == str(summary["answered"])
    assert tile(page, "abandoned") == str(summary["abandoned"])
    sl = summary["sl_pct"]
    assert tile(page, "sl") == f"{sl:.1f}".replace(".", ",") + " %"
    assert 'data-alert="waiting_past_sl"' in page
    assert 'data-alert="sl_below_target"' in page  # 1 of 2 answered within 20 s: 50 %
    assert 'data-alert="no_officer"' not in page
    assert (tile(page, "available"), tile(page, "paused")) == ("1", "1")
    # Problems float up: the paused officer before the available one.
    officers = re.findall(r'<tr data-agent="([^"]+)">', page)
    assert officers == ["petugas-1002", "petugas-1001"]
    assert "Jeda: Sholat" in page
    assert "0812-0000-0004" in page


def test_an_urgent_caller_is_marked_and_counted(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ordinary = waiting_call("081200000011", now - timedelta(seconds=40))
    urgent = FakeCall("081200000012", now - timedelta(seconds=10), "answered", urgent=True)
    urgent.events = [
        e for e in urgent.events if e["name"] in {"Newchannel", "QueueCallerJoin", "UserEvent"}
    ]
    post(api, [ordinary, urgent], [snapshot(now - timedelta(seconds=50), [])])
    sign_in(api, Role.supervisor)
    page = api.client.get("/wallboard/board").text
    assert tile(page, "urgent") == str(get(api, "/stats/summary")["urgent"]) == "1"
    rows = re.findall(r'<tr class="[^"]*"( data-urgent="1")?><td>(\d+)', page)
    assert [(bool(mark), int(position)) for mark, position in rows] == [(True, 1), (False, 2)]
    assert "DARURAT" in page


def test_todays_ratings_show_in_all_and_per_officer(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    members = [queue_member("petugas-1001"), queue_member("petugas-1002")]
    post(api, [], [snapshot(now - timedelta(seconds=5), members)])
    ivr = api.headers(Role.ivr)
    for linkedid, score in (("1795890124.1", 5), ("1795890124.2", 2)):
        rating = {"linkedid": linkedid, "uniqueid": linkedid, "agent": "petugas-1001"}
        body = {**rating, "rating": score, "rated_at": now.isoformat()}
        assert api.client.post("/surveys", json=body, headers=ivr).status_code == 201
    sign_in(api, Role.supervisor)
    page = api.client.get("/wallboard/board").text
    survey = get(api, "/stats/survey")
    assert survey["total"]["average"] == 3.5
    assert tile(page, "survey") == "3,50"
    assert "(2 penilaian)" in page
    ratings = dict(re.findall(r'<tr data-agent="([^"]+)">.*?<td class="rating">([^<]*)<', page))
    assert ratings == {"petugas-1001": "3,50 (2)", "petugas-1002": "\u2013"}


def test_no_officer_signed_in_is_an_alert(api: ApiHarness) -> None:
    post(api, [], [snapshot(datetime.now(UTC), [])])
    sign_in(api, Role.supervisor)
    page = api.client.get("/wallboard/board").text
    assert 'data-alert="no_officer"' in page
    assert "Tidak ada petugas yang masuk antrean." in page


def test_queue_events_push_a_change_to_the_wallboards(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pushes._supervisors, "last", float("-inf"))
    post(api, [waiting_call("081200000005", datetime.now(UTC))])
    with Session(api.engine) as session:
        rows = session.exec(select(LiveEvent).where(LiveEvent.topic == "supervisors")).all()
    assert [row.kind for row in rows] == ["changed"]


def test_a_figure_opens_the_calls_behind_it(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    calls = [
        FakeCall("081200000011", now - timedelta(minutes=9), "answered", wait=8, agent="siti"),
        FakeCall("081200000012", now - timedelta(minutes=8), "abandoned", wait=40),
        FakeCall("081200000013", now - timedelta(minutes=7), "abandoned", wait=2),
    ]
    post(api, calls)
    sign_in(api, Role.supervisor)
    summary = get(api, "/stats/summary")
    for figure in ("offered", "answered", "abandoned", "short_abandoned"):
        page = api.client.get(f"/wallboard/calls/{figure}").text
        listed = re.findall(r'<tr data-linkedid="([^"]+)">', page)
        assert len(listed) == summary[figure], figure
    answered = api.client.get("/wallboard/calls/answered").text
    assert "0812-0000-0011" in answered
    assert "siti" in answered
    assert api.client.get("/wallboard/calls/everything").status_code == 422
    board = api.client.get("/wallboard/board").text
    assert 'href="/wallboard/calls/abandoned"' in board
    assert "<svg" in board


def test_a_report_that_did_not_reach_the_mayor_is_an_alert(api: ApiHarness) -> None:
    sign_in(api, Role.supervisor)
    assert 'data-alert="report_undelivered"' not in api.client.get("/wallboard/board").text
    today = datetime.now(UTC).date()
    with Session(api.engine) as session:
        assert claim(session, day=today, channel=Channel.email, target="wa***@kota")
        record_attempt(session, day=today, channel=Channel.email, error="554", final=True)
    assert 'data-alert="report_undelivered"' in api.client.get("/wallboard/board").text
