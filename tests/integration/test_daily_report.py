"""The mayor's daily report: its figures equal the stats and complaint endpoints for a
seeded day; it renders (pdftotext, charts, headless Chromium); the CLI makes it once."""

from __future__ import annotations

import base64
import csv
import io
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from api import cli
from api.complaints.models import ComplaintHistory
from api.core.auth import Role
from api.core.clock import JAKARTA
from api.reports import charts, labels
from api.reports.render import to_html
from api.reports.schemas import DailyReportContent
from api.reports.service import REPORTER, yesterday
from tests.conftest import ApiHarness, unavailable
from tests.integration import chromium
from tests.integration.report_seed import DAY, FORMULA, XSS, Seeded, seed

D = DAY.isoformat()
ROLES = ("collector", "ivr", "agent", "supervisor", "leadership")


def seeded(api: ApiHarness) -> Seeded:
    return seed(api.client, api.engine, {r: api.headers(Role(r)) for r in ROLES})


def lapor(api: ApiHarness, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    url = api.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("LAPOR_API_DATABASE_URL", url)
    return cli.main(["report", "daily", *args])


def get(api: ApiHarness, path: str, *, role: Role = Role.supervisor, **params: Any) -> Any:
    response = api.client.get(path, params=params, headers=api.headers(role))
    assert response.status_code == 200, response.text
    return response.json()


def history(api: ApiHarness, ticket: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = get(api, f"/complaints/{ticket}/history")
    return rows


def test_every_figure_equals_the_stats_and_complaint_endpoints(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = seeded(api)
    assert lapor(api, monkeypatch, "--date", D) == 0
    report = get(api, f"/reports/daily/{D}.json", role=Role.leadership)
    assert report == get(api, f"/reports/daily/{D}.json", role=Role.supervisor)
    day_range: dict[str, Any] = {"from": D, "to": D}
    assert report["calls"] == get(api, "/stats/summary", **day_range)
    hours = get(api, "/stats/timeseries", interval="hour", **day_range)
    assert report["calls_per_hour"] == hours
    assert report["calls"]["offered"] == len([c for c in day.calls if c.outcome != "ivr_only"])
    queued_urgent = [c for c in day.calls if c.urgent and c.outcome != "ivr_only"]
    assert report["calls"]["urgent"] == len(queued_urgent) > 0
    top = sorted((h for h in hours if h["offered"]), key=lambda h: (-h["offered"], h["start"]))
    assert [(b["start"], b["offered"]) for b in report["busiest_hours"]] == [
        (h["start"], h["offered"]) for h in top[:3]
    ]
    taken = {"taken_from": report["start"], "taken_to": report["end"]}
    listed = get(api, "/complaints", limit=500, **taken)
    assert report["complaints"]["total"] == listed["total"] == len(day.new)
    assert sorted(c["ticket"] for c in report["new_complaints"]) == day.new
    assert sorted(c["ticket"] for c in listed["items"]) == day.new
    for group, field in (("by_category", "category"), ("by_channel", "channel")):
        for value, count in report["complaints"][group].items():
            assert count == get(api, "/complaints", **{field: value}, **taken)["total"], value
    for value, count in report["complaints"]["by_status"].items():
        assert count == get(api, "/complaints", status=value, **taken)["total"], value
    assert report["complaints"]["by_channel"] == {"phone": len(day.new) - 2, "sms": 2}
    # The verified complaints went into the report: now dilaporkan, once, by the report.
    assert [c["ticket"] for c in report["forwarded"]] == day.verified
    for ticket in day.verified:
        assert get(api, f"/complaints/{ticket}")["status"] == "dilaporkan"
        assert get(api, f"/complaints/{ticket}")["reported_at"] is not None
        moves = [h for h in history(api, ticket) if h["to_status"] == "dilaporkan"]
        assert [(h["actor"], h["note"]) for h in moves] == [(REPORTER.name, f"Laporan harian {D}")]
    assert "10008001" not in [c["ticket"] for c in report["new_complaints"]]  # another day's
    overdue = get(api, "/complaints/overdue")
    assert [o["ticket"] for o in report["overdue"]] == [o["ticket"] for o in overdue]
    assert report["overdue"]  # Friday's unverified complaints are past their 3 working days
    done = [h for h in history(api, day.closed) if h["to_status"] == "selesai"]
    assert [(f["ticket"], f["note"], f["unit"]) for f in report["follow_ups_completed"]] == [
        (day.closed, done[0]["note"], "dinas-pu")
    ]
    summaries = {c["ticket"]: c["summary"] for c in report["new_complaints"]}
    assert summaries["10000000"] == "Lampu jalan mati di Jl. Teuku Umar"
    assert summaries["10009001"] == XSS  # the first line of the citizen's text
    assert summaries["10000004"] == "Infrastruktur"  # nothing written: the category


def test_a_stored_day_is_served_as_stored_and_force_moves_nothing_again(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = seeded(api)
    assert lapor(api, monkeypatch, "--date", D) == 0
    first = get(api, f"/reports/daily/{D}.json")
    moves_before = _report_moves(api)
    # Verified after the report was made: the next report takes it, not a rerun of this one.
    ok = api.client.post(
        "/complaints/10000004/status",
        json={"to": "diverifikasi"},
        headers=api.headers(Role.supervisor),
    )
    assert ok.status_code == 200
    assert lapor(api, monkeypatch, "--date", D) == 0
    assert get(api, f"/reports/daily/{D}.json") == first
    assert lapor(api, monkeypatch, "--date", D, "--force") == 0
    rebuilt = get(api, f"/reports/daily/{D}.json")
    assert rebuilt["generated_at"] != first["generated_at"]
    assert [c["ticket"] for c in rebuilt["forwarded"]] == day.verified
    assert _report_moves(api) == moves_before == len(day.verified)
    assert get(api, "/complaints/10000004")["status"] == "diverifikasi"


def _report_moves(api: ApiHarness) -> int:
    with Session(api.engine) as session:
        return len(
            session.exec(
                select(ComplaintHistory).where(col(ComplaintHistory.actor) == REPORTER.name)
            ).all()
        )


def test_missing_day_bad_date_bad_format_and_roles(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = api.headers(Role.supervisor)
    missing = api.client.get(f"/reports/daily/{D}.pdf", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "no_report"
    assert f"lapor report daily --date {D}" in missing.json()["message"]
    for bad in ("2026-13-01.json", "yesterday.json", f"{D}.docx", f"{D}", f"{D}.json.pdf"):
        status = api.client.get(f"/reports/daily/{bad}", headers=headers).status_code
        assert status in (404, 422), bad
    for role in (Role.agent, Role.unit, Role.admin, Role.ivr):
        assert (
            api.client.get(f"/reports/daily/{D}.json", headers=api.headers(role)).status_code == 403
        )
    today = datetime.now(UTC).astimezone(JAKARTA).date()
    assert lapor(api, monkeypatch, "--date", today.isoformat()) == 1  # not over yet
    assert lapor(api, monkeypatch, "--date", (today + timedelta(days=3)).isoformat()) == 1
    assert api.client.get(f"/reports/daily/{today}.json", headers=headers).status_code == 404
    assert yesterday() == today - timedelta(days=1)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (Debian: poppler-utils / chromium)")
        raise AssertionError
    return path


def pdf_text_with_headline(api: ApiHarness, content: DailyReportContent, path: Path) -> str:
    """The day's PDF as served, through pdftotext (whitespace folded), after checking that
    it carries the title and every headline figure."""
    pdftotext = _tool("pdftotext")
    pdf = api.client.get(f"/reports/daily/{D}.pdf", headers=api.headers(Role.leadership))
    assert pdf.headers["content-type"] == "application/pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    assert labels.text("report", "title") in flat
    for label, value in labels.headline(content):
        assert re.search(rf"{re.escape(label)}\s+{re.escape(value)}", flat), (label, value)
    return flat


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pdf_html_csv_and_charts_render(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _tool("pdftotext")
    pdfimages = _tool("pdfimages")
    if chromium.executable() is None:
        unavailable("chromium is not installed (Debian: chromium)")
    seeded(api)
    assert lapor(api, monkeypatch, "--date", D, "--output", str(tmp_path / "out")) == 0
    content = DailyReportContent.model_validate(get(api, f"/reports/daily/{D}.json"))
    headers = api.headers(Role.leadership)

    flat = pdf_text_with_headline(api, content, tmp_path / "report.pdf")
    assert labels.number(content.calls.offered) in flat
    for ticket in [c.ticket for c in content.new_complaints + content.forwarded]:
        assert ticket in flat
    images = subprocess.run(
        [pdfimages, "-list", str(tmp_path / "report.pdf")],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()[2:]  # fmt: skip
    assert len(images) == 2  # the two charts

    for name, png in charts.all_charts(content).items():
        path = tmp_path / f"{name}.png"
        path.write_bytes(png)
        assert path.read_bytes().startswith(charts.PNG_MAGIC)
        assert path.stat().st_size > 5000

    html = api.client.get(f"/reports/daily/{D}.html", headers=headers)
    assert "default-src 'none'" in html.headers["content-security-policy"]
    page = html.text
    inline = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(inline) == 2
    assert all(base64.b64decode(data).startswith(charts.PNG_MAGIC) for data in inline)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)" in page
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    assert chromium.console_errors((tmp_path / "report.html").as_uri()) == []
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace("</body>", "<img src='nothing.png'></body>"), "utf-8")
    assert chromium.console_errors(broken.as_uri()) != []  # the check can fail

    csv_text = api.client.get(f"/reports/daily/{D}.csv", headers=headers).text
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert ["calls", "offered", str(content.calls.offered)] == rows[1][:3]
    assert ["calls", "urgent", str(content.calls.urgent)] in [row[:3] for row in rows]
    sms = next(r for r in rows if r[0] == "new_complaints" and r[3] == "10009002")
    assert sms[-1] == "'" + FORMULA  # a spreadsheet won't run citizen text as a formula
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [f"laporan-harian-{D}.{ext}" for ext in ("csv", "html", "json", "pdf")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_day_without_calls_draws_sane_axes_and_renders(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _tool("pdftotext")
    assert lapor(api, monkeypatch, "--date", D) == 0  # nothing seeded: an empty day
    content = DailyReportContent.model_validate(get(api, f"/reports/daily/{D}.json"))
    assert content.calls.offered == 0
    assert content.complaints.total == 0
    hours_figure = charts.calls_per_hour_figure(content)
    categories_figure = charts.complaints_by_category_figure(content)
    hours_png, categories_png = io.BytesIO(), io.BytesIO()
    hours_figure.savefig(hours_png, format="png")  # drawn, so the tick labels are set
    categories_figure.savefig(categories_png, format="png")
    hours, categories = hours_figure.axes[0], categories_figure.axes[0]
    for limits, ticks, tick_labels in (
        (hours.get_ylim(), hours.get_yticks(), hours.get_yticklabels()),
        (categories.get_xlim(), categories.get_xticks(), categories.get_xticklabels()),
    ):
        assert tuple(limits) == (0.0, 1.0)  # counts from 0, to something positive
        shown = [(t, label.get_text()) for t, label in zip(ticks, tick_labels, strict=True)]
        inside = [(t, text) for t, text in shown if limits[0] <= t <= limits[1]]
        assert inside == [(0.0, "0"), (1.0, "1")]  # whole numbers, no negative counts
    for png in charts.all_charts(content).values():
        assert png.startswith(charts.PNG_MAGIC)

    flat = pdf_text_with_headline(api, content, tmp_path / "empty.pdf")
    assert labels.number(0) in flat


def test_the_days_ratings_per_officer_are_in_the_report(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    lo = datetime.fromisoformat(D).replace(tzinfo=JAKARTA)
    given = [
        ("1795890124.1", "petugas-1001", 5, lo + timedelta(hours=9)),
        ("1795890124.2", "petugas-1001", 4, lo + timedelta(hours=23, minutes=59)),
        ("1795890124.3", "petugas-1002", 1, lo + timedelta(hours=12)),
        ("1795890124.4", "petugas-1002", 5, lo + timedelta(days=1)),  # the next day's
    ]
    for linkedid, agent, score, at in given:
        body = {"linkedid": linkedid, "uniqueid": linkedid, "agent": agent, "rating": score}
        response = api.client.post(
            "/surveys", json={**body, "rated_at": at.isoformat()}, headers=api.headers(Role.ivr)
        )
        assert response.status_code == 201
    assert lapor(api, monkeypatch, "--date", D) == 0
    report = get(api, f"/reports/daily/{D}.json")
    day_range: dict[str, Any] = {"from": D, "to": D}
    assert report["survey"] == get(api, "/stats/survey", **day_range)
    officers = {a["agent"]: (a["ratings"], a["average"]) for a in report["survey"]["by_agent"]}
    assert officers == {"petugas-1001": (2, 4.5), "petugas-1002": (1, 1.0)}
    content = DailyReportContent.model_validate(report)
    headline = dict(labels.headline(content))
    assert headline[labels.text("figures", "survey_ratings")] == "3"
    assert headline[labels.text("figures", "survey_average")] == "3,33"
    page = api.client.get(f"/reports/daily/{D}.html", headers=api.headers(Role.leadership)).text
    assert "<td>petugas-1001</td><td>2</td><td>4,50</td>" in page
    csv_text = api.client.get(f"/reports/daily/{D}.csv", headers=api.headers(Role.leadership))
    rows = [r[:3] for r in csv.reader(io.StringIO(csv_text.text))]
    assert ["survey.average", "petugas-1002", "1.0"] in rows

    # A report stored before the survey existed has no "survey": it loads and renders.
    older = DailyReportContent.model_validate({k: v for k, v in report.items() if k != "survey"})
    assert older.survey is None
    assert labels.text("figures", "survey_ratings") not in dict(labels.headline(older))
    assert labels.text("sections", "survey") in to_html(older)
