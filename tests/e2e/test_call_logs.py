"""One call followed by its linkedid through the JSON logs of the real processes: lapor-ivr,
lapor-collector and lapor-api (LAPOR_LOG_FORMAT=json), with the caller's number in none."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.core.auth import Role
from ivr.prompt_synthesis import synthesize
from ivr.redact import mask_number
from sandbox.harness import Sandbox
from sandbox.ivr_node import give_to_asterisk
from tests.e2e.calls import random_caller, set_ivr_mode
from tests.e2e.ivr_node import LINE, NODE_ID, SPEECH, event, user_event, wait_until
from tests.e2e.ivr_process import IvrProcess
from tests.e2e.kpi_support import CollectorProcess
from tests.e2e.services import ApiProcess, fresh_api_process

pytestmark = pytest.mark.e2e

JSON_LOGS = {"LAPOR_LOG_FORMAT": "json"}
CALL_TIMEOUT = 120.0


def speech_file(sandbox: Sandbox) -> str:
    """The citizen's complaint as the carrier plays it."""
    target = sandbox.carrier.host("sounds") / "keluhan.wav"
    if not target.exists():
        synthesize(SPEECH["keluhan"], target)
    give_to_asterisk(sandbox, target)
    return sandbox.carrier.path("sounds/keluhan")


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of the log, each of which must be one JSON object."""
    lines = path.read_text().splitlines()
    assert lines, f"{path.name} is empty"
    objects = []
    for line in lines:
        try:
            objects.append(json.loads(line))
        except ValueError:
            pytest.fail(f"{path.name}: not JSON: {line!r}")
    assert all(isinstance(o, dict) for o in objects)
    return objects


def of_call(lines: list[dict[str, Any]], linkedid: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("linkedid") == linkedid]


async def place_complaint_call(sandbox: Sandbox, caller: str, speech: str) -> str:
    """A complaint (category 1), then an officer; the call's linkedid once it has ended."""
    script = f"wait:2|dtmf:1|wait:1|dtmf:1|wait:6|play:{speech}|dtmf:#|wait:1|dtmf:3"
    async with await sandbox.connect_ami() as ami:
        done = user_event(ami, "LaporIvrDone", caller, CALL_TIMEOUT)
        ticket = user_event(ami, "LaporTicket", caller, CALL_TIMEOUT)
        await sandbox.place_call(LINE, caller, script)
        await asyncio.gather(done, ticket)
        linkedid = done.result()["Linkedid"]
        await event(ami, "Hangup", CALL_TIMEOUT, Uniqueid=linkedid)
    return linkedid


@pytest.mark.usefixtures("quiet_call_center")
async def test_a_call_is_followed_by_its_linkedid_through_the_json_logs(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    await set_ivr_mode(sandbox, "fastagi")
    caller = random_caller()
    speech = speech_file(sandbox)
    api_env = {
        **JSON_LOGS,
        "LAPOR_API_LOG_LEVEL": "info",  # the access log
        "LAPOR_API_RECORDINGS_DIR": str(sandbox.recordings_dir),
    }
    (tmp_path / "collector").mkdir()
    with fresh_api_process(tmp_path / "api.log", api_env) as api:
        collector = CollectorProcess(sandbox, api, tmp_path / "collector")
        collector.env.update({**JSON_LOGS, "LAPOR_COLLECTOR_METRICS_PORT": "0"})
        ivr = IvrProcess(sandbox, api, tmp_path, NODE_ID, sandbox.config.agi_port)
        ivr.env.update(JSON_LOGS)
        collector.start()
        try:
            ivr.start()
            try:
                linkedid = await place_complaint_call(sandbox, caller, speech)
            finally:
                ivr.stop()

            def api_has_ended() -> bool:
                return any(
                    linkedid in line and '"api.events"' in line
                    for line in api.log_path.read_text().splitlines()
                )

            assert await wait_until(api_has_ended, 30), api.log_path.read_text()[-3000:]
            # An officer looks the citizen up: the number is in the request's query.
            response = api_get(api, "/complaints", caller=caller)
            assert [c["uniqueid"] for c in response["items"]] == [linkedid]
        finally:
            collector.stop()
    logs = {"ivr": ivr.log_path, "collector": collector.log_path, "api": api.log_path}

    lines = {name: json_lines(path) for name, path in logs.items()}
    for name, path in logs.items():
        text = path.read_text()
        for form in (caller, caller[1:]):  # 0812… and 812… (62812… holds the latter)
            assert form not in text, f"the caller's number in the {name} log"
    ivr_lines = of_call(lines["ivr"], linkedid)
    assert any(line["message"].startswith("call start script=call") for line in ivr_lines)
    assert {line["uniqueid"] for line in ivr_lines} == {linkedid}  # the caller's channel
    assert {line["service"] for line in ivr_lines} == {"lapor-ivr"}
    collector_messages = [line["message"] for line in of_call(lines["collector"], linkedid)]
    assert any(m.startswith("call started") for m in collector_messages)
    assert any(m.startswith("call ended") for m in collector_messages)
    api_lines = of_call(lines["api"], linkedid)
    access = [line["message"] for line in api_lines if line["logger"] == "uvicorn.access"]
    assert any('"POST /complaints HTTP/1.1" 201' in m for m in access), api_lines
    assert any(line["logger"] == "api.events" for line in api_lines), api_lines
    assert f"caller={mask_number(caller)}" in logs["api"].read_text()


def api_get(api: ApiProcess, path: str, **params: str) -> Any:
    token = api.token(Role.supervisor, name="e2e-call-logs-reader")
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.get(f"{api.url}{path}", params=params, headers=headers, timeout=5)
    response.raise_for_status()
    return response.json()
