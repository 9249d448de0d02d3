"""Survey ratings through the API on SQLite and PostgreSQL: stored once per call, bad
input refused, and /stats/survey counting them per officer and per Asia/Jakarta day."""

from __future__ import annotations

from typing import Any

import pytest

from api.core.auth import Role
from tests.conftest import ApiHarness
from tests.integration.test_stats_api import get


def rating(linkedid: str, agent: str, score: int, at: str) -> dict[str, Any]:
    return {
        "linkedid": linkedid,
        "uniqueid": linkedid,
        "agent": agent,
        "rating": score,
        "rated_at": at,
    }


def post(api: ApiHarness, body: dict[str, Any]) -> Any:
    return api.client.post("/surveys", json=body, headers=api.headers(Role.ivr))


def survey_stats(api: ApiHarness, **params: str) -> dict[str, Any]:
    body: dict[str, Any] = get(api, "/stats/survey", **params)
    return body


def test_a_rating_is_stored_once_and_the_first_one_stands(api: ApiHarness) -> None:
    first = post(api, rating("1795890124.0", "petugas-1001", 4, "2026-11-30T03:00:00Z"))
    assert first.status_code == 201
    again = post(api, rating("1795890124.0", "petugas-1001", 2, "2026-11-30T03:00:05Z"))
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["rating"] == 4
    stats = survey_stats(api, **{"from": "2026-11-30", "to": "2026-11-30"})
    assert stats["total"]["ratings"] == 1
    assert stats["total"]["average"] == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rating", 0),
        ("rating", 6),
        ("agent", "petugas 1001"),
        ("agent", "x" * 65),
        ("linkedid", "1795890124.0,Foo: bar"),
        ("linkedid", ""),
        ("uniqueid", "${SHELL(id)}"),
        ("rated_at", "yesterday"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(api: ApiHarness, field: str, value: Any) -> None:
    body = {**rating("1795890124.1", "petugas-1001", 3, "2026-11-30T03:00:00Z"), field: value}
    response = post(api, body)
    assert response.status_code == 422
    assert field in response.text
    assert survey_stats(api, **{"from": "2026-11-30", "to": "2026-11-30"})["total"]["ratings"] == 0


def test_only_the_ivr_may_store_a_rating(api: ApiHarness) -> None:
    body = rating("1795890124.2", "petugas-1001", 5, "2026-11-30T03:00:00Z")
    for role in (Role.agent, Role.supervisor, Role.gateway):
        response = api.client.post("/surveys", json=body, headers=api.headers(role))
        assert response.status_code == 403


def test_figures_per_officer_per_day_and_both(api: ApiHarness) -> None:
    # 16:59Z is 23:59 WIB on the 30th; 17:00Z is already 1 December in Jakarta.
    given = [
        ("1.1", "ani", 5, "2026-11-30T01:00:00Z"),
        ("1.2", "ani", 4, "2026-11-30T16:59:59Z"),
        ("1.3", "budi", 2, "2026-11-30T10:00:00Z"),
        ("1.4", "ani", 1, "2026-11-30T17:00:00Z"),
        ("1.5", "budi", 5, "2026-12-01T02:00:00Z"),
        ("1.6", "budi", 3, "2026-12-02T02:00:00Z"),  # outside the window
    ]
    for linkedid, agent, score, at in given:
        assert post(api, rating(linkedid, agent, score, at)).status_code == 201

    stats = survey_stats(api, **{"from": "2026-11-30", "to": "2026-12-01"})

    assert stats["total"] == {
        "ratings": 5,
        "average": 3.4,
        "by_score": {"1": 1, "2": 1, "3": 0, "4": 1, "5": 2},
    }
    agents = {row["agent"]: row for row in stats["by_agent"]}
    assert (agents["ani"]["ratings"], agents["ani"]["average"]) == (3, 3.33)
    assert (agents["budi"]["ratings"], agents["budi"]["average"]) == (2, 3.5)
    days = {row["day"]: (row["ratings"], row["average"]) for row in stats["by_day"]}
    assert days == {"2026-11-30": (3, 3.67), "2026-12-01": (2, 3.0)}
    cells = {(r["day"], r["agent"]): r["by_score"] for r in stats["by_agent_and_day"]}
    assert cells == {
        ("2026-11-30", "ani"): {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
        ("2026-11-30", "budi"): {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0},
        ("2026-12-01", "ani"): {"1": 1, "2": 0, "3": 0, "4": 0, "5": 0},
        ("2026-12-01", "budi"): {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1},
    }


def test_a_day_without_ratings_has_no_average(api: ApiHarness) -> None:
    stats = survey_stats(api, **{"from": "2026-11-30", "to": "2026-11-30"})
    assert stats["total"] == {
        "ratings": 0,
        "average": None,
        "by_score": {str(score): 0 for score in range(1, 6)},
    }
    assert stats["by_agent"] == stats["by_day"] == stats["by_agent_and_day"] == []
