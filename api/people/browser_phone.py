"""The officers' browser phones: a short-lived SIP password for each console session.

Each officer with an extension ``<ext>`` has a WebRTC endpoint ``<ext>-web`` in
pjsip_agents.conf whose auth object is not in any file: Asterisk looks auth up in AstDB
after pjsip.conf (asterisk_conf/sorcery.conf), and the API writes it there over AMI
(an Originate into the dialplan's ``webrtc-auth`` context, which sets ``DB()``) when the
console page asks for a credential, with a fresh random password
each time, and deletes it when the officer signs out (the browser phone leaves the queue
then too). The astdb wizard reads
AstDB at every lookup, so the change counts at the next REGISTER or INVITE without a
reload. A new credential replaces the old one: the older tab's next REGISTER is refused,
so one tab per officer holds the phone. The password is never logged or stored by the API;
which endpoints have one, for which session, is (api/people/phone_credentials.py), so a
session that ends without a sign-out loses its password too (api/people/phone_sweep.py).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from sqlmodel import Session

import asterisk_values as values
from api.core.ami_control import AmiCommandError, AmiControl
from api.core.auth import Principal
from api.core.clock import utc_now
from api.core.errors import InvalidInput, Unavailable
from api.people.phone_credentials import forget, record_issued
from api.people.users import phone_of

log = logging.getLogger(__name__)
WEB_SUFFIX = "-web"


@dataclass(frozen=True)
class PhoneCredential:
    username: str  # the WebRTC endpoint and its auth's username, e.g. 1001-web
    password: str


def web_endpoint(extension: str) -> str:
    """The browser phone of the desk phone ``extension`` (validated)."""
    try:
        return values.endpoint(f"{extension}{WEB_SUFFIX}")
    except values.UnsafeValue as exc:
        raise InvalidInput(f"this extension is too long for a browser phone: {exc}") from exc


async def issue(session: Session, principal: Principal, ami: AmiControl) -> PhoneCredential:
    """A fresh password for the officer's browser phone; the previous one stops working."""
    _, extension = phone_of(session, principal)
    endpoint = web_endpoint(extension)
    password = secrets.token_hex(24)
    assert principal.user_id is not None  # phone_of found the user
    record_issued(
        session,
        endpoint=endpoint,
        user_id=principal.user_id,
        token_id=principal.token_id,
        at=utc_now(),
    )
    try:
        await ami.webrtc_auth_put(endpoint, password)
    except AmiCommandError as exc:
        raise Unavailable(f"Asterisk did not take the browser phone's credential: {exc}") from exc
    log.info("browser phone credential issued for %s", endpoint)
    return PhoneCredential(endpoint, password)


async def revoke(session: Session, principal: Principal, ami: AmiControl) -> bool:
    """Delete the officer's browser phone credential; False if Asterisk could not be told
    (the sign-out still goes on, and the sweep retries once the session is over)."""
    try:
        _, extension = phone_of(session, principal)
        endpoint = web_endpoint(extension)
    except InvalidInput:
        return True  # no extension: no browser phone
    try:
        await ami.browser_phone_off(endpoint)
    except AmiCommandError as exc:
        log.warning("browser phone credential of %s not revoked: %s", endpoint, exc)
        return False
    forget(session, endpoint)
    log.info("browser phone credential revoked for %s", endpoint)
    return True
