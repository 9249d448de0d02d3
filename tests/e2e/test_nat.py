"""Behind NAT the call center advertises its public address in the SDP of a real call.

The compose deployment puts Asterisk on a bridge network: without ``external_media_address``
its SDP names a private address and the GSM gateway's audio goes nowhere. Here the sandbox's
call center is rendered with the NAT settings compose passes (``LAPOR_EXTERNAL_MEDIA_ADDRESS``
and ``LAPOR_LOCAL_NETS``), the carrier sits on another loopback address (127.0.0.2) outside
``LOCAL_NETS``, and the carrier's own SIP log must show the public address in the ``c=``
line of what the call center sends it.

``EXTERNAL_SIGNALING_ADDRESS`` stays unset on this call: the carrier would then send its
ACK and BYE to the public address, out of this machine, and the call would not last.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from sandbox.config import SandboxConfig
from sandbox.harness import Sandbox
from sandbox.rootfs import SandboxUnavailable
from tests.conftest import unavailable
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import wait_until
from tests.e2e.services import free_slot

pytestmark = pytest.mark.e2e

# TEST-NET-3 (RFC 5737): never a real host.
PUBLIC = "203.0.113.10"
CARRIER = "127.0.0.2"
# The call center's own address is local; the carrier's (127.0.0.2) is not.
LOCAL_NETS = "127.0.0.1/32,10.0.0.0/8"
MESSAGE = re.compile(r"<--- Received SIP (?:request|response) .*?--->\n(.*?)(?=\n\[|\Z)", re.S)


@pytest.fixture
async def nat_sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox of its own (a free slot) with the NAT settings of a compose bridge."""
    config = replace(SandboxConfig.from_env(free_slot()), carrier_host=CARRIER)
    overrides = {
        "LAPOR_EXTERNAL_MEDIA_ADDRESS": PUBLIC,
        "LAPOR_LOCAL_NETS": LOCAL_NETS,
    }
    try:
        sandbox = Sandbox(config, overrides=overrides)
    except SandboxUnavailable as exc:
        unavailable(str(exc))
        raise
    await sandbox.up()
    try:
        yield sandbox
    finally:
        sandbox.down()


def received_with_sdp(sandbox: Sandbox) -> list[str]:
    """The SIP messages the carrier received that carry an SDP body."""
    text = sandbox.carrier.host("log/messages.log").read_text(errors="replace")
    return [m for m in MESSAGE.findall(text) if "\nc=IN IP4 " in m]


def first_line(message: str) -> str:
    return message.split("\n", 1)[0]


async def test_call_center_sdp_names_the_external_address(nat_sandbox: Sandbox) -> None:
    transport = nat_sandbox.callcenter.rx("pjsip show transport transport-udp")
    assert re.search(rf"external_media_address\s*:\s*{re.escape(PUBLIC)}", transport)
    assert re.search(r"local_net\s*:\s*127\.0\.0\.1/255\.255\.255\.255", transport)
    assert re.search(r"local_net\s*:\s*10\.0\.0\.0/255\.0\.0\.0", transport)
    assert "enabled" in nat_sandbox.carrier.rx("pjsip set logger on")

    # No IVR server: the call goes straight to the queue, where an officer's phone (on the
    # carrier) answers, so the call center both offers SDP (to the phone) and answers
    # the trunk's offer (the 200 OK).
    # The citizen stays past the recording notice (about 3 s) until an officer's phone rings.
    await nat_sandbox.place_call("082282204761", random_caller(), "wait:10|hangup")

    def answer_and_offer() -> list[str]:
        found = received_with_sdp(nat_sandbox)
        invites = [m for m in found if first_line(m).startswith("INVITE ")]
        answers = [m for m in found if first_line(m).startswith("SIP/2.0 200 ")]
        return [invites[0], answers[0]] if invites and answers else []

    messages = await wait_until(answer_and_offer, 30)
    assert messages, received_with_sdp(nat_sandbox)
    for message in messages:
        assert f"\nc=IN IP4 {PUBLIC}" in message, message
        assert "\nc=IN IP4 127." not in message, message


async def test_empty_nat_settings_load(nat_sandbox: Sandbox) -> None:
    """The production defaults (all empty) render and load: nothing is rewritten."""
    nat_sandbox.down()
    nat_sandbox.overrides = {}
    await nat_sandbox.up()
    transport = nat_sandbox.callcenter.rx("pjsip show transport transport-udp")
    assert re.search(r"external_media_address\s*:\s*$", transport, re.M)
    assert re.search(r"external_signaling_address\s*:\s*$", transport, re.M)
    assert re.search(r"local_net\s*:\s*$", transport, re.M)
