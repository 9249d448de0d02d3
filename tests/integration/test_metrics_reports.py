"""The daily report's runs and delivery attempts are counted for /metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY

from api.reports import delivery, schedule
from tests.conftest import ApiHarness
from tests.integration.delivery_fakes import smtp_server
from tests.integration.report_seed import DAY
from tests.integration.test_report_delivery import settings_for


def count(name: str, **labels: str) -> float:
    found = REGISTRY.get_sample_value(name, labels)
    assert found is not None, f"{name}{labels} not registered"
    return found


async def test_runs_and_delivery_attempts_are_counted(api: ApiHarness) -> None:
    runs, sent = "lapor_api_report_runs_total", "lapor_api_report_deliveries_total"
    before = {
        outcome: count(runs, outcome=outcome)
        for outcome in ("generated", "claimed_elsewhere", "failed")
    }
    failed_before = count(sent, channel="email", outcome="failed")
    sent_before = count(sent, channel="email", outcome="sent")
    with smtp_server() as (inbox, port):
        settings = settings_for(api, port)
        assert schedule.attempt(api.engine, settings, "replica-1", DAY)
        assert schedule.attempt(api.engine, settings, "replica-2", DAY)  # done already
        inbox.refusing = True
        await delivery.deliver(api.engine, settings, DAY)  # three attempts, all refused
        inbox.refusing = False
        await delivery.deliver(api.engine, settings, DAY)
    assert count(runs, outcome="generated") - before["generated"] == 1
    assert count(runs, outcome="claimed_elsewhere") - before["claimed_elsewhere"] == 1
    assert count(runs, outcome="failed") - before["failed"] == 0
    assert count(sent, channel="email", outcome="failed") - failed_before == 3
    assert count(sent, channel="email", outcome="sent") - sent_before == 1
