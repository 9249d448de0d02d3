"""Commands to Asterisk over AMI for the agents' console: queue login, logout, pause.

One short AMI session per command, as the least-privilege ``control`` user (write=agent,
originate): an officer presses a button a few times a shift, and a fresh session can't be
left half-open. Uses panoramisk with the collector's hardened protocol; ``as_list=False``
because ``QueueAdd`` never resolves otherwise (docs/asterisk.md).

With several call-center nodes (docs/scaling.md), queue membership (add, remove, pause)
also goes to each peer node's AMI (``peers``), at once: an officer is a member of every
node's queue, so every node may offer them a call. The API's own node answers for the
command; a peer that fails it (down, or "Already there") is logged, never raised, so one
dead node does not keep officers from logging in on the others. The browser phones'
passwords go to every node too (a node challenges the calls a browser phone places), and to
the SIP edge (``edge``), which they register with then.

A supervisor's ChanSpy runs on the node that holds the officer's call (``on_node``):
ChanSpy sees only its own Asterisk's channels. Callbacks, the virtual-hold placeholders
and SMS replies go to the API's own node, or, when it is unreachable, to the first peer
that is reachable (``send_somewhere``): any node can ring an officer through the edge and
call out through the trunk. Only unreachability moves a command on, never a live node's
refusal or a lost answer: the action might have run, and a second node would ring twice.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from typing import Any

import asterisk_values as values
from ami_wire import NEVER, Manager, SafeAMIProtocol
from api.core.edge_control import EdgeCommandError, EdgeControl

logger = logging.getLogger(__name__)

QUEUE = "pengaduan"
# AstDB family of the browser phones' auth objects (asterisk_conf/sorcery.conf).
WEBRTC_AUTH_FAMILY = "lapor_webrtc/auth"


def pjsip_interface(endpoint: str) -> str:
    """The queue interface of an officer's phone: ``PJSIP/<endpoint>``, validated."""
    return f"PJSIP/{values.endpoint(endpoint)}"


def variable_headers(variables: dict[str, str]) -> list[str]:
    """An Originate's ``Variable`` headers, one per variable (Asterisk splits a header's
    value on commas), each name and value checked."""
    return [
        f"{values.name(name)}={values.variable_value(value)}" for name, value in variables.items()
    ]


class AmiCommandError(Exception):
    """Asterisk (or the SIP edge) refused the command, or could not be reached in time."""


class AmiUnreachable(AmiCommandError):
    """No AMI session could be opened (refused, timed out, cut before the login was
    answered): the action was never sent, so another node may take it."""


# QueueRemove's answer for an interface that is not in the queue (already removed).
REMOVE_NOT_THERE = "Not there"


@dataclass(frozen=True)
class AmiControl:
    host: str
    port: int
    username: str
    secret: str
    timeout: float = 5.0
    # The other call-center nodes' AMI (same user and secret), in the order tried.
    peers: tuple[AmiControl, ...] = ()
    # The SIP edge the browser phones register with, if any (docs/scaling-edge.md).
    edge: EdgeControl | None = None
    # This node's name (the collector's node, Asterisk's systemname); empty if unnamed.
    node: str = ""

    async def send(self, action: dict[str, str | list[str]], wait: float = 0) -> dict[str, str]:
        """Log in, send one action, return its response (raise if it is not Success).

        The answer may take ``wait`` seconds more than ``timeout`` (a synchronous
        Originate's ringing). AmiUnreachable if the action could not be sent at all.
        """
        manager = await self._logged_in()
        try:
            reply = await asyncio.wait_for(
                manager.send_action(action, as_list=False), self.timeout + wait
            )
        except (OSError, TimeoutError) as exc:
            # Sent, maybe run: not unreachable (no other node may try it again).
            raise AmiCommandError(f"no answer from Asterisk: {exc or type(exc).__name__}") from exc
        finally:
            manager.close()
        response = {str(k): str(v) for k, v in dict(reply).items()}
        if response.get("Response") != "Success":
            raise AmiCommandError(response.get("Message", "refused"))
        return response

    async def _logged_in(self) -> Manager:
        loop = asyncio.get_running_loop()
        manager = Manager(
            lambda exc: None,
            loop=loop,
            host=self.host,
            port=self.port,
            username=self.username,
            secret=self.secret,
            encoding="utf8",
            ping_delay=NEVER,
            protocol_factory=SafeAMIProtocol,
        )
        try:
            connection = await asyncio.wait_for(
                loop.create_connection(SafeAMIProtocol, self.host, self.port), self.timeout
            )
            connected: asyncio.Future[Any] = loop.create_future()
            connected.set_result(connection)
            manager.connection_made(connected)
            login = await asyncio.wait_for(manager.authenticated_future, self.timeout)
        except (OSError, TimeoutError) as exc:
            manager.close()
            raise AmiUnreachable(f"Asterisk unreachable: {exc or type(exc).__name__}") from exc
        if not login.success:
            manager.close()
            raise AmiCommandError(f"AMI login refused: {login.get('Message')}")
        return manager

    def on_node(self, name: str) -> AmiControl:
        """The control client of the node called ``name``, the others its peers: this one
        for its own name, an empty name, or (with a warning) a name no peer has."""
        if not name or name == self.node:
            return self
        for index, peer in enumerate(self.peers):
            if peer.node == name:
                others = (replace(self, peers=()), *self.peers[:index], *self.peers[index + 1 :])
                return replace(peer, peers=others, edge=self.edge)
        if self.peers:
            logger.warning(
                "no AMI for node %r (LAPOR_API_AMI_PEER_HOSTS): using %s",
                name,
                self.node or f"{self.host}:{self.port}",
            )
        return self

    async def send_somewhere(
        self, action: dict[str, str | list[str]], wait: float = 0
    ) -> dict[str, str]:
        """``send`` on this node or, while the one tried is unreachable, on each peer in
        turn; the last node's error is raised as it is."""
        *first, last = (self, *self.peers)
        for node in first:
            try:
                return await node.send(action, wait)
            except AmiUnreachable as exc:
                logger.warning(
                    "AMI %s: node %s (%s:%d) unreachable, trying the next: %s",
                    action["Action"],
                    node.node or "-",
                    node.host,
                    node.port,
                    exc,
                )
        return await last.send(action, wait)

    async def send_everywhere(self, action: dict[str, str | list[str]]) -> dict[str, str]:
        """``send`` on this node and on every peer at once; only this node's answer (or
        error) counts, a peer's failure is logged."""
        own, *theirs = await asyncio.gather(
            self.send(action), *(peer.send(action) for peer in self.peers), return_exceptions=True
        )
        for peer, answer in zip(self.peers, theirs, strict=True):
            if isinstance(answer, BaseException):
                logger.warning(
                    "AMI %s on peer node %s:%d: %s", action["Action"], peer.host, peer.port, answer
                )
        if isinstance(own, BaseException):
            raise own
        return own

    async def queue_add(self, endpoint: str, member_name: str) -> None:
        interface = pjsip_interface(endpoint)
        await self.send_everywhere(
            {
                "Action": "QueueAdd",
                "Queue": QUEUE,
                "Interface": interface,
                "MemberName": values.name(member_name),
                "StateInterface": interface,
                "Penalty": "0",
            }
        )

    async def webrtc_auth_put(self, endpoint: str, password: str) -> None:
        """Create or replace a browser phone's auth object in AstDB (sorcery.conf reads
        auth from the family ``WEBRTC_AUTH_FAMILY`` after pjsip.conf)."""
        await self._webrtc_auth("put", endpoint, password)
        if self.edge is not None:
            await self._at_edge(self.edge.browser_phone_put(endpoint, password))

    async def webrtc_auth_delete(self, endpoint: str) -> None:
        await self._webrtc_auth("delete", endpoint, "")
        if self.edge is not None:
            await self._at_edge(self.edge.browser_phone_drop(endpoint))

    @staticmethod
    async def _at_edge(command: Coroutine[Any, Any, None]) -> None:
        try:
            await command
        except EdgeCommandError as exc:
            raise AmiCommandError(str(exc)) from exc

    async def _webrtc_auth(self, op: str, endpoint: str, password: str) -> None:
        """The dialplan's ``webrtc-auth`` context writes AstDB: a Local channel runs ``op``
        there and answers once it is done, so a Success means it is written. AMI's own
        DBPut would need the class ``system`` (module reloads and more) for this user."""
        await self.send_everywhere(
            {
                "Action": "Originate",
                "Channel": f"Local/{op}@webrtc-auth/n",
                "Context": "webrtc-auth",
                "Exten": "done",
                "Priority": "1",
                "Variable": [
                    f"LAPOR_WEB_ENDPOINT={values.endpoint(endpoint)}",
                    f"LAPOR_WEB_SECRET={values.web_secret(password) if password else ''}",
                ],
                "Timeout": "5000",
                "Async": "false",
            }
        )

    async def queue_remove(self, endpoint: str) -> None:
        await self.send_everywhere(
            {"Action": "QueueRemove", "Queue": QUEUE, "Interface": pjsip_interface(endpoint)}
        )

    async def browser_phone_off(self, endpoint: str) -> None:
        """The browser phone ``endpoint`` loses its password and leaves the queue: a
        signed-out officer's browser phone neither registers nor counts as an officer
        waiting for calls (their desk phone is another interface and stays as it is)."""
        await self.webrtc_auth_delete(endpoint)
        try:
            await self.queue_remove(endpoint)
        except AmiCommandError as exc:
            if REMOVE_NOT_THERE not in str(exc):
                raise

    async def queue_pause(self, endpoint: str, paused: bool, reason: str = "") -> None:
        await self.send_everywhere(
            {
                "Action": "QueuePause",
                "Queue": QUEUE,
                "Interface": pjsip_interface(endpoint),
                "Paused": "true" if paused else "false",
                "Reason": values.free_text(reason),
            }
        )

    async def originate(
        self,
        *,
        endpoint: str,
        context: str,
        number: str,
        caller_label: str,
        channel_id: str,
        variables: dict[str, str],
        ring_seconds: int,
    ) -> None:
        """Ring the phone of ``endpoint``; once it answers, run ``context``/``number`` on it.

        Synchronous (``Async: false``): Asterisk replies Success only after the channel
        answered, and Error if it did not within ``ring_seconds``. ``channel_id`` becomes
        the channel's uniqueid, hence the call's linkedid in every later event. The phone
        shows ``"caller_label" <number>``. Each variable goes in a ``Variable`` header of its
        own, and every value is checked: Asterisk splits a header's value on commas.
        """
        action: dict[str, str | list[str]] = {
            "Action": "Originate",
            "Channel": pjsip_interface(endpoint),
            "Context": values.name(context),
            "Exten": values.phone_number(number),
            "Priority": "1",
            "CallerID": values.caller_id(caller_label, number),
            "ChannelId": values.name(channel_id),
            "Timeout": str(int(ring_seconds) * 1000),
            "Variable": variable_headers(variables),
            "Async": "false",
        }
        await self.send_somewhere(action, wait=ring_seconds)

    async def place_in_queue(
        self,
        *,
        number: str,
        caller_label: str,
        channel_id: str,
        queue_channel_id: str,
        variables: dict[str, str],
        wait_seconds: int,
    ) -> None:
        """Put a placeholder for the citizen ``number`` in the queue (virtual hold).

        Asynchronous: Asterisk replies at once and the Local channel's ;2 half waits in
        the queue (the dialplan's ``vhold-wait``) up to ``wait_seconds``; once an officer
        takes it, the ;1 half runs ``callback``/``number`` (the officer is on the line,
        the citizen is dialled). ``channel_id`` is the ;1 half's uniqueid (the call's
        linkedid), ``queue_channel_id`` the ;2 half's (queue_log's callid).
        """
        await self.send_somewhere(
            {
                "Action": "Originate",
                "Channel": "Local/wait@vhold-wait/n",
                "Context": "callback",
                "Exten": values.phone_number(number),
                "Priority": "1",
                "CallerID": values.caller_id(caller_label, number),
                "ChannelId": values.name(channel_id),
                "OtherChannelId": values.name(queue_channel_id),
                "Timeout": str(int(wait_seconds) * 1000),
                "Variable": variable_headers({**variables, "LAPOR_HOLD_NUMBER": number}),
                "Async": "true",
            }
        )

    async def supervise(
        self,
        *,
        endpoint: str,
        officer_endpoint: str,
        mode: str,
        label: str,
        channel_id: str,
        ring_seconds: int,
    ) -> None:
        """Ring the supervisor's phone ``endpoint``; once it answers, the dialplan's
        ``supervise`` context spies on the officer's call (listen, whisper or barge)."""
        action: dict[str, str | list[str]] = {
            "Action": "Originate",
            "Channel": pjsip_interface(endpoint),
            "Context": "supervise",
            "Exten": "s",
            "Priority": "1",
            # Shown on the supervisor's phone: a name only (there is no number to call back).
            "CallerID": f'"{values.free_text(label, 40)}"',
            "ChannelId": values.name(channel_id),
            "Timeout": str(int(ring_seconds) * 1000),
            "Variable": [
                f"LAPOR_SPY_ON={values.spied_endpoint(officer_endpoint)}",
                f"LAPOR_SPY_MODE={values.name(mode)}",
            ],
            "Async": "false",
        }
        await self.send(action, wait=ring_seconds)

    async def message_send(self, *, number: str, endpoint: str, sender: str, body: str) -> None:
        """Send an out-of-call message (an SMS reply) through the trunk ``endpoint``.

        The body goes as ``Base64Body``: AMI lines can't carry newlines, and base64 keeps
        any script intact.
        """
        await self.send_somewhere(
            {
                "Action": "MessageSend",
                "Destination": f"pjsip:PJSIP/{values.phone_number(number)}@"
                f"{values.endpoint(endpoint)}",
                "From": values.line(sender),
                "Base64Body": base64.b64encode(body.encode()).decode("ascii"),
            }
        )
